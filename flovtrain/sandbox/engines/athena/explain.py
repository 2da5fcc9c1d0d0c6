"""``EXPLAIN`` and ``EXPLAIN (TYPE VALIDATE)``: the plan of a query, without running it.

Athena returns Trino's plan as text, one row per line, in a ``Query Plan`` column. The sandbox
runs queries on DuckDB, so its plan is DuckDB's: the rows start with what Trino would print
first (the output fragment, its column names and their Trino types) and go on with DuckDB's
physical plan. ``TYPE VALIDATE`` answers one ``Valid`` row, ``true``, once the query has been
analysed (an invalid one fails as it would when run). The other formats (GRAPHVIZ, JSON) and
``TYPE IO`` are refused with a message that says what the sandbox supports.
"""

from __future__ import annotations

import re
from typing import Any

from flovtrain.sandbox.engines.athena.errors import QueryError
from flovtrain.sandbox.engines.athena.results import Result

_EXPLAIN = re.compile(r"^EXPLAIN(\s+ANALYZE)?\s*(?:\(([^)]*)\))?\s*(.+)$", re.I | re.S)
_OPTION = re.compile(r"^\s*(TYPE|FORMAT)\s+(\w+)\s*$", re.I)


def match(text: str) -> Any:
    """The EXPLAIN statement's match, or None when ``text`` is no EXPLAIN."""
    found = _EXPLAIN.match(text)
    if found is None or not re.match(r"^\s*(SELECT|WITH|VALUES|\()", found.group(3), re.I):
        return None
    return found


def _options(text: str | None) -> dict[str, str]:
    options = {"TYPE": "DISTRIBUTED", "FORMAT": "TEXT"}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        found = _OPTION.match(item)
        if found is None:
            raise QueryError(
                f"line 1:9: mismatched input '{item.strip()}'. Expecting: 'FORMAT', 'TYPE'"
            )
        options[found.group(1).upper()] = found.group(2).upper()
    return options


def explain(found: Any, ctx: Any) -> Result:
    """Run the matched EXPLAIN (see the module docstring)."""
    from flovtrain.sandbox.engines.athena import dialect, executor
    from flovtrain.sandbox.engines.athena.trino_macros import trino_type_name

    options = _options(found.group(2))
    kind, fmt = options["TYPE"], options["FORMAT"]
    if kind not in ("LOGICAL", "DISTRIBUTED", "VALIDATE") or fmt != "TEXT":
        raise QueryError(
            f"NOT_SUPPORTED: the sandbox's Athena explains with FORMAT TEXT and TYPE LOGICAL, "
            f"DISTRIBUTED or VALIDATE only (got TYPE {kind}, FORMAT {fmt})"
        )
    tree = dialect.parse(found.group(3))

    def plan(con: Any, sql: str) -> tuple[list[tuple[str, str]], list[str]]:
        rel = con.sql(sql)
        columns = [(n, str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]
        rows = con.execute("EXPLAIN " + sql).fetchall()
        return columns, [line for row in rows for line in str(row[-1]).splitlines()]

    columns, duck_plan = executor._execute(tree, ctx, plan)
    ctx.meter.bytes_read = ctx.meter.files_read = 0  # EXPLAIN reads no data in Athena
    if kind == "VALIDATE":
        return _text("Valid", ["true"], "boolean")
    names = [re.sub(r"^_col_(\d+)$", r"_col\1", n) for n, _ in columns]
    layout = ", ".join(
        f"{n}:{trino_type_name(t)}" for n, (_, t) in zip(names, columns, strict=True)
    )
    lines = [
        "Fragment 0 [SINGLE]",
        f"    Output layout: [{', '.join(names)}]",
        "    Output partitioning: SINGLE []",
        f"    Output[columnNames = [{', '.join(names)}]]",
        f"    │   Layout: [{layout}]",
        "    └─ DuckDB's physical plan (the sandbox's engine):",
        *("         " + line for line in duck_plan if line.strip()),
    ]
    return _text("Query Plan", lines, "varchar")


def _text(column: str, lines: list[str], duck_type: str) -> Result:
    result = Result(
        columns=[(column, duck_type.upper())], statement_type="DML", substatement_type="EXPLAIN"
    )
    result.add_rows([(line,) for line in lines])
    return result
