"""DuckDB macros and Python UDFs behind :mod:`.trino_functions` (Trino functions DuckDB
lacks).

Macros are DuckDB SQL (new ``lambda x: ...`` syntax); each takes plain values, never a lambda:
the AST rewrite builds the lambdas and the aggregates and hands their results to a macro.
Aggregate finishers take the list an aggregate built (``list(...)``, ``histogram(...)``): a
lambda may read that list cheaply (it is a column after aggregation), whereas a lambda that
reads a computed list would recompute it for every element.

Two Python UDFs: Java's ``String.format`` (Trino's ``format``) and Trino's type names
(``typeof``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re

from flovtrain.sandbox.engines.athena.trino_java_format import (  # UDFs registered with the macros
    _java_double,
    java_format,
    trino_format,
)

__all__ = ["MACROS", "_java_double", "java_format", "trino_format", "trino_type_name"]

_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
_AUTHORITY = rf"^(?:{_SCHEME}:)?//(?:[^/?#@]*@)?"
_HOST = r"(\[[^\]/?#]*\]|[^:/?#\[\]]*)"
_NUMERIC_JSON = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')"

#: (name, parameters, body): installed as ``CREATE OR REPLACE TEMP MACRO name(parameters)``.
MACROS: list[tuple[str, str, str]] = [
    # -- string ------------------------------------------------------------------------------
    # the Luhn checksum: from the right, every second digit doubled (minus 9 over 9)
    (
        "_trino_luhn_check",
        "s",
        "list_sum(list_transform(range(length(s)), lambda i: (CAST(substr(reverse(s), i + 1, 1)"
        " AS INTEGER) * (1 + i % 2)) - CASE WHEN i % 2 = 1 AND CAST(substr(reverse(s), i + 1, 1)"
        " AS INTEGER) > 4 THEN 9 ELSE 0 END)) % 10 = 0",
    ),
    # -- aggregate finishers ---------------------------------------------------------------
    # e: list({'k': key, 'v': value} ORDER BY key); one entry per key (Trino keeps any one)
    (
        "_trino_map_agg",
        "e",
        "map_from_entries(list_transform(list_filter(e, lambda x, i: x.k IS NOT NULL"
        " AND (i = 1 OR e[i - 1].k IS DISTINCT FROM x.k)),"
        " lambda x: {'key': x.k, 'value': x.v}))",
    ),
    # ks / vs: list(key ORDER BY key, value) / list(value ORDER BY key, value); s / t: where
    # each key's run starts / ends in them
    (
        "_trino_multimap_runs",
        "ks, vs, s, t",
        "map(list_transform(s, lambda j: ks[j]),"
        # (slicing vs inside the lambda copies all of vs each time: element by element is fast)
        " list_transform(list_zip(s, t), lambda p: list_transform(range(p[1], p[2] + 1),"
        " lambda j: vs[j])))",
    ),
    (
        "_trino_multimap_agg",
        "ks, vs",
        "_trino_multimap_runs(ks, vs, list_filter(range(1, len(ks) + 1), lambda j: ks[j] IS NOT"
        " NULL AND (j = 1 OR ks[j - 1] IS DISTINCT FROM ks[j])),"
        " list_filter(range(1, len(ks) + 1), lambda j: ks[j] IS NOT NULL"
        " AND (j = len(ks) OR ks[j + 1] IS DISTINCT FROM ks[j])))",
    ),
    # h: histogram(value); the n most frequent values with their counts (bigint)
    (
        "_trino_top_counts",
        "h, n",
        "map_from_entries(list_transform(list_sort(list_transform(map_entries(h),"
        " lambda x: {'c': -CAST(x.value AS BIGINT), 'k': x.key}))[1:n],"
        " lambda x: {'key': x.k, 'value': -x.c}))",
    ),
    # e: list({'v': value, 'w': weight}); weights are replication counts
    (
        "_trino_weighted_percentile",
        "e, p",
        "list_aggregate(flatten(list_transform(list_filter(e, lambda z: z.v IS NOT NULL"
        " AND z.w >= 1), lambda z: list_resize([z.v], CAST(z.w AS BIGINT), z.v))),"
        " 'approx_quantile', p)",
    ),
    # -- all_match / any_match / none_match over the list of predicate results --------------
    (
        "_trino_all_match",
        "l",
        "CASE WHEN l IS NULL THEN NULL WHEN list_contains(l, false) THEN false"
        " WHEN list_count(l) < len(l) THEN NULL ELSE true END",
    ),
    (
        "_trino_any_match",
        "l",
        "CASE WHEN l IS NULL THEN NULL WHEN list_contains(l, true) THEN true"
        " WHEN list_count(l) < len(l) THEN NULL ELSE false END",
    ),
    (
        "_trino_none_match",
        "l",
        "CASE WHEN l IS NULL THEN NULL WHEN list_contains(l, true) THEN false"
        " WHEN list_count(l) < len(l) THEN NULL ELSE true END",
    ),
    # -- maps ------------------------------------------------------------------------------
    # keys of m1, then the keys of m2 that m1 lacks
    (
        "_trino_map_zip_keys",
        "m1, m2",
        "list_concat(map_keys(m1), list_filter(map_keys(m2),"
        " lambda k: NOT list_contains(map_keys(m1), k)))",
    ),
    # -- arrays ----------------------------------------------------------------------------
    (
        "_trino_array_position",
        "a, x",
        "CASE WHEN a IS NULL OR x IS NULL THEN NULL"
        " ELSE CAST(coalesce(list_position(a, x), 0) AS BIGINT) END",
    ),
    (
        "_trino_slice",
        "a, s, n",
        "CASE WHEN s = 0 THEN error('SQL array indices start at 1')"
        " WHEN n < 0 THEN error('Length must be greater than or equal to 0')"
        " WHEN s < 0 AND len(a) + s < 0 THEN list_slice(a, 1, 0)"
        " ELSE list_slice(a, CASE WHEN s > 0 THEN s ELSE len(a) + s + 1 END,"
        " CASE WHEN s > 0 THEN s ELSE len(a) + s + 1 END + n - 1) END",
    ),
    (
        "_trino_sequence",
        "a, b",
        "generate_series(a, b, CASE WHEN a <= b THEN 1 ELSE -1 END)",
    ),
    (
        "_trino_array_histogram",
        "a",
        "CASE WHEN a IS NOT NULL THEN coalesce(map_from_entries(list_transform(map_entries("
        "list_aggregate(a, 'histogram')), lambda e: {'key': e.key,"
        " 'value': CAST(e.value AS BIGINT)})), MAP {}) END",
    ),
    (
        "_trino_insert_at",
        "l, x, p",
        "list_concat(list_slice(l, 1, p - 1), [x], list_slice(l, p, len(l)))",
    ),
    (
        "_trino_ngrams",
        "a, n",
        "CASE WHEN len(a) <= n THEN [a]"
        " ELSE list_transform(range(1, len(a) - n + 2), lambda i: a[i:i + n - 1]) END",
    ),
    ("_trino_trim_array", "a, n", "list_slice(a, 1, len(a) - n)"),
    (
        "_trino_multimap_keys",
        "e, k",
        "map(k, list_transform(k, lambda key: list_transform(list_filter(e,"
        " lambda x: struct_extract_at(x, 1) = key), lambda x: struct_extract_at(x, 2))))",
    ),
    (
        "_trino_multimap_from_entries",
        "e",
        "_trino_multimap_keys(e, list_distinct(list_transform(e,"
        " lambda x: struct_extract_at(x, 1))))",
    ),
    ("_trino_map_entries", "m", "list_transform(map_entries(m), lambda e: row(e.key, e.value))"),
    # -- strings ---------------------------------------------------------------------------
    (
        "_trino_split_part",
        "s, d, i",
        "CASE WHEN i > len(string_split(s, d)) THEN NULL ELSE split_part(s, d, i) END",
    ),
    (
        "_trino_regexp_pos_in",
        "s, start, parts, hits, n",
        "CASE WHEN start > length(s) OR n > len(hits) THEN -1 ELSE start + list_sum("
        "list_transform(parts[1:n], lambda x: length(x))) + coalesce(list_sum("
        "list_transform(hits[1:n - 1], lambda x: length(x))), 0) END",
    ),
    (
        "_trino_regexp_position",
        "s, p, start, n",
        "_trino_regexp_pos_in(s, start, regexp_split_to_array(substr(s, start), p),"
        " regexp_extract_all(substr(s, start), p), n)",
    ),
    (
        "_trino_interleave",
        "parts, hits",
        "array_to_string(list_transform(range(1, len(parts) + 1),"
        " lambda i: parts[i] || coalesce(hits[i], '')), '')",
    ),
    (
        "_trino_from_iso8601_date",
        "s",
        "CASE WHEN regexp_matches(s, '^\\d{4}-\\d{2}-\\d{2}$') THEN CAST(s AS DATE)"
        " ELSE _trino_iso8601_date(s) END",
    ),
    # -- JSON ------------------------------------------------------------------------------
    (
        "_trino_json_equals",
        "e, jv, v",
        f"CASE WHEN json_type(e) IN {_NUMERIC_JSON} THEN (CASE WHEN json_type(jv) IN"
        f" {_NUMERIC_JSON} THEN CAST(e AS DOUBLE) = CAST(jv AS DOUBLE) ELSE false END)"
        " WHEN json_type(e) = 'VARCHAR' THEN (CASE WHEN json_type(jv) = 'VARCHAR'"
        " THEN json_extract_string(e, '$') = CAST(v AS VARCHAR) ELSE false END)"
        " WHEN json_type(e) = 'BOOLEAN' THEN (CASE WHEN json_type(jv) = 'BOOLEAN'"
        " THEN CAST(e AS VARCHAR) = CAST(jv AS VARCHAR) ELSE false END) ELSE false END",
    ),
    (
        "_trino_json_array_contains",
        "j, v",
        "CASE WHEN NOT json_valid(j) THEN NULL WHEN json_type(j) <> 'ARRAY' THEN NULL"
        " ELSE list_contains(list_transform(json_extract(j, '$[*]'),"
        " lambda e: _trino_json_equals(e, to_json(v), v)), true) END",
    ),
    ("_trino_is_json_scalar", "j", "json_type(j) NOT IN ('ARRAY', 'OBJECT')"),
    (
        "_trino_json_size_of",
        "x",
        "CASE WHEN x IS NULL THEN NULL WHEN json_type(x) = 'ARRAY' THEN json_array_length(x)"
        " WHEN json_type(x) = 'OBJECT' THEN len(json_keys(x)) ELSE 0 END",
    ),
    ("_trino_json_size", "j, p", "_trino_json_size_of(json_extract(j, p))"),
    (
        "_trino_json_unquote",
        "x",
        "CASE WHEN json_type(x) = 'VARCHAR' THEN json_extract_string(x, '$')"
        " ELSE CAST(x AS VARCHAR) END",
    ),
    (
        "_trino_json_array_get",
        "j, i",
        "CASE WHEN NOT json_valid(j) THEN NULL WHEN json_type(j) <> 'ARRAY' THEN NULL"
        " ELSE _trino_json_unquote(json_extract(j, CASE WHEN i >= 0"
        " THEN '$[' || CAST(i AS VARCHAR) || ']' ELSE '$[#' || CAST(i AS VARCHAR) || ']' END))"
        " END",
    ),
    # -- URLs (java.net.URI as Trino uses it: missing parts are '', an invalid URI is NULL) --
    (
        "_trino_url_ok",
        "u",
        "NOT regexp_matches(u, '[\\s\"<>\\\\^`{|}]|%([^0-9A-Fa-f]|.[^0-9A-Fa-f]|.?$)')",
    ),
    (
        "_trino_url_opaque",
        "u",
        f"regexp_matches(u, '^{_SCHEME}:[^/]')",
    ),
    (
        "_trino_url_protocol",
        "u",
        f"CASE WHEN _trino_url_ok(u) THEN regexp_extract(u, '^({_SCHEME}):', 1) END",
    ),
    (
        "_trino_url_host",
        "u",
        f"CASE WHEN _trino_url_ok(u) THEN regexp_extract(u, '{_AUTHORITY}{_HOST}', 1) END",
    ),
    (
        "_trino_url_port",
        "u",
        f"CASE WHEN _trino_url_ok(u) THEN TRY_CAST(NULLIF(regexp_extract(u,"
        f" '{_AUTHORITY}(?:\\[[^\\]/?#]*\\]|[^:/?#\\[\\]]*):([0-9]+)', 1), '') AS BIGINT) END",
    ),
    (
        "_trino_url_path",
        "u",
        "CASE WHEN NOT _trino_url_ok(u) THEN NULL WHEN _trino_url_opaque(u) THEN ''"
        f" ELSE url_decode(regexp_extract(u, '^(?:{_SCHEME}:)?(?://[^/?#]*)?([^?#]*)', 1)) END",
    ),
    (
        "_trino_url_raw_query",
        "u",
        "CASE WHEN NOT _trino_url_ok(u) OR _trino_url_opaque(u) THEN NULL"
        " WHEN NOT regexp_matches(u, '^[^#]*\\?') THEN NULL"
        " ELSE regexp_extract(u, '^[^?#]*\\?([^#]*)', 1) END",
    ),
    (
        "_trino_url_query",
        "u",
        "CASE WHEN NOT _trino_url_ok(u) THEN NULL"
        " ELSE coalesce(url_decode(_trino_url_raw_query(u)), '') END",
    ),
    (
        "_trino_url_fragment",
        "u",
        "CASE WHEN _trino_url_ok(u) THEN url_decode(regexp_extract(u, '#(.*)$', 1)) END",
    ),
    (
        "_trino_url_param_value",
        "a",
        "CASE WHEN a IS NULL THEN NULL WHEN strpos(a, '=') = 0 THEN ''"
        " ELSE url_decode(replace(substr(a, strpos(a, '=') + 1), '+', ' ')) END",
    ),
    (
        "_trino_url_parameter",
        "u, name",
        "_trino_url_param_value(list_filter(string_split(_trino_url_raw_query(u), '&'),"
        " lambda a: split_part(a, '=', 1) = name)[1])",
    ),
]

# --------------------------------------------------------------------------- Trino type names
_SIMPLE_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "decimal(38,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "decimal(20,0)",
    "FLOAT": "real",
    "DOUBLE": "double",
    "VARCHAR": "varchar",
    "JSON": "json",
    "BLOB": "varbinary",
    "UUID": "uuid",
    "DATE": "date",
    "TIME": "time(3)",
    "TIMESTAMP_S": "timestamp(0)",
    "TIMESTAMP_MS": "timestamp(3)",
    "TIMESTAMP": "timestamp(3)",
    "TIMESTAMP_NS": "timestamp(9)",
    "TIMESTAMP WITH TIME ZONE": "timestamp(3) with time zone",
    "TIME WITH TIME ZONE": "time(3) with time zone",
    "INTERVAL": "interval day to second",
    '"NULL"': "unknown",
    "NULL": "unknown",
}


def _split_top(text: str) -> list[str]:
    """Split ``a, b(c, d), e`` at the top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def trino_type_name(duck: str) -> str:
    """DuckDB's type string (``INTEGER[]``, ``MAP(VARCHAR, BIGINT)``) as Trino names it."""
    text = duck.strip()
    upper = text.upper()
    if upper in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[upper]
    for key, kind in (
        ("__TRINO_TIMESTAMP_TZ", "timestamp(3) with time zone"),
        ("__TRINO_INTERVAL_YM", "interval year to month"),
    ):
        if upper.startswith(f"STRUCT({key} "):  # a value printed as Trino does (trino_zones)
            return kind
    if text.endswith("]"):  # LIST T[] or ARRAY T[n]
        return f"array({trino_type_name(text[: text.rindex('[')])})"
    match = re.fullmatch(r"(DECIMAL|MAP|STRUCT|TUPLE|UNION)\((.*)\)", text, re.S | re.I)
    if match is None:
        return text.lower()
    kind, inner = match.group(1).upper(), match.group(2)
    if kind == "DECIMAL":
        return "decimal(" + inner.replace(" ", "") + ")"
    parts = _split_top(inner)
    if kind == "MAP":
        return f"map({', '.join(trino_type_name(p) for p in parts)})"
    if kind == "TUPLE":
        return f"row({', '.join(trino_type_name(p) for p in parts)})"
    fields = []
    for part in parts:
        name, _, kind_text = part.partition(" ")
        if name.startswith('"'):
            end = part.index('"', 1)
            name, kind_text = part[1:end], part[end + 1 :]
        # sqlglot names the fields of an anonymous ROW(...) _0, _1...: Trino prints no name
        anonymous = name[:1] == "_" and name[1:].isdigit()
        fields.append(
            trino_type_name(kind_text) if anonymous else f"{name} {trino_type_name(kind_text)}"
        )
    return f"row({', '.join(fields)})"


