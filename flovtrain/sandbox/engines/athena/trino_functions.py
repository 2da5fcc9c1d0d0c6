"""Trino functions that sqlglot leaves unknown or mistranslates for DuckDB, made right.

Two halves, both needed::

    tree = rewrite(sqlglot.parse_one(sql, read="athena"))  # then tree.sql(dialect="duckdb")
    install(con)  # on the duckdb connection that runs it

:func:`rewrite` changes the parsed Athena statement in place (and returns it): lambdas and
aggregates are built in the tree, since a DuckDB macro takes neither; :func:`install` defines
the macros and Python UDFs (:mod:`.trino_macros`) the rewritten SQL calls.

What is covered, and how, is in :func:`_handlers`; the measured effect on Trino's documented
examples is tests/test_trino_functions.py's tally.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from flovtrain.sandbox.engines.athena import trino_math, trino_rows, trino_subscripts
from flovtrain.sandbox.engines.athena import trino_zones as zones

# installing what the rewritten SQL calls lives in its own module, importable from here too
from flovtrain.sandbox.engines.athena.trino_install import install, install_udfs
from flovtrain.sandbox.engines.athena.trino_tree import (
    _cast,
    _field,
    _fn,
    _lambda,
    _lambda_arg,
    _lit,
    _name_maker,
    _ref,
    _replace_aggregate,
    _struct,
    _substitute,
)

__all__ = ["WRITTEN", "install", "install_udfs", "rewrite"]

#: ``tree.meta`` key marking a query whose rows are written (CTAS, INSERT, UNLOAD, a view's
#: body), not printed: its values keep their DuckDB types (see trino_zones).
WRITTEN = zones.WRITTEN

_INTEGRAL = {"TINYINT", "SMALLINT", "INT", "BIGINT", "UTINYINT", "USMALLINT", "UINT"}
_URL_PARTS = ("protocol", "host", "port", "path", "query", "fragment", "parameter")


# ------------------------------------------------------------------------------- aggregates
def _map_agg(node: Any, multi: bool) -> None:
    key, value = node.expressions[:2]

    def listed(item: Any, *order: Any) -> Any:
        ordered = [exp.Ordered(this=o.copy(), nulls_first=False) for o in order]
        return _fn("list", exp.Order(this=item.copy(), expressions=ordered))

    if multi:
        keys, values = listed(key, key, value), listed(value, key, value)
        _replace_aggregate(node, keys, lambda ks, vs: _fn("_trino_multimap_agg", ks, vs), values)
    else:
        entries = listed(_struct(k=key, v=value), key)
        _replace_aggregate(node, entries, lambda inner: _fn("_trino_map_agg", inner))


def _reduce_agg(node: Any, names: Any) -> None:
    value, initial = node.expressions[:2]
    step = _lambda_arg(node, 2)
    if step is None:
        return
    item = names()
    values = _fn(
        "list_filter", _fn("list", value.copy()), _lambda([item], _ref(item).is_(exp.Null()).not_())
    )
    _replace_aggregate(
        node, values, lambda inner: _fn("list_reduce", inner, step.copy(), initial.copy())
    )


def _approx_most_frequent(node: Any) -> None:
    buckets, value = node.expressions[:2]
    _replace_aggregate(
        node,
        _fn("histogram", value.copy()),
        lambda inner: _fn("_trino_top_counts", inner, buckets.copy()),
    )


def _approx_percentile(node: Any) -> None:
    value, weight, quantile = node.this, node.args.get("weight"), node.args.get("quantile")
    if weight is None:
        node.replace(_fn("approx_quantile", value.copy(), quantile.copy()))
        return
    entries = _fn("list", _struct(v=value.copy(), w=weight.copy()))
    _replace_aggregate(
        node, entries, lambda inner: _fn("_trino_weighted_percentile", inner, quantile.copy())
    )


def _as_bigint(node: Any) -> None:
    inner = _fn("count_if" if isinstance(node, exp.CountIf) else "sum", node.this.copy())
    _replace_aggregate(node, inner, lambda agg: _cast(agg, "BIGINT"))


def _summed_type(node: Any) -> Any:
    arg = node.this
    if isinstance(arg, exp.Distinct) and arg.expressions:
        arg = arg.expressions[0]
    return arg.type


# ---------------------------------------------------------------------- arrays, maps, lambdas
def _map_lambda(node: Any, names: Any, what: str) -> None:
    """transform_keys / transform_values / map_filter over ``map_entries(m)``."""
    lam = _lambda_arg(node, 1)
    if lam is None:
        return
    entry = names()
    key, value = _field(_ref(entry), "key"), _field(_ref(entry), "value")
    body = _substitute(lam, [key, value])
    entries = _fn("map_entries", node.expressions[0].copy())
    if what == "filter":
        entries = _fn("list_filter", entries, _lambda([entry], body))
    else:
        pair = _struct(key=body, value=value) if what == "keys" else _struct(key=key, value=body)
        entries = _fn("list_transform", entries, _lambda([entry], pair))
    node.replace(_fn("map_from_entries", entries))


def _map_zip_with(node: Any, names: Any) -> None:
    lam = _lambda_arg(node, 2)
    if lam is None:
        return
    first, second = (a.copy() for a in node.expressions[:2])
    key = names()

    def value(m: Any) -> Any:
        return _fn("map_extract_value", m.copy(), _ref(key))

    body = _substitute(lam, [_ref(key), value(first), value(second)])
    keys = _fn("_trino_map_zip_keys", first, second)
    node.replace(_fn("map", keys.copy(), _fn("list_transform", keys, _lambda([key], body))))


def _zip_with(node: Any, names: Any) -> None:
    lam = _lambda_arg(node, 2)
    if lam is None:
        return
    pair = names()
    body = _substitute(
        lam,
        [
            _fn("struct_extract_at", _ref(pair), _lit(1)),
            _fn("struct_extract_at", _ref(pair), _lit(2)),
        ],
    )
    zipped = _fn("list_zip", *(a.copy() for a in node.expressions[:2]))
    node.replace(_fn("list_transform", zipped, _lambda([pair], body)))


def _match(node: Any, kind: str) -> None:
    lam = _lambda_arg(node, 1)
    if lam is None:
        return
    results = _fn("list_transform", node.expressions[0].copy(), lam.copy())
    node.replace(_fn(f"_trino_{kind}", results))


# --------------------------------------------------------------------------- time, text, misc
def _at_time_zone(node: Any) -> None:
    """Trino: the instant stays, the zone changes; DuckDB reads a zone-less timestamp as being
    in that zone. Make it an instant first (session zone); the result is the wall-clock time
    in the zone (DuckDB keeps no zone with a value)."""
    value = node.this
    if not (isinstance(value, exp.Cast) and value.to.is_type("timestamptz")):
        value.replace(_cast(value.copy(), "TIMESTAMPTZ"))
    node.set("zone", _fn("_trino_duck_zone", node.args["zone"].copy()))


def _typeof(node: Any) -> None:
    arg = node.this
    if isinstance(arg, exp.Literal) and arg.is_string:
        node.replace(_lit(f"varchar({len(arg.this)})"))
    elif isinstance(arg, exp.Null):
        node.replace(_lit("unknown"))
    elif (
        isinstance(arg, exp.Cast)
        and arg.to.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR)
        and arg.to.expressions
    ):
        kind = "char" if arg.to.this == exp.DataType.Type.CHAR else "varchar"
        node.replace(_lit(f"{kind}({arg.to.expressions[0].name})"))
    else:
        node.replace(_fn("_trino_type_name", _fn("typeof", arg.copy())))


def _format(node: Any) -> None:
    args = node.expressions
    values = exp.Array(expressions=[_cast(a.copy(), "VARCHAR") for a in args])
    kinds = exp.Array(expressions=[_fn("typeof", a.copy()) for a in args])
    node.replace(
        _fn(
            "_trino_format", node.this.copy(), _cast(values, "VARCHAR[]"), _cast(kinds, "VARCHAR[]")
        )
    )


def _java_replacement(text: str) -> str:
    """Java's ``$1`` / ``\\$`` replacement syntax as RE2's ``\\1``."""
    swap = lambda m: "\\" + m[2] if m[2] else m[1].replace("\\", "\\\\")  # noqa: E731
    return re.sub(r"\\(.)|\$(\d)", swap, text)


_GROUP = re.compile(r"(?<!\\)\((?!\?)|(?<!\\)\(\?P?<(?![=!])")


def _regexp_replace(node: Any, names: Any) -> None:
    subject, pattern = node.this, node.expression
    replacement = node.args.get("replacement")
    if isinstance(replacement, exp.Lambda) and isinstance(pattern, exp.Literal):
        # each match's groups (re-matched alone) go to the lambda; text between matches stays
        hit = names()
        groups = exp.Array(
            expressions=[
                _fn("regexp_extract", _ref(hit), pattern.copy(), _lit(g + 1))
                for g in range(len(_GROUP.findall(pattern.name)))
            ]
        )
        replaced = _fn(
            "list_transform",
            _fn("regexp_extract_all", subject.copy(), pattern.copy()),
            _lambda([hit], _substitute(replacement, [groups])),
        )
        node.replace(
            _fn(
                "_trino_interleave",
                _fn("regexp_split_to_array", subject.copy(), pattern.copy()),
                replaced,
            )
        )
        return
    if replacement is not None and not (
        isinstance(replacement, exp.Literal) and replacement.is_string
    ):
        return  # a computed replacement: left as sqlglot writes it
    text = _java_replacement(replacement.this) if replacement is not None else ""
    node.replace(_fn("regexp_replace", subject.copy(), pattern.copy(), _lit(text), _lit("g")))


def _ints(*nodes: Any) -> bool:
    return all(
        isinstance(n, exp.Literal)
        and not n.is_string
        or isinstance(n, exp.Neg)
        and isinstance(n.this, exp.Literal)
        or n.type is not None
        and n.type.this.name in _INTEGRAL
        for n in nodes
    )


def _sequence(node: Any) -> None:
    start, end = node.args.get("start"), node.args.get("end")
    if (
        start is not None
        and end is not None
        and node.args.get("step") is None
        and _ints(start, end)
    ):
        node.replace(_fn("_trino_sequence", start.copy(), end.copy()))


def _slice(node: Any) -> None:
    """sqlglot reads Trino's ``slice(x, start, length)`` as DuckDB's (start, end)."""
    if node.args.get("start") is not None and node.args.get("end") is not None:
        node.replace(
            _fn(
                "_trino_slice", node.this.copy(), node.args["start"].copy(), node.args["end"].copy()
            )
        )


def _combinations(node: Any, names: Any) -> None:
    array, size = node.expressions[:2]
    if not (isinstance(size, exp.Literal) and size.name.isdigit() and 0 < int(size.name) <= 5):
        return
    index = [names() for _ in range(int(size.name))]
    length = _fn("len", array.copy())
    picked = exp.Array(expressions=[_fn("list_extract", array.copy(), _ref(i)) for i in index])
    body = None
    for level in reversed(range(len(index))):
        low = _lit(1) if level == 0 else exp.Add(this=_ref(index[level - 1]), expression=_lit(1))
        span = _fn("range", low, exp.Add(this=length.copy(), expression=_lit(1)))
        inner = picked if body is None else body
        body = _fn("list_transform", span, _lambda([index[level]], inner))
        if level < len(index) - 1:
            body = _fn("flatten", body)
    node.replace(body)


def _array_sort(node: Any, names: Any) -> None:
    """A comparator sort (sqlglot drops the comparator): insertion sort, each element going
    before the first one it compares lower than (what Java's sort does with small arrays)."""
    lam = node.expression
    if not isinstance(lam, exp.Lambda) or len(lam.expressions) != 2:
        return
    done, item, other = names(), names(), names()
    lower = _fn(
        "list_transform",
        _ref(done),
        _lambda([other], _substitute(lam, [_ref(item), _ref(other)]) < 0),
    )
    place = _fn("coalesce", _fn("list_position", lower, exp.true()), _fn("len", _ref(done)) + 1)
    step = _lambda([done, item], _fn("_trino_insert_at", _ref(done), _ref(item), place))
    empty = _fn("list_slice", node.this.copy(), _lit(1), _lit(0))
    node.replace(_fn("list_reduce", node.this.copy(), step, empty))


def _struct_fields(node: Any) -> None:
    """``s.sum`` on a lambda parameter ``s`` (a row): DuckDB reads ``s`` as a table."""
    params = {p.name.lower() for p in node.expressions}
    if any(c.table.lower() in params for c in node.this.find_all(exp.Column)) or any(
        d.this.name.lower() in params for d in node.this.find_all(exp.Dot)
    ):
        node.set("this", _substitute(node, [_ref(p.name) for p in node.expressions]))


def _reduce(node: Any) -> None:
    """``reduce``'s output function (sqlglot drops it)."""
    finish = node.args.get("finish")
    if isinstance(finish, exp.Lambda):
        inner = node.copy()
        inner.set("finish", None)
        node.replace(exp.Paren(this=_substitute(finish, [inner])))


def _is_array(node: Any) -> bool | None:
    """True / False when known, None when not."""
    if isinstance(node, exp.Array):
        return True
    if isinstance(node, (exp.Literal, exp.Null)):
        return False
    kind = node.type
    if kind is None or kind.this == exp.DataType.Type.UNKNOWN:
        return None
    return kind.this == exp.DataType.Type.ARRAY


def _concat_element(node: Any) -> None:
    """``ARRAY[1] || 2`` and ``2 || ARRAY[1]`` (DuckDB concatenates two lists only)."""
    left, right = _is_array(node.this), _is_array(node.expression)
    if left and right is False:
        node.replace(_fn("list_append", node.this.copy(), node.expression.copy()))
    elif right and left is False:
        node.replace(_fn("list_prepend", node.this.copy(), node.expression.copy()))


def _date_plus_interval(node: Any) -> None:
    """``DATE + INTERVAL 'n' DAY`` stays a date in Trino (DuckDB makes a timestamp)."""
    date, interval = node.this, node.expression
    if isinstance(node, exp.Add) and isinstance(date, exp.Interval):
        date, interval = interval, date
    unit = interval.args.get("unit") if isinstance(interval, exp.Interval) else None
    if (
        date.type is not None
        and date.type.this == exp.DataType.Type.DATE
        and unit is not None
        and unit.name.upper() in ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")
        and not isinstance(node.parent, exp.Cast)
    ):
        node.replace(_cast(node.copy(), "DATE"))


def _json_cast(node: Any) -> None:
    """Trino: a string cast to JSON is a JSON string; a JSON scalar cast to varchar is its
    value (DuckDB parses the one and keeps the quotes of the other)."""
    value, to = node.this, node.to
    text = value.type is not None and value.type.this in exp.DataType.TEXT_TYPES
    if to.this == exp.DataType.Type.JSON and (
        isinstance(value, exp.Literal) and value.is_string or text
    ):
        node.replace(_fn("to_json", value.copy()))
    elif to.this in exp.DataType.TEXT_TYPES and (
        isinstance(value, exp.ParseJSON)
        or value.type is not None
        and value.type.this == exp.DataType.Type.JSON
    ):
        node.replace(_fn("json_extract_string", value.copy(), _lit("$")))


# ----------------------------------------------------------------------------- the dispatch
def _annotate(tree: Any) -> None:
    """Give ``sum``'s arguments their types when the caller has not annotated the tree (as
    ``dialect.to_duckdb`` does): a qualified, annotated copy, matched node for node."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    sums = list(tree.find_all(exp.Sum))
    if not sums or all(_summed_type(s) is not None for s in sums):
        return
    try:
        copy = annotate_types(qualify(tree.copy(), dialect="athena"), dialect="athena")
    except Exception:  # noqa: BLE001 - sqlglot cannot type every query; leave sum alone
        return
    typed = list(copy.find_all(exp.Sum))
    if len(typed) == len(sums):
        for mine, theirs in zip(sums, typed, strict=True):
            arg = mine.this.expressions[0] if isinstance(mine.this, exp.Distinct) else mine.this
            arg.type = _summed_type(theirs)


#: Trino functions whose arguments a macro or UDF of the same meaning takes as they are.
_RENAMED = {
    "json_array_get": "_trino_json_array_get",
    "array_histogram": "_trino_array_histogram",
    "ngrams": "_trino_ngrams",
    "trim_array": "_trino_trim_array",
    "multimap_from_entries": "_trino_multimap_from_entries",
    "map_entries": "_trino_map_entries",
    "is_json_scalar": "_trino_is_json_scalar",
    "json_size": "_trino_json_size",
    "format_number": "_trino_format_number",
    "parse_data_size": "_trino_parse_data_size",
    "human_readable_seconds": "_trino_human_readable_seconds",
    "parse_duration": "_trino_parse_duration",
    "zip": "list_zip",
    "every": "bool_and",
    "luhn_check": "_trino_luhn_check",
    **{f"url_extract_{part}": f"_trino_url_{part}" for part in _URL_PARTS},
}


def _handlers(names: Any) -> tuple[dict[str, Any], dict[type, Any]]:
    def args(n: Any) -> list[Any]:
        return [a.copy() for a in n.expressions]

    anonymous = {
        "map_agg": lambda n: _map_agg(n, multi=False),
        "multimap_agg": lambda n: _map_agg(n, multi=True),
        "reduce_agg": lambda n: _reduce_agg(n, names),
        "approx_most_frequent": _approx_most_frequent,
        "with_timezone": lambda n: n.replace(
            _fn(
                "timezone",
                _fn("_trino_duck_zone", n.expressions[1].copy()),
                _cast(n.expressions[0].copy(), "TIMESTAMP"),
            )
        ),
        "at_timezone": lambda n: n.replace(
            exp.AtTimeZone(
                this=_cast(n.expressions[0].copy(), "TIMESTAMPTZ"), zone=n.expressions[1].copy()
            )
        ),
        "transform_keys": lambda n: _map_lambda(n, names, "keys"),
        "transform_values": lambda n: _map_lambda(n, names, "values"),
        "map_filter": lambda n: _map_lambda(n, names, "filter"),
        "map_zip_with": lambda n: _map_zip_with(n, names),
        "zip_with": lambda n: _zip_with(n, names),
        "all_match": lambda n: _match(n, "all_match"),
        "any_match": lambda n: _match(n, "any_match"),
        "none_match": lambda n: _match(n, "none_match"),
        "combinations": lambda n: _combinations(n, names),
        "regexp_position": lambda n: n.replace(
            _fn("_trino_regexp_position", *(args(n) + [_lit(1), _lit(1)][len(n.expressions) - 2 :]))
        ),
    }
    for trino, duck in _RENAMED.items():
        anonymous[trino] = lambda n, duck=duck: n.replace(_fn(duck, *args(n)))
    by_class = {
        exp.CountIf: _as_bigint,
        exp.ApproxQuantile: _approx_percentile,
        exp.AtTimeZone: _at_time_zone,
        exp.JSONArrayContains: lambda n: n.replace(
            _fn("_trino_json_array_contains", n.this.copy(), n.expression.copy())
        ),
        exp.Format: _format,
        exp.Typeof: _typeof,
        exp.RegexpReplace: lambda n: _regexp_replace(n, names),
        exp.GenerateSeries: _sequence,
        # sqlglot writes array_length, which DuckDB has for lists only; Trino's takes maps too
        exp.ArraySize: lambda n: n.replace(_cast(_fn("cardinality", n.this.copy()), "BIGINT")),
        exp.ArrayPosition: lambda n: n.replace(
            _fn("_trino_array_position", n.this.copy(), n.expression.copy())
        ),
        exp.ArraySlice: _slice,
        exp.ArraySort: lambda n: _array_sort(n, names),
        exp.Reduce: _reduce,
        exp.Lambda: _struct_fields,
        exp.DotProduct: lambda n: n.replace(
            _fn(
                "list_dot_product",
                _cast(n.this.copy(), "DOUBLE[]"),
                _cast(n.expression.copy(), "DOUBLE[]"),
            )
        ),
        exp.DPipe: _concat_element,
        exp.Add: _date_plus_interval,
        exp.Sub: _date_plus_interval,
        exp.Cast: _json_cast,
        exp.FromISO8601Date: lambda n: n.replace(_fn("_trino_from_iso8601_date", n.this.copy())),
        exp.SplitPart: lambda n: n.replace(
            _fn(
                "_trino_split_part",
                n.this.copy(),
                n.args["delimiter"].copy(),
                n.args["part_index"].copy(),
            )
        ),
    }
    return anonymous, by_class


def rewrite(tree: Any) -> Any:
    """Rewrite a parsed Athena statement (``sqlglot.parse_one(sql, read="athena")``, annotated
    or not) so its DuckDB rendering runs the Trino functions as Trino does. In place; returns
    ``tree``."""
    _annotate(tree)
    # first: reads subscripts as sqlglot parsed them (later rewrites change what is subscripted)
    tree = trino_subscripts.rewrite_subscripts(tree)
    zones.rewrite_zones(tree)  # first: it reads AT TIME ZONE / with_timezone as written
    trino_rows.rewrite_rows(tree)
    trino_math.rewrite_math(tree)
    anonymous, by_class = _handlers(_name_maker())
    # deepest first: a node's arguments are rewritten before it; a node whose ancestor an
    # aggregate's rewrite replaced (its FILTER, its OVER) is skipped once detached
    for node in reversed(list(tree.walk(bfs=False))):
        if node.parent is None and node is not tree:
            continue
        if isinstance(node, exp.Anonymous):
            handler = anonymous.get(str(node.this).lower())
            if handler is not None:
                handler(node)
        elif isinstance(node, exp.Sum) and _summed_type(node) is not None:
            if _summed_type(node).this.name in _INTEGRAL:
                _as_bigint(node)
        elif type(node) in by_class:
            by_class[type(node)](node)
    return tree
