"""Run one Athena statement: DDL against Glue, queries on DuckDB over the sandbox's S3."""

from __future__ import annotations

import itertools
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from flovtrain.sandbox.engines.athena import (
    catalog,
    ddl,
    dialect,
    insert,
    pruning,
    statements,
    storage,
    tables,
    trino_functions,
    views,
    writer,
)
from flovtrain.sandbox.engines.athena.cells import (
    ARROW_TEXT_TYPES,
    arrow_texts,
    column_cells,
    rows_of_batch,
)
from flovtrain.sandbox.engines.athena.errors import (
    QueryCancelled,
    QueryError,
    from_duckdb,
    positioned,
)
from flovtrain.sandbox.engines.athena.results import Result

_THREADS = max(1, os.cpu_count() or 1)
_GLUE_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "HUGEINT": "decimal(38,0)",
}


@dataclass
class Context:
    """Where and how a statement runs."""

    account_id: str
    region: str
    database: str = "default"
    execution_id: str = ""
    output_location: str = ""  # the folder results go to (s3://.../)
    meter: storage.ScanMeter = field(default_factory=storage.ScanMeter)
    workgroup: str = "primary"
    _connection: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def interrupt(self) -> None:
        """Stop the running statement (called from another thread)."""
        self.meter.cancelled.set()
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.interrupt()
                except Exception:  # noqa: BLE001 - already finished
                    pass


def run(sql: str, ctx: Context) -> Result:
    """Run one statement and return its result.

    Raises
    ------
    QueryError
        The statement FAILED (message in Athena's words, with Trino's line:column).
    QueryCancelled
        Stopped by the user or over the workgroup's byte limit.
    """
    try:
        return _run(sql, ctx)
    except QueryError as exc:
        raise positioned(exc, sql) from None


def _run(sql: str, ctx: Context) -> Result:
    from sqlglot import exp

    catalog.ensure_default_database(ctx.account_id, ctx.region)
    special = statements.try_statement(sql, ctx, run)
    if special is not None:
        return special
    text = ddl.try_text_statement(sql, ctx)
    if text is not None:
        return text
    tree = dialect.parse(sql)
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind in ("DATABASE", "SCHEMA"):
            return ddl.create_database(tree, ctx)
        if kind == "VIEW":
            return views.create(tree, ctx, lambda select: _execute(select, ctx, _describe))
        if tree.args.get("expression") is not None:
            return ctas(tree, ctx)
        return ddl.create_table(tree, ctx)
    if isinstance(tree, exp.Drop):
        if (tree.args.get("kind") or "").upper() == "VIEW":
            return views.drop(tree, ctx)
        return ddl.drop(tree, ctx)
    if isinstance(tree, exp.Insert):
        return insert.insert(tree, ctx, lambda select, runner: _execute(select, ctx, runner))
    if isinstance(tree, exp.Alter):
        return ddl.alter(tree, ctx)
    if isinstance(tree, exp.Describe):
        return ddl.try_text_statement("DESCRIBE " + tree.this.sql(), ctx) or Result()
    if isinstance(tree, exp.Command):
        raise QueryError(
            f"line 1:1: mismatched input '{tree.this}'. The sandbox's Athena runs "
            "SELECT, WITH, CTAS and the DDL of chapter 08.",
            2,
            1004,
        )
    if not isinstance(tree, (exp.Query,)):
        raise QueryError(
            f"Statement {type(tree).__name__.upper()} is not supported by the sandbox's Athena"
        )
    return query(tree, ctx)


def _referenced_tables(tree: Any, ctx: Context) -> list[tuple[Any, str, str]]:
    from sqlglot import exp

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    out = []
    for node in tree.find_all(exp.Table):
        if not node.name or isinstance(node.this, exp.Func):
            continue
        if not node.db and node.name.lower() in ctes:
            continue
        out.append((node, (node.db or ctx.database).lower(), node.name.lower()))
    return out


_DATABASES = threading.local()  # one DuckDB database per thread that runs statements
_CATALOGS = itertools.count(1)


def _database() -> Any:
    """This thread's DuckDB database, opened once (opening one costs ~15 ms, closing ~8,
    and a warm one runs the daily OHLC ~10 % faster). Python UDFs live in a database's
    catalog and call back into the connection that registered them, so they are registered
    here, on a connection never closed, and never per query."""
    import duckdb

    found = getattr(_DATABASES, "db", None)
    if found is None:
        found = duckdb.connect(config={"threads": _THREADS})
        found.execute("SET TimeZone = 'UTC'")
        trino_functions.install_udfs(found)
        _DATABASES.db = found
    return found