# ------------------------------------------------------------------ small Python-only functions
_UNITS = {"B": 0, "kB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5, "EB": 6, "ZB": 7, "YB": 8}
_DURATION_MS = {
    "ns": decimal.Decimal("1e-6"),
    "us": decimal.Decimal("1e-3"),
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
}


def format_number(value: float) -> str:
    """``format_number``: three significant digits and a unit symbol (K, M, B, T, Q)."""
    number = decimal.Decimal(repr(value))
    for unit, power in (("Q", 15), ("T", 12), ("B", 9), ("M", 6), ("K", 3)):
        if abs(number) >= decimal.Decimal(10) ** power:
            number, suffix = number.scaleb(-power), unit
            break
    else:
        suffix = ""
    rounded = round(number, max(0, 2 - number.adjusted()))
    return f"{rounded.normalize():f}" + suffix


def parse_data_size(text: str) -> decimal.Decimal:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*", text)
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"Invalid data size: '{text}'")
    return int(decimal.Decimal(match.group(1)) * 1024 ** _UNITS[match.group(2)])


def parse_duration(text: str) -> dt.timedelta:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", text)
    if match is None or match.group(2) not in _DURATION_MS:
        raise ValueError(f"duration is not a valid data duration string: {text}")
    ms = decimal.Decimal(match.group(1)) * _DURATION_MS[match.group(2)]
    return dt.timedelta(milliseconds=int(ms.quantize(decimal.Decimal(1), decimal.ROUND_HALF_UP)))


def human_readable_seconds(value: float) -> str:
    seconds, parts = round(value), []
    for name, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    if seconds or not parts:
        parts.append(f"{seconds} second{'s' if seconds != 1 else ''}")
    return ", ".join(parts)


def from_iso8601_date(text: str) -> dt.date:
    """Calendar (2020-05-11), week (2020-W10, 2020-W10-3) and ordinal (2020-123) dates."""
    week = re.fullmatch(r"(\d{4})-?W(\d{2})(?:-?(\d))?", text)
    if week:
        return dt.date.fromisocalendar(int(week[1]), int(week[2]), int(week[3] or 1))
    ordinal = re.fullmatch(r"(\d{4})-?(\d{3})", text)
    if ordinal:
        return dt.date(int(ordinal[1]), 1, 1) + dt.timedelta(days=int(ordinal[2]) - 1)
    return dt.date.fromisoformat(text)
