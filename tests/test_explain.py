"""flovtrain.explain_denial: the evaluation behind an AccessDenied, fetched by request id."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

import flovtrain
from flovtrain import session as session_module
from flovtrain.exceptions import DenialNotFound, SandboxOnly
from flovtrain.explain import DenialExplanation, explain_denial

pytestmark = pytest.mark.usefixtures("clean_sandbox")
BUCKET = "flovtrain-visitor-explained"


def _visitor_s3():
    iam = boto3.client("iam")
    iam.create_user(UserName="visitor")
    key = iam.create_access_key(UserName="visitor")["AccessKey"]
    return iam, boto3.client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def _create(s3) -> None:
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})


def test_a_denial_is_explained_with_the_smallest_change():
    iam, s3 = _visitor_s3()
    with pytest.raises(ClientError) as denied:
        _create(s3)
    explained = flovtrain.explain_denial(denied.value)
    assert isinstance(explained, DenialExplanation)
    assert explained.principal.endswith(":user/visitor")
    assert explained.action == "s3:CreateBucket"
    assert explained.resource == f"arn:aws:s3:::{BUCKET}"
    assert "no identity-based policy allows" in explained.message
    assert "implicitDeny" in str(explained)
    assert any("s3:CreateBucket" in c and "user/visitor" in c for c in explained.smallest_change)
    html = explained._repr_html_()
    assert "Smallest change" in html and "<details>" in html
    # the explanation's advice works: with a policy allowing the action the request passes
    iam.put_user_policy(
        UserName="visitor",
        PolicyName="create-that-bucket",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        f'"Action": "s3:CreateBucket", "Resource": "arn:aws:s3:::{BUCKET}"}}]}}',
    )
    _create(s3)


def test_an_explicit_deny_is_named():
    iam, s3 = _visitor_s3()
    iam.attach_user_policy(
        UserName="visitor", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    iam.put_user_policy(
        UserName="visitor",
        PolicyName="no-buckets",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", '
        '"Action": "s3:CreateBucket", "Resource": "*"}]}',
    )
    with pytest.raises(ClientError) as denied:
        _create(s3)
    explained = explain_denial(denied.value.response)
    assert "explicit deny" in explained.message
    assert "no-buckets" in str(explained)


def test_what_is_not_a_denial_is_refused_clearly():
    with pytest.raises(ClientError) as missing:
        boto3.client("iam").get_user(UserName="nobody")
    with pytest.raises(ValueError, match="NoSuchEntity is not a denial"):
        explain_denial(missing.value)
    with pytest.raises(TypeError, match="the botocore ClientError you caught"):
        explain_denial("AccessDenied")
    forged = {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"RequestId": "NOPE"}}
    with pytest.raises(DenialNotFound, match="no denial with request id NOPE"):
        explain_denial(forged)


def test_on_real_aws_it_says_what_to_use_instead(monkeypatch):
    real = session_module.Connection("aws", "111122223333", "eu-west-1", None)
    monkeypatch.setattr(session_module, "current", lambda: real)
    denial = {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"RequestId": "R1"}}
    with pytest.raises(SandboxOnly, match="simulate_principal_policy"):
        explain_denial(denial)
