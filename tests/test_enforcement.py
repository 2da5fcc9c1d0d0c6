"""IAM enforced per request by the caller's credentials: no global switch, AWS's decisions and
AWS's denial messages in each protocol, cross-account bucket policies and role trust."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from flovtrain import config

pytestmark = pytest.mark.usefixtures("clean_sandbox")

DEV = config.SANDBOX_ACCOUNT_ID
PROD = "210987654321"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
REGION = "eu-west-1"
NO_RETRY = Config(retries={"max_attempts": 1})
AWS = str(Path(sys.executable).with_name("aws"))


def client(service: str, key: dict, region: str = REGION):
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=key.get("SessionToken"),
        config=NO_RETRY,
    )


def new_user(iam, name: str) -> dict:
    iam.create_user(UserName=name)
    return iam.create_access_key(UserName=name)["AccessKey"]


def denied(call) -> dict:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response


def no_identity_policy(arn: str, action: str, resource: str | None = None) -> str:
    on = f" on resource: {resource}" if resource else ""
    return (
        f"User: {arn} is not authorized to perform: {action}{on} "
        f"because no identity-based policy allows the {action} action"
    )


def prod_admin() -> dict:
    """An admin session in the PROD account (OrganizationAccountAccessRole, as in chapter 07)."""
    creds = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole", RoleSessionName="ops"
    )["Credentials"]
    return creds


def create_bucket(s3, name: str) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


def test_user_is_denied_until_a_group_grants_it_and_root_is_not_subject_to_policies():
    iam = boto3.client("iam")
    key = new_user(iam, "john")
    s3 = client("s3", key)
    error = denied(lambda: create_bucket(s3, "johns-bucket"))
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Message"] == no_identity_policy(
        f"arn:aws:iam::{DEV}:user/john", "s3:CreateBucket", "arn:aws:s3:::johns-bucket"
    )
    create_bucket(boto3.client("s3", region_name=REGION), "roots-bucket")  # root: no policy needed
    iam.create_group(GroupName="system-admins")
    iam.attach_group_policy(GroupName="system-admins", PolicyArn=ADMIN)
    iam.add_user_to_group(GroupName="system-admins", UserName="john")
    create_bucket(s3, "johns-bucket")
    assert "johns-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    iam.remove_user_from_group(GroupName="system-admins", UserName="john")
    assert denied(lambda: s3.list_buckets())["Error"]["Code"] == "AccessDenied"


def test_explicit_deny_wins_over_allow_and_binds_even_root_in_a_bucket_policy():
    iam = boto3.client("iam")
    key = new_user(iam, "carol")
    iam.attach_user_policy(UserName="carol", PolicyArn=ADMIN)
    iam.put_user_policy(
        UserName="carol",
        PolicyName="no-deletes",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}],
            }
        ),
    )
    s3 = client("s3", key)
    create_bucket(s3, "carols-bucket")
    error = denied(lambda: s3.delete_bucket(Bucket="carols-bucket"))
    assert error["Error"]["Message"] == (
        f"User: arn:aws:iam::{DEV}:user/carol is not authorized to perform: s3:DeleteBucket on "
        "resource: arn:aws:s3:::carols-bucket with an explicit deny in an identity-based policy"
    )
    root = boto3.client("s3", region_name=REGION)
    root.put_bucket_policy(
        Bucket="carols-bucket",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::carols-bucket/locked/*",
                    }
                ],
            }
        ),
    )
    root.put_object(Bucket="carols-bucket", Key="open/a.txt", Body=b"ok")
    error = denied(lambda: root.put_object(Bucket="carols-bucket", Key="locked/a.txt", Body=b"x"))
    assert error["Error"]["Message"] == (
        f"User: arn:aws:iam::{DEV}:root is not authorized to perform: s3:PutObject on resource: "
        "arn:aws:s3:::carols-bucket/locked/a.txt with an explicit deny in a resource-based policy"
    )


def test_cross_account_needs_the_identity_policy_and_the_bucket_policy():
    prod_s3 = client("s3", prod_admin())
    bucket = f"flovtec-staging-{PROD}"
    create_bucket(prod_s3, bucket)
    iam = boto3.client("iam")
    admin_key = new_user(iam, "imre")
    iam.attach_user_policy(UserName="imre", PolicyArn=ADMIN)
    plain_key = new_user(iam, "visitor")
    put = lambda key: client("s3", key).put_object(  # noqa: E731
        Bucket=bucket, Key="releases/app.zip", Body=b"zip"
    )
    resource = f"arn:aws:s3:::{bucket}/releases/app.zip"
    error = denied(lambda: put(admin_key))
    assert error["Error"]["Message"] == (
        f"User: arn:aws:iam::{DEV}:user/imre is not authorized to perform: s3:PutObject on "
        f"resource: {resource} because no resource-based policy allows the s3:PutObject action"
    )
    root_put = lambda: boto3.client("s3", region_name=REGION).put_object(  # noqa: E731
        Bucket=bucket, Key="releases/app.zip", Body=b"zip"
    )
    assert denied(root_put)["Error"]["Code"] == "AccessDenied"  # the DEV root, too
    prod_s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DevUatPublishesReleases",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{bucket}/releases/*",
                    }
                ],
            }
        ),
    )
    put(admin_key)
    root_put()
    error = denied(lambda: put(plain_key))  # the bucket allows, the caller's own policies do not
    assert error["Error"]["Message"] == no_identity_policy(
        f"arn:aws:iam::{DEV}:user/visitor", "s3:PutObject", resource
    )
    error = denied(
        lambda: client("s3", admin_key).put_object(Bucket=bucket, Key="other.txt", Body=b"x")
    )
    assert "because no resource-based policy allows" in error["Error"]["Message"]


def _role(iam, name: str, statement: dict) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", **statement}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN)
    return arn


def _dev_account_may(**condition: dict) -> dict:
    """A trust statement allowing DEV's principals, under ``condition`` when one is given."""
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"}}
    return {**statement, "Condition": condition} if condition else statement


