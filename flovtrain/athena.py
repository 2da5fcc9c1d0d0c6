"""Run Athena queries from a notebook: start, poll, page - the same code on the sandbox and on AWS.

Examples
--------
>>> import flovtrain, flovtrain.athena as athena
>>> conn = flovtrain.connect()
>>> df = athena.query("SELECT 1 AS one", output_location="s3://my-bucket/athena-results/")
>>> df.attrs["bytes_scanned"], df.attrs["cost_usd"]            # doctest: +SKIP
(0, 4.76837158203125e-05)
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Iterator
from typing import Any

import pandas as pd

from flovtrain.exceptions import AthenaQueryFailed
from flovtrain.session import get_session

#: Athena's price: $5 per TB scanned (TB = 2**40 bytes), rounded up to the MB, 10 MB minimum.
PRICE_PER_TB = 5.0
MIN_BYTES = 10 * 2**20
_DTYPES = {
    "tinyint": "Int64",
    "smallint": "Int64",
    "integer": "Int64",
    "bigint": "Int64",
    "double": "float64",
    "real": "float64",
    "float": "float64",
    "boolean": "boolean",
    "varchar": "string",
    "char": "string",
}
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


def cost_usd(bytes_scanned: int, statement_type: str = "DML") -> float:
    """Return what Athena charges for a query that scanned ``bytes_scanned`` bytes (DDL is free).

    Parameters
    ----------
    bytes_scanned : int
        ``Statistics.DataScannedInBytes``.
    statement_type : str
        ``DML`` or ``DDL`` (plain DDL scans nothing and is free).

    Examples
    --------
    >>> cost_usd(0)                       # the 10 MB minimum
    4.76837158203125e-05
    >>> cost_usd(2**40)
    5.0
    """
    if statement_type == "DDL" and bytes_scanned == 0:
        return 0.0  # DDL is free; CTAS (also "DDL") pays for what its SELECT scans
    billed = max(MIN_BYTES, math.ceil(bytes_scanned / 2**20) * 2**20)
    return billed / 2**40 * PRICE_PER_TB


def start(
    sql: str,
    database: str | None = None,
    workgroup: str = "primary",
    output_location: str | None = None,
    session: Any = None,
) -> str:
    """Start a query and return its QueryExecutionId (does not wait)."""
    client = get_session(session).client("athena")
    return _start(client, sql, database, workgroup, output_location)


def _start(
    client: Any, sql: str, database: str | None, workgroup: str, output_location: str | None
) -> str:
    kwargs: dict[str, Any] = {"QueryString": sql, "WorkGroup": workgroup}
    if database:
        kwargs["QueryExecutionContext"] = {"Database": database}
    if output_location:
        kwargs["ResultConfiguration"] = {"OutputLocation": output_location}
    return client.start_query_execution(**kwargs)["QueryExecutionId"]


def wait(
    execution_id: str, timeout: float = 300.0, poll: float = 0.01, session: Any = None
) -> dict[str, Any]:
    """Poll until the execution is final; return its ``QueryExecution`` dict.

    Polls every 10-50 ms for the first seconds (a quick query is seen as soon as it ends),
    then backs off to 4 polls a second for a long one.

    Raises
    ------
    TimeoutError
        Still running after ``timeout`` seconds (the query keeps running: stop it with
        ``stop(execution_id)``).
    """
    return _wait(get_session(session).client("athena"), execution_id, timeout, poll)


def _wait(client: Any, execution_id: str, timeout: float, poll: float) -> dict[str, Any]:
    started = time.monotonic()
    delay = poll
    while True:
        asked = time.monotonic()
        execution = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        if execution["Status"]["State"] in FINAL_STATES:
            return execution
        now = time.monotonic()
        if now - started > timeout:
            raise TimeoutError(
                f"Athena query {execution_id} still {execution['Status']['State']} "
                f"after {timeout:.0f} s; stop it with flovtrain.athena.stop()."
            )
        # polls start ``delay`` apart: an answer that took that long already waited
        time.sleep(max(0.0, delay - (now - asked)))
        delay = min(delay * 1.5, 0.05 if now - started < 3 else 0.25)


def stop(execution_id: str, session: Any = None) -> None:
    """Stop a running query."""
    get_session(session).client("athena").stop_query_execution(QueryExecutionId=execution_id)


def iter_rows(execution_id: str, session: Any = None) -> Iterator[dict[str, Any]]:
    """Yield the raw ``GetQueryResults`` pages of a finished query (paginated)."""
    client = get_session(session).client("athena")
    yield from client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id)


#: Rows of the first GetQueryResults page: a result longer than that is read from its CSV.
FIRST_PAGE_ROWS = 20


def results(execution: dict[str, Any], session: Any = None) -> pd.DataFrame:
    """Return the rows of a SUCCEEDED execution as a typed DataFrame (header row dropped).

    A result that fits in one short ``GetQueryResults`` page (under 20 rows) is read from
    that page. A longer one is read from the results CSV Athena wrote to S3 (as awswrangler
    does): one download instead of a page per 1,000 rows, the same typed frame either way.

    Examples
    --------
    >>> execution = wait(start("SELECT 1 AS one", output_location="s3://b/r/"))  # doctest: +SKIP
    >>> results(execution).one.tolist()                                         # doctest: +SKIP
    [1]
    """
    session = get_session(session)
    return _results(session.client("athena"), execution, session)


def _results(client: Any, execution: dict[str, Any], session: Any) -> pd.DataFrame:
    location = execution.get("ResultConfiguration", {}).get("OutputLocation") or ""
    dml = execution.get("StatementType") == "DML"
    from_csv = dml and location.endswith(".csv")
    request = {"QueryExecutionId": execution["QueryExecutionId"]}
    page = client.get_query_results(**request, MaxResults=FIRST_PAGE_ROWS if from_csv else 1000)
    columns = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    names = [c["Name"] for c in columns]
    if from_csv and page.get("NextToken"):
        return _typed(_read_results_csv(location, columns, session), columns)
    rows: list[list[str | None]] = []
    while True:
        rows.extend([d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"])
        if not page.get("NextToken"):
            break
        page = client.get_query_results(**request, NextToken=page["NextToken"])
    if dml and rows and rows[0] == names:
        rows = rows[1:]
    # DESCRIBE: Athena names three columns but returns each row as one tab-separated cell
    rows = [r + [None] * (len(names) - len(r)) for r in rows]
    return _typed(pd.DataFrame(rows, columns=names), columns)


_S3_CLIENTS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _s3(session: Any) -> Any:
    """The session's S3 client for reading results files, made once per session (making one
    costs ~4 ms, a tenth of reading a 7,000-row result)."""
    client = _S3_CLIENTS.get(session)
    if client is None:
        client = _S3_CLIENTS[session] = session.client("s3")
    return client


def _read_results_csv(location: str, columns: list[dict[str, Any]], session: Any) -> pd.DataFrame:
    """The results CSV as cells: NULL (an unquoted empty field) is None, "" stays ""; doubles
    are parsed here (Arrow reads Java's ``1.0E7``, ``NaN`` and ``Infinity``), the rest are text
    for :func:`_typed`."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = [c["Name"] for c in columns]
    # by position: a result may repeat a column name
    slots = [f"c{i}" for i in range(len(names))]
    kinds = {
        slot: pa.float64() if _DTYPES.get(c["Type"]) == "float64" else pa.string()
        for slot, c in zip(slots, columns, strict=True)
    }
    bucket, _, key = location.removeprefix("s3://").partition("/")
    body = _s3(session).get_object(Bucket=bucket, Key=key)["Body"].read()
    table = pcsv.read_csv(
        pa.py_buffer(body),
        read_options=pcsv.ReadOptions(column_names=slots, skip_rows=1),
        # a NULL in a one-column result is an empty line: a row, not a blank to skip
        parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            column_types=kinds,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    df = pd.DataFrame({i: table.column(i).to_pandas() for i in range(len(names))})
    df.columns = names
    return df


def _typed(df: pd.DataFrame, columns: list[dict[str, Any]]) -> pd.DataFrame:
    """Give each column of string cells the pandas dtype of its Athena type."""
    for i, column in enumerate(columns):
        kind = column["Type"]
        cells = df.iloc[:, i]
        if kind in _DTYPES:
            if _DTYPES[kind] == "float64":  # astype reads Java's NaN and Infinity too
                typed = cells.astype("float64")
            elif _DTYPES[kind] == "Int64":
                typed = pd.to_numeric(cells).astype("Int64")
            elif _DTYPES[kind] == "boolean":
                typed = cells.map({"true": True, "false": False}).astype("boolean")
            else:
                typed = cells.astype("string")
        elif kind == "date":
            typed = pd.to_datetime(cells).dt.date
        elif kind.startswith("timestamp"):
            typed = pd.to_datetime(cells.str.replace(" UTC", "", regex=False), utc=True)
        elif kind == "decimal":
            typed = pd.to_numeric(cells)
        else:
            continue
        df.isetitem(i, typed)
    return df


def query(
    sql: str,
    database: str | None = None,
    workgroup: str = "primary",
    output_location: str | None = None,
    timeout: float = 300.0,
    session: Any = None,
) -> pd.DataFrame:
    """Run one SQL statement on Athena and return its rows as a DataFrame.

    Parameters
    ----------
    sql : str
        Athena (Trino) SQL or DDL.
    database : str, optional
        The QueryExecutionContext database for unqualified table names.
    workgroup : str
        Workgroup (its byte limit and output location apply).
    output_location : str, optional
        ``s3://bucket/prefix/`` for the results (needed unless the workgroup has one).
    session : boto3.Session, optional

    Returns
    -------
    pandas.DataFrame
        The rows; ``df.attrs`` holds ``execution_id``, ``state``, ``bytes_scanned``,
        ``cost_usd``, ``engine_ms``, ``output_location``.

    Raises
    ------
    AthenaQueryFailed
        The query ended FAILED or CANCELLED; the message is Athena's StateChangeReason.

    Examples
    --------
    >>> df = query("SELECT symbol, count(*) AS n FROM klines GROUP BY 1",
    ...            database="marketdata", output_location="s3://b/results/")   # doctest: +SKIP
    """
    session = get_session(session)  # one session: its clients share the loaded API models
    client = session.client("athena")  # one client for the whole query (each costs ~10 ms)
    execution_id = _start(client, sql, database, workgroup, output_location)
    execution = _wait(client, execution_id, timeout, 0.01)
    status = execution["Status"]
    stats = execution.get("Statistics", {})
    if status["State"] != "SUCCEEDED":
        raise AthenaQueryFailed(
            f"Athena query {status['State']}: {status.get('StateChangeReason', 'no reason given')}"
        )
    df = _results(client, execution, session)
    scanned = int(stats.get("DataScannedInBytes", 0))
    df.attrs.update(
        execution_id=execution_id,
        state=status["State"],
        statement_type=execution.get("StatementType", "DML"),
        bytes_scanned=scanned,
        cost_usd=cost_usd(scanned, execution.get("StatementType", "DML")),
        engine_ms=int(stats.get("EngineExecutionTimeInMillis", 0)),
        output_location=execution.get("ResultConfiguration", {}).get("OutputLocation"),
    )
    return df


def summary(df: pd.DataFrame) -> str:
    """One line about a :func:`query` result: rows, bytes scanned and cost (no timing).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1]})
    >>> df.attrs.update(bytes_scanned=20_000_000, cost_usd=cost_usd(20_000_000))
    >>> summary(df)
    '1 rows · 19.07 MiB scanned · $0.000091'
    """
    scanned = df.attrs.get("bytes_scanned", 0)
    return (
        f"{len(df)} rows · {scanned / 2**20:.2f} MiB scanned · ${df.attrs.get('cost_usd', 0.0):.6f}"
    )
