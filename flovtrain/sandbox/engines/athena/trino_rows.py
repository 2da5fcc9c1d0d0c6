"""Trino's rows and UNNEST, which DuckDB spells differently, for :mod:`.trino_functions`.

- ``UNNEST(a, b) [WITH ORDINALITY]``, UNNEST of a map (key and value columns) and of an array
  of rows (a column per field): DuckDB's ``unnest`` takes one list, so the lists are zipped
  (``list_zip`` pads the shorter ones with NULL, as Trino does) and unnested to the depth that
  turns the zipped struct (and the rows in it) into columns.
- ``(row).*``: DuckDB expands a struct into columns with ``unnest(struct)``.
- ``CAST(x AS ROW(integer, integer))``: DuckDB has no anonymous struct fields; they get the
  names sqlglot gives a ``ROW(...)`` value (``_0``, ``_1``...), which results.py prints as
  Athena does (``field0``...).
- ``coalesce`` skips a row whose fields are all null (Trino's conditional.md).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from flovtrain.sandbox.engines.athena.trino_tree import _fn, _lit

__all__ = ["rewrite_rows"]


def _kind(node: Any) -> str | None:
    """'map' / 'rows' when ``node`` is known to be a map / an array of rows."""
    if isinstance(node, (exp.Map, exp.VarMap, exp.MapFromEntries, exp.ToMap)):
        return "map"
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("map", "map_from_entries"):
        return "map"
    if isinstance(node, exp.Array) and node.expressions:
        first = node.expressions[0]
        if isinstance(first, (exp.Struct, exp.Tuple)) or (
            isinstance(first, exp.Cast) and first.to.this == exp.DataType.Type.STRUCT
        ):
            return "rows"
    kind = node.type
    if kind is None:
        return None
    if kind.this == exp.DataType.Type.MAP:
        return "map"
    if (
        kind.this == exp.DataType.Type.ARRAY
        and kind.expressions
        and kind.expressions[0].this == exp.DataType.Type.STRUCT
    ):
        return "rows"
    return None


def _unnest(node: Any) -> None:
    """Trino's UNNEST forms DuckDB's ``unnest`` lacks, as a subquery of one zipped unnest."""
    args = list(node.expressions)
    ordinality = node.args.get("offset")
    kinds = [_kind(a) for a in args]
    if len(args) == 1 and not ordinality and kinds[0] is None:
        return  # DuckDB's own UNNEST does this one
    lists, depth = [], 2
    for arg, kind in zip(args, kinds, strict=True):
        lists.append(_fn("map_entries", arg.copy()) if kind == "map" else arg.copy())
        depth = 3 if kind is not None else depth
    if isinstance(ordinality, exp.Expression):
        longest = _fn("greatest", *(_fn("len", item.copy()) for item in lists))
        lists.append(_fn("range", _lit(1), exp.Add(this=longest, expression=_lit(1))))
    if len(lists) == 1:
        zipped, depth = lists[0], depth - 1
    else:
        zipped = _fn("list_zip", *lists)
    depth_arg = exp.Kwarg(this=exp.var("max_depth"), expression=_lit(depth))
    select = exp.select(_fn("unnest", zipped, depth_arg))
    alias = node.args.get("alias")
    alias = alias.copy() if alias is not None else exp.TableAlias(this=exp.to_identifier("_u"))
    if isinstance(ordinality, exp.Expression) and alias.columns:
        alias.append("columns", ordinality.copy())
    node.replace(exp.Subquery(this=select, alias=alias))


def _row_star(node: Any) -> None:
    """``(row).*`` -> ``unnest(row)`` (a column per field)."""
    target = node.parent if isinstance(node.parent, exp.Aliases) else node
    target.replace(_fn("unnest", node.this.copy()))


def _name_fields(node: Any) -> None:
    """``ROW(integer, integer)`` -> ``STRUCT(_0 INT, _1 INT)``."""
    if node.this != exp.DataType.Type.STRUCT or not node.expressions:
        return
    if not all(isinstance(e, exp.DataType) for e in node.expressions):
        return
    node.set(
        "expressions",
        [
            exp.ColumnDef(this=exp.to_identifier(f"_{i}"), kind=e.copy())
            for i, e in enumerate(node.expressions)
        ],
    )


def _arity(node: Any) -> int | None:
    if isinstance(node, (exp.Struct, exp.Tuple)):
        return len(node.expressions)
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.STRUCT:
        return len(node.to.expressions) or None
    return None


def _coalesce_rows(node: Any) -> None:
    """A row whose fields are all null counts as null in ``coalesce``."""
    args = [node.this, *node.expressions]
    for arg in args[:-1]:
        size = _arity(arg)
        if not size:
            continue
        empty = exp.and_(
            *(
                exp.Is(
                    this=_fn("struct_extract_at", arg.copy(), _lit(i + 1)), expression=exp.Null()
                )
                for i in range(size)
            )
        )
        arg.replace(exp.If(this=empty, true=exp.Null(), false=arg.copy()))


def rewrite_rows(tree: Any) -> None:
    """Apply the rules above to a parsed statement (in place)."""
    for node in reversed(list(tree.walk(bfs=False))):
        if node.parent is None and node is not tree:
            continue
        if isinstance(node, exp.Unnest) and isinstance(node.parent, (exp.From, exp.Join)):
            _unnest(node)
        elif isinstance(node, exp.Dot) and isinstance(node.expression, exp.Star):
            if isinstance(node.this, exp.Paren):
                _row_star(node)
        elif isinstance(node, exp.DataType):
            _name_fields(node)
        elif isinstance(node, exp.Coalesce):
            _coalesce_rows(node)
