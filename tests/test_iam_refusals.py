"""IAM's refusals in AWS's words, beyond those tests/test_provider_iam.py, test_fault_suite.py and
test_enforcement.py cover: inline policies on groups and roles, size quotas of groups, roles,
policy versions and trust policies, name validation, missing login and instance profiles, and
the CloudTrail record a refusal leaves."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.usefixtures("clean_sandbox")

NO_RETRY = Config(retries={"max_attempts": 1})
ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def iam():
    return boto3.client("iam", region_name="eu-west-1", config=NO_RETRY)


def refused(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def statements(count: int) -> str:
    """A policy of ``count`` statements (about 70 characters each, whitespace not counted)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": f"S{i}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
                for i in range(count)
            ],
        }
    )


def test_a_group_with_an_inline_policy_is_kept_until_it_is_deleted(iam):
    iam.create_group(GroupName="ops")
    iam.put_group_policy(GroupName="ops", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
    assert refused(lambda: iam.delete_group(GroupName="ops")) == (
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
        409,
    )
    iam.delete_group_policy(GroupName="ops", PolicyName="s3")
    iam.delete_group(GroupName="ops")
    assert iam.list_groups()["Groups"] == []


def test_a_user_with_an_inline_policy_is_refused(iam):
    iam.create_user(UserName="dana")
    iam.put_user_policy(UserName="dana", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
    assert refused(lambda: iam.delete_user(UserName="dana"))[:2] == (
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    )


@pytest.mark.parametrize(("kind", "limit", "fits"), [("group", 5120, 70), ("role", 10240, 140)])
def test_inline_policies_of_groups_and_roles_have_their_own_quota(iam, kind, limit, fits):
    """All of an entity's inline policies count together (AWS's quota per user, group, role)."""
    name = f"big-{kind}"
    if kind == "group":
        iam.create_group(GroupName=name)
    else:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    put = getattr(iam, f"put_{kind}_policy")
    key = f"{kind.capitalize()}Name"
    put(**{key: name}, PolicyName="fits", PolicyDocument=statements(fits))  # under the quota
    assert refused(lambda: put(**{key: name}, PolicyName="more", PolicyDocument=statements(5))) == (
        "LimitExceeded",
        f"Maximum policy size of {limit} bytes exceeded for {kind} {name}",
        409,
    )
    put(**{key: name}, PolicyName="fits", PolicyDocument=statements(10))  # made smaller
    put(**{key: name}, PolicyName="more", PolicyDocument=statements(5))  # now it fits
    listed = getattr(iam, f"list_{kind}_policies")(**{key: name})["PolicyNames"]
    assert sorted(listed) == ["fits", "more"]


def test_a_new_policy_version_over_the_managed_quota_is_refused(iam):
    arn = iam.create_policy(PolicyName="grows", PolicyDocument=json.dumps(ALLOW_S3))["Policy"][
        "Arn"
    ]
    assert refused(
        lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=statements(120))
    ) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144", 409)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v1"]


def test_trust_policies_must_be_json_and_fit_the_role_quota(iam):
    iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert refused(
        lambda: iam.update_assume_role_policy(RoleName="web", PolicyDocument="{nope")
    ) == ("MalformedPolicyDocument", "This policy contains invalid Json", 400)
    services = [f"svc{i}.amazonaws.com" for i in range(120)]
    huge = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}
        ],
    }
    assert refused(
        lambda: iam.create_role(RoleName="huge", AssumeRolePolicyDocument=json.dumps(huge))
    ) == ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048", 409)
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["web"]
    trust = iam.get_role(RoleName="web")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


@pytest.mark.parametrize(
    ("create", "member", "limit"),
    [
        ("create_user", "userName", 64),
        ("create_group", "groupName", 128),
        ("create_role", "roleName", 64),
    ],
)
def test_names_are_checked_as_aws_checks_them(iam, create, member, limit):
    extra = {"AssumeRolePolicyDocument": json.dumps(TRUST)} if create == "create_role" else {}
    key = member[0].upper() + member[1:]
    code, message, status = refused(lambda: getattr(iam, create)(**{key: "two words"}, **extra))
    assert (code, status) == ("ValidationError", 400)
    assert message == (
        f"1 validation error detected: Value 'two words' at '{member}' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )
    long = "a" * (limit + 1)
    code, message, _ = refused(lambda: getattr(iam, create)(**{key: long}, **extra))
    assert message.endswith(f"Member must have length less than or equal to {limit}")
    getattr(iam, create)(**{key: "a" * limit}, **extra)  # the longest name AWS takes


def test_missing_things_are_named_as_aws_names_them(iam):
    iam.create_user(UserName="erin")
    assert refused(lambda: iam.get_login_profile(UserName="erin")) == (
        "NoSuchEntity",
        "Login Profile for User erin cannot be found.",
        404,
    )
    assert refused(lambda: iam.get_instance_profile(InstanceProfileName="ghost"))[:2] == (
        "NoSuchEntity",
        "Instance Profile ghost cannot be found.",
    )
    assert refused(lambda: iam.create_user(UserName="erin"))[:2] == (
        "EntityAlreadyExists",
        "User with name erin already exists.",
    )
    assert refused(lambda: iam.get_group(GroupName="ghost"))[:2] == (
        "NoSuchEntity",
        "The group with name ghost cannot be found.",
    )


def test_a_refusal_is_in_cloudtrail_with_its_code(iam):
    iam.create_group(GroupName="crew")
    iam.create_user(UserName="finn")
    iam.add_user_to_group(GroupName="crew", UserName="finn")
    code, message, _ = refused(lambda: iam.delete_group(GroupName="crew"))
    trail = boto3.client("cloudtrail", region_name="us-east-1", config=NO_RETRY)
    found = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeleteGroup"}]
    )["Events"]
    record = json.loads(found[0]["CloudTrailEvent"])
    assert (record["errorCode"], record["errorMessage"]) == (code, message)
    assert record["requestParameters"] == {"groupName": "crew"}