def test_assume_role_checks_trust_policy_caller_permission_and_conditions():
    iam = boto3.client("iam")
    account_trust = _role(iam, "deployer", _dev_account_may())
    service_only = _role(
        iam, "builder", {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}}
    )
    external = _role(
        iam, "partner", _dev_account_may(StringEquals={"sts:ExternalId": "flovtec-42"})
    )
    mfa = _role(iam, "breakglass", _dev_account_may(Bool={"aws:MultiFactorAuthPresent": "true"}))
    plain = client("sts", new_user(iam, "visitor"))
    admin_key = new_user(iam, "imre")
    iam.attach_user_policy(UserName="imre", PolicyArn=ADMIN)
    admin = client("sts", admin_key)
    assume = lambda sts, arn, **kw: sts.assume_role(  # noqa: E731
        RoleArn=arn, RoleSessionName="ci", **kw
    )["Credentials"]
    error = denied(lambda: assume(plain, account_trust))  # trust names the account only
    assert error["Error"]["Message"] == (
        f"User: arn:aws:iam::{DEV}:user/visitor is not authorized to perform: sts:AssumeRole "
        f"on resource: {account_trust}"
    )
    session = assume(admin, account_trust)
    who = client("sts", session).get_caller_identity()["Arn"]
    assert who == f"arn:aws:sts::{DEV}:assumed-role/deployer/ci"
    client("s3", session).list_buckets()  # the role's AdministratorAccess applies
    assert denied(lambda: assume(admin, service_only))["Error"]["Code"] == "AccessDenied"
    assert denied(lambda: assume(admin, external))["Error"]["Code"] == "AccessDenied"
    assume(admin, external, ExternalId="flovtec-42")
    assert denied(lambda: assume(admin, mfa))["Error"]["Code"] == "AccessDenied"
    assume(admin, mfa, SerialNumber=f"arn:aws:iam::{DEV}:mfa/imre", TokenCode="123456")
    missing = f"arn:aws:iam::{DEV}:role/no-such-role"
    error = denied(lambda: assume(admin, missing))
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["Error"]["Message"] == (
        f"User: arn:aws:iam::{DEV}:user/imre is not authorized to perform: sts:AssumeRole "
        f"on resource: {missing}"
    )
    other_account = "arn:aws:iam::999999999999:role/anything"
    assert denied(lambda: assume(admin, other_account))["Error"]["Code"] == "AccessDenied"


