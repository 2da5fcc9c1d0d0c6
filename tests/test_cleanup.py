"""flovtrain.cleanup: the plan finds what the chapters create, a dry run deletes nothing, a run
deletes exactly the plan (and nothing else), and a second run has nothing to do; checks 09 and
10. What happens when single items fail or vanish: test_cleanup_failures.py."""

from __future__ import annotations

import os
import stat

import boto3
import pytest
from cleanup_world import (
    ACCOUNT,
    REGION,
    create_foreign_state,
    create_workshop_state,
    foreign_still_there,
)
from provider_fixtures import subscribe_queue

from flovtrain import cleanup

pytestmark = pytest.mark.usefixtures("clean_sandbox")


@pytest.fixture
def session() -> boto3.Session:
    return boto3.Session(region_name=REGION)


def test_empty_account_has_an_empty_plan_with_fixed_columns(session):
    df = cleanup.plan(session)
    assert list(df.columns) == cleanup.COLUMNS
    assert len(df) == 0
    result = cleanup.run(df, dry_run=False, session=session)
    assert list(result.columns) == cleanup.RESULT_COLUMNS and len(result) == 0
    assert cleanup.summary(result) == "nothing to do"


def test_plan_lists_what_the_workbook_created_and_nothing_else(session):
    create_workshop_state(session)
    create_foreign_state(session)
    df = cleanup.plan(session)
    found = set(zip(df.kind, df.name, strict=True))
    expected = {
        ("iam user", "imre"),
        ("iam user", "john"),
        ("iam user", "tagged-helper"),
        ("iam group", "system-admins"),
        ("iam role", "flovtrain-firehose-role"),
        ("iam virtual mfa device", "root-account-mfa-device"),
        ("iam virtual mfa device", "imre"),
        ("iam account alias", "flovtrain"),
        ("iam password policy", "password policy"),
        ("sns topic", "billing-alerts"),
        ("cloudwatch alarm", "billing-over-10-usd"),
        ("budgets budget", "monthly-cost-budget"),
        ("cloudformation stack", "flovtrain-test"),
        ("s3 bucket", f"flovtrain-test-artifacts-{ACCOUNT}"),
        ("s3 bucket", f"flovtec-marketdata-{ACCOUNT}"),
        ("s3 bucket", "tagged-data"),
        ("ec2 key pair", "flovtrain-extra-key"),
        ("glue database", "marketdata"),
        ("glue table", "marketdata.klines"),
        ("athena workgroup", "capped"),
        ("sqs queue", "flovtrain-orders"),
        ("sns topic", "flovtrain-orders"),
        ("ssm parameter", "/flovtrain/shop/db-password"),
        ("glacier vault", "flovtrain-backup"),
        ("logs log group", "/aws/codebuild/flovtrain-test"),
        ("logs log group", "/aws/codebuild/flovtec-webapp-publish"),
        ("iam role", "flovtec-toolchain"),
        ("s3 bucket", "flovtec-artifacts-test"),
        ("codebuild project", "flovtec-webapp-build"),
        ("codedeploy application", "flovtec-webapp"),
        ("codepipeline pipeline", "flovtec-webapp"),
        ("rds db instance", "flovtec-prod-db"),
        ("ec2 security group", "flovtec-alb"),
        ("elbv2 load balancer", "flovtec-prod-alb"),
        ("elbv2 target group", "flovtec-prod-8090"),
        ("route53 hosted zone", "flovtec.example."),
    }
    assert expected <= found, expected - found
    assert (df.kind == "ec2 instance").sum() == 1
    assert (df.kind == "sns subscription").sum() == 1
    names = set(df.name)
    for foreign in (
        "someone-else",
        "other-admins",
        "other-role",
        "someone-elses-bucket",
        "not-ours-b",
        "payments",
        "/other/setting",
        "cpu-high",
        "not-ours",
    ):
        assert foreign not in names
    # kept by default: alias and password policy; regions as asked
    assert set(df[df.keep].kind) == {"iam account alias", "iam password policy"}
    assert set(df.region) <= {"eu-west-1", "us-east-1", "global"}
    assert df.loc[df.kind == "cloudformation stack", "billable"].all()
    # the order removes dependencies first
    kinds = list(df.kind)
    assert kinds.index("sns subscription") < kinds.index("sns topic")
    assert kinds.index("cloudwatch alarm") < kinds.index("sns topic")
    assert kinds.index("iam user") < kinds.index("iam group")
    assert kinds.index("elbv2 load balancer") < kinds.index("ec2 security group")


def test_dry_run_deletes_nothing(session):
    create_workshop_state(session)
    before = cleanup.plan(session)
    result = cleanup.run(before, session=session)  # dry_run defaults to True
    assert set(result.result) == {"would delete", "kept"}
    after = cleanup.plan(session)
    assert after[["kind", "name"]].equals(before[["kind", "name"]])


