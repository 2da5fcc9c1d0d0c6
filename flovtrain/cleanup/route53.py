"""Cleanup of Route 53: chapter 07's hosted zones (by caller reference or comment)."""

from __future__ import annotations

from typing import Any

from flovtrain._aws import paginate
from flovtrain.cleanup._names import PREFIX
from flovtrain.cleanup._registry import Found, Scan, declare, plan_row


def _describe(scan: Scan, region: str, zone: dict[str, Any]) -> Found:
    comment = zone.get("Config", {}).get("Comment", "") or ""
    if zone.get("CallerReference", "").startswith(PREFIX) or comment.startswith("flovtrain"):
        return plan_row("07", zone["Name"], zone["Id"])
    return None


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    route53 = scan.client("route53")
    zone_id = row["id"]
    changes = [
        {"Action": "DELETE", "ResourceRecordSet": record}
        for record in paginate(
            route53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id
        )
        if record["Type"] not in ("SOA", "NS")
    ]
    if changes:
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    route53.delete_hosted_zone(Id=zone_id)


HOSTED_ZONE = declare(
    "route53 hosted zone",
    130,
    ("list_hosted_zones", "HostedZones"),
    _describe,
    _delete,
    "delete its records (not SOA/NS), then delete_hosted_zone",
    billable=True,
)