def test_a_session_is_bound_by_its_role_and_a_deactivated_key_is_refused():
    iam = boto3.client("iam")
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"}}
    arn = iam.create_role(
        RoleName="reader",
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", **trust}]}
        ),
    )["Role"]["Arn"]
    iam.attach_role_policy(
        RoleName="reader", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    )
    creds = boto3.client("sts").assume_role(RoleArn=arn, RoleSessionName="audit")["Credentials"]
    s3 = client("s3", creds)
    s3.list_buckets()
    error = denied(lambda: create_bucket(s3, "readers-bucket"))
    assert error["Error"]["Message"] == no_identity_policy(
        f"arn:aws:sts::{DEV}:assumed-role/reader/audit",
        "s3:CreateBucket",
        "arn:aws:s3:::readers-bucket",
    )
    key = new_user(iam, "leaver")
    iam.attach_user_policy(UserName="leaver", PolicyArn=ADMIN)
    iam.update_access_key(UserName="leaver", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    error = denied(lambda: client("iam", key).list_users())
    assert error["Error"]["Code"] == "InvalidClientTokenId"
    assert error["Error"]["Message"] == "The security token included in the request is invalid."


def test_each_protocol_words_the_denial_as_aws_does():
    key = new_user(boto3.client("iam"), "visitor")
    arn = f"arn:aws:iam::{DEV}:user/visitor"
    cases = [
        ("iam", lambda c: c.list_users(), "AccessDenied", "iam:ListUsers", None),
        (
            "logs",
            lambda c: c.create_log_group(logGroupName="app"),
            "AccessDeniedException",
            "logs:CreateLogGroup",
            f"arn:aws:logs:{REGION}:{DEV}:log-group:app",
        ),
        (
            "sns",
            lambda c: c.create_topic(Name="alerts"),
            "AccessDenied",
            "sns:CreateTopic",
            f"arn:aws:sns:{REGION}:{DEV}:alerts",
        ),
        (
            "codebuild",
            lambda c: c.batch_get_projects(names=["web"]),
            "AccessDeniedException",
            "codebuild:BatchGetProjects",
            f"arn:aws:codebuild:{REGION}:{DEV}:project/web",
        ),
    ]
    for service, call, code, action, resource in cases:
        error = denied(lambda: call(client(service, key)))  # noqa: B023
        assert error["Error"]["Code"] == code, service
        assert error["Error"]["Message"] == no_identity_policy(arn, action, resource), service
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 403, service
    error = denied(lambda: client("ec2", key).describe_instances())
    assert error["Error"]["Code"] == "UnauthorizedOperation"
    assert error["Error"]["Message"] == "You are not authorized to perform this operation. " + (
        no_identity_policy(arn, "ec2:DescribeInstances")
    )
    assert client("sts", key).get_caller_identity()["Arn"] == arn  # needs no permission


def test_four_callers_at_once_do_not_interfere_and_there_is_no_global_switch():
    iam = boto3.client("iam")
    keys = {name: new_user(iam, name) for name in ("ann", "bob", "cat", "dan")}
    for name in ("ann", "cat"):
        iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    # moto's global switch is inert: it neither enforces nor lifts anything
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request, timeout=10).read()
    outcomes: dict[str, list[str]] = {name: [] for name in keys}

    def work(name: str) -> None:
        s3 = client("s3", keys[name])
        for _ in range(8):
            try:
                s3.list_buckets()
                outcomes[name].append("allowed")
            except ClientError as exc:
                outcomes[name].append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=work, args=(name,)) for name in keys]
    for thread in threads:
        thread.start()
    boto3.client("s3", region_name=REGION).list_buckets()  # the root meanwhile
    for thread in threads:
        thread.join(60)
    assert outcomes == {
        "ann": ["allowed"] * 8,
        "bob": ["AccessDenied"] * 8,
        "cat": ["allowed"] * 8,
        "dan": ["AccessDenied"] * 8,
    }
    made_up = boto3.client(
        "sts", aws_access_key_id="x", aws_secret_access_key="y", region_name=REGION
    )
    assert made_up.get_caller_identity()["Account"] == DEV