def test_run_deletes_the_plan_and_a_second_run_has_nothing_to_do(session):
    create_workshop_state(session)
    create_foreign_state(session)
    todo = cleanup.plan(session)
    result = cleanup.run(todo, dry_run=False, session=session)
    failed = result[result.result.str.startswith("failed")]
    assert failed.empty, failed[["kind", "name", "result"]].to_string()
    assert set(result.result) <= {"deleted", "kept", "already gone"}
    assert (result.result == "kept").sum() == 2

    left = cleanup.plan(session)
    assert set(left.kind) == {"iam account alias", "iam password policy"}
    assert left.keep.all()
    # AWS agrees: the users, the stack, the buckets, the instance are gone
    iam = session.client("iam")
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    assert not {"imre", "john", "tagged-helper"} & set(users)
    buckets = [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    assert not [b for b in buckets if b.startswith(("flovtrain-", "flovtec-"))]
    assert "tagged-data" not in buckets
    states = [
        i["State"]["Name"]
        for r in session.client("ec2").describe_instances()["Reservations"]
        for i in r["Instances"]
    ]
    assert states and set(states) <= {"terminated", "shutting-down"}
    assert not session.client("codepipeline").list_pipelines()["pipelines"]
    assert not session.client("route53").list_hosted_zones()["HostedZones"]
    assert not session.client("elbv2").describe_load_balancers()["LoadBalancers"]
    foreign_still_there(session)

    again = cleanup.run(dry_run=False, session=session)  # fresh plan: only kept rows
    assert set(again.result) == {"kept"}
    stale = cleanup.run(todo, dry_run=False, session=session)  # an old plan: all gone, no error
    assert set(stale.result) == {"already gone", "kept"}
    foreign_still_there(session)


def test_keep_billing_alerts_and_run_only_touches_rows_of_the_plan(session):
    create_workshop_state(session)
    todo = cleanup.plan(session, keep=(*cleanup.DEFAULT_KEEP, "billing-alerts"))
    kept = set(todo[todo.keep].name)
    assert {"billing-alerts", "billing-over-10-usd", "monthly-cost-budget"} <= kept
    only_sqs = todo[todo.kind == "sqs queue"]
    cleanup.run(only_sqs, dry_run=False, session=session)
    after = cleanup.plan(session)
    assert "sqs queue" not in set(after.kind)
    assert len(after) == len(todo) - 1  # nothing else was touched

    cleanup.run(todo, dry_run=False, session=session)
    left = cleanup.plan(session, keep=())
    assert {"billing-alerts", "billing-over-10-usd", "monthly-cost-budget", "flovtrain"} <= set(
        left.name
    )
    assert "imre" not in set(left.name)


def test_run_rejects_a_frame_that_is_not_a_plan(session):
    import pandas as pd

    with pytest.raises(ValueError, match="cleanup.plan"):
        cleanup.run(pd.DataFrame({"name": ["imre"]}), session=session)


def test_plan_needs_a_region(session):
    with pytest.raises(ValueError, match="regions"):
        cleanup.plan(session, regions=())


def test_local_credentials_listed_and_removed_only_when_asked(tmp_path):
    folder = tmp_path / "credentials"
    folder.mkdir()
    for name in (
        "imre_accessKeys.csv",
        "john_credentials.csv",
        "flovtrain-webapp-key.pem",
        "notes.txt",
    ):
        path = folder / name
        path.write_text("secret")
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    listed = cleanup.local_credentials(folder)
    assert list(listed.columns) == cleanup.LOCAL_COLUMNS
    assert set(listed.file) == {
        "imre_accessKeys.csv",
        "john_credentials.csv",
        "flovtrain-webapp-key.pem",
    }
    assert "secret" not in listed.to_string()
    dry = cleanup.remove_local_credentials(folder=folder)
    assert set(dry.result) == {"would delete"}
    assert len(list(folder.iterdir())) == 4
    done = cleanup.remove_local_credentials(dry_run=False, folder=folder)
    assert set(done.result) == {"deleted"}
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert cleanup.local_credentials(folder).empty


# ---------------------------------------------------------------- checks 09 and 10
def test_check10_fails_on_leftovers_and_passes_when_only_keepable_things_remain(session):
    from flovtrain.checks import check

    assert check("10", session=session).passed  # an empty account: nothing left
    create_workshop_state(session)
    dirty = check("10", session=session)
    assert not dirty.passed
    failed = {i.item for i in dirty.failed}
    assert "no iam resources of the workbook left" in failed
    assert "no elbv2 resources of the workbook left" in failed
    assert all(i.hint for i in dirty.failed)
    assert "user imre" in dirty["no iam resources of the workbook left"].why

    cleanup.run(
        cleanup.plan(session, keep=(*cleanup.DEFAULT_KEEP, "billing-alerts")),
        dry_run=False,
        session=session,
    )
    assert check("10", session=session).passed  # billing alerts, alias, policy may stay
    # something new of ours appears: the check notices
    session.client("sqs").create_queue(QueueName="flovtrain-late")
    late = check("10", session=session)
    assert [i.item for i in late.failed] == ["no sqs resources of the workbook left"]


def test_check09_fails_item_by_item_with_hints(session):
    from flovtrain.checks import check

    empty = check("09", session=session)
    assert not any(i.passed for i in empty) and all(i.why and i.hint for i in empty)
    topic = session.client("sns").create_topic(Name="flovtrain-orders")["TopicArn"]
    subscribe_queue(topic, "flovtrain-orders-billing", session.region_name)
    session.client("ssm").put_parameter(
        Name="/flovtrain/shop/db-password", Value="x", Type="String"
    )
    partial = check("09", session=session)
    assert partial["an SQS queue is subscribed to an SNS topic"].passed
    policy = partial["the queue's policy lets the topic send to it"]
    assert not policy.passed and "no queue policy" in policy.why
    secret = partial["a SecureString parameter in Parameter Store"]
    assert not secret.passed and "is a String" in secret.why
