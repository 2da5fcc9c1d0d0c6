"""The sandbox's own services act as the service role a resource names, as on AWS.

CodeBuild runs builds as the project's role (the commands sign with the role session's keys),
CodePipeline runs actions as the pipeline's role: a role the service cannot assume, or one
without the permission an action needs, fails it with AWS's message. Plain boto3 and the AWS
CLI against the session sandbox.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
from sandbox_fixtures import wait_for_build

from flovtrain import config

pytestmark = pytest.mark.usefixtures("clean_sandbox")

DEV = config.SANDBOX_ACCOUNT_ID
PROD = "210987654321"
REGION = "eu-west-1"
VERSION = "2012-10-17"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}


def role(name: str, service: str, *actions: str, account_session=None) -> str:
    """A role ``service`` may assume, allowed ``actions`` on every resource (none: no policy)."""
    iam = (account_session or boto3).client("iam")
    trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": VERSION, "Statement": [trust]}),
    )["Role"]["Arn"]
    if actions:
        allow(name, *actions)
    return arn


def allow(name: str, *actions: str) -> None:
    statement = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    boto3.client("iam").put_role_policy(
        RoleName=name,
        PolicyName="service",
        PolicyDocument=json.dumps({"Version": VERSION, "Statement": [statement]}),
    )


def inline_project(name: str, role_arn: str, commands: list[str]) -> None:
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(
        f"      - {json.dumps(c)}\n" for c in commands
    )
    boto3.client("codebuild", region_name=REGION).create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": spec},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=role_arn,
    )


def build(project: str) -> tuple[dict, str]:
    """Run ``project`` once; return the finished build and its log text."""
    cb = boto3.client("codebuild", region_name=REGION)
    started = cb.start_build(projectName=project)["build"]["id"]
    done = wait_for_build(cb, started)
    events = boto3.client("logs", region_name=REGION).get_log_events(
        logGroupName=done["logs"]["groupName"], logStreamName=done["logs"]["streamName"]
    )["events"]
    return done, "\n".join(e["message"] for e in events)


def failed_phase(done: dict) -> tuple[str, dict]:
    phase = next(p for p in done["phases"] if p.get("phaseStatus") not in (None, "SUCCEEDED"))
    return phase["phaseType"], phase["contexts"][0]


# -- CodeBuild -----------------------------------------------------------------------------------
def test_a_build_acts_as_its_service_role_and_is_denied_what_the_role_may_not_do():
    arn = role("builder", "codebuild.amazonaws.com", "logs:CreateLogStream", "logs:PutLogEvents")
    inline_project("whoami", arn, ["aws sts get-caller-identity --query Arn", "aws s3 ls"])
    done, log = build("whoami")
    session = f"arn:aws:sts::{DEV}:assumed-role/builder/AWSCodeBuild-{done['id'].split(':')[1]}"
    assert f'"{session}"' in log
    assert done["buildStatus"] == "FAILED"
    assert (
        "An error occurred (AccessDenied) when calling the ListBuckets operation: "
        f"User: {session} is not authorized to perform: s3:ListAllMyBuckets on resource: "
        "arn:aws:s3:::* because no "
        "identity-based policy allows the s3:ListAllMyBuckets action"
    ) in log
    phase, context = failed_phase(done)
    assert (phase, context["statusCode"]) == ("BUILD", "COMMAND_EXECUTION_ERROR")

    allow("builder", "logs:CreateLogStream", "logs:PutLogEvents", "s3:ListAllMyBuckets")
    again, _ = build("whoami")
    assert again["buildStatus"] == "SUCCEEDED", again["phases"]


def test_codebuild_refuses_a_role_it_cannot_assume():
    cb = boto3.client("codebuild", region_name=REGION)
    missing = f"arn:aws:iam::{DEV}:role/nobody"
    for arn in (missing, role("ec2-only", "ec2.amazonaws.com", "s3:*")):
        with pytest.raises(cb.exceptions.InvalidInputException) as refused:
            inline_project("refused", arn, ["true"])
        assert refused.value.response["Error"]["Message"] == (
            f"CodeBuild is not authorized to perform: sts:AssumeRole on {arn}"
        )
    assert cb.batch_get_projects(names=["refused"])["projects"] == []


def test_a_role_without_log_permissions_fails_the_build_in_provisioning():
    arn = role("silent", "codebuild.amazonaws.com")  # trusts CodeBuild, allows nothing
    inline_project("nolog", arn, ["echo never"])
    done, _ = build("nolog")
    assert done["buildStatus"] == "FAILED"
    phase, context = failed_phase(done)
    uuid = done["id"].split(":")[1]
    assert (phase, context["statusCode"]) == ("PROVISIONING", "ACCESS_DENIED")
    assert context["message"] == (
        f"Service role {arn} does not allow AWS CodeBuild to create Amazon CloudWatch Logs log "
        f"streams for build {done['arn']}. Error message: User: arn:aws:sts::{DEV}:assumed-role/"
        f"silent/AWSCodeBuild-{uuid} is not authorized to perform: logs:CreateLogStream on "
        f"resource: arn:aws:logs:{REGION}:{DEV}:log-group:/aws/codebuild/nolog:log-stream:{uuid}"
        " because no identity-based policy allows the logs:CreateLogStream action"
    )


# -- CodePipeline --------------------------------------------------------------------------------
def source_pipeline(name: str, role_arn: str) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=name, Key="app.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    source = {
        "name": "Source",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": name, "S3ObjectKey": "app.zip"},
        "outputArtifacts": [{"name": "Out"}],
    }
    hold = {
        "name": "Hold",
        "actionTypeId": {
            "category": "Approval",
            "owner": "AWS",
            "provider": "Manual",
            "version": "1",
        },
    }
    boto3.client("codepipeline", region_name=REGION).create_pipeline(
        pipeline={
            "name": name,
            "roleArn": role_arn,
            "artifactStore": {"type": "S3", "location": name},
            "stages": [
                {"name": "Source", "actions": [source]},
                {"name": "Hold", "actions": [hold]},
            ],
        }
    )


def action_state(pipeline: str, stage: str, wanted: tuple[str, ...]) -> dict:
    cp = boto3.client("codepipeline", region_name=REGION)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for s in cp.get_pipeline_state(name=pipeline)["stageStates"]:
            latest = s.get("actionStates", [{}])[0].get("latestExecution", {})
            if s["stageName"] == stage and latest.get("status") in wanted:
                return latest
        time.sleep(0.1)
    raise AssertionError(f"{pipeline}/{stage} never reached {wanted}")


def test_a_pipeline_role_without_put_object_fails_the_source_action_until_granted():
    arn = role("reader", "codepipeline.amazonaws.com", "s3:GetObject")
    source_pipeline("readonly-pipe", arn)
    latest = action_state("readonly-pipe", "Source", ("Failed",))
    assert latest["errorDetails"]["code"] == "PermissionError"
    message = latest["errorDetails"]["message"]
    assert message.startswith(
        "Insufficient permissions: The provided role does not have permissions to perform this "
        f"action. Underlying error: User: arn:aws:sts::{DEV}:assumed-role/reader/"
    )
    assert (
        " is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::readonly-pipe/"
        "readonly-pipe/Out/" in message
    )
    assert message.endswith("because no identity-based policy allows the s3:PutObject action")

    allow("reader", "s3:GetObject", "s3:PutObject")
    cp = boto3.client("codepipeline", region_name=REGION)
    execution = cp.list_pipeline_executions(pipelineName="readonly-pipe")[
        "pipelineExecutionSummaries"
    ][0]["pipelineExecutionId"]
    cp.retry_stage_execution(
        pipelineName="readonly-pipe",
        stageName="Source",
        pipelineExecutionId=execution,
        retryMode="FAILED_ACTIONS",
    )
    assert action_state("readonly-pipe", "Source", ("Succeeded",))["status"] == "Succeeded"


def test_a_pipeline_whose_role_stops_trusting_codepipeline_fails_its_action():
    arn = role("fickle", "codepipeline.amazonaws.com", "s3:*")
    source_pipeline("untrusted-pipe", arn)  # CreatePipeline checks the trust: fine here
    action_state("untrusted-pipe", "Hold", ("InProgress",))
    cp = boto3.client("codepipeline", region_name=REGION)
    first = cp.list_pipeline_executions(pipelineName="untrusted-pipe")[
        "pipelineExecutionSummaries"
    ][0]["pipelineExecutionId"]
    cp.stop_pipeline_execution(
        pipelineName="untrusted-pipe", pipelineExecutionId=first, abandon=True
    )
    ec2_only = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}
    boto3.client("iam").update_assume_role_policy(  # then the trust is taken away
        RoleName="fickle",
        PolicyDocument=json.dumps(
            {"Version": VERSION, "Statement": [{**ec2_only, "Action": "sts:AssumeRole"}]}
        ),
    )
    cp.start_pipeline_execution(name="untrusted-pipe")
    latest = action_state("untrusted-pipe", "Source", ("Failed",))
    assert latest["errorDetails"] == {
        "code": "JobFailed",
        "message": f"CodePipeline is not authorized to perform AssumeRole on role {arn}",
    }


# -- chapter 07: the publish from DEV/UAT into PROD's staging bucket -----------------------------
def test_a_dev_build_publishes_to_prod_only_while_prods_bucket_policy_grants_it():
    from flovtrain import flovtec

    prod_root = flovtec.account_root(PROD, REGION)
    assert prod_root.client("sts").get_caller_identity()["Account"] == PROD
    staging = f"flovtec-staging-{PROD}"
    prod_s3 = prod_root.client("s3")
    prod_s3.create_bucket(Bucket=staging, CreateBucketConfiguration={"LocationConstraint": REGION})
    grant = {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DevUatPublishesReleases",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{staging}/releases/*",
            }
        ],
    }
    prod_s3.put_bucket_policy(Bucket=staging, Policy=json.dumps(grant))
    arn = role("publisher", "codebuild.amazonaws.com", "s3:PutObject", "logs:*")
    put = f"echo release > r.txt && aws s3 cp r.txt s3://{staging}/releases/r.txt"
    inline_project("publish", arn, [put])

    done, _ = build("publish")
    assert done["buildStatus"] == "SUCCEEDED", done["phases"]
    prod_s3.delete_bucket_policy(Bucket=staging)  # PROD's admin takes the grant away
    done, log = build("publish")
    assert done["buildStatus"] == "FAILED"
    session = f"arn:aws:sts::{DEV}:assumed-role/publisher/AWSCodeBuild-{done['id'].split(':')[1]}"
    assert (
        "An error occurred (AccessDenied) when calling the PutObject operation: "
        f"User: {session} is not authorized to perform: s3:PutObject on resource: "
        f"arn:aws:s3:::{staging}/releases/r.txt because no resource-based policy allows "
        "the s3:PutObject action"
    ) in log
    prod_s3.put_bucket_policy(Bucket=staging, Policy=json.dumps(grant))
    done, _ = build("publish")
    assert done["buildStatus"] == "SUCCEEDED", done["phases"]
