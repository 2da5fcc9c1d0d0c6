"""Cleanup of IAM (listed once for the account): roles, users, the group, virtual MFA devices,
the account alias and the password policy.

A user or role is stripped of what holds it (access keys, login profile, MFA devices, group
memberships, policies, instance profiles) before it is deleted. A root user's MFA device is
kept: it protects the account.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from flovtrain._aws import paginate
from flovtrain.cleanup._names import GROUPS, ROOT_MFA_DEVICE, USERS, gone, ours, tagged
from flovtrain.cleanup._registry import GLOBAL, Found, Kind, Scan, call_with_id, listed, register


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


# -- users and the group ---------------------------------------------------------------------
def _describe_user(scan: Scan, region: str, user: dict[str, Any]) -> Found:
    name = user["UserName"]
    if name in USERS or tagged(scan.client("iam").list_user_tags(UserName=name).get("Tags", [])):
        return {"chapter": "02", "name": name, "id": user["UserId"]}
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
        return {"chapter": "02", "name": group["GroupName"], "id": group["GroupId"]}
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
        return {"chapter": "01" if name == ROOT_MFA_DEVICE else "02", "name": name, "id": serial}
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
    return {"chapter": "01", "name": alias, "id": alias}


def _password_policy(scan: Scan, region: str) -> Any:
    # AWS answers NoSuchEntity when the account has none: then the kind lists nothing
    return [scan.client("iam").get_account_password_policy()["PasswordPolicy"]]


def _describe_policy(scan: Scan, region: str, policy: dict[str, Any]) -> Found:
    return {"chapter": "02", "name": "password policy", "id": "-"}


def _delete_policy(scan: Scan, row: dict[str, Any]) -> None:
    scan.client("iam").delete_account_password_policy()


ROLE = register(
    Kind(
        "iam role",
        "iam",
        order=260,
        list=listed("iam", "list_roles", "Roles"),
        describe=_describe_role,
        delete=_delete_role,
        removal="detach and delete its policies, then delete_role",
        regional=False,
    )
)
USER = register(
    Kind(
        "iam user",
        "iam",
        order=270,
        list=listed("iam", "list_users", "Users"),
        describe=_describe_user,
        delete=_delete_user,
        removal="delete access keys, login profile, MFA devices, group memberships and policies, "
        "then delete_user",
        regional=False,
    )
)
GROUP = register(
    Kind(
        "iam group",
        "iam",
        order=280,
        list=listed("iam", "list_groups", "Groups"),
        describe=_describe_group,
        delete=_delete_group,
        removal="remove members, detach policies, then delete_group",
        regional=False,
    )
)
MFA_DEVICE = register(
    Kind(
        "iam virtual mfa device",
        "iam",
        order=290,
        list=listed("iam", "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Any"),
        describe=_describe_mfa,
        delete=_delete_mfa,
        removal="deactivate_mfa_device (if assigned), delete_virtual_mfa_device",
        regional=False,
    )
)
ACCOUNT_ALIAS = register(
    Kind(
        "iam account alias",
        "iam",
        order=300,
        list=listed("iam", "list_account_aliases", "AccountAliases", paged=False),
        describe=_describe_alias,
        delete=call_with_id("iam", "delete_account_alias", "AccountAlias"),
        removal="delete_account_alias (the sign-in URL falls back to the account id)",
        regional=False,
    )
)
PASSWORD_POLICY = register(
    Kind(
        "iam password policy",
        "iam",
        order=310,
        list=_password_policy,
        describe=_describe_policy,
        delete=_delete_policy,
        removal="delete_account_password_policy (AWS's default rules apply again)",
        regional=False,
    )
)
