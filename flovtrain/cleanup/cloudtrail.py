"""Cleanup of CloudTrail: the trails a chapter creates (named ``flovtrain-``/``flovtec-`` or
tagged), each in its home region.

A trail goes before the buckets (it writes into one): ``stop_logging``, then ``delete_trail``.
The event history itself (90 days) is no resource and costs nothing.
"""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import ours, tags_say_ours
from flovtrain.cleanup._registry import Found, Scan, declare, plan_row


def _trails(scan: Scan, region: str) -> list[dict[str, Any]]:
    # shadow trails are the copies other regions show of a multi-region trail: listed once,
    # in the trail's home region
    client = scan.client("cloudtrail", region)
    return client.describe_trails(includeShadowTrails=False).get("trailList", [])


def _describe(scan: Scan, region: str, trail: dict[str, Any]) -> Found:
    name, arn = trail["Name"], trail["TrailARN"]
    if arn in scan.owned(region) or name in scan.owned(region):
        return None
    client = scan.client("cloudtrail", region)
    if ours(name) or _tagged(client, arn):
        return plan_row("09" if name.startswith("flovtrain-") else "07", name, arn)
    return None


def _tagged(client: Any, arn: str) -> bool:
    """True when the trail's tags hold the workshop tag key."""
    return tags_say_ours(
        lambda **kw: {"Tags": client.list_tags(**kw)["ResourceTagList"][0].get("TagsList", [])},
        ResourceIdList=[arn],
    )


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    # by name, in the trail's home region: AWS takes the ARN too, the sandbox (moto) only the name
    client = scan.client("cloudtrail", row["region"])
    client.stop_logging(Name=row["name"])  # no more deliveries into its bucket meanwhile
    client.delete_trail(Name=row["name"])


TRAIL = declare(
    "cloudtrail trail",
    135,
    _trails,
    _describe,
    _delete,
    "stop_logging, delete_trail (before its bucket; the event history stays, free)",
)  # not billable: the first copy of management events is free, its bucket's storage is billed
