"""flovtrain.cleanup one item at a time: the kinds' removal order, and items that vanish, cannot
be read or refuse to go while a plan is made or run (the others are still handled)."""

from __future__ import annotations

import json
import warnings

import boto3
import pytest
from botocore.exceptions import ClientError
from cleanup_world import REGION, TAGS, create_workshop_state

from flovtrain import cleanup

pytestmark = pytest.mark.usefixtures("clean_sandbox")


@pytest.fixture
def session() -> boto3.Session:
    return boto3.Session(region_name=REGION)


# ---------------------------------------------------------------- one item at a time
def _before(session: boto3.Session, operation: str, action) -> None:
    """Run ``action(params)`` before every ``operation`` call (``"sqs.ListQueueTags"``) that
    clients of ``session`` make; it may raise, or change the account meanwhile."""
    session.events.register(
        f"before-parameter-build.{operation}", lambda params, **_: action(params)
    )


def _refuse(code: str, message: str, operation: str):
    def refuse(params: dict) -> None:
        raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

    return refuse


def test_the_kinds_declare_the_removal_order_and_cover_every_checked_service():
    from flovtrain.checks import ch10

    assert cleanup.ORDER == [
        "sns subscription",
        "cloudwatch alarm",
        "cloudformation stack",
        "codepipeline pipeline",
        "codebuild project",
        "codedeploy application",
        "ec2 instance",
        "elbv2 load balancer",
        "elbv2 target group",
        "rds db instance",
        "ec2 key pair",
        "ec2 security group",
        "route53 hosted zone",
        "cloudtrail trail",
        "s3 bucket",
        "sns topic",
        "sqs queue",
        "firehose delivery stream",
        "glacier vault",
        "ssm parameter",
        "logs log group",
        "athena named query",
        "athena workgroup",
        "glue table",
        "glue database",
        "budgets budget",
        "iam instance profile",
        "iam role",
        "iam user",
        "iam group",
        "iam virtual mfa device",
        "iam account alias",
        "iam password policy",
    ]
    assert {k.service for k in cleanup.KINDS.values()} == set(ch10.SERVICES)
    assert all(k.name.startswith(k.service + " ") for k in cleanup.KINDS.values())


def test_items_that_vanish_while_the_plan_is_made_leave_the_rest_of_their_service(session):
    create_workshop_state(session)
    sqs = session.client("sqs")
    sqs.create_queue(QueueName="tagged-queue", tags={"flovtrain:workshop": "flovtrain"})
    session.client("cloudformation").create_stack(
        StackName="flovtrain-second",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "second-q"}}
                }
            }
        ),
        Tags=TAGS,
    )
    other = boto3.Session(region_name=REGION)  # not hooked: it changes the account meanwhile

    def remove_queue(params: dict) -> None:  # really gone: the sandbox answers as AWS would
        if params["QueueUrl"].endswith("/tagged-queue"):
            other.client("sqs").delete_queue(QueueUrl=params["QueueUrl"])

    def remove_user(params: dict) -> None:
        if params["UserName"] == "tagged-helper":
            other.client("iam").delete_user(UserName="tagged-helper")

    def stack_gone(params: dict) -> None:
        if "flovtrain-second" in params["StackName"]:
            _refuse(
                "ValidationError",
                "Stack with id flovtrain-second does not exist",
                "DescribeStackResources",
            )(params)

    _before(session, "sqs.ListQueueTags", remove_queue)
    _before(session, "iam.ListUserTags", remove_user)
    _before(session, "cloudformation.DescribeStackResources", stack_gone)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cleanup.CleanupWarning)  # vanished is not an error
        df = cleanup.plan(session)
    found = set(zip(df.kind, df.name, strict=True))
    assert ("sqs queue", "tagged-queue") not in found
    assert ("sqs queue", "flovtrain-orders") in found
    assert ("iam user", "tagged-helper") not in found
    assert {
        ("iam user", "imre"),
        ("iam user", "john"),
        ("iam group", "system-admins"),
        ("iam role", "flovtrain-firehose-role"),
        ("iam account alias", "flovtrain"),
    } <= found
    assert ("cloudformation stack", "flovtrain-second") not in found
    assert ("cloudformation stack", "flovtrain-test") in found


