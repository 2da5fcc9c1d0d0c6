"""Cleanup of CloudWatch alarms: chapter 03's billing alarm and chapter 09's (named or tagged)."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import BILLING_ALARMS, ours, tags_say_ours
from flovtrain.cleanup._registry import Found, Scan, declare


def _describe(scan: Scan, region: str, alarm: dict[str, Any]) -> Found:
    name = alarm["AlarmName"]
    if (
        name in BILLING_ALARMS
        or ours(name)
        or tags_say_ours(
            scan.client("cloudwatch", region).list_tags_for_resource, ResourceARN=alarm["AlarmArn"]
        )
    ):
        return {
            "chapter": "03" if name in BILLING_ALARMS else "09",
            "name": name,
            "id": alarm["AlarmArn"],
        }
    return None


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    scan.client("cloudwatch", row["region"]).delete_alarms(AlarmNames=[row["name"]])


ALARM = declare(
    "cloudwatch alarm", 20, ("describe_alarms", "MetricAlarms"), _describe, _delete, "delete_alarms"
)
