"""Views: ``CREATE [OR REPLACE] VIEW`` / ``DROP VIEW`` kept in Glue as Athena keeps them, and
expanded into the queries that read them.

Athena stores a view as a Glue table of type ``VIRTUAL_VIEW`` whose ``ViewOriginalText`` is
``/* Presto View: <base64 JSON> */`` (the JSON holds the original SQL and the column types),
so Glue, awswrangler and the console see it as they would on AWS.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from flovtrain.sandbox.engines.athena import catalog
from flovtrain.sandbox.engines.athena.errors import QueryError
from flovtrain.sandbox.engines.athena.results import Result, athena_type

_PREFIX, _SUFFIX = "/* Presto View: ", " */"
_HIVE = {"varchar": "string", "integer": "int", "real": "float"}


def encode(sql: str, database: str, columns: list[tuple[str, str]]) -> str:
    """``ViewOriginalText`` of a view.

    Examples
    --------
    >>> text = encode("SELECT 1 AS a", "db", [("a", "integer")])
    >>> original_sql({"ViewOriginalText": text})
    'SELECT 1 AS a'
    """
    body = {
        "originalSql": sql,
        "catalog": "awsdatacatalog",
        "schema": database,
        "columns": [{"name": n, "type": t} for n, t in columns],
        "owner": "",
        "runAsInvoker": False,
    }
    return _PREFIX + base64.b64encode(json.dumps(body).encode()).decode() + _SUFFIX


def original_sql(raw: dict[str, Any]) -> str:
    """The SQL a Glue view was created with."""
    text = raw.get("ViewOriginalText") or ""
    if text.startswith(_PREFIX) and text.endswith(_SUFFIX):
        return json.loads(base64.b64decode(text[len(_PREFIX) : -len(_SUFFIX)]))["originalSql"]
    return text


def create(tree: Any, ctx: Any, describe: Any) -> Result:
    """``CREATE [OR REPLACE] VIEW name AS query``; ``describe(query)`` returns its columns."""
    table = tree.this
    database = (table.db or ctx.database).lower()
    name = table.name.lower()
    select = tree.args["expression"]
    sql = select.sql(dialect="athena")
    columns = [(n, _trino_type(t)) for n, t in describe(select)]
    glue = catalog.glue(ctx.account_id, ctx.region)
    if database not in glue.databases:
        from flovtrain.sandbox.engines.athena.errors import schema_not_found

        raise schema_not_found(database)
    existing = glue.databases[database].tables.get(name)
    if existing is not None:
        if existing.as_dict().get("TableType") != "VIRTUAL_VIEW":
            raise QueryError(
                f"TABLE_ALREADY_EXISTS: Table 'awsdatacatalog.{database}.{name}' already exists"
            )
        if not tree.args.get("replace"):
            raise QueryError(f"View 'awsdatacatalog.{database}.{name}' already exists", 2, 1006)
        del glue.databases[database].tables[name]
    catalog.create_table(
        ctx.account_id,
        ctx.region,
        database,
        {
            "Name": name,
            "TableType": "VIRTUAL_VIEW",
            "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "ViewOriginalText": encode(sql, database, columns),
            "ViewExpandedText": "/* Presto View */",
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": _HIVE.get(t, t)} for n, t in columns],
                "SerdeInfo": {},
                "Location": "",
            },
            "PartitionKeys": [],
        },
        exists_ok=False,
    )
    return Result(header_row=False, statement_type="DDL", substatement_type="CREATE_VIEW")


def _trino_type(duck: str) -> str:
    kind, precision, scale = athena_type(duck)
    return f"decimal({precision},{scale})" if kind == "decimal" else kind


def drop(tree: Any, ctx: Any) -> Result:
    """``DROP VIEW [IF EXISTS] name``."""
    glue = catalog.glue(ctx.account_id, ctx.region)
    for table in tree.args.get("tables") or [tree.this]:
        database = (table.db or ctx.database).lower()
        name = table.name.lower()
        db = glue.databases.get(database)
        found = db.tables.get(name) if db is not None else None
        if found is None or found.as_dict().get("TableType") != "VIRTUAL_VIEW":
            if found is None and tree.args.get("exists"):
                continue
            raise QueryError(
                f"line 1:1: View 'awsdatacatalog.{database}.{name}' does not exist", 2, 1006
            )
        del db.tables[name]
    return Result(header_row=False, statement_type="DDL", substatement_type="DROP_VIEW")


def expand(tree: Any, ctx: Any, depth: int = 0) -> Any:
    """Replace every table reference that is a view by the view's query (recursively)."""
    from sqlglot import exp

    from flovtrain.sandbox.engines.athena import dialect

    if depth > 16:
        raise QueryError("View definition is recursive", 2, 1006)
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    glue = catalog.glue(ctx.account_id, ctx.region)
    for node in list(tree.find_all(exp.Table)):
        if not node.name or isinstance(node.this, exp.Func):
            continue
        if not node.db and node.name.lower() in ctes:
            continue
        database = (node.db or ctx.database).lower()
        db = glue.databases.get(database)
        found = db.tables.get(node.name.lower()) if db is not None else None
        if found is None or found.as_dict().get("TableType") != "VIRTUAL_VIEW":
            continue
        inner = dialect.parse(original_sql(found.as_dict()))
        inner = expand(_qualify_tables(inner, database), ctx, depth + 1)
        alias = node.alias or node.name
        node.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return tree


def _qualify_tables(tree: Any, database: str) -> Any:
    """Tables a view names without a database live in the view's database."""
    from sqlglot import exp

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in tree.find_all(exp.Table):
        if node.name and not node.db and node.name.lower() not in ctes:
            if not isinstance(node.this, exp.Func):
                node.set("db", exp.to_identifier(database))
    return tree
