"""IAM as tables: users, groups, policies, passwords, access keys, MFA and the password policy.

No view ever shows a secret: access keys appear by id only, virtual MFA devices without their
seed.

Examples
--------
>>> from flovtrain.views import iam
>>> iam.users()                          # doctest: +SKIP
>>> iam.attached_policies(group="system-admins")     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import ClientError

from flovtrain._aws import error_code, paginate
from flovtrain.session import get_session
from flovtrain.views._frames import frame, renamed, to_utc_column

#: The columns of :func:`users` taken from ``list_users`` (``groups`` follows them).
USER_FIELDS = {
    "user": "UserName",
    "user_id": "UserId",
    "arn": "Arn",
    "path": "Path",
    "created": "CreateDate",
}
#: The columns of :func:`groups` taken from ``list_groups`` (``members`` follows them).
GROUP_FIELDS = {
    "group": "GroupName",
    "group_id": "GroupId",
    "arn": "Arn",
    "path": "Path",
    "created": "CreateDate",
}
USER_COLUMNS = [*USER_FIELDS, "groups"]
GROUP_COLUMNS = [*GROUP_FIELDS, "members"]
MEMBER_COLUMNS = ["user", "arn", "created"]
POLICY_COLUMNS = ["principal_type", "principal", "policy", "policy_arn"]
LOGIN_COLUMNS = ["user", "created", "password_reset_required"]
KEY_COLUMNS = ["user", "access_key_id", "status", "created"]
MFA_COLUMNS = ["user", "serial_number", "enabled"]
VIRTUAL_MFA_COLUMNS = ["serial_number", "user", "enabled"]
PASSWORD_POLICY_COLUMNS = ["setting", "value"]
CREDENTIAL_KIND_COLUMNS = ["credential", "used_for", "looks_like", "where_to_manage"]

# Readable names for get_account_password_policy's fields, in the console's order.
PASSWORD_POLICY_SETTINGS = {
    "MinimumPasswordLength": "Minimum password length",
    "RequireUppercaseCharacters": "Require at least one uppercase letter (A-Z)",
    "RequireLowercaseCharacters": "Require at least one lowercase letter (a-z)",
    "RequireNumbers": "Require at least one number (0-9)",
    "RequireSymbols": "Require at least one non-alphanumeric character",
    "AllowUsersToChangePassword": "Allow users to change their own password",
    "ExpirePasswords": "Passwords expire",
    "MaxPasswordAge": "Password expiration period (days)",
    "PasswordReusePrevention": "Prevent reuse of the last N passwords",
    "HardExpiry": "Expired password needs an administrator reset",
}

_CREDENTIAL_KINDS = [
    {
        "credential": "Console password",
        "used_for": "Signing in to the AWS Management Console in a browser",
        "looks_like": "User name + password (+ MFA code) at the account's sign-in URL",
        "where_to_manage": "IAM > Users > user > Security credentials > Console sign-in",
    },
    {
        "credential": "Access keys",
        "used_for": "Programmatic access: AWS CLI, SDKs such as boto3, IDE plugins",
        "looks_like": "Access key ID (AKIA...) + secret access key (shown once, at creation)",
        "where_to_manage": "IAM > Users > user > Security credentials > Access keys",
    },
    {
        "credential": "HTTPS Git credentials for AWS CodeCommit",
        "used_for": "git clone/push to CodeCommit over HTTPS (a service-specific credential)",
        "looks_like": "Generated user name + password, only valid for CodeCommit",
        "where_to_manage": "IAM > Users > user > Security credentials > "
        "HTTPS Git credentials for AWS CodeCommit",
    },
    {
        "credential": "SSH public keys for AWS CodeCommit",
        "used_for": "git clone/push to CodeCommit over SSH",
        "looks_like": "Your SSH public key uploaded to IAM; its SSH key ID is the SSH user name",
        "where_to_manage": "IAM > Users > user > Security credentials > "
        "SSH public keys for AWS CodeCommit",
    },
    {
        "credential": "MFA device",
        "used_for": "A second factor for console sign-in (and for API calls that require MFA)",
        "looks_like": "A 6-digit code from an authenticator app, changing every 30 s",
        "where_to_manage": "IAM > Users > user > Security credentials > Multi-factor "
        "authentication (root: account menu > Security credentials)",
    },
]


def _iam(session: boto3.Session | None) -> Any:
    return get_session(session).client("iam")


def iter_users(session: boto3.Session | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``list_users`` entries (UserName, UserId, Arn, Path, CreateDate).

    Examples
    --------
    >>> [u["UserName"] for u in iter_users()]     # doctest: +SKIP
    ['imre', 'john']
    """
    yield from paginate(_iam(session), "list_users", "Users")


