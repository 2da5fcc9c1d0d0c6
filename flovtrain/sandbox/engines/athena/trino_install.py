"""Installing what rewritten SQL calls: the TEMP macros per connection, the Python UDFs once
per database (see :func:`install_udfs` for why).

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> install(con, "SELECT _trino_shift_left(1, 2)")  # only the macros this SQL calls
"""

from __future__ import annotations

import re
from typing import Any

from flovtrain.sandbox.engines.athena import trino_macros as macros
from flovtrain.sandbox.engines.athena import trino_math, trino_subscripts
from flovtrain.sandbox.engines.athena import trino_zones as zones

__all__ = ["install", "install_udfs"]

_CALLED = re.compile(r"\b_trino_[a-z0-9_]+", re.IGNORECASE)  # sqlglot may upper-case names


def _needed(sql: str | None, macro_list: list[tuple]) -> set[str] | None:
    """The macro/UDF names ``sql`` calls, with the macros those call in turn (None: all)."""
    if sql is None:
        return None
    bodies = {name: body for name, _, body in macro_list}
    wanted, todo = set(), {name.lower() for name in _CALLED.findall(sql)}
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo |= {called.lower() for called in _CALLED.findall(bodies.get(name, ""))}
    return wanted


def _udfs() -> list[tuple[str, Any, list[str], str]]:
    """(name, Python function, parameter types, result type) of the Python UDFs."""
    return [
        ("_trino_type_name", macros.trino_type_name, ["VARCHAR"], "VARCHAR"),
        ("_trino_format", macros.trino_format, ["VARCHAR", "VARCHAR[]", "VARCHAR[]"], "VARCHAR"),
        ("_trino_format_number", macros.format_number, ["DOUBLE"], "VARCHAR"),
        ("_trino_parse_data_size", macros.parse_data_size, ["VARCHAR"], "DECIMAL(38,0)"),
        ("_trino_parse_duration", macros.parse_duration, ["VARCHAR"], "INTERVAL"),
        ("_trino_human_readable_seconds", macros.human_readable_seconds, ["DOUBLE"], "VARCHAR"),
        ("_trino_iso8601_date", macros.from_iso8601_date, ["VARCHAR"], "DATE"),
        *zones.UDFS,
    ]


def _register(con: Any, udfs: list[tuple[str, Any, list[str], str]]) -> None:
    import duckdb

    for name, function, params, result in udfs:
        try:
            con.remove_function(name)
        except duckdb.Error:
            pass  # not there yet
        con.create_function(name, function, params, result)


def install_udfs(con: Any) -> None:
    """Register every Python UDF on ``con``, a connection that must stay open as long as its
    database runs queries: DuckDB keeps UDFs in the database's catalog and calls back into
    the connection that registered them (a UDF of a closed connection crashes the process).
    """
    _register(con, _udfs())


def install(con: Any, sql: str | None = None, udfs: bool = True) -> None:
    """Define the macros (and, with ``udfs``, the UDFs) the rewritten SQL calls on a duckdb
    connection (idempotent). Without ``udfs`` the database has them from :func:`install_udfs`.

    With ``sql``, only those it calls (and the macros they call): a query that needs none
    pays nothing, where defining all of them costs ~35 ms per connection.
    """
    all_macros = macros.MACROS + zones.MACROS + trino_math.MACROS + trino_subscripts.MACROS
    needed = _needed(sql, all_macros)
    if udfs:
        _register(con, [u for u in _udfs() if needed is None or u[0] in needed])
    chosen = [m for m in all_macros if needed is None or m[0] in needed]
    if chosen:
        con.execute(
            ";\n".join(
                f"CREATE OR REPLACE TEMP MACRO {name}({params}) AS {body}"
                for name, params, body in chosen
            )
        )
