"""Cleanup of CloudWatch Logs: the build logs the workbook's projects and stacks leave behind."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import LOG_GROUP_PREFIXES
from flovtrain.cleanup._registry import Found, Kind, Scan, call_with_id, listed, register


def _describe(scan: Scan, region: str, group: dict[str, Any]) -> Found:
    stacks = (f"/aws/codebuild/{s['name']}" for s in scan.rows("cloudformation stack", region))
    name = group["logGroupName"]
    if name.startswith((*LOG_GROUP_PREFIXES, *stacks)):
        return {"chapter": "04", "name": name, "id": name}
    return None


LOG_GROUP = register(
    Kind(
        "logs log group",
        "logs",
        order=200,
        list=listed("logs", "describe_log_groups", "logGroups"),
        describe=_describe,
        delete=call_with_id("logs", "delete_log_group", "logGroupName"),
        removal="delete_log_group (stacks leave their build logs behind)",
        billable=True,
    )
)
