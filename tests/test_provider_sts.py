"""STS provider: AssumeRole keeps to the role's MaxSessionDuration, as AWS does."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.usefixtures("clean_sandbox")
ACCOUNT = "123456789012"


@pytest.fixture
def role_arn():
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            }
        ],
    }
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(
        RoleName="two-hours", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=7200
    )
    return role["Role"]["Arn"]


def test_duration_above_the_roles_maximum_is_refused(role_arn):
    sts = boto3.client("sts", region_name="eu-west-1")
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="session", DurationSeconds=7201)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert err.value.response["Error"]["Message"] == (
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )
    granted = sts.assume_role(RoleArn=role_arn, RoleSessionName="session", DurationSeconds=7200)
    assert granted["Credentials"]["AccessKeyId"]
