"""Trino's documented examples through sqlglot (read="athena") -> rewrite() -> DuckDB + install().

The cases are data: tests/data/trino_examples.yaml (its header says where they come from and how
results are compared). A case still wrong is listed there with ``xfail: <why>`` (strict: one
that starts passing fails, so the list stays true); ``before: fail`` records that plain sqlglot +
DuckDB got it wrong, and :func:`test_wrong_before_the_rewrite` checks that it still does without
the module, so this suite can fail.

``python tests/test_trino_functions.py`` prints the per-area tally (before / after).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
import yaml

from flovtrain.sandbox.engines.athena.trino_functions import install, rewrite
from flovtrain.sandbox.engines.athena.trino_macros import _java_double, trino_type_name
from flovtrain.sandbox.engines.athena.trino_zones import marker_text

CASES_FILE = Path(__file__).parent / "data" / "trino_examples.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text())


# ------------------------------------------------------------------ printing as Trino prints
def _render(value: Any, kind: Any) -> str:
    """One DuckDB value as Trino's CLI / Athena prints it; ``kind`` is its DuckDBPyType."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        digits = 6 if value.microsecond % 1000 else 3
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond:06d}"[:digits]
        if value.tzinfo is not None:
            zone = str(getattr(value.tzinfo, "key", value.tzinfo))
            text += " " + ("UTC" if zone in ("UTC", "Etc/UTC") else zone)
        return text
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        seconds = value.seconds + value.microseconds / 1e6
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{value.days} {int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"
    children = dict(kind.children) if kind.id in ("list", "map", "struct", "tuple") else {}
    if kind.id == "list":
        return "[" + ", ".join(_render(v, children["child"]) for v in value) + "]"
    if kind.id == "map":
        return (
            "{"
            + ", ".join(
                f"{_render(k, children['key'])}={_render(v, children['value'])}"
                for k, v in value.items()
            )
            + "}"
        )
    if kind.id == "tuple":  # Athena prints an anonymous row's fields as field0, field1...
        types = [t for _, t in kind.children]
        pairs = enumerate(zip(value, types, strict=True))
        return "{" + ", ".join(f"field{i}={_render(v, t)}" for i, (v, t) in pairs) + "}"
    if kind.id == "struct" and marker_text(value) is not None:
        return str(marker_text(value))
    if kind.id == "struct":  # anonymous fields (sqlglot's _0, _1) print as field0, field1
        return (
            "{"
            + ", ".join(f"{_field(k)}={_render(v, children[k])}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, bytes):
        return value.hex(" ")
    return str(value)


def _field(name: str) -> str:
    return "field" + name[1:] if name[:1] == "_" and name[1:].isdigit() else name


def normalise(text: str) -> str:
    """Remove only formatting: literal wrappers, quotes, arrow/equals spelling, NULL; a
    ``ROW(a, b)`` as Athena prints an anonymous row, ``{field0=a, field1=b}``."""
    text = text.strip()
    text = re.sub(r"\b(?:JSON|DATE|TIME|TIMESTAMP) '((?:[^'\\]|\\.)*)'", r"\1", text)
    text = re.sub(r"'([^']*)'", r"\1", text)
    text = _athena_rows(text.replace(" -> ", "=").replace(" = ", "="))
    return _sorted_maps(re.sub(r"\bNULL\b", "null", text))


def _athena_rows(text: str) -> str:
    """``ROW(a, b)`` (Trino's CLI) as ``{field0=a, field1=b}`` (Athena, "Query arrays with
    complex types": ``SELECT ROW('Bob', 38)`` gives ``{field0=Bob, field1=38}``)."""
    while (start := text.find("ROW(")) >= 0:
        depth, items, begin, j = 0, [], start + 4, start + 3
        while j < len(text):
            ch = text[j]
            depth += 1 if ch in "{[(" else -1 if ch in "}])" else 0
            if depth == 1 and ch == "," or depth == 0:
                items.append(text[begin:j].strip())
                begin = j + 1
            if depth == 0:
                break
            j += 1
        fields = ", ".join(f"field{i}={item}" for i, item in enumerate(items))
        text = text[:start] + "{" + fields + "}" + text[j + 1 :]
    return text


def _sorted_maps(text: str) -> str:
    """Entries of ``{...}`` in sorted order: a map's entries have no order in Trino."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "{":
            out.append(text[i])
            i += 1
            continue
        depth, items, start, j = 0, [], i + 1, i
        while j < len(text):
            ch = text[j]
            depth += ch in "{[(" and 1 or (-1 if ch in "}])" else 0)
            if depth == 1 and ch == "," or depth == 0:
                items.append(_sorted_maps(text[start:j].strip()))
                start = j + 1
            if depth == 0:
                break
            j += 1
        out.append("{" + ", ".join(sorted(x for x in items if x)) + "}")
        i = j + 1
    return "".join(out)


# -------------------------------------------------------------------------------- running
def _connection(fixed: bool) -> Any:
    con = duckdb.connect(config={"threads": 1})
    con.execute("SET TimeZone = 'UTC'")
    if fixed:
        install(con)
    return con


_CONNECTIONS: dict[bool, Any] = {}


def run_case(case: dict[str, Any], fixed: bool = True) -> tuple[list[list[str]], list[str]]:
    """The case's rows (cells as Trino prints them) and column types (Trino names)."""
    tree = sqlglot.parse_one(case["sql"], read="athena")
    if fixed:
        tree = rewrite(tree)
    sql = tree.sql(dialect="duckdb")
    if fixed:  # as the executor does: a fresh connection with only what this SQL calls
        con = duckdb.connect(config={"threads": 1})
        install(con, sql)
    else:
        con = _CONNECTIONS.get(fixed) or _CONNECTIONS.setdefault(fixed, _connection(fixed))
    zone = case.get("session_zone", "UTC")
    con.execute(f"SET TimeZone = '{zone}'")
    try:
        rel = con.sql(sql)
        rows = rel.fetchall()
        types = list(rel.types)
    finally:
        con.execute("SET TimeZone = 'UTC'")
    printed = [[_render(v, t) for v, t in zip(row, types, strict=True)] for row in rows]
    return printed, [trino_type_name(str(t)) for t in types]


def outcome(case: dict[str, Any], fixed: bool = True) -> str | None:
    """None when the case gives its documented result, else what went wrong."""
    try:
        rows, types = run_case(case, fixed)
    except Exception as exc:  # noqa: BLE001 - any failure of sqlglot or DuckDB is an outcome
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    if "rows" in case:
        want = sorted([normalise(str(c)) for c in row] for row in case["rows"])
        got = sorted([normalise(c) for c in row] for row in rows)
    else:
        want = [[normalise(str(case["result"]))]]
        got = [[normalise(c) for c in row] for row in rows]
    if got != want:
        return f"got {got}, documented {want}"
    if "type" in case and types[:1] != [case["type"]]:
        return f"type {types[:1]}, documented {case['type']}"
    return None


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['area']}:{case['sql'][7:60]}"


def _param(case: dict[str, Any]) -> Any:
    marks = []
    if case.get("xfail"):
        marks.append(pytest.mark.xfail(reason=case["xfail"], strict=True))
    return pytest.param(case, id=_case_id(case), marks=marks)


# ---------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_trino_example(case: dict[str, Any]) -> None:
    problem = outcome(case)
    assert problem is None, problem


def test_wrong_before_the_rewrite() -> None:
    """Every case recorded as wrong with plain sqlglot + DuckDB is still wrong without the
    module: the cases are hard enough to tell the module's work from no work."""
    recorded = [c for c in CASES if c.get("before") == "fail"]
    assert len(recorded) > 50
    passing_anyway = [c["sql"] for c in recorded if outcome(c, fixed=False) is None]
    assert passing_anyway == []


def test_the_comparison_can_fail() -> None:
    case = {"sql": "SELECT ARRAY[1, 2]", "result": "[2, 1]"}
    assert outcome(case) is not None
    assert outcome({"sql": "SELECT 1", "result": "1", "type": "bigint"}) is not None
    assert normalise("{1 -> 'x', 2 -> NULL}") == normalise("{1=x, 2=null}")


def test_install_twice_and_on_a_fresh_connection() -> None:
    con = duckdb.connect()
    install(con)
    install(con)
    sql = rewrite(sqlglot.parse_one("SELECT typeof(format('%d', 1))", read="athena"))
    assert con.sql(sql.sql(dialect="duckdb")).fetchall() == [("varchar",)]


# ------------------------------------------------------------------------------- the tally
def tally() -> str:
    """Per area: documented examples, right with plain sqlglot + DuckDB, right with the module
    (and the derived cases apart)."""
    table: dict[tuple[str, bool], list[int]] = {}
    for case in CASES:
        row = table.setdefault((case["area"], "derived" in case), [0, 0, 0])
        row[0] += 1
        row[1] += outcome(case, fixed=False) is None
        row[2] += outcome(case) is None
    lines = [f"{'area':<12}{'kind':<11}{'cases':>6}{'before':>8}{'after':>7}"]
    totals = {False: [0, 0, 0], True: [0, 0, 0]}
    for (area, derived), (n, before, after) in sorted(table.items()):
        lines.append(f"{area:<12}{'derived' if derived else 'doc':<11}{n:>6}{before:>8}{after:>7}")
        totals[derived] = [a + b for a, b in zip(totals[derived], (n, before, after), strict=True)]
    for derived, (n, before, after) in totals.items():
        label = "derived" if derived else "doc"
        lines.append(f"{'TOTAL':<12}{label:<11}{n:>6}{before:>8}{after:>7}")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["--outcomes"]:
        for case in CASES:
            print(repr(case["sql"]), "|", outcome(case, fixed=False), "|", outcome(case))
    else:
        print(tally())