def test_an_item_that_cannot_be_read_is_reported_and_the_others_are_listed(session):
    create_workshop_state(session)
    _before(
        session,
        "iam.ListUserTags",
        _refuse("AccessDenied", "not allowed to read the tags of tagged-helper", "ListUserTags"),
    )
    with pytest.warns(cleanup.CleanupWarning, match="iam user tagged-helper.*AccessDenied"):
        df = cleanup.plan(session)
    users = set(df[df.kind == "iam user"].name)
    assert users == {"imre", "john"}
    assert {"iam group", "iam role", "iam virtual mfa device", "sqs queue"} <= set(df.kind)


def test_a_run_that_cannot_read_an_item_says_so_and_leaves_it(session):
    create_workshop_state(session)
    todo = cleanup.plan(session)
    users = todo[todo.kind == "iam user"]
    assert set(users.name) == {"imre", "john", "tagged-helper"}
    _before(
        session,
        "iam.ListUserTags",
        _refuse("AccessDenied", "not allowed to read the tags of tagged-helper", "ListUserTags"),
    )
    with pytest.warns(cleanup.CleanupWarning, match="tagged-helper"):
        result = cleanup.run(users, dry_run=False, session=session)
    outcome = result.set_index("name").result
    assert outcome["tagged-helper"] == (
        "failed: could not read it (AccessDenied: not allowed to read the tags of tagged-helper)"
    )
    assert outcome["imre"] == outcome["john"] == "deleted"
    left = [u["UserName"] for u in session.client("iam").list_users()["Users"]]
    assert "tagged-helper" in left and "imre" not in left


def test_a_failure_on_one_item_is_reported_and_the_run_goes_on(session):
    create_workshop_state(session)
    sqs = session.client("sqs")
    sqs.create_queue(QueueName="flovtrain-orders-billing")
    todo = cleanup.plan(session)
    queues = todo[todo.kind == "sqs queue"]
    assert set(queues.name) == {"flovtrain-orders", "flovtrain-orders-billing"}

    def refuse_one(params: dict) -> None:
        if params["QueueUrl"].endswith("/flovtrain-orders-billing"):
            _refuse("AccessDenied", "no sqs:DeleteQueue on it", "DeleteQueue")(params)

    _before(session, "sqs.DeleteQueue", refuse_one)
    result = cleanup.run(todo, dry_run=False, session=session)
    outcome = result.set_index(["kind", "name"]).result
    assert outcome["sqs queue", "flovtrain-orders-billing"] == (
        "failed: AccessDenied: no sqs:DeleteQueue on it"
    )
    assert outcome["sqs queue", "flovtrain-orders"] == "deleted"
    others = outcome.drop(("sqs queue", "flovtrain-orders-billing"))
    assert set(others) <= {"deleted", "kept", "already gone"}, others.to_string()
    assert "failed 1" in cleanup.summary(result)

    left = cleanup.plan(session)
    assert set(left[~left.keep].name) == {"flovtrain-orders-billing"}
    fresh = boto3.Session(region_name=REGION)  # the refusal is lifted: the next run removes it
    again = cleanup.run(cleanup.plan(fresh), dry_run=False, session=fresh)
    assert set(again.result) == {"deleted", "kept"}


def test_an_item_removed_between_plan_and_run_is_already_gone(session):
    create_workshop_state(session)
    todo = cleanup.plan(session)
    todo = todo[todo.service.isin(["sqs", "ssm", "glacier"])]
    session.client("ssm").delete_parameter(Name="/flovtrain/shop/db-password")  # before the run
    other = boto3.Session(region_name=REGION)

    def remove_first(params: dict) -> None:  # while the run is at it
        other.client("sqs").delete_queue(QueueUrl=params["QueueUrl"])

    _before(session, "sqs.DeleteQueue", remove_first)
    result = cleanup.run(todo, dry_run=False, session=session).set_index("kind")
    assert result.loc["ssm parameter", "result"] == "already gone"
    assert result.loc["sqs queue", "result"] == "already gone"
    assert result.loc["glacier vault", "result"] == "deleted"