def users(session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the IAM users with the groups each belongs to.

    Returns
    -------
    pandas.DataFrame
        Columns ``user``, ``user_id``, ``arn``, ``path``, ``created``, ``groups``
        (comma-separated, sorted); sorted by user.

    Examples
    --------
    >>> users()[["user", "groups"]]           # doctest: +SKIP
       user         groups
    0  imre  system-admins
    """
    iam = _iam(session)
    rows = []
    for user in iter_users(session):
        names = sorted(
            g["GroupName"]
            for g in paginate(iam, "list_groups_for_user", "Groups", UserName=user["UserName"])
        )
        rows.append({**renamed(user, USER_FIELDS), "groups": ", ".join(names)})
    return to_utc_column(frame(rows, USER_COLUMNS, sort=["user"]), "created")


def iter_groups(session: boto3.Session | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``list_groups`` entries (GroupName, GroupId, Arn, Path, CreateDate).

    Examples
    --------
    >>> [g["GroupName"] for g in iter_groups()]     # doctest: +SKIP
    ['system-admins']
    """
    yield from paginate(_iam(session), "list_groups", "Groups")


def _members(iam: Any, group: str) -> list[dict[str, Any]]:
    return list(paginate(iam, "get_group", "Users", GroupName=group))


def groups(session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the IAM groups with their members.

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``group_id``, ``arn``, ``path``, ``created``, ``members``
        (comma-separated user names, sorted); sorted by group.

    Examples
    --------
    >>> groups()[["group", "members"]]         # doctest: +SKIP
               group      members
    0  system-admins  imre, john
    """
    iam = _iam(session)
    rows = []
    for group in iter_groups(session):
        names = sorted(u["UserName"] for u in _members(iam, group["GroupName"]))
        rows.append({**renamed(group, GROUP_FIELDS), "members": ", ".join(names)})
    return to_utc_column(frame(rows, GROUP_COLUMNS, sort=["group"]), "created")


def group_members(group: str, session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the users in ``group``.

    Returns
    -------
    pandas.DataFrame
        Columns ``user``, ``arn``, ``created``; sorted by user.

    Examples
    --------
    >>> group_members("system-admins").user.tolist()     # doctest: +SKIP
    ['imre', 'john']
    """
    rows = [
        {"user": u["UserName"], "arn": u["Arn"], "created": u.get("CreateDate")}
        for u in _members(_iam(session), group)
    ]
    return to_utc_column(frame(rows, MEMBER_COLUMNS, sort=["user"]), "created")


def iter_attached_policies(
    user: str | None = None,
    group: str | None = None,
    role: str | None = None,
    session: boto3.Session | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield managed policies attached to a user, group or role, or to every user and group.

    Each item is ``list_attached_*_policies``'s entry (PolicyName, PolicyArn) plus
    ``PrincipalType`` (``user``/``group``/``role``) and ``PrincipalName``.

    Examples
    --------
    >>> next(iter_attached_policies(group="system-admins"))["PolicyName"]   # doctest: +SKIP
    'AdministratorAccess'
    """
    iam = _iam(session)
    targets: list[tuple[str, str]] = []
    if user is None and group is None and role is None:
        targets += [("user", u["UserName"]) for u in iter_users(session)]
        targets += [("group", g["GroupName"]) for g in iter_groups(session)]
    else:
        targets += [
            (kind, name)
            for kind, name in (("user", user), ("group", group), ("role", role))
            if name is not None
        ]
    for kind, name in targets:
        operation = f"list_attached_{kind}_policies"
        key = {"user": "UserName", "group": "GroupName", "role": "RoleName"}[kind]
        for policy in paginate(iam, operation, "AttachedPolicies", **{key: name}):
            yield {**policy, "PrincipalType": kind, "PrincipalName": name}


def attached_policies(
    user: str | None = None,
    group: str | None = None,
    role: str | None = None,
    session: boto3.Session | None = None,
) -> pd.DataFrame:
    """Return managed policies attached to a user, group or role (default: all users & groups).

    Returns
    -------
    pandas.DataFrame
        Columns ``principal_type``, ``principal``, ``policy``, ``policy_arn``; sorted.

    Examples
    --------
    >>> attached_policies(group="system-admins")[["principal", "policy"]]   # doctest: +SKIP
           principal               policy
    0  system-admins  AdministratorAccess
    """
    rows = [
        {
            "principal_type": p["PrincipalType"],
            "principal": p["PrincipalName"],
            "policy": p["PolicyName"],
            "policy_arn": p["PolicyArn"],
        }
        for p in iter_attached_policies(user, group, role, session)
    ]
    return frame(rows, POLICY_COLUMNS, sort=["principal_type", "principal", "policy"])


def login_profiles(session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the users that have a console password.

    Returns
    -------
    pandas.DataFrame
        Columns ``user``, ``created``, ``password_reset_required``; sorted by user.
        (The sandbox always reads back ``password_reset_required=False``.)

    Examples
    --------
    >>> login_profiles().user.tolist()         # doctest: +SKIP
    ['imre']
    """
    iam = _iam(session)
    rows = []
    for user in iter_users(session):
        try:
            profile = iam.get_login_profile(UserName=user["UserName"])["LoginProfile"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                continue  # no console password: not a row
            raise
        rows.append(
            {
                "user": profile["UserName"],
                "created": profile.get("CreateDate"),
                "password_reset_required": bool(profile.get("PasswordResetRequired")),
            }
        )
    return to_utc_column(frame(rows, LOGIN_COLUMNS, sort=["user"]), "created")


def iter_access_keys(
    user: str | None = None, session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield access key metadata (never the secret) of ``user`` or of every user.

    Examples
    --------
    >>> next(iter_access_keys("imre"))["Status"]        # doctest: +SKIP
    'Active'
    """
    iam = _iam(session)
    names = [user] if user is not None else [u["UserName"] for u in iter_users(session)]
    for name in names:
        for key in paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=name):
            key.pop("SecretAccessKey", None)  # list_access_keys has none; be sure anyway
            yield key


def access_keys(user: str | None = None, session: boto3.Session | None = None) -> pd.DataFrame:
    """Return access keys by id and status: the secret is never part of it.

    Returns
    -------
    pandas.DataFrame
        Columns ``user``, ``access_key_id``, ``status``, ``created``; sorted by user, created.

    Examples
    --------
    >>> access_keys("imre").columns.tolist()
    ['user', 'access_key_id', 'status', 'created']
    """
    rows = [
        {
            "user": k["UserName"],
            "access_key_id": k["AccessKeyId"],
            "status": k["Status"],
            "created": k.get("CreateDate"),
        }
        for k in iter_access_keys(user, session)
    ]
    df = to_utc_column(frame(rows, KEY_COLUMNS), "created")
    return df.sort_values(["user", "created", "access_key_id"], kind="stable", ignore_index=True)


def mfa_devices(user: str | None = None, session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the MFA devices enabled for ``user`` or for every user.

    Returns
    -------
    pandas.DataFrame
        Columns ``user``, ``serial_number``, ``enabled`` (when); sorted.

    Examples
    --------
    >>> mfa_devices().serial_number.tolist()       # doctest: +SKIP
    ['arn:aws:iam::123456789012:mfa/imre']
    """
    iam = _iam(session)
    names = [user] if user is not None else [u["UserName"] for u in iter_users(session)]
    rows = [
        {"user": d["UserName"], "serial_number": d["SerialNumber"], "enabled": d.get("EnableDate")}
        for name in names
        for d in paginate(iam, "list_mfa_devices", "MFADevices", UserName=name)
    ]
    return to_utc_column(frame(rows, MFA_COLUMNS, sort=["user", "serial_number"]), "enabled")


def iter_virtual_mfa_devices(
    assignment_status: str = "Any", session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield virtual MFA devices (SerialNumber, User, EnableDate) without seed or QR code.

    Parameters
    ----------
    assignment_status : str
        ``Any``, ``Assigned`` or ``Unassigned``.

    Examples
    --------
    >>> [d["SerialNumber"] for d in iter_virtual_mfa_devices()]   # doctest: +SKIP
    ['arn:aws:iam::123456789012:mfa/imre']
    """
    for device in paginate(
        _iam(session),
        "list_virtual_mfa_devices",
        "VirtualMFADevices",
        AssignmentStatus=assignment_status,
    ):
        # the sandbox returns the seed here (real AWS does not): it must never travel further
        device.pop("Base32StringSeed", None)
        device.pop("QRCodePNG", None)
        yield device


def virtual_mfa_devices(
    assignment_status: str = "Any", session: boto3.Session | None = None
) -> pd.DataFrame:
    """Return virtual MFA devices and whom they are assigned to.

    Returns
    -------
    pandas.DataFrame
        Columns ``serial_number``, ``user`` (None when unassigned), ``enabled``; sorted.

    Examples
    --------
    >>> virtual_mfa_devices().columns.tolist()
    ['serial_number', 'user', 'enabled']
    """
    rows = [
        {
            "serial_number": d["SerialNumber"],
            "user": (d.get("User") or {}).get("UserName"),
            "enabled": d.get("EnableDate"),
        }
        for d in iter_virtual_mfa_devices(assignment_status, session)
    ]
    return to_utc_column(frame(rows, VIRTUAL_MFA_COLUMNS, sort=["serial_number"]), "enabled")


def password_policy(session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the account password policy, one row per setting with a readable name.

    Returns
    -------
    pandas.DataFrame
        Columns ``setting`` and ``value``, in the console's order. Empty (same columns) when
        the account has no password policy (AWS then applies its default).

    Examples
    --------
    >>> password_policy()                       # doctest: +SKIP
                            setting  value
    0       Minimum password length     14
    """
    try:
        policy = _iam(session).get_account_password_policy()["PasswordPolicy"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return frame([], PASSWORD_POLICY_COLUMNS)
        raise
    rows = [
        {"setting": label, "value": policy[key]}
        for key, label in PASSWORD_POLICY_SETTINGS.items()
        if key in policy
    ]
    return frame(rows, PASSWORD_POLICY_COLUMNS)


def credential_kinds() -> pd.DataFrame:
    """Return the kinds of IAM user credentials: what each is for and where to manage it.

    Returns
    -------
    pandas.DataFrame
        Columns ``credential``, ``used_for``, ``looks_like``, ``where_to_manage``; a fixed
        table (no AWS call).

    Examples
    --------
    >>> credential_kinds().credential.tolist()[:2]
    ['Console password', 'Access keys']
    """
    return frame(_CREDENTIAL_KINDS, CREDENTIAL_KIND_COLUMNS)
