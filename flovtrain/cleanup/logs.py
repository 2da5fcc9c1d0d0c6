"""Cleanup of CloudWatch Logs: the build logs the workbook's projects and stacks leave behind."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import LOG_GROUP_PREFIXES
from flovtrain.cleanup._registry import Found, Scan, declare, plan_row


def _describe(scan: Scan, region: str, group: dict[str, Any]) -> Found:
    stacks = (f"/aws/codebuild/{s['name']}" for s in scan.rows("cloudformation stack", region))
    name = group["logGroupName"]
    if name.startswith((*LOG_GROUP_PREFIXES, *stacks)):
        return plan_row("07" if "/flovtec-" in name else "04", name)
    return None


LOG_GROUP = declare(
    "logs log group",
    200,
    ("describe_log_groups", "logGroups"),
    _describe,
    ("delete_log_group", "logGroupName"),
    "delete_log_group (stacks leave their build logs behind)",
    billable=True,
)
