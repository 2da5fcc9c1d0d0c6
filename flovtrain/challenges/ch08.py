"""Chapter 08 · Athena over market data: a question in SQL, bytes scanned, a capped workgroup."""

from __future__ import annotations

import re

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, number, paginate, text

PREFIX = "marketdata/klines/"  # marketdata.DEFAULT_PREFIX: symbol=…/date=…/ below it
WEEK = 7
ONE_DATE = "2025-01-02"
MINIMUM_BILLED = 10 * 2**20  # Athena bills at least 10 MB a query
WORKGROUP = "capped"
_PARTITION = re.compile(r"symbol=([^/]+)/date=([^/]+)/")


def _objects(session: boto3.Session) -> list[tuple[str, str, str, int]]:
    """(symbol, date, key, size) of every kline file in the chapter's bucket."""
    account = client(session, "sts").get_caller_identity()["Account"]
    bucket = f"flovtec-marketdata-{account}"
    found = []
    for item in paginate(
        client(session, "s3"), "list_objects_v2", "Contents", Bucket=bucket, Prefix=PREFIX
    ):
        match = _PARTITION.search(item["Key"])
        if match:
            found.append((match.group(1), match.group(2), item["Key"], item["Size"]))
    return found


def _most_trades(answer: object, session: boto3.Session) -> str | None:
    from flovtrain.marketdata import parse_csv

    objects = _objects(session)
    if not objects:
        return "the bucket holds no market data yet: run section 1"
    week = sorted({date for _, date, _, _ in objects})[:WEEK]
    s3 = client(session, "s3")
    bucket = f"flovtec-marketdata-{client(session, 'sts').get_caller_identity()['Account']}"
    trades: dict[str, int] = {}
    for symbol, date, key, _ in objects:
        if date in week:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            trades[symbol] = trades.get(symbol, 0) + int(parse_csv(body).number_of_trades.sum())
    given = text(answer).upper()
    if given not in trades:
        return f"{given!r} is not a symbol of the table ({', '.join(sorted(trades))})"
    if given == max(trades, key=trades.__getitem__):
        return None
    return f"{given} had fewer trades from {week[0]} to {week[-1]} than another symbol"


def _bytes_one_date(answer: object, session: boto3.Session) -> str | None:
    given = number(answer)
    if given is None:
        return f"{answer!r} is not a number of bytes"
    objects = _objects(session)
    day = sum(size for _, date, _, size in objects if date == ONE_DATE)
    if not day:
        return f"the bucket has no files for {ONE_DATE}: run section 1"
    if given == day:
        return None
    if given == sum(size for *_, size in objects):
        return 'that is the whole table: a filter on the partition column "date" reads one folder'
    if given == MINIMUM_BILLED:
        return "10 MB is what Athena bills at least, not what it scanned"
    return f"{given:g} is not DataScannedInBytes of a query that reads only {ONE_DATE}"


def _capped_state(answer: object, session: boto3.Session) -> str | None:
    athena = client(session, "athena")
    ids = list(paginate(athena, "list_query_executions", "QueryExecutionIds", WorkGroup=WORKGROUP))
    stopped = None
    for start in range(0, len(ids), 50):  # newest first
        batch = athena.batch_get_query_execution(QueryExecutionIds=ids[start : start + 50])
        stopped = next(
            (q for q in batch["QueryExecutions"] if q["Status"]["State"] != "SUCCEEDED"), None
        )
        if stopped:
            break
    if stopped is None:
        return f"no query in the workgroup {WORKGROUP} was stopped yet: run section 5"
    given = text(answer).upper()
    if given == stopped["Status"]["State"]:
        return None
    if given == "SUCCEEDED":
        return "the query that scanned too much did not succeed: look at its Status"
    return f"{given!r} is not the State Athena gave the query it stopped"


CHALLENGES = [
    Challenge(
        "08.1",
        "The symbol with the most trades in the first week",
        _most_trades,
        "SELECT symbol, sum(number_of_trades) ... WHERE \"date\" <= '2025-01-07' GROUP BY symbol",
    ),
    Challenge(
        "08.2",
        f"How many bytes does a query filtered on {ONE_DATE} scan?",
        _bytes_one_date,
        "get_query_execution(...): Statistics.DataScannedInBytes (or df.attrs['bytes_scanned'])",
    ),
    Challenge(
        "08.3",
        f"The state of the query the workgroup {WORKGROUP} stopped",
        _capped_state,
        f"list_query_executions(WorkGroup='{WORKGROUP}'), then get_query_execution: Status",
    ),
]
