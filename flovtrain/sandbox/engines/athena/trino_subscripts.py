"""Trino's subscript operator and ``element_at``, which DuckDB answers with NULL where Trino fails.

Trino (functions/array.md, map.md; ArraySubscriptOperator, ArrayElementAtFunction,
MapSubscriptOperator):

- ``array[i]`` fails for ``i = 0`` ("SQL array indices start at 1"), ``i < 0`` ("Array
  subscript is negative: i") and ``i > cardinality`` ("Array subscript must be less than or
  equal to array length: i > n"); ``map[k]`` fails for a missing key ("Key not present in
  map: k"); a NULL array, map or index gives NULL.
- ``element_at(array, i)`` fails only for ``i = 0``, counts from the end for ``i < 0`` and gives
  NULL out of range (DuckDB's ``list[i]`` does both); ``element_at(map, k)`` gives NULL for a
  missing key.

sqlglot parses both as ``exp.Bracket`` (``element_at`` with ``safe``/``offset``). The parser
shifts a subscript's integer index to 0-based when the subscripted value looked like an array
or was of unknown type (a column), and the DuckDB generator shifts it back only when the value
*then* looks so: a map column typed from the schema reads ``m[1]`` as ``m[0]``, an array column
``a[i]`` as ``a[i + 1]``. :func:`rewrite_subscripts` undoes the parser's shift as it decided it
(on a fresh, untyped copy) and calls a macro with the index as written. Whether the value is a
map or an array is taken from its type where known; else a macro dispatches on DuckDB's
``typeof`` (constant once bound; every branch binds for maps and lists alike).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.simplify import simplify

from flovtrain.sandbox.engines.athena.trino_tree import _fn

__all__ = ["MACROS", "rewrite_subscripts"]

_IS_MAP = "starts_with(typeof(x), 'MAP(')"
_AS_BIGINT = "TRY_CAST(CAST(i AS VARCHAR) AS BIGINT)"  # binds for a map's key of any type

#: (name, parameters, body) of the DuckDB macros, callees first.
MACROS: list[tuple[str, str, str]] = [
    (  # x[i] for an array x; n is i as a BIGINT (i itself is what indexes x)
        "_trino_array_subscript_at",
        "x, i, n",
        "CASE WHEN x IS NULL OR i IS NULL THEN NULL"
        " WHEN n = 0 THEN error('SQL array indices start at 1')"
        " WHEN n < 0 THEN error('Array subscript is negative: ' || CAST(n AS VARCHAR))"
        " WHEN n > cardinality(x) THEN error('Array subscript must be less than or equal to"
        " array length: ' || CAST(n AS VARCHAR) || ' > ' || CAST(cardinality(x) AS VARCHAR))"
        " ELSE x[i] END",
    ),
    (  # x[k] for a map x; present: whether k is one of its keys
        "_trino_map_subscript_at",
        "x, k, present",
        "CASE WHEN x IS NULL OR k IS NULL THEN NULL WHEN present THEN x[k]"
        " ELSE error('Key not present in map: ' || CAST(k AS VARCHAR)) END",
    ),
    ("_trino_array_subscript", "x, i", "_trino_array_subscript_at(x, i, CAST(i AS BIGINT))"),
    ("_trino_map_subscript", "x, k", "_trino_map_subscript_at(x, k, contains(x, k))"),
    (  # x's type unknown when rewritten: map_keys would not bind for a list, JSON keys do
        "_trino_subscript",
        "x, i",
        f"CASE WHEN {_IS_MAP} THEN _trino_map_subscript_at(x, i, x[i] IS NOT NULL"
        " OR list_contains(json_keys(to_json(x)), CAST(i AS VARCHAR)))"
        f" ELSE _trino_array_subscript_at(x, i, {_AS_BIGINT}) END",
    ),
    (
        "_trino_element_at",
        "x, i",
        f"CASE WHEN NOT {_IS_MAP} AND x IS NOT NULL AND {_AS_BIGINT} = 0"
        " THEN error('SQL array indices start at 1') ELSE x[i] END",
    ),
]


def _fresh_type(node: Any) -> exp.DataType.Type:
    """The type sqlglot's parser saw: ``node`` annotated alone, without a schema."""
    copy = node.copy()
    for inner in copy.walk():
        inner.type = None
    try:
        annotate_types(copy, dialect="athena")
    except Exception:  # noqa: BLE001 - as unknown as the parser would have found it
        return exp.DataType.Type.UNKNOWN
    return copy.type.this if copy.type else exp.DataType.Type.UNKNOWN


def _kind(node: Any) -> str | None:
    """'array' / 'map' / 'unknown' for the subscripted value; None for another type (a row)."""
    known = node.type.this if node.type else exp.DataType.Type.UNKNOWN
    if known == exp.DataType.Type.UNKNOWN:
        known = _fresh_type(node)
    if known in (exp.DataType.Type.ARRAY, exp.DataType.Type.MAP):
        return known.value.lower()
    return "unknown" if known == exp.DataType.Type.UNKNOWN else None


def _shifted(node: Any) -> bool:
    """Whether the parser made the subscript's index 0-based (sqlglot's apply_index_offset)."""
    if node.args.get("offset") or len(node.expressions) != 1:
        return False
    this = _fresh_type(node.this)
    return this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.ARRAY) and (
        _fresh_type(node.expressions[0]) in exp.DataType.INTEGER_TYPES
    )


def _plus_one(index: Any) -> Any:
    """``index + 1``, undoing the parser's ``+ -1`` where it left one."""
    step = index.expression if isinstance(index, exp.Add) else None
    if step is not None and step.is_number and step.to_py() == -1:
        return index.this.copy()
    return simplify(exp.Add(this=index.copy(), expression=exp.Literal.number(1)))


def rewrite_subscripts(tree: Any) -> Any:
    """Make ``x[i]`` and ``element_at(x, i)`` (parsed with read="athena") answer as Trino's do.
    In place; returns ``tree``. Run it before the other rewrites, on the tree as parsed (typed
    or not): it reads the subscripted values as the parser saw them."""
    brackets = [n for n in tree.walk(bfs=False) if isinstance(n, exp.Bracket)]
    plans = [(n, _kind(n.this), _shifted(n)) for n in brackets if len(n.expressions) == 1]
    for node, kind, shifted in reversed(plans):  # deepest first: inner ones are rewritten
        if kind is None:
            continue
        index = _plus_one(node.expressions[0]) if shifted else node.expressions[0].copy()
        if kind == "array" and isinstance(index, exp.Null):  # Trino's NULL index is a bigint
            index = exp.Cast(this=index, to=exp.DataType.build("BIGINT"))
        if node.args.get("safe"):
            name = "_trino_element_at"
        else:
            name = {"array": "_trino_array_subscript", "map": "_trino_map_subscript"}.get(
                kind, "_trino_subscript"
            )
        replacement = _fn(name, node.this.copy(), index)
        if node is tree:
            return replacement
        node.replace(replacement)
    return tree
