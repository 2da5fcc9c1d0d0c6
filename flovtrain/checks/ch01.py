"""Chapter 01 · account and regions: a sign-in alias and the root user's MFA device."""

from __future__ import annotations

import boto3

from flovtrain._aws import paginate
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist

TITLE = "account alias and root MFA"
MFA_DEVICE = "root-account-mfa-device"


def collect(cl: Checklist, session: boto3.Session) -> None:
    iam = client(session, "iam")

    def alias() -> str | None:
        if not iam.list_account_aliases().get("AccountAliases"):
            return "the account has no alias (its sign-in URL still shows the account number)"
        return None

    def mfa() -> str | None:
        names = [
            d["SerialNumber"].rsplit("/", 1)[-1]
            for d in paginate(iam, "list_virtual_mfa_devices", "VirtualMFADevices")
        ]
        if MFA_DEVICE not in names:
            found = f" (found: {', '.join(sorted(names))})" if names else ""
            return f"no virtual MFA device named {MFA_DEVICE}{found}"
        return None

    cl.add(
        "an account alias is set",
        alias,
        "iam.create_account_alias(AccountAlias='flovtrain') — or IAM console > Dashboard > "
        "AWS Account > Account Alias > Create (any unique lowercase name)",
    )
    cl.add(
        f"a virtual MFA device named {MFA_DEVICE} exists",
        mfa,
        f"sandbox: iam.create_virtual_mfa_device(VirtualMFADeviceName='{MFA_DEVICE}'); "
        "on real AWS, MFA for the root user can "
        "only be assigned in the console: sign in as root > Security credentials > "
        "Assign MFA device",
    )
