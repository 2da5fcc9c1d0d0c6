"""Cleanup of RDS: chapter 07's database instances (named or tagged)."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import ours, tagged
from flovtrain.cleanup._registry import Found, Kind, Scan, call_with_id, listed, register


def _describe(scan: Scan, region: str, db: dict[str, Any]) -> Found:
    name = db["DBInstanceIdentifier"]
    if db.get("DBInstanceStatus") == "deleting":
        return None
    if ours(name) or tagged(db.get("TagList")):
        return {"chapter": "07", "name": name, "id": name}
    return None


DB_INSTANCE = register(
    Kind(
        "rds db instance",
        "rds",
        order=100,
        list=listed("rds", "describe_db_instances", "DBInstances"),
        describe=_describe,
        delete=call_with_id(
            "rds",
            "delete_db_instance",
            "DBInstanceIdentifier",
            SkipFinalSnapshot=True,
            DeleteAutomatedBackups=True,
        ),
        removal="delete_db_instance(SkipFinalSnapshot=True, DeleteAutomatedBackups=True)",
        billable=True,
    )
)
