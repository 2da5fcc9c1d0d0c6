"""IAM refuses to delete a user, group or role that still has what AWS protects (DeleteConflict,
409), and answers its policy simulator with the evaluator the sandbox enforces with."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from provider_fixtures import trust_policy

pytestmark = pytest.mark.usefixtures("clean_sandbox")


@pytest.fixture()
def iam():
    return boto3.client("iam")


def _refused(call, message: str) -> None:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response
    assert error["Error"]["Code"] == "DeleteConflict"
    assert error["Error"]["Message"] == f"Cannot delete entity, must {message} first."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_user_with_login_profile_keys_and_group_is_kept_until_each_is_removed(iam):
    iam.create_user(UserName="imre")
    iam.create_group(GroupName="system-admins")
    iam.add_user_to_group(GroupName="system-admins", UserName="imre")
    iam.create_login_profile(UserName="imre", Password="Str0ng!Passw0rd-2026")
    key = iam.create_access_key(UserName="imre")["AccessKey"]["AccessKeyId"]
    delete = lambda: iam.delete_user(UserName="imre")  # noqa: E731
    _refused(delete, "delete login profile")
    iam.delete_login_profile(UserName="imre")
    _refused(delete, "delete access keys")
    assert [
        k["AccessKeyId"] for k in iam.list_access_keys(UserName="imre")["AccessKeyMetadata"]
    ] == [key]  # nothing was lost by the refusal
    iam.delete_access_key(UserName="imre", AccessKeyId=key)
    _refused(delete, "remove users from group")
    iam.remove_user_from_group(GroupName="system-admins", UserName="imre")
    iam.delete_user(UserName="imre")
    assert [u["UserName"] for u in iam.list_users()["Users"]] == []


def test_user_with_mfa_or_policies_is_refused(iam):
    iam.create_user(UserName="john")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="john")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="john",
        SerialNumber=serial["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    _refused(lambda: iam.delete_user(UserName="john"), "delete MFA device")
    iam.deactivate_mfa_device(UserName="john", SerialNumber=serial["SerialNumber"])
    iam.attach_user_policy(UserName="john", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    _refused(lambda: iam.delete_user(UserName="john"), "detach all policies")


def test_group_with_members_or_policies_is_refused(iam):
    iam.create_group(GroupName="system-admins")
    iam.create_user(UserName="imre")
    iam.add_user_to_group(GroupName="system-admins", UserName="imre")
    iam.attach_group_policy(
        GroupName="system-admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    delete = lambda: iam.delete_group(GroupName="system-admins")  # noqa: E731
    _refused(delete, "remove users from group")
    iam.remove_user_from_group(GroupName="system-admins", UserName="imre")
    _refused(delete, "detach all policies")
    iam.detach_group_policy(
        GroupName="system-admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    iam.delete_group(GroupName="system-admins")
    assert iam.list_groups()["Groups"] == []


def test_unknown_user_is_still_no_such_entity(iam):
    with pytest.raises(ClientError) as missing:
        iam.delete_user(UserName="ghost")
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_role_with_instance_profile_or_policies_is_refused(iam):
    trust = json.dumps(trust_policy("ec2.amazonaws.com"))
    iam.create_role(RoleName="web", AssumeRolePolicyDocument=trust)
    iam.create_instance_profile(InstanceProfileName="web")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="web")
    iam.put_role_policy(RoleName="web", PolicyName="logs", PolicyDocument=json.dumps(LOGS))
    iam.attach_role_policy(RoleName="web", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    delete = lambda: iam.delete_role(RoleName="web")  # noqa: E731
    _refused(delete, "remove roles from instance profile")
    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="web")
    _refused(delete, "delete policies")
    iam.delete_role_policy(RoleName="web", PolicyName="logs")
    _refused(delete, "detach all policies")
    iam.detach_role_policy(RoleName="web", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_role(RoleName="web")
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == []


LOGS = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Logs", "Effect": "Allow", "Action": "logs:*", "Resource": "*"}],
}
MFA_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "StopWithMfa",
            "Effect": "Allow",
            "Action": "ec2:StopInstances",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ],
}


def test_simulate_principal_policy_uses_the_users_group_policies(iam):
    iam.create_user(UserName="john")
    arn = iam.get_user(UserName="john")["User"]["Arn"]
    iam.create_group(GroupName="ops")
    iam.add_user_to_group(GroupName="ops", UserName="john")
    iam.put_group_policy(GroupName="ops", PolicyName="logs", PolicyDocument=json.dumps(LOGS))
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["logs:CreateLogGroup", "s3:CreateBucket"],
        ResourceArns=["arn:aws:logs:eu-west-1:123456789012:log-group:app"],
    )["EvaluationResults"]
    allowed, denied = results
    assert (allowed["EvalActionName"], allowed["EvalDecision"]) == (
        "logs:CreateLogGroup",
        "allowed",
    )
    assert allowed["MatchedStatements"][0]["SourcePolicyId"] == "logs"
    assert allowed["MatchedStatements"][0]["SourcePolicyType"] == "group"
    assert allowed["EvalResourceName"] == "arn:aws:logs:eu-west-1:123456789012:log-group:app"
    assert allowed["ResourceSpecificResults"][0]["EvalResourceDecision"] == "allowed"
    assert (denied["EvalDecision"], denied["MatchedStatements"]) == ("implicitDeny", [])
    iam.attach_user_policy(UserName="john", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    again = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:CreateBucket"])
    matched = again["EvaluationResults"][0]["MatchedStatements"][0]
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == (
        "AdministratorAccess",
        "aws-managed",
    )
    with pytest.raises(ClientError) as missing:
        iam.simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:user/ghost", ActionNames=["s3:*"]
        )
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_simulate_custom_policy_reports_context_and_positions(iam):
    text = json.dumps(MFA_ONLY, indent=2)
    without = iam.simulate_custom_policy(PolicyInputList=[text], ActionNames=["ec2:StopInstances"])
    result = without["EvaluationResults"][0]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["aws:MultiFactorAuthPresent"]
    with_mfa = iam.simulate_custom_policy(
        PolicyInputList=[text],
        ActionNames=["ec2:StopInstances"],
        ContextEntries=[
            {
                "ContextKeyName": "aws:MultiFactorAuthPresent",
                "ContextKeyValues": ["true"],
                "ContextKeyType": "boolean",
            }
        ],
    )["EvaluationResults"][0]
    assert with_mfa["EvalDecision"] == "allowed"
    matched = with_mfa["MatchedStatements"][0]
    assert matched["SourcePolicyId"] == "PolicyInputList.1"
    assert matched["StartPosition"]["Line"] == 4 and matched["EndPosition"]["Line"] > 4
    with pytest.raises(ClientError) as malformed:
        iam.simulate_custom_policy(PolicyInputList=["{not json"], ActionNames=["s3:GetObject"])
    assert malformed.value.response["Error"]["Code"] == "InvalidInput"
    assert malformed.value.response["Error"]["Message"] == "Syntax errors in policy."


def test_policies_over_iams_size_quotas_are_refused(iam):
    big = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": f"S{i}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
            for i in range(120)
        ],
    }
    with pytest.raises(ClientError) as refused:
        iam.create_policy(PolicyName="huge", PolicyDocument=json.dumps(big))
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "LimitExceeded",
        "Cannot exceed quota for PolicySize: 6144",
    )
    iam.create_user(UserName="john")
    big["Statement"] = big["Statement"][:40]
    with pytest.raises(ClientError) as refused:
        iam.put_user_policy(UserName="john", PolicyName="big", PolicyDocument=json.dumps(big))
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "LimitExceeded",
        "Maximum policy size of 2048 bytes exceeded for user john",
    )
    with pytest.raises(ClientError) as malformed:
        iam.put_user_policy(UserName="john", PolicyName="bad", PolicyDocument="{not json")
    assert malformed.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert iam.list_user_policies(UserName="john")["PolicyNames"] == []