def test_denials_are_recorded_by_request_id_for_an_explanation():
    key = new_user(boto3.client("iam"), "visitor")
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    for call in (
        lambda: client("sns", key).create_topic(Name="alerts"),
        lambda: create_bucket(client("s3", key), "visitors-bucket"),
    ):
        error = denied(call)
        rid = error["ResponseMetadata"]["RequestId"]
        url = f"{endpoint}/flovtrain-api/sts/denials?request_id={rid}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            (record,) = json.loads(answer.read())
        assert (record["request_id"], record["message"]) == (rid, error["Error"]["Message"])
        assert record["access_key_id"] == key["AccessKeyId"]
        assert record["action"] in record["explanation"]
    with urllib.request.urlopen(f"{endpoint}/flovtrain-api/sts/denials", timeout=10) as answer:
        newest_first = [r["action"] for r in json.loads(answer.read())]
    assert newest_first == ["s3:CreateBucket", "sns:CreateTopic"]


def cli(key: dict, *args: str, region: str = REGION) -> subprocess.CompletedProcess:
    """Run the AWS CLI alone (no flovtrain in the subprocess) with ``key``'s credentials."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "PATH", "HOME", "NO_"))}
    env.update(
        AWS_ACCESS_KEY_ID=key["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
        AWS_DEFAULT_REGION=region,
        AWS_MAX_ATTEMPTS="1",
    )
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=120)


def test_aws_cli_chapter_07_separation(tmp_path):
    """Chapter 07 with the AWS CLI alone: DEV's admin is denied in PROD but may publish to
    ``releases/`` while PROD's bucket policy grants it; PROD's own admin (a user PROD's root
    created) removes the grant and the publish is denied; PROD's admin is allowed throughout."""
    from flovtrain import flovtec

    prod_iam = flovtec.account_root(PROD, REGION).client("iam")
    prod_iam.create_user(UserName="prod-admin")
    prod_iam.attach_user_policy(UserName="prod-admin", PolicyArn=ADMIN)
    prod_key = prod_iam.create_access_key(UserName="prod-admin")["AccessKey"]
    iam = boto3.client("iam")
    dev_key = new_user(iam, "imre")
    iam.attach_user_policy(UserName="imre", PolicyArn=ADMIN)
    bucket = f"flovtec-staging-{PROD}"
    where = ("--create-bucket-configuration", f"LocationConstraint={REGION}")
    made = cli(prod_key, "s3api", "create-bucket", "--bucket", bucket, *where)
    assert made.returncode == 0, made.stderr
    releases = f"arn:aws:s3:::{bucket}/releases/*"
    grant = {"Version": "2012-10-17", "Statement": [{"Sid": "DevUatPublishesReleases",
             "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
             "Action": "s3:PutObject", "Resource": releases}]}  # fmt: skip
    granted = cli(prod_key, "s3api", "put-bucket-policy", "--bucket", bucket, "--policy",
                  json.dumps(grant))  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    release = tmp_path / "release.zip"
    release.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    publish = ("s3", "cp", str(release), f"s3://{bucket}/releases/release.zip")

    listed = cli(dev_key, "s3api", "list-objects-v2", "--bucket", bucket)
    assert listed.returncode != 0
    assert (
        "An error occurred (AccessDenied) when calling the ListObjectsV2 operation: "
        f"User: arn:aws:iam::{DEV}:user/imre is not authorized to perform: s3:ListBucket on "
        f"resource: arn:aws:s3:::{bucket} because no resource-based policy allows the "
        "s3:ListBucket action"
    ) in listed.stderr
    allowed = cli(dev_key, *publish)
    assert allowed.returncode == 0, allowed.stderr
    removed = cli(prod_key, "s3api", "delete-bucket-policy", "--bucket", bucket)
    assert removed.returncode == 0, removed.stderr
    refused = cli(dev_key, *publish)
    assert refused.returncode != 0
    assert (
        "An error occurred (AccessDenied) when calling the PutObject operation: "
        f"User: arn:aws:iam::{DEV}:user/imre is not authorized to perform: s3:PutObject on "
        f"resource: arn:aws:s3:::{bucket}/releases/release.zip because no resource-based policy "
        "allows the s3:PutObject action"
    ) in refused.stderr
    keys = ("--query", "Contents[].Key", "--output", "text")
    mine = cli(prod_key, "s3api", "list-objects-v2", "--bucket", bucket, *keys)
    assert (mine.returncode, mine.stdout.strip()) == (0, "releases/release.zip"), mine.stderr
    ok = cli(dev_key, "s3api", "list-buckets")  # DEV's admin in DEV: allowed
    assert ok.returncode == 0, ok.stderr


