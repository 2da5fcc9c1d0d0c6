"""Chapter 02 · IAM: users imre and john in group system-admins, and a strict password policy."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import boto3

from flovtrain._aws import paginate
from flovtrain.checks._aws import client, get_or_fail
from flovtrain.checks._checklist import Checklist

TITLE = "IAM users, group and password policy"
USERS = ("imre", "john")
GROUP = "system-admins"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
MIN_PASSWORD_LENGTH = 14
REQUIRED_FLAGS = (
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
)


def collect(cl: Checklist, session: boto3.Session) -> None:
    iam = client(session, "iam")

    def user_exists(name: str) -> None:
        get_or_fail(iam.get_user, f"no IAM user named {name}", UserName=name)

    def group_exists() -> None:
        get_or_fail(iam.get_group, f"no IAM group named {GROUP}", GroupName=GROUP)

    def admin_attached() -> str | None:
        group_exists()
        arns = [
            p["PolicyArn"]
            for p in paginate(
                iam, "list_attached_group_policies", "AttachedPolicies", GroupName=GROUP
            )
        ]
        if ADMIN_POLICY_ARN not in arns:
            attached = ", ".join(sorted(arns)) or "none"
            return f"AdministratorAccess is not attached to {GROUP} (attached: {attached})"
        return None

    def member(name: str) -> str | None:
        user_exists(name)
        groups = [
            g["GroupName"] for g in paginate(iam, "list_groups_for_user", "Groups", UserName=name)
        ]
        if GROUP not in groups:
            return f"{name} is not a member of {GROUP} (member of: {', '.join(groups) or 'none'})"
        return None

    def login_profile(name: str) -> None:
        user_exists(name)
        get_or_fail(
            iam.get_login_profile,
            f"{name} has no console password (no login profile)",
            UserName=name,
        )

    def active_key(name: str) -> str | None:
        user_exists(name)
        keys = list(paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=name))
        if not any(k.get("Status") == "Active" for k in keys):
            return (
                f"{name} has no active access key"
                if not keys
                else f"{name}'s {len(keys)} access key(s) are all Inactive"
            )
        return None

    def password_policy() -> str | None:
        policy = get_or_fail(iam.get_account_password_policy, "the account has no password policy")[
            "PasswordPolicy"
        ]
        problems = []
        length = policy.get("MinimumPasswordLength", 0)
        if length < MIN_PASSWORD_LENGTH:
            problems.append(f"MinimumPasswordLength is {length}, needs >= {MIN_PASSWORD_LENGTH}")
        problems += [f"{flag} is false" for flag in REQUIRED_FLAGS if not policy.get(flag)]
        return "; ".join(problems) or None

    def for_each_user(item: str, test: Callable[[str], str | None], hint: str) -> None:
        # one item per user, in the order of USERS; {name} and {group} fill in the texts
        for name in USERS:
            fill = {"name": name, "group": GROUP}
            cl.add(item.format(**fill), partial(test, name), hint.format(**fill))

    for_each_user(
        "user {name} exists",
        user_exists,
        "iam.create_user(UserName='{name}') — or IAM console > Users > Create user",
    )
    cl.add(f"group {GROUP} exists", group_exists, f"iam.create_group(GroupName='{GROUP}')")
    cl.add(
        f"{GROUP} has AdministratorAccess attached",
        admin_attached,
        f"iam.attach_group_policy(GroupName='{GROUP}', PolicyArn='{ADMIN_POLICY_ARN}')",
    )
    for_each_user(
        "{name} is a member of {group}",
        member,
        "iam.add_user_to_group(GroupName='{group}', UserName='{name}')",
    )
    for_each_user(
        "{name} has a console password",
        login_profile,
        "iam.create_login_profile(UserName='{name}', Password=<a strong password>, "
        "PasswordResetRequired=True)",
    )
    for_each_user(
        "{name} has an active access key",
        active_key,
        "iam.create_access_key(UserName='{name}') — store the secret safely, it is shown only once",
    )
    cl.add(
        f"password policy: >= {MIN_PASSWORD_LENGTH} characters with symbols, numbers, "
        "upper and lower case",
        password_policy,
        f"iam.update_account_password_policy(MinimumPasswordLength={MIN_PASSWORD_LENGTH}, "
        "RequireSymbols=True, RequireNumbers=True, RequireUppercaseCharacters=True, "
        "RequireLowercaseCharacters=True)",
    )
