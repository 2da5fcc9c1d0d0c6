"""Checks 01, 05, 06, 09 and 10 pass when the learner works the console's way: the AWS CLI, with
names the talk did not fix; and a wrong state fails with a line that says what is wrong.

Each test drives the session sandbox with the ``aws`` command (what the console does, call by
call) and judges ``flovtrain.check`` only; nothing here uses the workbook's helpers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pyotp
import pytest

from flovtrain.checks import check
from flovtrain.checks.ch04 import INDEX, PROJECT
from flovtrain.project import WEBAPP_DIR
from flovtrain.sandbox import control

AWS = Path(sys.executable).with_name("aws")
REGION = "eu-west-1"


@pytest.fixture
def session() -> boto3.Session:
    control.reset()
    return boto3.Session(region_name=REGION)


def aws(*args: str, region: str = REGION) -> dict:
    """Run the AWS CLI against the session sandbox; its JSON answer (``{}`` when it prints none)."""
    # the sandbox's env (AWS_CONFIG_FILE) keeps `aws sqs` on the sandbox too: no --endpoint-url
    done = subprocess.run(
        [str(AWS), *args, "--region", region, "--output", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else {}


def item(chapter: str, label: str, session: boto3.Session):
    cl = check(chapter, session=session)
    return cl[label]


# ---------------------------------------------------------------- chapter 01


def test_ch01_any_alias_and_any_root_device_name_pass(session, tmp_path):
    assert not check("01", session=session).passed
    aws("iam", "create-account-alias", "--account-alias", "acme-trading-7")
    aws(
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        "my-root-phone",
        "--outfile",
        str(tmp_path / "qr.png"),
        "--bootstrap-method",
        "QRCodePNG",
    )
    cl = check("01", session=session)
    assert cl.passed, str(cl)


def test_ch01_a_device_of_an_iam_user_is_not_roots(session):
    iam = session.client("iam")
    assert item("01", "the root user has an MFA device", session).why == (
        "the account has no MFA device for the root user"
    )
    iam.create_user(UserName="imre")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="imre-phone")["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    now = time.time()
    iam.enable_mfa_device(
        UserName="imre",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.at(now - 30),
        AuthenticationCode2=totp.at(now),
    )
    mfa = item("01", "the root user has an MFA device", session)
    assert not mfa.passed
    assert mfa.why == (
        "every virtual MFA device belongs to an IAM user, none to root: imre-phone (of imre)"
    )
    assert "Assign MFA device" in mfa.hint


# ---------------------------------------------------------------- chapters 05 and 06


def _repository_with_seed_commit() -> str:
    """The project's repository with the generated page on main, as chapter 04 leaves it."""
    aws("codecommit", "create-repository", "--repository-name", PROJECT)
    done = aws(
        "codecommit",
        "put-file",
        "--repository-name",
        PROJECT,
        "--branch-name",
        "main",
        "--file-path",
        INDEX,
        "--file-content",
        "fileb://" + str(WEBAPP_DIR / INDEX),
        "--name",
        "flovtrain",
        "--email",
        "flovtrain@example.com",
        "--commit-message",
        "initial commit",
    )
    return done["commitId"]


def test_ch05_any_branch_and_its_pull_request_pass(session):
    tip = _repository_with_seed_commit()
    branch = item("05", "a branch besides main exists", session)
    assert not branch.passed
    assert branch.why == f"{PROJECT} has no branch besides main (found: main)"
    aws(
        "codecommit",
        "create-branch",
        "--repository-name",
        PROJECT,
        "--branch-name",
        "docs-typo",
        "--commit-id",
        tip,
    )
    assert item("05", "a branch besides main exists", session).passed
    assert not item("05", "a pull request from a branch into main", session).passed
    aws(
        "codecommit",
        "create-pull-request",
        "--title",
        "Fix a typo",
        "--targets",
        f"repositoryName={PROJECT},sourceReference=docs-typo,destinationReference=main",
    )
    assert item("05", "a pull request from a branch into main", session).passed


def test_ch06_a_console_edit_by_any_author_counts(session, tmp_path):
    tip = _repository_with_seed_commit()
    mine = "your commit and push"
    ours = "main has a commit of yours after the generated one"
    first = check("06", session=session)
    assert (
        first[ours].why == "main holds only the generated initial commit: commit and push your edit"
    )
    assert first[f"{INDEX} on main differs from the generated page"].why == (
        f"{INDEX} on main is still the generated one"
    )
    page = tmp_path / "index.html"
    page.write_text((WEBAPP_DIR / INDEX).read_text().replace("</body>", "<p>Hi</p></body>"))
    aws(
        "codecommit",
        "put-file",
        "--repository-name",
        PROJECT,
        "--branch-name",
        "main",
        "--parent-commit-id",
        tip,
        "--file-path",
        INDEX,
        "--file-content",
        f"fileb://{page}",
        "--name",
        "Jane Doe",
        "--email",
        "jane@example.com",
        "--commit-message",
        mine,
    )
    cl = check("06", session=session)
    assert cl[ours].passed, cl[ours].why
    assert cl[f"{INDEX} on main differs from the generated page"].passed


# ---------------------------------------------------------------- chapter 09


