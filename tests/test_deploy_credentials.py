"""The CodeDeploy agent downloads a revision as the instance profile's role, as on AWS.

An instance whose profile role may read the bundle deploys; one whose role may not fails
DownloadBundle with S3's ``Access Denied`` (the evaluator's explanation in the log tail); a role
that does not trust EC2 gives the agent no credentials (its ``Missing credentials`` log line);
across accounts the bucket policy must allow the role too; an instance without a profile has
no credentials at all. Plain boto3 against the session sandbox.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any

import boto3
import pytest

from flovtrain import config, flovtec
from flovtrain.sandbox.engines.deploy.credentials import ACCESS_DENIED, MISSING_CREDENTIALS

REGION = "eu-west-1"
VERSION = "2012-10-17"
AMI = "ami-12c6146b"
BUNDLE = io.BytesIO()
with zipfile.ZipFile(BUNDLE, "w") as _zip:
    _zip.writestr("appspec.yml", "version: 0.0\nos: linux\n")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def bucket_with_bundle(session: Any = None) -> str:
    s3 = (session or boto3.Session(region_name=REGION)).client("s3", region_name=REGION)
    name = _name("revs")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=name, Key="app.zip", Body=BUNDLE.getvalue())
    return name


def instance_role(read: str | None, service: str = "ec2.amazonaws.com") -> str:
    """A profile whose role trusts ``service`` and may read ``read`` (a bucket) or nothing."""
    iam = boto3.client("iam")
    name = _name("web")
    trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": VERSION, "Statement": [trust]}),
    )["Role"]["Arn"]
    if read:
        statement = {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{read}/*",
        }
        iam.put_role_policy(
            RoleName=name,
            PolicyName="read",
            PolicyDocument=json.dumps({"Version": VERSION, "Statement": [statement]}),
        )
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return name


def deploy(bucket: str, profile: str | None) -> tuple[dict, dict]:
    """Launch one instance (with ``profile``), deploy ``bucket``'s bundle; the deployment and
    the instance's DownloadBundle event."""
    tag = _name("env")
    extra = {"IamInstanceProfile": {"Name": profile}} if profile else {}
    ec2 = boto3.client("ec2", region_name=REGION)
    (instance,) = ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "env", "Value": tag}]}],
        **extra,
    )["Instances"]
    cd = boto3.client("codedeploy", region_name=REGION)
    cd.create_application(applicationName=tag)
    cd.create_deployment_group(
        applicationName=tag,
        deploymentGroupName="g",
        serviceRoleArn=f"arn:aws:iam::{config.SANDBOX_ACCOUNT_ID}:role/cd",
        ec2TagFilters=[{"Key": "env", "Value": tag, "Type": "KEY_AND_VALUE"}],
    )
    deployment_id = cd.create_deployment(
        applicationName=tag,
        deploymentGroupName="g",
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": bucket, "key": "app.zip", "bundleType": "zip"},
        },
    )["deploymentId"]
    deadline = time.monotonic() + 60
    while True:
        info = cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] in ("Succeeded", "Failed", "Stopped") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    summary = cd.get_deployment_instance(
        deploymentId=deployment_id, instanceId=instance["InstanceId"]
    )["instanceSummary"]
    event = next(
        e for e in summary["lifecycleEvents"] if e["lifecycleEventName"] == "DownloadBundle"
    )
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    return info, event


@pytest.mark.usefixtures("clean_sandbox")
def test_a_profile_role_that_reads_the_bucket_deploys():
    bucket = bucket_with_bundle()
    info, event = deploy(bucket, instance_role(read=bucket))
    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert event["status"] == "Succeeded"


@pytest.mark.usefixtures("clean_sandbox")
def test_a_profile_role_without_s3_read_fails_download_bundle_with_access_denied():
    bucket = bucket_with_bundle()
    profile = instance_role(read=None)
    info, event = deploy(bucket, profile)
    assert info["status"] == "Failed"
    assert event["status"] == "Failed"
    assert event["diagnostics"]["message"] == ACCESS_DENIED
    assert (
        f"assumed-role/{profile}/i-" in event["diagnostics"]["logTail"]
        and f"is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::{bucket}/app.zip"
        in event["diagnostics"]["logTail"]
    )


@pytest.mark.usefixtures("clean_sandbox")
def test_a_role_that_does_not_trust_ec2_leaves_the_agent_without_credentials():
    bucket = bucket_with_bundle()
    info, event = deploy(bucket, instance_role(read=bucket, service="codedeploy.amazonaws.com"))
    assert info["status"] == "Failed"
    assert event["diagnostics"]["message"] == MISSING_CREDENTIALS


@pytest.mark.usefixtures("clean_sandbox")
def test_across_accounts_the_bucket_policy_must_allow_the_instance_role():
    prod = flovtec.assume_role(flovtec.prod_role_arn(), region=REGION)
    bucket = bucket_with_bundle(prod)  # PROD's bucket, DEV's instance
    profile = instance_role(read=bucket)
    info, event = deploy(bucket, profile)
    assert info["status"] == "Failed"
    assert event["diagnostics"]["message"] == ACCESS_DENIED
    assert "no resource-based policy allows" in event["diagnostics"]["logTail"]

    role_arn = f"arn:aws:iam::{config.SANDBOX_ACCOUNT_ID}:role/{profile}"
    grant = {
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    prod.client("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": VERSION, "Statement": [grant]})
    )
    info, event = deploy(bucket, profile)
    assert info["status"] == "Succeeded", info.get("errorInformation")


@pytest.mark.usefixtures("clean_sandbox")
def test_an_instance_without_a_profile_has_no_credentials():
    info, event = deploy(bucket_with_bundle(), None)
    assert info["status"] == "Failed"
    assert event["status"] == "Failed"
    assert event["diagnostics"]["message"] == MISSING_CREDENTIALS
    assert "CommandPoller: " + MISSING_CREDENTIALS in event["diagnostics"]["logTail"]


@pytest.mark.usefixtures("clean_sandbox")
def test_chapter_07s_instance_profile_reads_its_buckets_and_survives_a_rerun():
    bucket = bucket_with_bundle()
    flovtec.ensure_instance_profile(["elsewhere"])
    profile = flovtec.ensure_instance_profile([bucket])  # a re-run widens the policy
    info, event = deploy(bucket, profile)
    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert event["status"] == "Succeeded"
