"""S3 provider: bucket names and bucket policies are checked as S3 checks them."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from flovtrain.sandbox.providers.s3 import bucket_name_problem, policy_problem

REGION = "eu-west-1"
pytestmark = pytest.mark.usefixtures("clean_sandbox")


@pytest.fixture
def s3():
    return boto3.client("s3", region_name=REGION)


def _create(s3, name: str) -> dict:
    return s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


def _statement(*without: str, **overrides) -> dict:
    """A statement S3 takes for bucket ``site``, less the fields ``without``, with ``overrides``."""
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::site/*",
        **overrides,
    }
    return {k: v for k, v in statement.items() if k not in without}


@pytest.mark.parametrize(
    "name",
    [
        "Bad_Bucket",
        "UPPER",
        "-dash-first",
        "dot-last.",
        "two..dots",
        "192.0.2.10",
        "xn--idn",
        "x" * 64,
        "ab",
        "my-bucket-s3alias",
    ],
)
def test_invalid_bucket_names_are_refused(s3, name):
    assert bucket_name_problem(name)
    with pytest.raises(ClientError) as err:
        _create(s3, name)
    assert err.value.response["Error"]["Code"] == "InvalidBucketName"
    assert err.value.response["Error"]["Message"] == "The specified bucket is not valid."
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("name", ["abc", "my.site.example", "flovtrain-artifacts-123456789012"])
def test_valid_bucket_names_are_taken(s3, name):
    assert bucket_name_problem(name) is None
    _create(s3, name)
    s3.head_bucket(Bucket=name)


@pytest.mark.parametrize(
    "policy, message",
    [
        ("allow everyone", "Policies must be valid JSON and the first byte must be '{'"),
        ('["not", "an object"]', "Policies must be valid JSON and the first byte must be '{'"),
        ({"Version": "2012-10-17"}, "Missing required field Statement"),
        ({"Statement": []}, "Could not parse the policy: Statement is empty!"),
        ({"Statement": [_statement("Principal")]}, "Missing required field Principal"),
        ({"Statement": [_statement(Action="ec2:RunInstances")]}, "Policy has invalid action"),
        (
            {"Statement": [_statement(Resource="arn:aws:s3:::other/*")]},
            "Policy has invalid resource",
        ),
    ],
)
def test_malformed_policies_are_refused_and_none_is_stored(s3, policy, message):
    text = policy if isinstance(policy, str) else json.dumps(policy)
    assert policy_problem("site", text) == message
    _create(s3, "site")
    with pytest.raises(ClientError) as err:
        s3.put_bucket_policy(Bucket="site", Policy=text)
    assert err.value.response["Error"]["Code"] == "MalformedPolicy"
    assert err.value.response["Error"]["Message"] == message
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy(Bucket="site")
    assert err.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    assert err.value.response["Error"]["Message"] == "The bucket policy does not exist"


def test_a_valid_policy_is_stored(s3):
    _create(s3, "site")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [_statement()]})
    s3.put_bucket_policy(Bucket="site", Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket="site")["Policy"]) == json.loads(policy)
