"""IAM refuses to delete a user or group that still has what AWS protects (DeleteConflict, 409)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

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
