"""Statements sqlglot keeps as raw commands: EXPLAIN (see explain.py), UNLOAD, SHOW CREATE
TABLE / VIEW, PREPARE, EXECUTE ... USING and DEALLOCATE PREPARE.

Prepared statements live in moto's Athena backend (per work group), where the
``CreatePreparedStatement`` API keeps them too.
"""

from __future__ import annotations

import re
from typing import Any

from flovtrain.sandbox.engines.athena import catalog, explain, storage, trino_functions, views
from flovtrain.sandbox.engines.athena.ddl import split_name, text_result
from flovtrain.sandbox.engines.athena.errors import QueryError
from flovtrain.sandbox.engines.athena.results import Result

_UNLOAD = re.compile(r"^UNLOAD\s*\((.*)\)\s*TO\s*'((?:[^']|'')*)'\s*WITH\s*\((.*)\)$", re.I | re.S)
_PROPERTY = re.compile(r"(\w+)\s*=\s*('(?:[^']|'')*'|ARRAY\s*\[[^\]]*\])", re.I)
_SHOW_CREATE = re.compile(r"^SHOW\s+CREATE\s+(TABLE|VIEW)\s+([\w.`\"]+)$", re.I)
_PREPARE = re.compile(r"^PREPARE\s+(\w+)\s+FROM\s+(.+)$", re.I | re.S)
_EXECUTE = re.compile(r"^EXECUTE\s+(\w+)(?:\s+USING\s+(.+))?$", re.I | re.S)
_DEALLOCATE = re.compile(r"^DEALLOCATE\s+PREPARE\s+(\w+)$", re.I)


def properties(text: str) -> dict[str, Any]:
    """``format = 'PARQUET', partitioned_by = ARRAY['a']`` as a dict (keys lower case).

    Examples
    --------
    >>> properties("format = 'PARQUET', partitioned_by = ARRAY['d', 'e']")
    {'format': 'PARQUET', 'partitioned_by': ['d', 'e']}
    """
    out: dict[str, Any] = {}
    for key, value in _PROPERTY.findall(text):
        if value.upper().startswith("ARRAY"):
            out[key.lower()] = re.findall(r"'((?:[^']|'')*)'", value)
        else:
            out[key.lower()] = value[1:-1].replace("''", "'")
    return out


def try_statement(sql: str, ctx: Any, run: Any) -> Result | None:
    """Run ``sql`` when it is one of this module's statements (``run`` runs an inner one)."""
    text = sql.strip().rstrip(";").strip()
    if m := explain.match(text):
        return explain.explain(m, ctx)
    if m := _UNLOAD.match(text):
        return unload(m.group(1), m.group(2).replace("''", "'"), properties(m.group(3)), ctx)
    if m := _SHOW_CREATE.match(" ".join(text.split())):
        return show_create(m.group(1).upper(), m.group(2), ctx)
    if m := _PREPARE.match(text):
        _prepared_backend(ctx).create_prepared_statement(
            m.group(1), _workgroup(ctx), m.group(2).strip(), ""
        )
        return Result(header_row=False, statement_type="UTILITY", substatement_type="PREPARE")
    if m := _EXECUTE.match(text):
        return execute(m.group(1), m.group(2), ctx, run)
    if m := _DEALLOCATE.match(text):
        _prepared(ctx, m.group(1))
        _prepared_backend(ctx).prepared_statements.pop(m.group(1), None)
        return Result(header_row=False, statement_type="UTILITY", substatement_type="DEALLOCATE")
    return None


def _prepared_backend(ctx: Any) -> Any:
    from moto.athena.models import athena_backends

    return athena_backends[ctx.account_id][ctx.region]


def _workgroup(ctx: Any) -> Any:
    return _prepared_backend(ctx).work_groups.get(ctx.workgroup)


def _prepared(ctx: Any, name: str) -> str:
    found = _prepared_backend(ctx).get_prepared_statement(name, _workgroup(ctx))
    if found is None:
        raise QueryError(f"NOT_FOUND: Prepared statement not found: {name}", 2, 1006)
    return found.query_statement


def execute(name: str, using: str | None, ctx: Any, run: Any) -> Result:
    """``EXECUTE name USING v1, v2``: the prepared statement with each ``?`` replaced in order."""
    import sqlglot

    statement = _prepared(ctx, name)
    values = (
        [
            v.sql(dialect="athena")
            for v in sqlglot.parse_one(f"SELECT {using}", read="athena").expressions
        ]
        if using
        else []
    )
    parts = re.split(r"('(?:[^']|'')*'|\?)", statement)
    wanted = parts.count("?")
    if wanted != len(values):
        raise QueryError(
            f"INVALID_PARAMETER_USAGE: Incorrect number of parameters: expected {wanted} "
            f"but found {len(values)}",
            2,
            1006,
        )
    given = iter(values)
    return run("".join(next(given) if p == "?" else p for p in parts), ctx)


