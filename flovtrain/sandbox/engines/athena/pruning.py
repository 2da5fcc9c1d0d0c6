"""Partition pruning before any file is listed: which Glue partitions a query can need.

For each reference to a partitioned table, the conjuncts of its SELECT's WHERE that read only
partition columns are evaluated by DuckDB over the table's partition list (a few thousand
rows, milliseconds). A partition where they are all false or NULL cannot contribute a row, so
its files are never listed, opened or counted as scanned: Athena's partition pruning.
Anything not understood (joins, subqueries in the condition, no WHERE) keeps every partition.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines.athena.catalog import TableInfo

_INDEX = "__flovtrain_partition"


def _conjuncts(condition: Any) -> list[Any]:
    from sqlglot import exp

    out, stack = [], [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Paren):
            stack.append(node.this)
        elif isinstance(node, exp.And):
            stack.extend([node.expression, node.this])
        else:
            out.append(node)
    return out


def conditions(node: Any, keys: set[str]) -> list[Any] | None:
    """Return the WHERE conjuncts that read only partition ``keys`` of the table ``node``.

    None when this reference cannot be pruned (it then needs every partition).
    """
    from sqlglot import exp

    parent = node.parent
    select = parent.parent if isinstance(parent, exp.From) else None
    if not isinstance(select, exp.Select) or select.args.get("joins"):
        return None
    where = select.args.get("where")
    if where is None:
        return None
    alias = node.alias_or_name.lower()
    unsafe = (exp.Query, exp.Subquery, exp.AggFunc, exp.Window, exp.Rand, exp.Placeholder)
    out = []
    for item in _conjuncts(where.this):
        columns = list(item.find_all(exp.Column))
        if not columns or any(isinstance(n, unsafe) for n in item.walk()):
            continue
        if all(
            c.name.lower() in keys and (not c.table or c.table.lower() == alias) for c in columns
        ):
            out.append(item)
    return out or None


def wanted(
    con: Any, table: TableInfo, references: list[Any], default_db: str, select_list: str
) -> set[int] | None:
    """Indexes (in ``table.partitions``) of the partitions the references need; None for all.

    ``select_list`` types the partition columns the way the table's view does.
    """
    import pyarrow as pa
    from sqlglot import exp

    from flovtrain.sandbox.engines.athena import dialect

    if not table.partition_keys or not references:
        return None
    keys = {k.name for k in table.partition_keys}
    found = [conditions(node, keys) for node in references]
    if any(c is None for c in found):
        return None
    columns: dict[str, Any] = {_INDEX: list(range(len(table.partitions)))}
    for i, key in enumerate(table.partition_keys):
        columns[key.name] = [v[i] if i < len(v) else None for v, _ in table.partitions]
    con.register("__flovtrain_partitions", pa.table(columns))
    db, name = table.database, table.name
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{db}"')
    con.execute(
        f'CREATE OR REPLACE VIEW "{db}"."{name}" AS '
        f'SELECT "{_INDEX}", {select_list} FROM __flovtrain_partitions'
    )
    schema = {db: {name: {_INDEX: "bigint", **{k.name: k.type for k in table.partition_keys}}}}
    chosen: set[int] = set()
    try:
        for node, items in zip(references, found, strict=True):
            alias = node.alias_or_name
            probe = (
                exp.select(exp.column(_INDEX, table=alias, quoted=True))
                .from_(exp.table_(name, db=db, alias=alias, quoted=True))
                .where(exp.and_(*[i.copy() for i in items]))
            )
            sql = dialect.to_duckdb(probe, schema, default_db)
            chosen.update(int(row[0]) for row in con.execute(sql).fetchall())
    except Exception:  # noqa: BLE001 - anything unexpected: read every partition, still right
        return None
    finally:
        con.execute(f'DROP VIEW IF EXISTS "{db}"."{name}"')
        con.unregister("__flovtrain_partitions")
    return chosen