def _connect(ctx: Context) -> tuple[Any, str]:
    """A connection of this thread's database with a catalog of its own (the statement's
    views), returned with that catalog's name for :func:`_disconnect`."""
    con = _database().cursor()
    catalog_name = f"q{next(_CATALOGS)}"
    con.execute(f"ATTACH ':memory:' AS {catalog_name}")
    con.execute(f"USE {catalog_name}")
    con.execute(f"SET threads = {_THREADS}")  # a CTAS writes with one thread (a global setting)
    return con, catalog_name


def _disconnect(con: Any, catalog_name: str) -> None:
    """Drop the statement's catalog (its views, registered Arrow data and TEMP macros go with
    the connection) and close the connection; the database stays open."""
    try:
        con.execute("USE memory")
        con.execute(f"DETACH {catalog_name}")
    except Exception:  # noqa: BLE001 - an interrupted connection may refuse: it closes anyway
        pass
    con.close()


def _columns_read(tree: Any) -> set[str] | None:
    """Names the query can read (every identifier it mentions); None when it may read all.

    A superset is harmless (a column converted for nothing); a star or a NATURAL join reads
    columns the text never names, so then every column is read.
    """
    from sqlglot import exp

    if any(not isinstance(s.parent, exp.Count) for s in tree.find_all(exp.Star)):
        return None
    if any("NATURAL" in (j.args.get("method") or "").upper() for j in tree.find_all(exp.Join)):
        return None
    return {i.name.lower() for i in tree.find_all(exp.Identifier)}


def _streamable(tree: Any) -> bool:
    """Whether DuckDB scans each table of the statement at most once per reference.

    A registered stream (:mod:`.streaming`) can be scanned once, so a table is streamed only
    when the statement is one plain SELECT: no CTE (DuckDB may scan it once per use), no
    subquery, derived table or expanded view (a correlated one is planned as a second scan),
    no set operation; and :func:`_prepare` also asks that the table be named exactly once
    (no self-join). Anything else reads the whole table first, as before.
    """
    from sqlglot import exp

    if not isinstance(tree, exp.Select):
        return False
    if any(True for _ in tree.find_all(exp.CTE, exp.Subquery, exp.SetOperation)):
        return False
    return sum(1 for _ in tree.find_all(exp.Query)) == 1


def _prepare(
    tree: Any, ctx: Context, con: Any, lenient: bool, failures: list[BaseException] | None = None
) -> str:
    """Load every referenced table (only the partitions and columns the query needs) and
    register it as a view; return the DuckDB SQL.

    With ``failures`` (a statement that runs, never one only bound or described), a table the
    statement scans once (:func:`_streamable`) is registered as a stream of batches parsed as
    DuckDB consumes them; an exception ending a stream is appended to ``failures``."""
    schema: dict[str, dict[str, dict[str, str]]] = {}
    references: dict[tuple[str, str], list[Any]] = {}
    for node, database, name in _referenced_tables(tree, ctx):
        node.set("catalog", None)
        references.setdefault((database, name), []).append(node)
    columns = _columns_read(tree)
    stream = failures is not None and _streamable(tree)
    infos = {}
    for database, name in references:
        info = catalog.get_table(ctx.account_id, ctx.region, database, name)
        infos[(database, name)] = info
        schema.setdefault(database, {})[name] = {c.name: c.type for c in info.all_columns}
    # transpile first: a query Athena rejects at analysis (unknown column) reads nothing
    sql = dialect.to_duckdb(tree, schema, ctx.database)
    for i, ((database, name), nodes) in enumerate(references.items()):
        info = infos[(database, name)]
        wanted = pruning.wanted(con, info, nodes, ctx.database, tables.partition_select_list(info))
        once = failures if stream and len(nodes) == 1 else None
        data, select_list = tables.load(
            info, ctx.account_id, ctx.region, ctx.meter, lenient, columns, wanted, once
        )
        if isinstance(data, str):  # SQL over files DuckDB reads itself
            source = f"({data})"
        else:
            con.register(f"__ds_{i}", data)
            source = f"__ds_{i}"
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
        con.execute(
            f'CREATE OR REPLACE VIEW "{database}"."{name}" AS SELECT {select_list} FROM {source}'
        )
    return sql


