"""Cleanup of chapter 08's analytics: Athena workgroups and saved queries, Glue tables and
databases (one module for both services: the chapter uses them together, and the package has
no second module named ``athena``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flovtrain._aws import paginate
from flovtrain.cleanup._names import GLUE_DATABASES, WORKGROUPS, ours, tags_say_ours
from flovtrain.cleanup._registry import Found, Kind, Scan, call_with_id, listed, register, rows_of

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
    return {"chapter": "08", "name": name, "id": name}


def _named_queries(scan: Scan, region: str) -> Iterator[dict[str, Any]]:
    athena = scan.client("athena", region)
    ids = list(paginate(athena, "list_named_queries", "NamedQueryIds"))
    for start in range(0, len(ids), _BATCH):
        yield from athena.batch_get_named_query(NamedQueryIds=ids[start : start + _BATCH]).get(
            "NamedQueries", []
        )


def _describe_named_query(scan: Scan, region: str, query: dict[str, Any]) -> Found:
    if query.get("Database") in GLUE_DATABASES or ours(query.get("Name", "")):
        return {"chapter": "08", "name": query["Name"], "id": query["NamedQueryId"]}
    return None


WORKGROUP = register(
    Kind(
        "athena workgroup",
        "athena",
        order=220,
        list=listed("athena", "list_work_groups", "WorkGroups", paged=False),
        describe=_describe_workgroup,
        delete=call_with_id("athena", "delete_work_group", "WorkGroup", RecursiveDeleteOption=True),
        removal="delete_work_group(RecursiveDeleteOption=True)",
    )
)
NAMED_QUERY = register(
    Kind(
        "athena named query",
        "athena",
        order=210,
        list=_named_queries,
        describe=_describe_named_query,
        delete=call_with_id("athena", "delete_named_query", "NamedQueryId"),
        removal="delete_named_query",
    )
)


# -- Glue ------------------------------------------------------------------------------------
def _describe_database(scan: Scan, region: str, db: dict[str, Any]) -> Found:
    if db["Name"] in GLUE_DATABASES:
        return {"chapter": "08", "name": db["Name"], "id": db["Name"]}
    return None


def _describe_tables(scan: Scan, region: str, db: dict[str, Any]) -> Found:
    names = (
        f"{db['name']}.{t['Name']}"
        for t in paginate(
            scan.client("glue", region), "get_tables", "TableList", DatabaseName=db["name"]
        )
    )
    return [{"chapter": "08", "name": name, "id": name} for name in names]


def _delete_table(scan: Scan, row: dict[str, Any]) -> None:
    database, table = row["id"].split(".", 1)
    scan.client("glue", row["region"]).delete_table(DatabaseName=database, Name=table)


TABLE = register(
    Kind(
        "glue table",
        "glue",
        order=230,
        list=rows_of("glue database"),
        describe=_describe_tables,
        delete=_delete_table,
        removal="delete_table (data in S3 stays)",
    )
)
DATABASE = register(
    Kind(
        "glue database",
        "glue",
        order=240,
        list=listed("glue", "get_databases", "DatabaseList"),
        describe=_describe_database,
        delete=call_with_id("glue", "delete_database", "Name"),
        removal="delete_database",
    )
)