def test_overhead_per_request_stays_small():
    """Measured, reported: root and an admin user on the same cheap call (generous bound)."""
    iam = boto3.client("iam")
    key = new_user(iam, "imre")
    iam.attach_user_policy(UserName="imre", PolicyArn=ADMIN)
    timings = {}
    for name, s3 in (
        ("root", boto3.client("s3", region_name=REGION)),
        ("user", client("s3", key)),
    ):
        s3.list_buckets()
        started = time.perf_counter()
        for _ in range(30):
            s3.list_buckets()
        timings[name] = (time.perf_counter() - started) / 30
    print(
        f"per request: root {timings['root'] * 1000:.1f} ms, user {timings['user'] * 1000:.1f} ms"
    )
    assert timings["user"] < timings["root"] + 0.05


def test_an_expired_session_is_refused_with_expired_token():
    """In this process's own moto: a session whose expiry has passed (AWS's minimum is 15 min)."""
    from datetime import timedelta

    from moto.core.utils import utcnow
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    from flovtrain.sandbox.providers import _authz

    account = "444455556666"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}  # fmt: skip
    role = iam_backends[account]["aws"].create_role(
        "nightly", json.dumps(trust), "/", None, "", [], "3600"
    )
    session = sts_backends[account]["aws"].assume_role(
        region_name="us-east-1",
        role_session_name="nightly",
        role_arn=role.arn,
        policy=None,
        duration=900,
        external_id=None,
    )
    principal = _authz.identify(session.access_key_id, account)
    assert (principal.kind, principal.arn) == (
        "session",
        f"arn:aws:sts::{account}:assumed-role/nightly/nightly",
    )
    session.expiration = utcnow() - timedelta(seconds=1)
    with pytest.raises(_authz.CredentialError) as refused:
        _authz.identify(session.access_key_id, account)
    assert (refused.value.code, refused.value.message) == (
        "ExpiredToken",
        "The security token included in the request is expired",
    )


def test_a_self_service_policy_covers_the_callers_own_user_only():
    iam = boto3.client("iam")
    key = new_user(iam, "john")
    new_user(iam, "imre")
    own_keys = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:ListAccessKeys", "iam:CreateAccessKey"],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            }
        ],
    }
    iam.put_user_policy(UserName="john", PolicyName="own-keys", PolicyDocument=json.dumps(own_keys))
    johns = client("iam", key)
    assert len(johns.list_access_keys()["AccessKeyMetadata"]) == 1  # no UserName: the caller
    error = denied(lambda: johns.list_access_keys(UserName="imre"))
    assert error["Error"]["Message"] == no_identity_policy(
        f"arn:aws:iam::{DEV}:user/john", "iam:ListAccessKeys", f"arn:aws:iam::{DEV}:user/imre"
    )
