"""Cleanup of CloudFormation: the workbook's stacks (tagged), with what each will remove."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import tagged
from flovtrain.cleanup._registry import Found, Scan, declare
from flovtrain.views.cloudformation import wait_for_stack_deleted

#: A stack in this state is gone (AWS lists it for a while).
STACK_GONE = {"DELETE_COMPLETE"}


def _describe(scan: Scan, region: str, stack: dict[str, Any]) -> Found:
    if stack["StackStatus"] in STACK_GONE or not tagged(stack.get("Tags")):
        return None
    kinds = sorted(
        {
            r["ResourceType"].split("::", 1)[-1]
            for r in scan.stack_resources(region, stack["StackId"])
        }
    )
    return {
        "chapter": "04",
        "name": stack["StackName"],
        "id": stack["StackId"],
        "removal": "delete_stack: removes " + ", ".join(kinds),
    }


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    scan.client("cloudformation", row["region"]).delete_stack(StackName=row["id"])
    wait_for_stack_deleted(row["id"], session=scan.session, region=row["region"])


STACK = declare(
    "cloudformation stack",
    30,
    ("describe_stacks", "Stacks"),
    _describe,
    _delete,
    "delete_stack",
    billable=True,
)