def _fanout(topic: str, queue: str, *, policy: bool) -> None:
    topic_arn = aws("sns", "create-topic", "--name", topic)["TopicArn"]
    url = aws("sqs", "create-queue", "--queue-name", queue)["QueueUrl"]
    attrs = aws("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "QueueArn")
    queue_arn = attrs["Attributes"]["QueueArn"]
    if policy:
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        aws(
            "sqs",
            "set-queue-attributes",
            "--queue-url",
            url,
            "--attributes",
            json.dumps({"Policy": json.dumps(document)}),
        )
    aws(
        "sns",
        "subscribe",
        "--topic-arn",
        topic_arn,
        "--protocol",
        "sqs",
        "--notification-endpoint",
        queue_arn,
    )


def _stream_to_bucket(stream: str, bucket: str) -> None:
    aws(
        "s3api",
        "create-bucket",
        "--bucket",
        bucket,
        "--create-bucket-configuration",
        f"LocationConstraint={REGION}",
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "firehose.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = aws(
        "iam",
        "create-role",
        "--role-name",
        "clicks-to-s3",
        "--assume-role-policy-document",
        json.dumps(trust),
    )["Role"]["Arn"]
    aws(
        "firehose",
        "create-delivery-stream",
        "--delivery-stream-name",
        stream,
        "--extended-s3-destination-configuration",
        json.dumps({"RoleARN": role, "BucketARN": f"arn:aws:s3:::{bucket}"}),
    )


def test_ch09_other_names_pass_every_item(session):
    assert not any(i.passed for i in check("09", session=session))
    _fanout("shop-orders", "invoicing", policy=True)
    _stream_to_bucket("clickstream", "acme-clicks-2026")
    aws(
        "firehose",
        "put-record",
        "--delivery-stream-name",
        "clickstream",
        "--record",
        json.dumps({"Data": "eyJwYWdlIjogIi8ifQo="}),  # base64 of '{"page": "/"}\n'
    )
    aws(
        "s3api",
        "put-bucket-lifecycle-configuration",
        "--bucket",
        "acme-clicks-2026",
        "--lifecycle-configuration",
        json.dumps(
            {
                "Rules": [
                    {
                        "ID": "cold",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Transitions": [{"Days": 90, "StorageClass": "DEEP_ARCHIVE"}],
                    }
                ]
            }
        ),
    )
    aws(
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        "queue-too-long",
        "--namespace",
        "Acme",
        "--metric-name",
        "Backlog",
        "--statistic",
        "Maximum",
        "--period",
        "60",
        "--evaluation-periods",
        "1",
        "--threshold",
        "10",
        "--comparison-operator",
        "GreaterThanThreshold",
    )
    aws("cloudwatch", "put-metric-data", "--namespace", "Acme", "--metric-name", "Backlog",
        "--value", "50")  # fmt: skip
    aws("ssm", "put-parameter", "--name", "/acme/db-host", "--value", "db", "--type", "String")
    aws("ssm", "put-parameter", "--name", "/acme/db-pw", "--value", "pw", "--type", "SecureString")
    deadline = time.monotonic() + 10  # the sandbox evaluates the alarm as the data point arrives
    while not (cl := check("09", session=session)).passed and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cl.passed, str(cl)


def test_ch09_wrong_states_fail_with_what_is_wrong(session):
    _fanout("shop-orders", "invoicing", policy=False)
    _stream_to_bucket("clickstream", "acme-clicks-2026")
    aws("ssm", "put-parameter", "--name", "/flovtrain/shop/db-password", "--value", "pw",
        "--type", "String")  # fmt: skip
    aws("cloudwatch", "put-metric-alarm", "--alarm-name", "cpu", "--namespace", "AWS/EC2",
        "--metric-name", "CPUUtilization", "--statistic", "Maximum", "--period", "60",
        "--evaluation-periods", "1", "--threshold", "90",
        "--comparison-operator", "GreaterThanThreshold")  # fmt: skip
    cl = check("09", session=session)
    assert cl["an SQS queue is subscribed to an SNS topic"].passed
    assert cl["the queue's policy lets the topic send to it"].why == (
        "invoicing has no queue policy: SNS may not send to it on AWS"
    )
    assert cl["a record sent to the stream arrived in its bucket"].why.startswith(
        "bucket acme-clicks-2026 of clickstream is empty"
    )
    assert cl["its bucket archives old objects to a Glacier storage class"].why == (
        "bucket acme-clicks-2026 has no enabled lifecycle rule to a Glacier class"
    )
    assert cl["an alarm on a custom metric is in ALARM"].why == (
        f"no CloudWatch alarm on a custom metric (a namespace not AWS/...) in {REGION}"
    )
    assert cl["a SecureString parameter in Parameter Store"].why == (
        f"no SecureString parameter in {REGION}; /flovtrain/shop/db-password is a String, "
        "not a SecureString"
    )


# ---------------------------------------------------------------- chapter 10


def test_ch10_deleting_with_the_cli_passes_and_leftovers_are_named(session):
    tags = "Key=flovtrain:workshop,Value=flovtrain"
    aws("sns", "create-topic", "--name", "shop-orders", "--tags", tags)
    url = aws("sqs", "create-queue", "--queue-name", "flovtrain-orders-billing")["QueueUrl"]
    cl = check("10", session=session)
    assert cl["no sqs resources of the workbook left"].why.startswith("still there: ")
    assert "flovtrain-orders-billing" in cl["no sqs resources of the workbook left"].why
    assert "shop-orders" in cl["no sns resources of the workbook left"].why
    topic = aws("sns", "list-topics")["Topics"][0]["TopicArn"]
    aws("sns", "delete-topic", "--topic-arn", topic)
    aws("sqs", "delete-queue", "--queue-url", url)
    cl = check("10", session=session)
    assert cl.passed, str(cl)
