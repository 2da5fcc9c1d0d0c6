"""Trino's subscript operator ``[]`` and ``element_at`` on arrays and maps
(flovtrain/sandbox/engines/athena/trino_subscripts.py), run in-process as
tests/test_trino_functions.py runs its cases: sqlglot (read="athena") -> rewrite() (which
calls rewrite_subscripts() first) -> DuckDB with install() (which has the module's MACROS).

What Trino gives is from trinodb/trino: docs/src/main/sphinx/functions/array.md and map.md
(``[]`` fails where ``element_at`` gives NULL) and the messages of ArraySubscriptOperator,
ArrayElementAtFunction and MapSubscriptOperator (all INVALID_FUNCTION_ARGUMENT; a NULL array,
map or index gives NULL). trino_functions.rewrite() calls the module before its other rules;
"without the module" makes rewrite_subscripts a no-op.
"""

from __future__ import annotations

import functools
from typing import Any
from unittest import mock

import duckdb
import pytest
import sqlglot
import test_trino_functions as base
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from flovtrain.sandbox.engines.athena import trino_functions, trino_subscripts
from flovtrain.sandbox.engines.athena.errors import from_duckdb
from flovtrain.sandbox.engines.athena.trino_macros import trino_type_name
from flovtrain.sandbox.engines.athena.trino_subscripts import MACROS

ORDERS = ["wired"]  # one way in: trino_functions.rewrite() calls the module first


def _install(con: Any) -> None:
    con.execute(
        ";\n".join(f"CREATE OR REPLACE TEMP MACRO {n}({p}) AS {body}" for n, p, body in MACROS)
    )


def _to_duckdb(tree: Any, order: str | None) -> str:
    """The DuckDB SQL of trino_functions.rewrite(), which runs rewrite_subscripts first;
    ``order`` None: with rewrite_subscripts made a no-op (what the sandbox did before)."""
    if order is None:
        with mock.patch.object(trino_subscripts, "rewrite_subscripts", lambda t: t):
            return trino_functions.rewrite(tree).sql(dialect="duckdb")
    return trino_functions.rewrite(tree).sql(dialect="duckdb")


def run_case(
    case: dict[str, Any], fixed: bool = True, order: str | None = "first", con: Any = None
) -> tuple[list[list[str]], list[str]]:
    """test_trino_functions.run_case with rewrite_subscripts (``order``; None: without it)."""
    tree = case.get("tree") or sqlglot.parse_one(case["sql"], read="athena")
    sql = _to_duckdb(tree, order)
    con = con or duckdb.connect(config={"threads": 1})
    trino_functions.install(con, sql)
    if order is not None:
        _install(con)
    con.execute(f"SET TimeZone = '{case.get('session_zone', 'UTC')}'")
    rel = con.sql(sql)
    rows, types = rel.fetchall(), list(rel.types)
    printed = [[base._render(v, t) for v, t in zip(row, types, strict=True)] for row in rows]
    return printed, [trino_type_name(str(t)) for t in types]


def athena_error(sql: str, order: str | None = "first") -> str | None:
    """The Athena error the query ends with (None: it gives rows)."""
    try:
        run_case({"sql": sql}, order=order)
    except duckdb.Error as exc:
        return from_duckdb(exc).reason
    return None


_COLUMN = "FROM (VALUES (ARRAY[10, 20, 30], 2), (ARRAY[10, 20], 1), (NULL, 1), (ARRAY[5], NULL))"
_MAPS = "FROM (VALUES (MAP(ARRAY['k', 'n'], ARRAY[1, NULL])), (NULL)) AS t(m)"