def unload(select: str, location: str, props: dict[str, Any], ctx: Any) -> Result:
    """``UNLOAD (query) TO 's3://...' WITH (format = ...)``: the rows written as files under
    the location; the result is the data manifest listing them."""
    from flovtrain.sandbox.engines.athena import dialect, executor, writer

    tree = dialect.parse(select)
    tree.meta[trino_functions.WRITTEN] = True  # rows go to files, not printed
    from sqlglot import exp

    if not isinstance(tree, exp.Query):
        raise QueryError("UNLOAD supports SELECT and WITH queries only", 2, 1004)
    if "format" not in props:
        raise QueryError("Missing required property: format", 2, 1006)
    fmt = props["format"].upper()
    partitioned_by = [p.lower() for p in props.get("partitioned_by") or []]
    if partitioned_by:  # Athena writes partitions into a location that has data already
        bucket, prefix = storage.parse_s3_url(location)
    else:
        bucket, prefix = writer.check_target(ctx, location, "UNLOAD")
    if prefix and not prefix.endswith("/"):
        prefix += "/"

    def runner(con: Any, sql: str) -> writer.Written:
        columns = [c.lower() for c in con.sql(sql).columns]
        if partitioned_by and columns[-len(partitioned_by) :] != partitioned_by:
            raise QueryError(
                "HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the "
                f"table and in the same order as the partition specification: {partitioned_by}"
            )
        return writer.write(
            con,
            sql,
            ctx,
            bucket,
            prefix,
            fmt=fmt,
            partitioned_by=partitioned_by,
            compression=props.get("compression"),
            delimiter=props.get("field_delimiter"),
            single_name=f"{ctx.execution_id or 'data'}_0",
        )

    written = executor._execute(tree, ctx, runner)
    return Result.of_write("DML", "UNLOAD", ctx.meter, written.paths)


def show_create(kind: str, name: str, ctx: Any) -> Result:
    """``SHOW CREATE TABLE`` (Hive DDL, a line a row) or ``SHOW CREATE VIEW`` (Trino's)."""
    database, table = split_name(name, ctx.database)
    raw = catalog.table_dict(ctx.account_id, ctx.region, database, table)
    is_view = raw.get("TableType") == "VIRTUAL_VIEW"
    if kind == "VIEW":
        if not is_view:
            raise QueryError(
                f"NOT_SUPPORTED: Relation 'awsdatacatalog.{database}.{table}' is a table, "
                "not a view",
                2,
                1006,
            )
        sql = views.original_sql(raw)
        lines = [f'CREATE VIEW "awsdatacatalog"."{database}"."{table}" SECURITY DEFINER AS']
        return text_result("Create View", lines + sql.splitlines(), sub="SHOW_CREATE_VIEW")
    if is_view:
        raise QueryError(
            f"NOT_SUPPORTED: Relation 'awsdatacatalog.{database}.{table}' is a view, not a "
            "table. Use SHOW CREATE VIEW.",
            2,
            1006,
        )
    return text_result("createtab_stmt", hive_ddl(raw, table), sub="SHOW_CREATE_TABLE")


def hive_ddl(raw: dict[str, Any], table: str) -> list[str]:
    """The lines Athena prints for ``SHOW CREATE TABLE`` of a Glue table."""
    sd = raw.get("StorageDescriptor") or {}
    serde = sd.get("SerdeInfo") or {}

    def column_list(columns: list[dict[str, Any]]) -> list[str]:
        items = [f"  `{c['Name']}` {c.get('Type', 'string')}" for c in columns]
        return [item + (", " if i < len(items) - 1 else ")") for i, item in enumerate(items)]

    lines = [f"CREATE EXTERNAL TABLE `{table}`("] + column_list(sd.get("Columns") or [])
    if raw.get("PartitionKeys"):
        lines += ["PARTITIONED BY ( "] + column_list(raw["PartitionKeys"])
    lines += ["ROW FORMAT SERDE ", f"  '{serde.get('SerializationLibrary', '')}' "]
    params = serde.get("Parameters") or {}
    if params:
        items = [f"  '{k}'='{_escape(v)}'" for k, v in params.items()]
        lines += ["WITH SERDEPROPERTIES ( "]
        lines += [item + (", " if i < len(items) - 1 else ") ") for i, item in enumerate(items)]
    lines += [
        "STORED AS INPUTFORMAT ",
        f"  '{sd.get('InputFormat', '')}' ",
        "OUTPUTFORMAT ",
        f"  '{sd.get('OutputFormat', '')}'",
        "LOCATION",
        f"  '{sd.get('Location', '')}'",
    ]
    tbl = {k: v for k, v in (raw.get("Parameters") or {}).items() if k != "EXTERNAL"}
    if tbl:
        items = [f"  '{k}'='{_escape(v)}'" for k, v in sorted(tbl.items())]
        lines += ["TBLPROPERTIES ("]
        lines += [item + ("," if i < len(items) - 1 else ")") for i, item in enumerate(items)]
    return lines


def _escape(value: str) -> str:
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in str(value))
