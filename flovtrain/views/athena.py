"""Athena as DataFrames: query executions and named queries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from flovtrain.session import get_session
from flovtrain.views._frames import batch_get

EXECUTION_COLUMNS = [
    "execution_id",
    "state",
    "statement_type",
    "database",
    "workgroup",
    "bytes_scanned",
    "engine_ms",
    "reason",
    "query",
]
NAMED_QUERY_COLUMNS = ["named_query_id", "name", "database", "workgroup", "query"]
#: Athena's ``batch_get_*`` calls take at most this many ids.
_BATCH = 50


def iter_executions(workgroup: str = "primary", session: Any = None) -> Iterator[dict[str, Any]]:
    """Yield raw ``QueryExecution`` dicts of a workgroup, newest first."""
    athena = get_session(session).client("athena")
    for page in athena.get_paginator("list_query_executions").paginate(WorkGroup=workgroup):
        yield from batch_get(
            athena.batch_get_query_execution,
            "QueryExecutions",
            "QueryExecutionIds",
            page.get("QueryExecutionIds", []),
            _BATCH,
        )


def executions(workgroup: str = "primary", session: Any = None) -> pd.DataFrame:
    """Return the workgroup's query executions (newest first), one row each.

    Examples
    --------
    >>> executions()[["state", "bytes_scanned"]].head()      # doctest: +SKIP
    """
    rows = [
        {
            "execution_id": e["QueryExecutionId"],
            "state": e["Status"]["State"],
            "statement_type": e.get("StatementType"),
            "database": (e.get("QueryExecutionContext") or {}).get("Database"),
            "workgroup": e.get("WorkGroup"),
            "bytes_scanned": (e.get("Statistics") or {}).get("DataScannedInBytes", 0),
            "engine_ms": (e.get("Statistics") or {}).get("EngineExecutionTimeInMillis", 0),
            "reason": e["Status"].get("StateChangeReason", ""),
            "query": " ".join(e.get("Query", "").split())[:120],
        }
        for e in iter_executions(workgroup, session)
    ]
    return pd.DataFrame(rows, columns=EXECUTION_COLUMNS)


def named_queries(workgroup: str = "primary", session: Any = None) -> pd.DataFrame:
    """Return the workgroup's saved (named) queries.

    Examples
    --------
    >>> named_queries()                                       # doctest: +SKIP
    """
    athena = get_session(session).client("athena")
    ids = [
        i
        for p in athena.get_paginator("list_named_queries").paginate(WorkGroup=workgroup)
        for i in p.get("NamedQueryIds", [])
    ]
    rows = [
        {
            "named_query_id": q["NamedQueryId"],
            "name": q["Name"],
            "database": q["Database"],
            "workgroup": q.get("WorkGroup"),
            "query": q["QueryString"],
        }
        for q in batch_get(
            athena.batch_get_named_query, "NamedQueries", "NamedQueryIds", ids, _BATCH
        )
    ]
    return pd.DataFrame(rows, columns=NAMED_QUERY_COLUMNS).sort_values("name", ignore_index=True)