# (sql, rows as Trino prints them, column types)
VALUES: list[tuple[str, list[list[str]], list[str] | None]] = [
    ("SELECT ARRAY[1, 1.2, 4][2]", [["1.2"]], None),  # array.md (DuckDB: decimal(11,1))
    ("SELECT ARRAY[1, 2][2], ARRAY[1, NULL][2]", [["2", "NULL"]], ["integer", "integer"]),
    (  # map.md
        "SELECT MAP(ARRAY['key1', 'key2', 'key3' ], ARRAY['v1', 'v2', 'v3'])['key2']",
        [["v2"]],
        ["varchar"],
    ),
    ("SELECT MAP(ARRAY[1, 3], ARRAY[2, 4])[3]", [["4"]], ["integer"]),
    ("SELECT MAP(ARRAY['a'], ARRAY[CAST(NULL AS INTEGER)])['a']", [["NULL"]], ["integer"]),
    (  # element_at: from the end for i < 0, NULL past either end or for a missing key
        "SELECT element_at(ARRAY[1, 2], -1), element_at(ARRAY[1, 2], 5),"
        " element_at(ARRAY[1, 2], -3), element_at(ARRAY[1, 2], 1)",
        [["2", "NULL", "NULL", "1"]],
        ["integer"] * 4,
    ),
    (
        "SELECT element_at(MAP(ARRAY['a'], ARRAY[1]), 'b'), element_at(MAP(ARRAY[1], ARRAY[2]), 1)",
        [["NULL", "2"]],
        ["integer", "integer"],
    ),
    (  # NULL in, NULL out: no index check on a NULL array, no key lookup for a NULL key
        "SELECT CAST(NULL AS ARRAY(INTEGER))[0], ARRAY[1, 2][CAST(NULL AS BIGINT)],"
        " element_at(ARRAY[1, 2], NULL), element_at(CAST(NULL AS ARRAY(INTEGER)), 0),"
        " MAP(ARRAY['a'], ARRAY[1])[CAST(NULL AS VARCHAR)]",
        [["NULL"] * 5],
        ["integer"] * 5,
    ),
    (  # columns: their type is unknown to the rewrite, so the macro tells a map from an array
        f"SELECT a[i], element_at(a, i), element_at(a, -i) {_COLUMN} AS t(a, i)",
        [["20", "20", "20"], ["10", "10", "20"], ["NULL"] * 3, ["NULL"] * 3],
        ["integer"] * 3,
    ),
    (
        "SELECT a[2], element_at(a, 3) FROM (VALUES (ARRAY['x', 'y'])) AS t(a)",
        [["y", "NULL"]],
        ["varchar"] * 2,
    ),
    (
        f"SELECT m['k'], m['n'], element_at(m, 'z') {_MAPS}",
        [["1", "NULL", "NULL"], ["NULL"] * 3],
        ["integer"] * 3,
    ),
    ("SELECT m[1] FROM (VALUES (MAP(ARRAY[1], ARRAY['x']))) AS t(m)", [["x"]], ["varchar"]),
    (  # a lambda's parameter, nested subscripts, a map of maps keyed by integers
        "SELECT transform(ARRAY[MAP(ARRAY['a'], ARRAY[1])], m -> m['a']),"
        " transform(ARRAY[ARRAY[1, 2]], a -> a[2]), ARRAY[ARRAY[1, 2], ARRAY[3]][2][1],"
        " MAP(ARRAY[1], ARRAY[MAP(ARRAY[1], ARRAY[5])])[1][1]",
        [["[1]", "[2]", "3", "5"]],
        ["array(integer)", "array(integer)", "integer", "integer"],
    ),
    ("SELECT a[1][2] FROM (VALUES (ARRAY[ARRAY[1, 2]])) AS t(a)", [["2"]], ["integer"]),
    ("SELECT split('a,b', ',')[2]", [["b"]], ["varchar"]),
]

