"""Trino's bitwise shifts and cosine functions, which DuckDB lacks or takes for lists only.

``bitwise_left_shift`` / ``bitwise_right_shift`` (logical) / ``bitwise_right_shift_arithmetic``
become macros over DuckDB's ``<<`` / ``>>`` (a shift by 64 or more bits gives 0, or -1 for an
arithmetic shift of a negative value, as Trino's bitwise.md says); ``cosine_similarity`` and
``cosine_distance`` of two maps (sparse vectors) sum over the keys both maps share.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from flovtrain.sandbox.engines.athena.trino_tree import _cast, _fn

__all__ = ["MACROS", "rewrite_math"]

_RENAMED = {
    "bitwise_left_shift": "_trino_shift_left",
    "bitwise_right_shift": "_trino_shift_right",
    "bitwise_right_shift_arithmetic": "_trino_shift_right_arithmetic",
}


def _is_map(node: Any) -> bool:
    if isinstance(node, (exp.Map, exp.VarMap, exp.MapFromEntries, exp.ToMap)):
        return True
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("map", "map_from_entries"):
        return True
    return node.type is not None and node.type.this == exp.DataType.Type.MAP


def _cosine(node: Any, distance: bool) -> None:
    left, right = node.this, node.expression
    if _is_map(left) or _is_map(right):
        similarity = _fn("_trino_map_cosine_similarity", left.copy(), right.copy())
    else:
        similarity = _fn(
            "list_cosine_similarity",
            _cast(left.copy(), "DOUBLE[]"),
            _cast(right.copy(), "DOUBLE[]"),
        )
    if distance:
        node.replace(exp.Paren(this=exp.Sub(this=exp.Literal.number(1), expression=similarity)))
    else:
        node.replace(similarity)


def rewrite_math(tree: Any) -> None:
    """Apply the rules above to a parsed statement (in place)."""
    for node in reversed(list(tree.walk(bfs=False))):
        if node.parent is None and node is not tree:
            continue
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        if name in _RENAMED:
            node.replace(_fn(_RENAMED[name], *(a.copy() for a in node.expressions)))
        elif name == "cosine_similarity" and len(node.expressions) == 2:
            pair = exp.CosineDistance(this=node.expressions[0], expression=node.expressions[1])
            node.replace(pair)
            _cosine(pair, distance=False)
        elif isinstance(node, exp.CosineDistance):
            _cosine(node, distance=True)


def _entries_sum(body: str) -> str:
    return f"coalesce(list_sum(list_transform(map_keys(a), lambda k: {body})), 0)"


#: (name, parameters, body) of the DuckDB macros the rules call.
MACROS: list[tuple[str, str, str]] = [
    ("_trino_shift_left", "x, s", "CASE WHEN s >= 64 THEN 0 ELSE x << s END"),
    (
        "_trino_shift_right",
        "x, s",
        "CASE WHEN s >= 64 THEN 0 WHEN s = 0 OR x >= 0 THEN x >> s"
        " ELSE (x >> s) & ((CAST(1 AS BIGINT) << (64 - s)) - 1) END",
    ),
    (
        "_trino_shift_right_arithmetic",
        "x, s",
        "CASE WHEN s >= 64 THEN CASE WHEN x < 0 THEN -1 ELSE 0 END ELSE x >> s END",
    ),
    (
        "_trino_map_norm",
        "m",
        "sqrt(list_sum(list_transform(map_values(m),"
        " lambda v: CAST(v AS DOUBLE) * CAST(v AS DOUBLE))))",
    ),
    (
        "_trino_map_cosine_similarity",
        "a, b",
        _entries_sum(
            "coalesce(CAST(map_extract_value(a, k) AS DOUBLE)"
            " * CAST(map_extract_value(b, k) AS DOUBLE), 0)"
        )
        + " / (_trino_map_norm(a) * _trino_map_norm(b))",
    ),
]
