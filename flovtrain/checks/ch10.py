"""Chapter 10 · cleanup: nothing the workbook created is left, except what you may keep.

What one may keep is free and harmless: the account alias, the password policy, the billing
alarm with its topic and the budget (``cleanup.KEEP_GROUPS['billing-alerts']``) and a root MFA
device. Everything else in :func:`flovtrain.cleanup.plan` fails its service's row.
"""

from __future__ import annotations

import os

import boto3

from flovtrain import cleanup
from flovtrain.checks._checklist import Checklist, Failed

TITLE = "cleanup"
#: May stay: free, and the account is safer with them.
MAY_KEEP = (*cleanup.DEFAULT_KEEP, "billing-alerts")
#: One row per service, in this order.
SERVICES = [
    "cloudformation",
    "codepipeline",
    "codebuild",
    "codedeploy",
    "ec2",
    "elbv2",
    "rds",
    "route53",
    "s3",
    "iam",
    "cloudwatch",
    "cloudtrail",
    "sns",
    "budgets",
    "sqs",
    "firehose",
    "glacier",
    "ssm",
    "logs",
    "athena",
    "glue",
]


def collect(cl: Checklist, session: boto3.Session) -> None:
    state: dict[str, object] = {}

    def left():
        if "plan" not in state:
            state["plan"] = cleanup.plan(session, keep=MAY_KEEP)
        return state["plan"]

    def nothing_left(service: str) -> str | None:
        df = left()
        rest = df[(df.service == service) & ~df.keep]
        if rest.empty:
            return None
        shown = ", ".join(
            f"{k.split(' ', 1)[-1]} {n}" for k, n in zip(rest.kind, rest.name, strict=True)
        )
        return f"still there: {shown}"

    for service in SERVICES:
        cl.add(
            f"no {service} resources of the workbook left",
            lambda service=service: nothing_left(service),
            "cleanup.run(cleanup.plan(), dry_run=False)",
        )

    from flovtrain import flovtec
    from flovtrain.session import current

    # Chapter 07's PROD account: always there in the sandbox; on AWS only if you named one.
    if not (current().is_sandbox or os.environ.get(flovtec.PROD_ACCOUNT_VAR)):
        return

    def prod_left() -> str | None:
        try:
            prod = flovtec.assume_role(
                flovtec.prod_role_arn(),
                session_name="flovtrain-check",
                region="us-east-1",
                session=session,
            )
        except Exception as exc:  # noqa: BLE001 - any failure to get in is the reason shown
            raise Failed(f"could not assume {flovtec.prod_role_arn()}: {exc}") from None
        df = cleanup.plan(prod, keep=MAY_KEEP)
        rest = df[~df.keep]
        if rest.empty:
            return None
        return "still there: " + ", ".join(
            f"{k.split(' ', 1)[-1]} {n}" for k, n in zip(rest.kind, rest.name, strict=True)
        )

    cl.add(
        f"nothing of the workbook left in the PROD account {flovtec.prod_account_id()}",
        prod_left,
        "prod = flovtec.assume_role(flovtec.prod_role_arn(), region='us-east-1'); "
        "cleanup.run(cleanup.plan(prod), dry_run=False, session=prod)",
    )
