"""Chapter 01 · account and regions: a sign-in alias and MFA for the root user.

The MFA item judges intent, not a name: the console lets you name the device. It passes when the
account summary says root MFA is on (real AWS, after *Assign MFA device*), when a virtual device
is assigned to root, or when a virtual device is ready and assigned to no IAM user (the sandbox
cannot assign one to root: on AWS only a root sign-in in the console can).
"""

from __future__ import annotations

import boto3

from flovtrain._aws import paginate
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist

TITLE = "account alias and root MFA"
MFA_DEVICE = "root-account-mfa-device"  # the chapter's name; any other name passes as well


def _device_name(device: dict) -> str:
    return device["SerialNumber"].rsplit("/", 1)[-1]


def collect(cl: Checklist, session: boto3.Session) -> None:
    iam = client(session, "iam")

    def alias() -> str | None:
        if not iam.list_account_aliases().get("AccountAliases"):
            return "the account has no alias (its sign-in URL still shows the account number)"
        return None

    def mfa() -> str | None:
        if iam.get_account_summary()["SummaryMap"].get("AccountMFAEnabled"):
            return None
        devices = list(paginate(iam, "list_virtual_mfa_devices", "VirtualMFADevices"))
        users = {_device_name(d): d.get("User", {}).get("Arn", "") for d in devices}
        if any(not arn or arn.endswith(":root") for arn in users.values()):
            return None
        if not users:
            return "the account has no MFA device for the root user"
        taken = ", ".join(
            f"{name} (of {arn.rsplit('/', 1)[-1]})" for name, arn in sorted(users.items())
        )
        return f"every virtual MFA device belongs to an IAM user, none to root: {taken}"

    cl.add(
        "an account alias is set",
        alias,
        "iam.create_account_alias(AccountAlias='flovtrain') — or IAM console > Dashboard > "
        "AWS Account > Account Alias > Create (any unique lowercase name)",
    )
    cl.add(
        "the root user has an MFA device",
        mfa,
        f"sandbox: iam.create_virtual_mfa_device(VirtualMFADeviceName='{MFA_DEVICE}') (any name); "
        "on real AWS, MFA for the root user can only be assigned in the console: sign in as "
        "root > Security credentials > Assign MFA device",
    )
