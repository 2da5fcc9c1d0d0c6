"""Chapter 08 · Athena over market data.

Checks the database, the partitioned CSV table, the Parquet copy, the capped workgroup and
the attendee's own queries.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from flovtrain.checks._aws import client, get_or_fail
from flovtrain.checks._checklist import Checklist, Failed

TITLE = "Athena over market data"
DATABASE = "marketdata"
TABLE = "klines"
PARQUET_TABLE = "klines_parquet"
WORKGROUP = "capped"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def collect(cl: Checklist, session: boto3.Session) -> None:
    glue = client(session, "glue")
    athena = client(session, "athena")

    def table(name: str) -> dict:
        return get_or_fail(
            glue.get_table, f"no Glue table {DATABASE}.{name}", DatabaseName=DATABASE, Name=name
        )["Table"]

    def database() -> None:
        get_or_fail(
            glue.get_database,
            f"no database {DATABASE}: run CREATE DATABASE {DATABASE}",
            Name=DATABASE,
        )

    def csv_table() -> None:
        t = table(TABLE)
        keys = [k["Name"] for k in t.get("PartitionKeys", [])]
        if keys != ["symbol", "date"]:
            raise Failed(f"{TABLE} is partitioned by {keys}, expected ['symbol', 'date']")

    def partitions() -> None:
        parts = glue.get_partitions(DatabaseName=DATABASE, TableName=TABLE).get("Partitions", [])
        symbols = {p["Values"][0] for p in parts}
        if not set(SYMBOLS) <= symbols:
            raise Failed(f"partitions cover {sorted(symbols)}: run MSCK REPAIR TABLE {TABLE}")

    def parquet() -> None:
        t = table(PARQUET_TABLE)
        serde = t["StorageDescriptor"]["SerdeInfo"].get("SerializationLibrary", "")
        if "parquet" not in serde.lower():
            raise Failed(
                f"{PARQUET_TABLE} is stored with {serde}, not Parquet: "
                "use CTAS with format='PARQUET'"
            )

    def workgroup() -> None:
        try:
            found = athena.get_work_group(WorkGroup=WORKGROUP).get("WorkGroup")
        except ClientError:
            found = None
        if not found:  # AWS raises InvalidRequestException; moto answers with nothing
            raise Failed(f"no workgroup {WORKGROUP}")
        config = found.get("Configuration", {})
        cutoff = config.get("BytesScannedCutoffPerQuery")
        if not cutoff:
            raise Failed(f"workgroup {WORKGROUP} has no BytesScannedCutoffPerQuery")

    def own_queries() -> None:
        ids = athena.list_query_executions(WorkGroup="primary").get("QueryExecutionIds", [])
        done = [
            e
            for i in range(0, len(ids), 50)
            for e in athena.batch_get_query_execution(QueryExecutionIds=ids[i : i + 50])[
                "QueryExecutions"
            ]
        ]
        ok = [
            e
            for e in done
            if e["Status"]["State"] == "SUCCEEDED"
            and e.get("StatementType") == "DML"
            and TABLE in e["Query"]
        ]
        if len(ok) < 3:
            raise Failed(f"{len(ok)} successful queries over {TABLE}; the chapter runs at least 3")

    cl.add(f"database {DATABASE} exists", database)
    cl.add(f"table {DATABASE}.{TABLE} partitioned by symbol, date", csv_table)
    cl.add("partitions for the three symbols", partitions, hint=f"MSCK REPAIR TABLE {TABLE}")
    cl.add(f"Parquet table {PARQUET_TABLE} (CTAS)", parquet)
    cl.add(f"workgroup {WORKGROUP} with a byte limit", workgroup)
    cl.add("queries of your own over klines succeeded", own_queries)
