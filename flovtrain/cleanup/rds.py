"""Cleanup of RDS: chapter 07's database instances (named or tagged)."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import ours, tagged
from flovtrain.cleanup._registry import Found, Kind, Scan, listed, register


def _describe(scan: Scan, region: str, db: dict[str, Any]) -> Found:
    name = db["DBInstanceIdentifier"]
    if db.get("DBInstanceStatus") == "deleting":
        return None
    if ours(name) or tagged(db.get("TagList")):
        return {"chapter": "07", "name": name, "id": name}
    return None


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    scan.client("rds", row["region"]).delete_db_instance(
        DBInstanceIdentifier=row["id"], SkipFinalSnapshot=True, DeleteAutomatedBackups=True
    )


DB_INSTANCE = register(
    Kind(
        "rds db instance",
        "rds",
        order=100,
        list=listed("rds", "describe_db_instances", "DBInstances"),
        describe=_describe,
        delete=_delete,
        removal="delete_db_instance(SkipFinalSnapshot=True, DeleteAutomatedBackups=True)",
        billable=True,
    )
)
