"""Set-up shared by the tests that drive the sandbox with plain boto3 or flovtrain helpers."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

import flovtrain
from flovtrain import config, project
from flovtrain.sandbox import control

ACCOUNT = "123456789012"
#: The ``flovtrain`` command of this environment.
FLOVTRAIN = Path(sys.executable).with_name("flovtrain")
_serial = itertools.count()


def trust_policy(service: str | None = None, *, account: str | None = None) -> dict:
    """The trust policy of a role that ``service`` (e.g. ``"firehose.amazonaws.com"``) assumes,
    or, given ``account`` instead, that the account's own principals may assume."""
    principal = {"Service": service} if service else {"AWS": f"arn:aws:iam::{account}:root"}
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}],
    }


#: The trust policy of a role CodePipeline assumes.
PIPELINE_TRUST = trust_policy("codepipeline.amazonaws.com")


def seeded_repository(name: str, bucket: str, key: str, depends_on: Any = None) -> dict:
    """A template's ``AWS::CodeCommit::Repository`` ``name``, first commit the zip s3://bucket/key.

    ``depends_on`` becomes its ``DependsOn`` (a logical id or a list of them) when given.
    """
    resource: dict[str, Any] = {
        "Type": "AWS::CodeCommit::Repository",
        "Properties": {"RepositoryName": name, "Code": {"S3": {"Bucket": bucket, "Key": key}}},
    }
    if depends_on is not None:
        resource["DependsOn"] = depends_on
    return resource


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


def sandbox_client(service: str, endpoint: str, botocore_config: Config | None = None, **kwargs):
    """A plain boto3 client on the sandbox at ``endpoint`` (eu-west-1, the sandbox's keys),
    failing fast: ``botocore_config`` defaults to no retries."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id=config.SANDBOX_ACCESS_KEY_ID,
        aws_secret_access_key=config.SANDBOX_SECRET_ACCESS_KEY,
        config=botocore_config or Config(retries={"max_attempts": 1}),
        **kwargs,
    )


def run_flovtrain(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the ``flovtrain`` command with ``args`` in ``cwd``; its output is captured as text."""
    return subprocess.run(
        [str(FLOVTRAIN), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=timeout,
    )


def with_unique_name(clients: dict, key: str, prefix: str) -> dict:
    """A copy of ``clients`` plus ``key``: ``prefix`` and a number no other test has used.

    Module-scoped sandboxes are not reset between tests, so each test names (or tags) what it
    creates with this value to stay out of the others' way.
    """
    return {**clients, key: f"{prefix}{next(_serial)}"}


def cost_budget(name: str, limit: str) -> dict:
    """The ``Budget`` of ``create_budget`` for a monthly COST budget of ``limit`` USD."""
    return {
        "BudgetName": name,
        "BudgetType": "COST",
        "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": limit, "Unit": "USD"},
    }


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
        Budget=cost_budget(name, limit),
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


def put_billing_alarm(
    cloudwatch,
    topic: str | None,
    name: str = "billing-10usd",
    threshold: float = 10.0,
    comparison: str = "GreaterThanOrEqualToThreshold",
    **overrides,
) -> None:
    """Chapter 03's billing alarm on ``cloudwatch`` (a client): the account's estimated charges in
    USD (maximum over 6 hours) against ``threshold``, notifying ``topic`` (None: no action).

    ``overrides`` replace any other argument of ``put_metric_alarm``.
    """
    cloudwatch.put_metric_alarm(
        **{
            "AlarmName": name,
            "Namespace": "AWS/Billing",
            "MetricName": "EstimatedCharges",
            "Dimensions": [{"Name": "Currency", "Value": "USD"}],
            "Statistic": "Maximum",
            "Period": 21600,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            "AlarmActions": [topic] if topic else [],
            **overrides,
        }
    )


def put_metric_alarm(cloudwatch, name: str, **extra) -> None:
    """A one-minute alarm on ``cloudwatch`` (a client), by default on Flovtec/App Errors over 5;
    ``extra`` replaces any argument (the statistic is Sum unless ``extra`` names a Statistic or
    an ExtendedStatistic)."""
    args = dict(
        AlarmName=name,
        Namespace="Flovtec/App",
        MetricName="Errors",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    args.update(extra)
    if "ExtendedStatistic" not in args:
        args.setdefault("Statistic", "Sum")
    cloudwatch.put_metric_alarm(**args)


def profile_of(session, buckets: list[str], name: str = "revision-reader") -> dict:
    """``run_instances``' ``IamInstanceProfile`` for instances that receive CodeDeploy deployments:
    the workbook's :func:`flovtrain.flovtec.ensure_instance_profile` (a role trusting EC2 that may
    read revisions from ``buckets``; without a profile the agent has no credentials)."""
    from flovtrain import flovtec

    return {"Name": flovtec.ensure_instance_profile(buckets, name=name, session=session)}
