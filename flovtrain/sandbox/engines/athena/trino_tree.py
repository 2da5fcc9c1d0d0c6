"""Small sqlglot tree helpers for :mod:`.trino_functions` (nodes, casts, lambdas, substitution)."""

from __future__ import annotations

import itertools
from typing import Any

from sqlglot import exp


# ------------------------------------------------------------------------------ tree helpers
def _fn(name: str, *args: Any) -> Any:
    return exp.Anonymous(this=name, expressions=list(args))


def _cast(node: Any, to: str) -> Any:
    return exp.Cast(this=node, to=exp.DataType.build(to, dialect="duckdb"))


def _lit(value: Any) -> Any:
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def _struct(**fields: Any) -> Any:
    return exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.to_identifier(k), expression=v) for k, v in fields.items()
        ]
    )


def _name_maker() -> Any:
    """Fresh lambda parameter names (``__t1``, ``__t2``...) for one rewrite."""
    count = itertools.count(1)
    return lambda: f"__t{next(count)}"


def _lambda(params: list[str], body: Any) -> Any:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(p) for p in params])


def _ref(name: str) -> Any:
    return exp.column(name)


def _field(node: Any, name: str) -> Any:
    return _fn("struct_extract", node, _lit(name))


def _bound_names(node: Any, stop: Any) -> set[str]:
    """Names bound by the lambdas strictly between ``node`` and ``stop``."""
    names: set[str] = set()
    parent = node.parent
    while parent is not None and parent is not stop:
        if isinstance(parent, exp.Lambda):
            names.update(p.name for p in parent.expressions)
        parent = parent.parent
    return names


def _substitute(lam: Any, values: list[Any]) -> Any:
    """The lambda's body with each parameter replaced by the matching expression."""
    mapping = {p.name.lower(): v for p, v in zip(lam.expressions, values, strict=False)}
    body = lam.this.copy()
    wrapper = exp.Paren(this=body)
    for node in list(body.find_all(exp.Column, exp.Identifier)):
        if node.parent is None or _bound_names(node, wrapper) & set(mapping):
            continue
        if isinstance(node, exp.Column):
            table = node.table.lower()
            if not table and node.name.lower() in mapping:
                node.replace(mapping[node.name.lower()].copy())
            elif table in mapping and not node.args.get("db"):
                node.replace(_field(mapping[table].copy(), node.name))
        elif node.name.lower() not in mapping:
            continue
        elif isinstance(node.parent, exp.Dot) and node.arg_key == "this":
            node.parent.replace(_field(mapping[node.name.lower()].copy(), node.parent.name))
        elif not isinstance(
            node.parent,
            (
                exp.Column,
                exp.Table,
                exp.Alias,
                exp.TableAlias,
                exp.Lambda,
                exp.Dot,
                exp.PropertyEQ,
                exp.ColumnDef,
                exp.DataType,
            ),
        ):
            node.replace(mapping[node.name.lower()].copy())
    return wrapper.this


def _lambda_arg(node: Any, index: int) -> Any | None:
    args = node.expressions
    return args[index] if len(args) > index and isinstance(args[index], exp.Lambda) else None


def _replace_aggregate(node: Any, inner: Any, outer: Any = None, *more: Any) -> None:
    """Replace aggregate ``node`` by ``outer(inner, *more)``: its FILTER and OVER go to
    ``inner`` and to each aggregate in ``more``."""
    root, aggregates = node, [inner, *more]
    if isinstance(root.parent, exp.Filter) and root.arg_key == "this":
        root = root.parent
        aggregates = [exp.Filter(this=a, expression=root.expression.copy()) for a in aggregates]
    if isinstance(root.parent, exp.Window) and root.arg_key == "this":
        root = root.parent
        windows = []
        for aggregate in aggregates:
            window = root.copy()
            window.set("this", aggregate)
            windows.append(window)
        aggregates = windows
    root.replace(outer(*aggregates) if outer is not None else aggregates[0])
