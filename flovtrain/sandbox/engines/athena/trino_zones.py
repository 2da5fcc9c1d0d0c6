"""Trino's ``timestamp with time zone``: an instant *and* the zone it is shown in.

DuckDB's TIMESTAMPTZ holds the instant only and prints it in the session zone (UTC, as
Athena's), so ``ts AT TIME ZONE 'America/Los_Angeles'`` would lose its zone. The zone of an
expression is nearly always visible in the statement (AT TIME ZONE, with_timezone,
from_iso8601_timestamp's offset, a literal's zone), so :func:`rewrite_zones` follows it through
the tree (:func:`zone_of`) and uses it where Trino does: ``timezone()``, ``timezone_hour()``,
``date_trunc`` (in the value's own zone) and the printed result, which becomes a one-field
marker struct (:data:`TSTZ_KEY`) holding Trino's text; results.py reports it as
``timestamp with time zone``. Interval year to month results get the same treatment
(:data:`YM_KEY`): DuckDB's Python value for them is a timedelta of 30-day months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from flovtrain.sandbox.engines.athena.trino_tree import _cast, _fn, _lit

__all__ = ["MACROS", "TSTZ_KEY", "UDFS", "YM_KEY", "marker_text", "rewrite_zones", "zone_of"]

#: Field name of the struct a printed ``timestamp with time zone`` result travels in.
TSTZ_KEY = "__trino_timestamp_tz"
#: Field name of the struct a printed ``interval year to month`` result travels in.
YM_KEY = "__trino_interval_ym"
MARKERS = {TSTZ_KEY: "timestamp with time zone", YM_KEY: "interval year to month"}
#: ``tree.meta`` key of a query whose rows are stored, not printed (no marker structs then).
WRITTEN = "trino_rows_written"

_LITERAL_ZONE = re.compile(r"\s*(?:([+-]\d{1,2}(?::?\d{2})?)|([A-Za-z][A-Za-z0-9_/+-]*))$")


@dataclass
class Zoned:
    """What the rewrite knows of a ``timestamp with time zone`` expression.

    ``zone`` is SQL giving the zone as Trino prints it; ``wall`` says the DuckDB value is the
    wall-clock time in that zone (AT TIME ZONE's result) rather than the instant; ``nanos``
    is SQL giving the nanoseconds below DuckDB's microsecond (precision 9 only).
    """

    zone: Any
    wall: bool = False
    precision: int = 3
    nanos: Any = None


def _literal_zone(text: str) -> str | None:
    """The zone at the end of a timestamp literal (``'2012-10-31 01:00 UTC'`` -> ``UTC``)."""
    time_part = text.strip().partition(" ")[2] or text.partition("T")[2]
    match = _LITERAL_ZONE.search(time_part)
    if match is None or not (match.group(1) or re.search(r"[A-Za-z]", match.group(2) or "")):
        return None
    zone = match.group(1) or match.group(2)
    if match.group(1):
        sign, digits = zone[0], zone[1:].replace(":", "")
        zone = f"{sign}{digits[:2].zfill(2)}:{(digits[2:] or '00')}"
    return zone


def _is_tstz(node: Any) -> bool:
    kind = node.type
    return kind is not None and kind.this == exp.DataType.Type.TIMESTAMPTZ


def zone_of(node: Any) -> Zoned | None:
    """The zone ``node`` (a timestamp with time zone) is shown in, when the statement says."""
    name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
    if isinstance(node, exp.Paren):
        return zone_of(node.this)
    if isinstance(node, exp.AtTimeZone):
        return Zoned(node.args["zone"].copy(), wall=True)
    if name == "at_timezone" and len(node.expressions) == 2:
        return Zoned(node.expressions[1].copy(), wall=True)
    if name == "with_timezone" and len(node.expressions) == 2:
        return Zoned(node.expressions[1].copy())
    if name == "from_unixtime_nanos" and len(node.expressions) == 1:
        return Zoned(
            _lit("UTC"), precision=9, nanos=_fn("_trino_nanos_part", node.expressions[0].copy())
        )
    if isinstance(node, exp.UnixToTime) and node.args.get("zone") is not None:
        return Zoned(node.args["zone"].copy())
    if isinstance(node, exp.FromISO8601TimestampNanos):
        nanos = _fn("_trino_iso8601_nanos", node.this.copy())
        return Zoned(_iso8601_zone(node.this), precision=9, nanos=nanos)
    if isinstance(node, exp.FromISO8601Timestamp):
        return Zoned(_iso8601_zone(node.this))
    if (
        isinstance(node, exp.Cast)
        and node.to.this == exp.DataType.Type.TIMESTAMPTZ
        and isinstance(node.this, exp.Literal)
        and node.this.is_string
    ):
        zone = _literal_zone(node.this.name)
        return Zoned(_lit(zone)) if zone else None
    if isinstance(node, exp.TimestampTrunc):
        return zone_of(node.this)
    if isinstance(node, (exp.Add, exp.Sub)):
        left, right = zone_of(node.this), zone_of(node.expression)
        if left is not None and isinstance(node.expression, exp.Interval):
            return left
        if right is not None and isinstance(node, exp.Add) and isinstance(node.this, exp.Interval):
            return right
    return None


def _iso8601_zone(text: Any) -> Any:
    """The zone of ``from_iso8601_timestamp(text)``: the one it names, else the session's."""
    session = _fn("current_setting", _lit("TimeZone"))
    named = exp.Nullif(this=_fn("_trino_iso8601_zone", text.copy()), expression=_lit(""))
    return _fn("coalesce", named, session)


def _duck_zone(zone: Any) -> Any:
    return _fn("_trino_duck_zone", zone.copy())


def _instant(node: Any, zoned: Zoned) -> Any:
    """The DuckDB TIMESTAMPTZ of a zoned expression, whichever way DuckDB holds it."""
    if zoned.wall:
        return _fn("timezone", _duck_zone(zoned.zone), node.copy())
    return node.copy()


def _wall(node: Any, zoned: Zoned) -> Any:
    """The wall-clock time (DuckDB TIMESTAMP) of a zoned expression in its own zone."""
    if zoned.wall:
        return node.copy()
    return _fn("timezone", _duck_zone(zoned.zone), node.copy())


def _from_unixtime_nanos(node: Any) -> None:
    node.replace(_fn("_trino_from_unixtime_nanos", node.expressions[0].copy()))


def _timezone_of(node: Any) -> None:
    """``timezone(x)``: the zone x carries (UTC for an instant of unknown origin: the session's)."""
    arg = node.expressions[0]
    zoned = zone_of(arg)
    if zoned is not None:
        node.replace(zoned.zone.copy())
    elif isinstance(arg, exp.Cast) and arg.to.this == exp.DataType.Type.TIMETZ:
        match = re.search(r"([+-]\d{2}:?\d{2})$", arg.this.name)
        node.replace(_lit(match.group(1)) if match else _lit("UTC"))
    elif _is_tstz(arg):
        node.replace(_lit("UTC"))


def _zone_offset(node: Any, part: str) -> None:
    """``timezone_hour(x)`` / ``timezone_minute(x)`` in the zone x carries."""
    arg = node.expressions[0]
    zoned = zone_of(arg) or (Zoned(_lit("UTC")) if _is_tstz(arg) else None)
    if zoned is None:
        return
    minutes = _fn("_trino_zone_offset_minutes", _instant(arg, zoned), zoned.zone.copy())
    if part == "hour":
        node.replace(_cast(_fn("trunc", exp.Div(this=minutes, expression=_lit(60))), "BIGINT"))
    else:
        node.replace(_cast(exp.Mod(this=minutes, expression=_lit(60)), "BIGINT"))


def _trunc_in_zone(node: Any) -> None:
    """``date_trunc`` of an instant shown in a zone truncates in that zone (DuckDB: UTC)."""
    zoned = zone_of(node.this)
    if zoned is None or zoned.wall:
        return
    zone = _duck_zone(zoned.zone)
    unit = node.args["unit"]
    wall = _fn("timezone", zone, node.this.copy())
    truncated = _fn("date_trunc", _lit(unit.name.lower()), wall)
    node.replace(_fn("timezone", zone.copy(), truncated))


def _is_year_month(node: Any) -> bool:
    if isinstance(node, exp.Paren):
        return _is_year_month(node.this)
    if isinstance(node, exp.Interval):
        unit = node.args.get("unit")
        return unit is not None and unit.name.upper() in ("YEAR", "MONTH")
    if isinstance(node, (exp.Add, exp.Sub)):
        return _is_year_month(node.this) and _is_year_month(node.expression)
    if isinstance(node, exp.Neg):
        return _is_year_month(node.this)
    return False


def _printed(node: Any) -> Any | None:
    """The marker struct printing a result column as Trino does, or None when not needed."""
    if _is_year_month(node):
        return _fn("_trino_interval_ym_text", node.copy())
    zoned = zone_of(node)
    if zoned is None:
        return None
    nanos = zoned.nanos.copy() if zoned.nanos is not None else _lit(-1)
    return _fn("_trino_tstz_text", _wall(node, zoned), zoned.zone.copy(), nanos)


def rewrite_zones(tree: Any) -> None:
    """Apply the zone rules to a parsed statement, before :func:`.trino_functions.rewrite`'s
    other rules (which rewrite at_timezone / with_timezone inside what this leaves)."""
    if isinstance(tree, exp.Select) and not tree.meta.get(WRITTEN):
        for item in tree.expressions:
            target = item.this if isinstance(item, exp.Alias) else item
            printed = _printed(target)
            if printed is not None:
                target.replace(printed)
    for node in reversed(list(tree.walk(bfs=False))):
        if node.parent is None and node is not tree:
            continue
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        if name == "timezone" and len(node.expressions) == 1:
            _timezone_of(node)
        elif name in ("timezone_hour", "timezone_minute") and len(node.expressions) == 1:
            _zone_offset(node, name.rpartition("_")[2])
        elif isinstance(node, exp.TimestampTrunc):
            _trunc_in_zone(node)
        elif isinstance(node, exp.UnixToTime) and node.args.get("zone") is not None:
            node.set("zone", None)  # the instant; the zone is printed from the tree
        elif name == "from_unixtime_nanos" and len(node.expressions) == 1:
            _from_unixtime_nanos(node)


def marker_text(value: Any) -> str | None:
    """The text a marker struct (a dict from DuckDB) carries, else None."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in MARKERS:
            return value[key]
    return None


# ---------------------------------------------------------------------- macros and Python UDFs
def iso8601_zone(text: str) -> str:
    """The zone an ISO 8601 timestamp names (``Z`` -> ``UTC``; '' when it names none)."""
    _, _, time_part = text.partition("T")
    if time_part.endswith("Z"):
        return "UTC"
    match = re.search(r"([+-])(\d{2}):?(\d{2})?$", time_part)
    if match is None:
        return ""
    return f"{match.group(1)}{match.group(2)}:{match.group(3) or '00'}"


def iso8601_nanos(text: str) -> int:
    """The digits past the microsecond in an ISO 8601 timestamp's fraction (``.123456789``
    -> 789)."""
    match = re.search(r"T[\d:]+\.(\d+)", text)
    digits = (match.group(1) if match else "").ljust(9, "0")
    return int(digits[6:9])


UDFS = [
    ("_trino_iso8601_zone", iso8601_zone, ["VARCHAR"], "VARCHAR"),
    ("_trino_iso8601_nanos", iso8601_nanos, ["VARCHAR"], "BIGINT"),
]

#: (name, parameters, body) of the DuckDB macros the zone rules call.
MACROS: list[tuple[str, str, str]] = [
    (
        "_trino_duck_zone",
        "z",
        "CASE WHEN left(z, 1) IN ('+', '-') THEN 'GMT' || z ELSE z END",
    ),
    (
        "_trino_zone_offset_minutes",
        "instant, z",
        "date_diff('minute', timezone('UTC', instant), timezone(_trino_duck_zone(z), instant))",
    ),
    (
        "_trino_tstz_text",
        "wall, z, nanos",
        f"CASE WHEN wall IS NULL THEN NULL ELSE {{'{TSTZ_KEY}':"
        " strftime(wall, '%Y-%m-%d %H:%M:%S.')"
        " || CASE WHEN nanos < 0 THEN strftime(wall, '%g')"
        " ELSE strftime(wall, '%f') || lpad(CAST(nanos AS VARCHAR), 3, '0') END"
        " || ' ' || z} END",
    ),
    (
        "_trino_interval_ym_text",
        "iv",
        f"CASE WHEN iv IS NULL THEN NULL ELSE {{'{YM_KEY}': "
        "CASE WHEN date_part('year', iv) * 12 + date_part('month', iv) < 0 THEN '-' ELSE '' END"
        " || CAST(abs(date_part('year', iv)) AS VARCHAR) || '-'"
        " || CAST(abs(date_part('month', iv)) AS VARCHAR)} END",
    ),
    ("_trino_nanos_total", "n", "CAST(round(n) AS HUGEINT)"),
    (
        "_trino_nanos_part",
        "n",
        "CAST(((_trino_nanos_total(n) % 1000) + 1000) % 1000 AS BIGINT)",
    ),
    (
        "_trino_from_unixtime_nanos",
        "n",
        "timezone('UTC', make_timestamp(CAST((_trino_nanos_total(n) - _trino_nanos_part(n))"
        " // 1000 AS BIGINT)))",
    ),
]