def _is_parse_failure(exc: Exception) -> bool:
    text = str(exc)
    return (
        "CSV conversion error" in text
        or "Expected " in text
        and "columns" in text
        or "CSV parse error" in text
    )


def _execute(tree: Any, ctx: Context, runner: Any, stream: bool = False) -> Any:
    """Prepare and run on a connection of its own; retry leniently when a CSV row is malformed.

    ``stream``: the runner executes the statement once (never only binds it), so tables it
    scans once may be streamed (:func:`_prepare`); a failure inside a stream reaches DuckDB's
    error as text only, so the original exception is handled instead.
    """
    import duckdb

    tree = views.expand(tree.copy(), ctx)
    lenient = False
    while True:
        failures: list[BaseException] | None = [] if stream else None
        con, catalog_name = _connect(ctx)
        with ctx._lock:
            ctx._connection = con
        try:
            sql = _prepare(tree.copy(), ctx, con, lenient, failures)
            trino_functions.install(con, sql, udfs=False)  # the macros the rewritten SQL calls
            return runner(con, sql)
        except (QueryError, QueryCancelled):
            raise
        except duckdb.InterruptException:
            raise QueryCancelled("Query was cancelled by user") from None
        except Exception as exc:  # noqa: BLE001 - DuckDB and Arrow raise many kinds
            error = failures[0] if failures else exc  # a stream's own, not DuckDB's text of it
            if isinstance(error, (QueryError, QueryCancelled)):
                raise error from None
            cause = error
            while cause.__cause__ is not None or cause.__context__ is not None:
                inner = cause.__cause__ or cause.__context__
                if isinstance(inner, (QueryCancelled, QueryError)):
                    raise inner from None
                cause = inner
            ctx.meter.check()
            if "Bytes scanned limit" in str(error):
                raise QueryCancelled("Bytes scanned limit was exceeded") from None
            if "cancelled by user" in str(error):
                raise QueryCancelled("Query was cancelled by user") from None
            if stream and "cannot be scanned again" in str(error):  # _streamable was wrong
                stream = False
                ctx.meter.bytes_read = ctx.meter.files_read = 0
                continue
            if not lenient and _is_parse_failure(error):
                lenient = True
                ctx.meter.bytes_read = ctx.meter.files_read = 0
                continue
            raise from_duckdb(error) from None
        finally:
            with ctx._lock:
                ctx._connection = None
            _disconnect(con, catalog_name)


def _describe(con: Any, sql: str) -> list[tuple[str, str]]:
    """The result columns of a query, (name, DuckDB type), without running it."""
    rel = con.sql(sql)
    return [(_athena_name(n), str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]


def query(tree: Any, ctx: Context) -> Result:
    """Run a SELECT / WITH query and return typed string rows."""

    def runner(con: Any, sql: str) -> Result:
        rel = con.sql(sql)
        result = Result(
            columns=[
                (_athena_name(name), str(kind))
                for name, kind in zip(rel.columns, rel.types, strict=True)
            ]
        )
        kinds = [kind for _, kind in result.columns]
        # a batch at a time: a long result streams to disk instead of piling up in memory
        if all(kind.upper() in ARROW_TEXT_TYPES for kind in kinds):
            for batch in rel.to_arrow_reader(50_000):  # formatted and written vectorized
                texts = [arrow_texts(col, kind) for col, kind in zip(batch, kinds, strict=True)]
                result.add_texts(texts)
            return result
        formatters = [column_cells(kind) for kind in kinds]
        cursor = con.execute(sql)
        while batch := cursor.fetchmany(5000):
            result.add_rows(rows_of_batch(batch, formatters))
        return result

    result = _execute(tree, ctx, runner, stream=True)
    result.bytes_scanned, result.files_read = ctx.meter.bytes_read, ctx.meter.files_read
    return result


def _athena_name(name: str) -> str:
    """Unnamed columns are ``_col0``, ``_col1``... in Athena (sqlglot writes ``_col_0``)."""
    match = re.fullmatch(r"_col_(\d+)", name)
    return f"_col{match.group(1)}" if match else name


def _ctas_props(tree: Any) -> dict[str, Any]:
    from sqlglot import exp

    props: dict[str, Any] = {}
    properties = tree.args.get("properties")
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.FileFormatProperty):
            props["format"] = (prop.this.name if prop.this else "").upper()
        elif isinstance(prop, exp.PartitionedByProperty):
            node = prop.this
            items = node.expressions if hasattr(node, "expressions") else [node]
            props["partitioned_by"] = [i.name.lower() for i in items]
        elif isinstance(prop, exp.LocationProperty):
            props["external_location"] = prop.this.name
        elif isinstance(prop, exp.Property):
            value = prop.args.get("value")
            if isinstance(value, exp.Array):
                props[prop.name.lower()] = [v.name.lower() for v in value.expressions]
            else:
                props[prop.name.lower()] = value.name if value is not None else ""
    return props


