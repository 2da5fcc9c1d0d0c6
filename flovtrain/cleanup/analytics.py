"""Cleanup of chapter 08's analytics: Athena workgroups and saved queries, Glue tables and
databases (one module for both services: the chapter uses them together, and the package has
no second module named ``athena``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flovtrain._aws import paginate
from flovtrain.cleanup._names import GLUE_DATABASES, WORKGROUPS, ours, tags_say_ours
from flovtrain.cleanup._registry import Found, Scan, call_with_id, declare, plan_row, rows_of
from flovtrain.views._frames import batch_get

#: ``batch_get_named_query`` takes at most this many ids.
_BATCH = 50


# -- Athena ----------------------------------------------------------------------------------
def _describe_workgroup(scan: Scan, region: str, group: dict[str, Any]) -> Found:
    name = group["Name"]
    if name == "primary":  # every account has it; it cannot be deleted
        return None
    if not (name in WORKGROUPS or ours(name)):
        arn = f"arn:aws:athena:{region}:{scan.account()}:workgroup/{name}"
        if not tags_say_ours(scan.client("athena", region).list_tags_for_resource, ResourceARN=arn):
            return None
    return plan_row("08", name)


def _named_queries(scan: Scan, region: str) -> Iterator[dict[str, Any]]:
    athena = scan.client("athena", region)
    ids = list(paginate(athena, "list_named_queries", "NamedQueryIds"))
    yield from batch_get(athena.batch_get_named_query, "NamedQueries", "NamedQueryIds", ids, _BATCH)


def _describe_named_query(scan: Scan, region: str, query: dict[str, Any]) -> Found:
    if query.get("Database") in GLUE_DATABASES or ours(query.get("Name", "")):
        return plan_row("08", query["Name"], query["NamedQueryId"])
    return None


WORKGROUP = declare(
    "athena workgroup",
    220,
    ("list_work_groups", "WorkGroups"),
    _describe_workgroup,
    call_with_id("athena", "delete_work_group", "WorkGroup", RecursiveDeleteOption=True),
    "delete_work_group(RecursiveDeleteOption=True)",
)
NAMED_QUERY = declare(
    "athena named query",
    210,
    _named_queries,
    _describe_named_query,
    ("delete_named_query", "NamedQueryId"),
)


# -- Glue ------------------------------------------------------------------------------------
def _describe_database(scan: Scan, region: str, db: dict[str, Any]) -> Found:
    if db["Name"] in GLUE_DATABASES:
        return plan_row("08", db["Name"])
    return None


def _describe_tables(scan: Scan, region: str, db: dict[str, Any]) -> Found:
    names = (
        f"{db['name']}.{t['Name']}"
        for t in paginate(
            scan.client("glue", region), "get_tables", "TableList", DatabaseName=db["name"]
        )
    )
    return [plan_row("08", name) for name in names]


def _delete_table(scan: Scan, row: dict[str, Any]) -> None:
    database, table = row["id"].split(".", 1)
    scan.client("glue", row["region"]).delete_table(DatabaseName=database, Name=table)


TABLE = declare(
    "glue table",
    230,
    rows_of("glue database"),
    _describe_tables,
    _delete_table,
    "delete_table (data in S3 stays)",
)
DATABASE = declare(
    "glue database",
    240,
    ("get_databases", "DatabaseList"),
    _describe_database,
    ("delete_database", "Name"),
)
