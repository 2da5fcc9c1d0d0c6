"""Set-up shared by the tests that drive the sandbox with plain boto3 or flovtrain helpers."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3

import flovtrain
from flovtrain import project
from flovtrain.sandbox import control

ACCOUNT = "123456789012"
_serial = itertools.count()


@contextlib.contextmanager
def learner_project(
    directory: Path, project_id: str = project.DEFAULT_PROJECT
) -> Iterator[project.Project]:
    """Reset the sandbox and create a project from ``directory``, the learner's working folder.

    The cwd stays ``directory`` until the ``with`` block ends, as in a notebook (credentials/ then
    goes to FLOVTRAIN_HOME). Yields the :class:`flovtrain.project.Project`.
    """
    control.reset()
    flovtrain.connect(quiet=True)
    with contextlib.chdir(directory):
        yield project.create_project(project_id)


def with_unique_name(clients: dict, key: str, prefix: str) -> dict:
    """A copy of ``clients`` plus ``key``: ``prefix`` and a number no other test has used.

    Module-scoped sandboxes are not reset between tests, so each test names (or tags) what it
    creates with this value to stay out of the others' way.
    """
    return {**clients, key: f"{prefix}{next(_serial)}"}


def create_cost_budget(
    name: str,
    limit: str,
    threshold: float,
    subscriber: tuple[str, str],
    threshold_type: str = "PERCENTAGE",
    account: str = ACCOUNT,
):
    """A monthly COST budget of ``limit`` USD with one alert on ACTUAL spend over ``threshold``.

    ``subscriber`` is ``(SubscriptionType, Address)``. Returns the us-east-1 budgets client.
    """
    client = boto3.client("budgets", region_name="us-east-1")
    client.create_budget(
        AccountId=account,
        Budget={
            "BudgetName": name,
            "BudgetLimit": {"Amount": limit, "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
        },
        NotificationsWithSubscribers=[
            {
                "Notification": {
                    "NotificationType": "ACTUAL",
                    "ComparisonOperator": "GREATER_THAN",
                    "Threshold": threshold,
                    "ThresholdType": threshold_type,
                },
                "Subscribers": [{"SubscriptionType": subscriber[0], "Address": subscriber[1]}],
            }
        ],
    )
    return client


def subscribe_queue(
    topic_arn: str, queue_name: str, region: str, wait: int = 2
) -> Callable[..., list[dict]]:
    """Subscribe a new SQS queue to an SNS topic; returns ``receive(wait=wait)``.

    ``receive`` long-polls the queue for up to ``wait`` seconds and returns the SNS envelopes
    (the message bodies, parsed) it got, up to 10.
    """
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)

    def receive(wait: int = wait) -> list[dict]:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]

    return receive
