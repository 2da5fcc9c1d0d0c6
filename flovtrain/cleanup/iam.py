"""Cleanup of IAM (listed once for the account): instance profiles, roles, users, the group,
virtual MFA devices, the account alias and the password policy.

A user or role is stripped of what holds it (access keys, login profile, MFA devices, group
memberships, policies, instance profiles) before it is deleted. A root user's MFA device is
kept: it protects the account.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from flovtrain._aws import paginate
from flovtrain.cleanup._names import GROUPS, ROOT_MFA_DEVICE, USERS, gone, ours, tagged
from flovtrain.cleanup._registry import GLOBAL, Found, Scan, declare, listed, plan_row


# -- roles -----------------------------------------------------------------------------------
def _describe_role(scan: Scan, region: str, role: dict[str, Any]) -> Found:
    name = role["RoleName"]
    if name in scan.owned() or role.get("Path", "/").startswith("/aws-service-role/"):
        return None
    if ours(name) or tagged(scan.client("iam").list_role_tags(RoleName=name).get("Tags", [])):
        return {
            "chapter": "07" if name.startswith("flovtec-") else "09",
            "name": name,
            "id": role["RoleId"],
        }
    return None


def _delete_with_policies(iam: Any, entity: str, name: str) -> None:
    """Detach and delete the policies of an IAM ``entity`` ("user", "role", "group"), then it."""
    ident = {f"{entity.capitalize()}Name": name}
    for policy in paginate(iam, f"list_attached_{entity}_policies", "AttachedPolicies", **ident):
        getattr(iam, f"detach_{entity}_policy")(PolicyArn=policy["PolicyArn"], **ident)
    for policy_name in paginate(iam, f"list_{entity}_policies", "PolicyNames", **ident):
        getattr(iam, f"delete_{entity}_policy")(PolicyName=policy_name, **ident)
    getattr(iam, f"delete_{entity}")(**ident)


def _delete_role(scan: Scan, row: dict[str, Any]) -> None:
    iam, role = scan.client("iam"), row["name"]
    for profile in paginate(
        iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=role
    ):
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=role
        )
    _delete_with_policies(iam, "role", role)


# -- instance profiles -----------------------------------------------------------------------
def _describe_profile(scan: Scan, region: str, profile: dict[str, Any]) -> Found:
    name = profile["InstanceProfileName"]
    if ours(name) and name not in scan.owned():  # a stack's profile goes with its stack
        return {
            "chapter": "07" if name.startswith("flovtec-") else "09",
            "name": name,
            "id": profile["InstanceProfileId"],
        }
    return None


def _delete_profile(scan: Scan, row: dict[str, Any]) -> None:
    iam, name = scan.client("iam"), row["name"]
    for role in iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]:
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
    iam.delete_instance_profile(InstanceProfileName=name)


# -- users and the group ---------------------------------------------------------------------
def _describe_user(scan: Scan, region: str, user: dict[str, Any]) -> Found:
    name = user["UserName"]
    if name in USERS or tagged(scan.client("iam").list_user_tags(UserName=name).get("Tags", [])):
        # flovtec-prod-admin: chapter 07's admin of the PROD account
        return plan_row("07" if name.startswith("flovtec-") else "02", name, user["UserId"])
    return None


def _delete_user(scan: Scan, row: dict[str, Any]) -> None:
    iam, user = scan.client("iam"), row["name"]
    for key in paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=user):
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    try:
        iam.delete_login_profile(UserName=user)
    except ClientError as exc:
        if not gone(exc):
            raise
    for device in paginate(iam, "list_mfa_devices", "MFADevices", UserName=user):
        iam.deactivate_mfa_device(UserName=user, SerialNumber=device["SerialNumber"])
        if ":mfa/" in device["SerialNumber"]:
            iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
    for group in paginate(iam, "list_groups_for_user", "Groups", UserName=user):
        iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user)
    _delete_with_policies(iam, "user", user)


def _describe_group(scan: Scan, region: str, group: dict[str, Any]) -> Found:
    if group["GroupName"] in GROUPS:
        return plan_row("02", group["GroupName"], group["GroupId"])
    return None


def _delete_group(scan: Scan, row: dict[str, Any]) -> None:
    iam, group = scan.client("iam"), row["name"]
    for user in iam.get_group(GroupName=group).get("Users", []):
        iam.remove_user_from_group(GroupName=group, UserName=user["UserName"])
    _delete_with_policies(iam, "group", group)


# -- MFA devices, alias, password policy -----------------------------------------------------
def _describe_mfa(scan: Scan, region: str, device: dict[str, Any]) -> Found:
    serial = device["SerialNumber"]
    name = serial.rsplit("/", 1)[-1]
    user_arn = device.get("User", {}).get("Arn", "")
    if user_arn.endswith(":root"):
        if name != ROOT_MFA_DEVICE:
            return None
        return {
            "chapter": "01",
            "name": name,
            "id": serial,
            "keep": True,
            "removal": "never: it protects the root user",
        }
    planned_users = {row["name"] for row in scan.rows("iam user", GLOBAL)}
    if (
        name == ROOT_MFA_DEVICE
        or name in planned_users
        or (user_arn and user_arn.rsplit("/", 1)[-1] in planned_users)
    ):
        return plan_row("01" if name == ROOT_MFA_DEVICE else "02", name, serial)
    return None


def _delete_mfa(scan: Scan, row: dict[str, Any]) -> None:
    iam, serial = scan.client("iam"), row["id"]
    for device in paginate(
        iam, "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Assigned"
    ):
        if device["SerialNumber"] == serial and "UserName" in device.get("User", {}):
            iam.deactivate_mfa_device(UserName=device["User"]["UserName"], SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)


def _describe_alias(scan: Scan, region: str, alias: str) -> Found:
    return plan_row("01", alias)


def _password_policy(scan: Scan, region: str) -> Any:
    # AWS answers NoSuchEntity when the account has none: then the kind lists nothing
    return [scan.client("iam").get_account_password_policy()["PasswordPolicy"]]


def _describe_policy(scan: Scan, region: str, policy: dict[str, Any]) -> Found:
    return plan_row("02", "password policy", "-")


def _delete_policy(scan: Scan, row: dict[str, Any]) -> None:
    scan.client("iam").delete_account_password_policy()


INSTANCE_PROFILE = declare(
    "iam instance profile",
    255,
    ("list_instance_profiles", "InstanceProfiles"),
    _describe_profile,
    _delete_profile,
    "remove its role, then delete_instance_profile (after its instances are gone)",
)
ROLE = declare(
    "iam role",
    260,
    ("list_roles", "Roles"),
    _describe_role,
    _delete_role,
    "detach and delete its policies, then delete_role",
)
USER = declare(
    "iam user",
    270,
    ("list_users", "Users"),
    _describe_user,
    _delete_user,
    "delete access keys, login profile, MFA devices, group memberships and policies, then "
    "delete_user",
)
GROUP = declare(
    "iam group",
    280,
    ("list_groups", "Groups"),
    _describe_group,
    _delete_group,
    "remove members, detach policies, then delete_group",
)
MFA_DEVICE = declare(
    "iam virtual mfa device",
    290,
    listed("iam", "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Any"),
    _describe_mfa,
    _delete_mfa,
    "deactivate_mfa_device (if assigned), delete_virtual_mfa_device",
)
ACCOUNT_ALIAS = declare(
    "iam account alias",
    300,
    ("list_account_aliases", "AccountAliases"),
    _describe_alias,
    ("delete_account_alias", "AccountAlias"),
    "delete_account_alias (the sign-in URL falls back to the account id)",
)
PASSWORD_POLICY = declare(
    "iam password policy",
    310,
    _password_policy,
    _describe_policy,
    _delete_policy,
    "delete_account_password_policy (AWS's default rules apply again)",
)
