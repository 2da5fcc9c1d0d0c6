"""Chapter 08 · Athena over market data.

Checks the database, the partitioned CSV table, the Parquet copy, the capped workgroup, and
that the attendee's own queries *answer* the exercise's questions: the check works the answers
out itself from the table's files in S3 and looks for them in the queries' results.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import boto3
import pandas as pd
from botocore.exceptions import ClientError

from flovtrain.checks._athena_hints import api_hint, query_hint
from flovtrain.checks._aws import client, get_or_fail
from flovtrain.checks._checklist import Checklist, Failed
from flovtrain.checks._market_answers import (
    answers,
    expected_frame,
    jump_minutes,
    own_executions,
    rows,
    widest_days,
)

TITLE = "Athena over market data"
DATABASE = "marketdata"
TABLE = "klines"
PARQUET_TABLE = "klines_parquet"
WORKGROUP = "capped"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def explained(item: Callable[[], None]) -> Callable[[], None]:
    """``item``, with a Glue/Athena API error turned into a failure that says what to do."""

    def run() -> None:
        try:
            item()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "?")
            raise Failed(f"AWS said {code}: {error.get('Message', '')}", api_hint(code)) from None

    return run


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

    mine = cache(lambda: own_executions(athena))
    result = cache(lambda execution_id: rows(athena, execution_id))

    def answered(question: str, expected: dict[str, str]) -> None:
        """Pass when one of the attendee's queries gives ``expected`` (symbol -> value)."""
        for execution in (e for e in mine() if e["Status"]["State"] == "SUCCEEDED"):
            if answers(result(execution["QueryExecutionId"]), expected):
                return
        failed = [e for e in mine() if e["Status"]["State"] in ("FAILED", "CANCELLED")]
        if failed:  # the first failure is usually the cause of the ones after it
            reason = failed[-1]["Status"].get("StateChangeReason", "no reason given")
            raise Failed(
                f"no query answers it; {len(failed)} of yours over {TABLE} failed, the first "
                f"with: {reason}",
                query_hint(reason),
            )
        raise Failed(f"no successful query over {TABLE} answers {question} yet")

    @cache
    def truth() -> pd.DataFrame:
        return expected_frame(session, table(TABLE))

    def widest_day() -> None:
        answered("the widest day per symbol", widest_days(truth()))

    def jumps() -> None:
        answered("the 0.5 % jumps per symbol", jump_minutes(truth()))

    cl.add(f"database {DATABASE} exists", explained(database))
    cl.add(f"table {DATABASE}.{TABLE} partitioned by symbol, date", explained(csv_table))
    cl.add(
        "partitions for the three symbols", explained(partitions), hint=f"MSCK REPAIR TABLE {TABLE}"
    )
    cl.add(f"Parquet table {PARQUET_TABLE} (CTAS)", explained(parquet))
    cl.add(f"workgroup {WORKGROUP} with a byte limit", explained(workgroup))
    cl.add(
        "your query names each symbol's day with the widest high-low range",
        explained(widest_day),
        'WITH d AS (SELECT symbol, "date" AS day, max(high) - min(low) AS range FROM klines '
        "GROUP BY 1, 2) SELECT symbol, max_by(day, range) AS day FROM d GROUP BY symbol",
    )
    cl.add(
        "your query counts each symbol's minutes that closed > 0.5 % above their open",
        explained(jumps),
        "SELECT symbol, count(*) AS minutes FROM klines WHERE close > open * 1.005 GROUP BY symbol",
    )
