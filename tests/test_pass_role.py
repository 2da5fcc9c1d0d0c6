"""``iam:PassRole``: handing a role to a service needs permission to pass that role, as on AWS.

A user allowed only the service's own actions is refused CodeBuild's CreateProject
(``serviceRole``), CodePipeline's CreatePipeline (``roleArn``), CodeDeploy's
CreateDeploymentGroup (``serviceRoleArn``), EC2's RunInstances (the instance profile's role) and
CloudFormation's CreateStack (``RoleARN``) with the PassRole denial in the service's own error
code; the same user with ``iam:PassRole`` on the role succeeds, and so does the account's root.
Plain boto3 against the session sandbox.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from flovtrain import config

pytestmark = pytest.mark.usefixtures("clean_sandbox")

ACCOUNT = config.SANDBOX_ACCOUNT_ID
REGION = "eu-west-1"
VERSION = "2012-10-17"
AMI = "ami-12c6146b"


def role(name: str, service: str) -> str:
    trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return boto3.client("iam").create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": VERSION, "Statement": [trust]}),
    )["Role"]["Arn"]


def user_session(*statements: dict[str, Any]) -> boto3.Session:
    """A new IAM user allowed ``statements``, signing with its own access key."""
    iam = boto3.client("iam")
    name = f"dev-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="work",
        PolicyDocument=json.dumps({"Version": VERSION, "Statement": list(statements)}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=REGION,
    )


def allow(*actions: str, resource: str = "*", **condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": list(actions), "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def create_project(session: Any, role_arn: str) -> None:
    session.client("codebuild").create_project(
        name=f"p-{uuid.uuid4().hex[:8]}",
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases: {}\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=role_arn,
    )


def create_pipeline(session: Any, role_arn: str) -> None:
    bucket = f"art-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    source = {
        "name": "Source",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": bucket, "S3ObjectKey": "app.zip"},
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
    session.client("codepipeline").create_pipeline(
        pipeline={
            "name": bucket,
            "roleArn": role_arn,
            "artifactStore": {"type": "S3", "location": bucket},
            "stages": [{"name": "A", "actions": [source]}, {"name": "B", "actions": [hold]}],
        }
    )


def create_group(session: Any, role_arn: str) -> None:
    app = f"app-{uuid.uuid4().hex[:8]}"
    boto3.client("codedeploy", region_name=REGION).create_application(applicationName=app)
    session.client("codedeploy").create_deployment_group(
        applicationName=app, deploymentGroupName="g", serviceRoleArn=role_arn
    )


def run_instance(session: Any, role_arn: str) -> None:
    iam = boto3.client("iam")
    profile = f"prof-{uuid.uuid4().hex[:8]}"
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role_arn.split("/")[-1])
    ec2 = session.client("ec2")
    (instance,) = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, IamInstanceProfile={"Name": profile}
    )["Instances"]
    boto3.client("ec2", region_name=REGION).terminate_instances(
        InstanceIds=[instance["InstanceId"]]
    )


def create_stack(session: Any, role_arn: str) -> None:
    template = {"Resources": {"Wait": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    session.client("cloudformation").create_stack(
        StackName=f"s-{uuid.uuid4().hex[:8]}", TemplateBody=json.dumps(template), RoleARN=role_arn
    )


#: service, the call passing the role, the actions a user needs besides PassRole, AWS's code
CASES: list[tuple[str, Callable[[Any, str], None], tuple[str, ...], str]] = [
    ("codebuild", create_project, ("codebuild:*",), "AccessDeniedException"),
    ("codepipeline", create_pipeline, ("codepipeline:*",), "AccessDeniedException"),
    ("codedeploy", create_group, ("codedeploy:*",), "AccessDeniedException"),
    ("ec2", run_instance, ("ec2:*",), "UnauthorizedOperation"),
    ("cloudformation", create_stack, ("cloudformation:*",), "AccessDenied"),
]


@pytest.mark.parametrize(("service", "call", "actions", "code"), CASES, ids=[c[0] for c in CASES])
def test_passing_a_role_needs_iam_pass_role(service, call, actions, code):
    arn = role(f"{service}-role-{uuid.uuid4().hex[:6]}", f"{service}.amazonaws.com")
    without = user_session(allow(*actions))
    with pytest.raises(ClientError) as refused:
        call(without, arn)
    error = refused.value.response["Error"]
    user = without.client("sts").get_caller_identity()["Arn"]
    assert error["Code"] == code
    assert (
        f"User: {user} is not authorized to perform: iam:PassRole on resource: {arn} because no "
        "identity-based policy allows the iam:PassRole action"
    ) in error["Message"]
    if code == "UnauthorizedOperation":  # EC2 leads with its own sentence
        assert error["Message"].startswith("You are not authorized to perform this operation. ")

    call(user_session(allow(*actions), allow("iam:PassRole", resource=arn)), arn)
    call(boto3.Session(region_name=REGION), arn)  # the account's root passes any role


def test_pass_role_to_another_service_is_refused_by_passed_to_service():
    arn = role(f"ci-{uuid.uuid4().hex[:6]}", "codebuild.amazonaws.com")
    only_codebuild = {"StringEquals": {"iam:PassedToService": "codebuild.amazonaws.com"}}
    session = user_session(
        allow("codebuild:*", "codedeploy:*"),
        allow("iam:PassRole", resource=arn, **only_codebuild),
    )
    create_project(session, arn)
    with pytest.raises(ClientError) as refused:
        create_group(session, arn)
    assert "iam:PassRole" in refused.value.response["Error"]["Message"]


def test_an_explicit_deny_on_pass_role_wins_over_allow():
    arn = role(f"deploy-{uuid.uuid4().hex[:6]}", "codedeploy.amazonaws.com")
    deny = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": arn}
    session = user_session(allow("codedeploy:*", "iam:*"), deny)
    with pytest.raises(ClientError) as refused:
        create_group(session, arn)
    assert (
        "with an explicit deny in an identity-based policy"
        in (refused.value.response["Error"]["Message"])
    )
