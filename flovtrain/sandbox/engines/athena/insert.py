"""``INSERT INTO`` an external table: the rows written as new files under the table's location
(one folder per partition, added to Glue), in the table's own format, as Athena does."""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines.athena import catalog, storage, tables, writer
from flovtrain.sandbox.engines.athena.catalog import OPEN_CSV
from flovtrain.sandbox.engines.athena.errors import QueryError
from flovtrain.sandbox.engines.athena.results import Result


def insert(tree: Any, ctx: Any, execute: Any) -> Result:
    """Run ``INSERT INTO table [(columns)] SELECT ... | VALUES ...``.

    ``execute(select_tree, runner)`` runs the query part as the executor runs every query.
    The rows are cast to the table's column types; files are named after the execution, so a
    second INSERT adds files beside the first one's, never over them.
    """
    from sqlglot import exp

    target = tree.this
    named = [i.name.lower() for i in target.expressions] if isinstance(target, exp.Schema) else []
    table_node = target.this if isinstance(target, exp.Schema) else target
    database = (table_node.db or ctx.database).lower()
    info = catalog.get_table(ctx.account_id, ctx.region, database, table_node.name.lower())
    select = tree.expression
    if isinstance(select, exp.Values):
        alias = exp.TableAlias(this=exp.to_identifier("v"))
        select = exp.select("*").from_(exp.Subquery(this=select.copy(), alias=alias))
    columns = info.all_columns
    wanted = named or [c.name for c in columns]
    unknown = [n for n in wanted if n not in {c.name for c in columns}]
    if unknown:
        raise QueryError(
            f"COLUMN_NOT_FOUND: line 1:1: Insert column name does not exist in target table: "
            f"{unknown[0]}",
            2,
            1006,
        )
    partitioned_by = [k.name for k in info.partition_keys]
    bucket, prefix = storage.parse_s3_url(info.location)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if info.is_parquet:
        fmt, delimiter = "PARQUET", None
    else:
        default = "," if info.serde == OPEN_CSV else "\x01"
        key = "separatorChar" if info.serde == OPEN_CSV else "field.delim"
        fmt, delimiter = "TEXTFILE", info.serde_params.get(key, default)

    def runner(con: Any, sql: str) -> tuple[writer.Written, int]:
        got = con.sql(sql).columns
        if len(got) != len(wanted):
            raise QueryError(
                f"TYPE_MISMATCH: line 1:1: Insert query has mismatched column count: "
                f"Table: [{len(wanted)}], Query: [{len(got)}]",
                2,
                1006,
            )
        given = dict(zip(wanted, got, strict=True))
        parts = []
        for column in columns:  # the table's order; columns not given are NULL
            kind = tables.duck_type(column.type)
            value = f'"{given[column.name]}"' if column.name in given else "NULL"
            parts.append(f'CAST({value} AS {kind}) AS "{column.name}"')
        query = f"SELECT {', '.join(parts)} FROM ({sql})"
        count = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
        written = writer.write(
            con,
            query,
            ctx,
            bucket,
            prefix,
            fmt=fmt,
            partitioned_by=partitioned_by,
            compression="NONE"
            if fmt == "TEXTFILE"
            else None,  # the table's readers expect plain text
            delimiter=delimiter,
            single_name=f"{ctx.execution_id or 'insert'}_0",
            file_prefix=ctx.execution_id or "insert",
        )
        return written, count

    written, count = execute(select, runner)
    for values, location in written.partitions:
        catalog.add_partition(ctx.account_id, ctx.region, info, values, location)
    return Result(
        columns=[("rows", "BIGINT")],
        rows=[(str(count),)],
        statement_type="DML",
        substatement_type="INSERT",
        bytes_scanned=ctx.meter.bytes_read,
        files_read=ctx.meter.files_read,
    )