_LENGTH = "Array subscript must be less than or equal to array length"
# (sql, Trino's message)
ERRORS: list[tuple[str, str]] = [
    ("SELECT element_at(ARRAY[1, 2], 0)", "SQL array indices start at 1"),
    ("SELECT ARRAY[1, 2][3]", f"{_LENGTH}: 3 > 2"),
    ("SELECT ARRAY[1, 2][0]", "SQL array indices start at 1"),
    ("SELECT ARRAY[1, 2][-1]", "Array subscript is negative: -1"),
    ("SELECT MAP(ARRAY['a'], ARRAY[1])['b']", "Key not present in map: b"),
    ("SELECT MAP(ARRAY[1, 3], ARRAY[2, 4])[2]", "Key not present in map: 2"),
    (f"SELECT a[i + 2] {_COLUMN} AS t(a, i)", f"{_LENGTH}: 4 > 3"),
    (f"SELECT element_at(a, i - 1) {_COLUMN} AS t(a, i)", "SQL array indices start at 1"),
    ("SELECT a[0] FROM (VALUES (ARRAY['x'])) AS t(a)", "SQL array indices start at 1"),
    ("SELECT m['z'] " + _MAPS, "Key not present in map: z"),
    ("SELECT m[2] FROM (VALUES (MAP(ARRAY[1], ARRAY['x']))) AS t(m)", "Key not present in map: 2"),
    (
        "SELECT m[DATE '2020-01-02']"
        " FROM (VALUES (MAP(ARRAY[DATE '2020-01-01'], ARRAY[1]))) AS t(m)",
        "Key not present in map: 2020-01-02",
    ),
    ("SELECT transform(ARRAY[ARRAY[1, 2]], a -> a[3])", f"{_LENGTH}: 3 > 2"),
    ("SELECT split('a,b', ',')[3]", f"{_LENGTH}: 3 > 2"),
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", VALUES, ids=[c[0][7:60] for c in VALUES])
def test_value(case: tuple[str, list[list[str]], list[str] | None], order: str) -> None:
    sql, rows, types = case
    got_rows, got_types = run_case({"sql": sql}, order=order)
    assert got_rows == rows
    assert types is None or got_types == types


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", ERRORS, ids=[c[0][7:60] for c in ERRORS])
def test_error(case: tuple[str, str], order: str) -> None:
    sql, message = case
    assert athena_error(sql, order) == f"INVALID_FUNCTION_ARGUMENT: {message}"


def test_wrong_without_the_module() -> None:
    """Plain sqlglot + DuckDB (+ trino_functions) answers every error case with rows."""
    assert [sql for sql, _ in ERRORS if athena_error(sql, order=None) is not None] == []


# ------------------------------------ typed from the table's schema, as dialect.to_duckdb does
_SCHEMA = {"db": {"t": {"m": "map<int,string>", "a": "array<int>", "i": "int"}}}
_TYPED_SQL = "SELECT m[1], a[i], element_at(a, i), m[i], a[i - 1] FROM t"


def _typed(con: Any, sql: str, order: str | None) -> list[list[str]]:
    tree = qualify(sqlglot.parse_one(sql, read="athena"), schema=_SCHEMA, db="db", dialect="athena")
    tree = annotate_types(tree, schema=_SCHEMA, dialect="athena")
    return run_case({"sql": sql, "tree": tree}, order=order, con=con)[0]


@pytest.fixture
def table() -> Any:
    con = duckdb.connect(config={"threads": 1})
    con.execute(
        "CREATE SCHEMA db; CREATE TABLE db.t AS"
        " SELECT MAP([1, 2], ['one', 'two']) AS m, [10, 20, 30] AS a, 2 AS i"
    )
    return con


@pytest.mark.parametrize("order", ORDERS)
def test_columns_typed_from_the_schema(table: Any, order: str) -> None:
    """The parser shifts ``m[1]`` of an untyped column to 0-based; typed as a map it is not
    shifted back (sqlglot wrote ``m[0]``), and ``a[i]`` was written ``a[i + 1]``."""
    assert _typed(table, _TYPED_SQL, order) == [["one", "20", "20", "two", "10"]]
    assert _typed(table, _TYPED_SQL, None) != [["one", "20", "20", "two", "10"]]
    with pytest.raises(duckdb.Error, match="Key not present in map: 3"):
        _typed(table, "SELECT m[3] FROM t", order)


# -------------------------------------- Trino's documented examples: no outcome changes
SUBSCRIPTED = [c for c in base.CASES if "[" in c["sql"] or "element_at" in c["sql"].lower()]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", SUBSCRIPTED, ids=[base._case_id(c) for c in SUBSCRIPTED])
def test_documented_outcome_unchanged(case: dict[str, Any], order: str, monkeypatch: Any) -> None:
    before = base.outcome(case)
    monkeypatch.setattr(base, "run_case", functools.partial(run_case, order=order))
    assert base.outcome(case) == before


def test_the_examples_are_there() -> None:
    assert len(SUBSCRIPTED) > 100
    sqls = [c["sql"] for c in SUBSCRIPTED]
    assert any(s.endswith("4][2]") for s in sqls) and any(s.endswith("['key2']") for s in sqls)
