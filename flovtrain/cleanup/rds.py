"""Cleanup of RDS: chapter 07's database instances (named or tagged)."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import ours, tagged
from flovtrain.cleanup._registry import Found, Scan, call_with_id, declare, plan_row


def _describe(scan: Scan, region: str, db: dict[str, Any]) -> Found:
    name = db["DBInstanceIdentifier"]
    if db.get("DBInstanceStatus") == "deleting":
        return None
    if ours(name) or tagged(db.get("TagList")):
        return plan_row("07", name)
    return None


DB_INSTANCE = declare(
    "rds db instance",
    100,
    ("describe_db_instances", "DBInstances"),
    _describe,
    call_with_id(
        "rds",
        "delete_db_instance",
        "DBInstanceIdentifier",
        SkipFinalSnapshot=True,
        DeleteAutomatedBackups=True,
    ),
    "delete_db_instance(SkipFinalSnapshot=True, DeleteAutomatedBackups=True)",
    billable=True,
)