def ctas(tree: Any, ctx: Context) -> Result:
    """Run CTAS: ``CREATE TABLE ... WITH (format='PARQUET', external_location=...,
    partitioned_by=...) AS SELECT``."""
    table_node = tree.this
    database = (table_node.db or ctx.database).lower()
    name = table_node.name.lower()
    if not catalog.has_database(ctx.account_id, ctx.region, database):
        from flovtrain.sandbox.engines.athena.errors import schema_not_found

        raise schema_not_found(database)
    glue = catalog.glue(ctx.account_id, ctx.region)
    if name in glue.databases[database].tables:
        if tree.args.get("exists"):
            return Result(
                header_row=False, statement_type="DDL", substatement_type="CREATE_TABLE_AS_SELECT"
            )
        raise QueryError(
            f"TABLE_ALREADY_EXISTS: Table 'awsdatacatalog.{database}.{name}' already exists"
        )
    props = _ctas_props(tree)
    fmt = props.get("format", "PARQUET")
    if fmt != "PARQUET":
        raise QueryError(
            f"The sandbox's Athena writes CTAS tables as PARQUET only (got format='{fmt}')."
        )
    location = props.get("external_location") or (
        f"{ctx.output_location.rstrip('/')}/tables/{ctx.execution_id}/"
    )
    if not location.endswith("/"):
        location += "/"
    bucket, prefix = writer.check_target(ctx, location, f"table '{database}.{name}'")
    partitioned_by = props.get("partitioned_by") or []
    select = tree.args["expression"]

    def runner(con: Any, sql: str) -> tuple[list[tuple[str, str]], writer.Written]:
        rel = con.sql(sql)
        cols = [(c.lower(), str(t)) for c, t in zip(rel.columns, rel.types, strict=True)]
        missing = [p for p in partitioned_by if p not in [c for c, _ in cols]]
        if missing:
            raise QueryError(f"Partition columns {missing} are not in the SELECT list")
        if partitioned_by and [c for c, _ in cols[-len(partitioned_by) :]] != partitioned_by:
            raise QueryError(
                "HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in "
                f"the table and in the same order as the partition specification: {partitioned_by}"
            )
        casts = ", ".join(
            f'CAST("{c}" AS TIMESTAMP) AS "{c}"' if t == "TIMESTAMP WITH TIME ZONE" else f'"{c}"'
            for c, t in cols
        )
        written = writer.write(
            con,
            f"SELECT {casts} FROM ({sql})",
            ctx,
            bucket,
            prefix,
            partitioned_by=partitioned_by,
            compression=props.get("write_compression") or props.get("parquet_compression"),
        )
        return cols, written

    cols, written = _execute(select, ctx, runner)
    data_cols = [(c, t) for c, t in cols if c not in partitioned_by]
    table_input = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "EXTERNAL": "TRUE",
            "classification": "parquet",
            "has_encrypted_data": "false",
        },
        "PartitionKeys": [
            {"Name": c, "Type": _glue_type(t)} for c, t in cols if c in partitioned_by
        ],
        "StorageDescriptor": {
            "Columns": [{"Name": c, "Type": _glue_type(t)} for c, t in data_cols],
            "Location": location,
            "InputFormat": catalog.PARQUET_INPUT,
            "OutputFormat": catalog.PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": catalog.PARQUET_SERDE, "Parameters": {}},
        },
    }
    catalog.create_table(ctx.account_id, ctx.region, database, table_input, exists_ok=False)
    info = catalog.get_table(ctx.account_id, ctx.region, database, name)
    for values, part_location in written.partitions:
        catalog.add_partition(ctx.account_id, ctx.region, info, values, part_location)
    return Result.of_write("DDL", "CREATE_TABLE_AS_SELECT", ctx.meter, written.paths)


def _glue_type(duck: str) -> str:
    if duck.startswith("DECIMAL"):
        return duck.lower()
    return _GLUE_TYPES.get(duck, "string")
