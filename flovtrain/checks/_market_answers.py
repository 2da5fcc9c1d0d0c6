"""Chapter 08's exercise answers: worked out from the table's files, found in query results.

The check does not trust a count of queries: it reads the CSV files under the ``klines``
table's S3 location (what Athena reads), computes each question's answer with pandas and
looks for a query of the attendee's whose result gives it, whatever the columns are called.
"""

from __future__ import annotations

from typing import Any

import boto3
import pandas as pd

from flovtrain._aws import paginate
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Failed
from flovtrain.marketdata import parse_csv

#: A query "over klines" mentions the table (klines or klines_parquet) in its text.
TABLE_WORD = "klines"
#: Rows of a result the check reads (GetQueryResults' largest page).
RESULT_ROWS = 1000


def expected_frame(session: boto3.Session, table: dict[str, Any]) -> pd.DataFrame:
    """Return every minute under the Glue ``table``'s S3 location, with symbol and day.

    Raises
    ------
    Failed
        The location holds no ``symbol=…/date=…/`` files.
    """
    location = table["StorageDescriptor"]["Location"]
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    s3 = client(session, "s3")
    frames = []
    for obj in paginate(s3, "list_objects_v2", "Contents", Bucket=bucket, Prefix=prefix):
        parts = dict(p.split("=", 1) for p in obj["Key"].split("/") if "=" in p)
        if {"symbol", "date"} <= parts.keys():
            frame = parse_csv(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            frames.append(frame.assign(symbol=parts["symbol"], day=parts["date"]))
    if not frames:
        raise Failed(f"no symbol=…/date=…/ files under {location}: upload the data first")
    return pd.concat(frames, ignore_index=True)


def widest_days(minutes: pd.DataFrame) -> dict[str, str]:
    """Return each symbol's day with the largest high - low range.

    Examples
    --------
    >>> m = pd.DataFrame({"symbol": ["A", "A", "A"], "day": ["d1", "d1", "d2"],
    ...                   "high": [5.0, 9.0, 7.0], "low": [4.0, 6.0, 1.0]})
    >>> widest_days(m)
    {'A': 'd2'}
    """
    days = minutes.groupby(["symbol", "day"]).agg(high=("high", "max"), low=("low", "min"))
    spread = (days["high"] - days["low"]).rename("range").reset_index()
    best = spread.loc[spread.groupby("symbol")["range"].idxmax()]
    return dict(zip(best["symbol"], best["day"], strict=True))


def jump_minutes(minutes: pd.DataFrame) -> dict[str, str]:
    """Return, per symbol, how many minutes closed more than 0.5 % above their open.

    Examples
    --------
    >>> m = pd.DataFrame({"symbol": ["A", "A"], "open": [100.0, 100.0], "close": [101.0, 100.1]})
    >>> jump_minutes(m)
    {'A': '1'}
    """
    jumped = minutes[minutes["close"] > minutes["open"] * 1.005]
    counts = (
        jumped.groupby("symbol").size().reindex(sorted(minutes["symbol"].unique()), fill_value=0)
    )
    return {symbol: str(int(n)) for symbol, n in counts.items()}


def own_executions(athena: Any) -> list[dict[str, Any]]:
    """Return the DML query executions over klines in every workgroup, newest first."""
    groups, token = [], None
    while True:  # botocore has no paginator for ListWorkGroups
        page = athena.list_work_groups(**({"NextToken": token} if token else {}))
        groups += [g["Name"] for g in page.get("WorkGroups", [])]
        if not (token := page.get("NextToken")):
            break
    found: list[dict[str, Any]] = []
    for group in groups or ["primary"]:
        ids = list(paginate(athena, "list_query_executions", "QueryExecutionIds", WorkGroup=group))
        for i in range(0, len(ids), 50):
            batch = athena.batch_get_query_execution(QueryExecutionIds=ids[i : i + 50])
            found += [
                e
                for e in batch["QueryExecutions"]
                if e.get("StatementType") == "DML" and TABLE_WORD in e.get("Query", "")
            ]
    return sorted(found, key=lambda e: e["Status"].get("SubmissionDateTime") or 0, reverse=True)


def rows(athena: Any, execution_id: str) -> list[list[str]]:
    """Return a query's first result rows as text (the header row included)."""
    page = athena.get_query_results(QueryExecutionId=execution_id, MaxResults=RESULT_ROWS)
    return [
        [d.get("VarCharValue", "") for d in row.get("Data", [])]
        for row in page["ResultSet"].get("Rows", [])
    ]


def _same(value: str, expected: str) -> bool:
    try:
        return float(value) == float(expected)
    except ValueError:
        return value.strip() == expected


def answers(result: list[list[str]], expected: dict[str, str]) -> bool:
    """True when, for every symbol, the result's first row naming it holds its expected value.

    Column names and order are free; extra rows after each symbol's first are ignored (so
    ``ORDER BY range DESC`` without a LIMIT answers too, an unordered list of every day does not).

    Examples
    --------
    >>> answers([["symbol", "day"], ["A", "d2"], ["B", "d1"]], {"A": "d2", "B": "d1"})
    True
    >>> answers([["symbol", "day"], ["A", "d1"], ["A", "d2"]], {"A": "d2"})
    False
    """
    for symbol, value in expected.items():
        first = next((row for row in result if symbol in row), None)
        if first is None or not any(_same(cell, value) for cell in first if cell != symbol):
            return False
    return True
