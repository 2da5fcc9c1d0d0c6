"""DDL through Athena: each statement updates (or reads) the Glue catalog, as on AWS."""

from __future__ import annotations

import re
from typing import Any

from flovtrain.sandbox.engines.athena import catalog, serdes, storage
from flovtrain.sandbox.engines.athena.catalog import (
    LAZY_SIMPLE,
    OPEN_CSV,
    PARQUET_INPUT,
    PARQUET_OUTPUT,
    PARQUET_SERDE,
    TEXT_INPUT,
    TEXT_OUTPUT,
)
from flovtrain.sandbox.engines.athena.errors import QueryError
from flovtrain.sandbox.engines.athena.results import Result

_SHOW_TABLES = re.compile(
    r"^SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+`?(\w+)`?)?(?:\s+(?:LIKE\s+)?'([^']*)')?$", re.I
)
_SHOW_DATABASES = re.compile(r"^SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+(?:LIKE\s+)?'([^']*)')?$", re.I)
_SHOW_PARTITIONS = re.compile(r"^SHOW\s+PARTITIONS\s+([\w.`\"]+)$", re.I)
_SHOW_COLUMNS = re.compile(r"^SHOW\s+COLUMNS\s+(?:IN|FROM)\s+([\w.`\"]+)$", re.I)
_MSCK = re.compile(r"^MSCK\s+REPAIR\s+TABLE\s+([\w.`\"]+)$", re.I)
_DESCRIBE = re.compile(r"^(?:DESCRIBE|DESC)\s+(?:FORMATTED\s+|EXTENDED\s+)?([\w.`\"]+)$", re.I)


def split_name(name: str, default_db: str) -> tuple[str, str]:
    parts = [p.strip('`"').lower() for p in name.split(".")]
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    return default_db, parts[0]


def text_result(column: str, lines: list[str], kind: str = "DDL", sub: str = "") -> Result:
    return Result(
        columns=[(column, "VARCHAR")],
        rows=[(line,) for line in lines],
        header_row=False,
        statement_type=kind,
        substatement_type=sub,
    )


def try_text_statement(sql: str, ctx: Any) -> Result | None:
    """Handle statements sqlglot keeps as raw commands (SHOW ..., MSCK, DESCRIBE)."""
    text = " ".join(sql.strip().rstrip(";").split())
    acct, region = ctx.account_id, ctx.region
    if m := _SHOW_TABLES.match(text):
        db = (m.group(1) or ctx.database).lower()
        names = catalog.table_names(acct, region, db)
        if m.group(2):
            rx = re.compile("^" + m.group(2).replace("*", ".*") + "$", re.I)
            names = [n for n in names if rx.match(n)]
        return text_result("tab_name", names, sub="SHOW_TABLES")
    if m := _SHOW_DATABASES.match(text):
        names = catalog.database_names(acct, region)
        if m.group(1):
            rx = re.compile("^" + m.group(1).replace("*", ".*") + "$", re.I)
            names = [n for n in names if rx.match(n)]
        return text_result("database_name", names, sub="SHOW_DATABASES")
    if m := _SHOW_PARTITIONS.match(text):
        table = catalog.get_table(acct, region, *split_name(m.group(1), ctx.database))
        if not table.partition_keys:
            raise QueryError(
                f"FAILED: SemanticException Table {table.name} is not a partitioned table"
            )
        lines = sorted(
            "/".join(f"{k.name}={v}" for k, v in zip(table.partition_keys, values, strict=False))
            for values, _ in table.partitions
        )
        return text_result("partition", lines, sub="SHOW_PARTITIONS")
    if m := _SHOW_COLUMNS.match(text):
        table = catalog.get_table(acct, region, *split_name(m.group(1), ctx.database))
        return text_result("field", [c.name for c in table.all_columns], sub="SHOW_COLUMNS")
    if m := _DESCRIBE.match(text):
        table = catalog.get_table(acct, region, *split_name(m.group(1), ctx.database))
        lines = [f"{c.name:<20}\t{c.type:<20}\t{c.comment}" for c in table.all_columns]
        if table.partition_keys:
            lines += [
                "",
                "# Partition Information",
                f"{'# col_name':<20}\t{'data_type':<20}\tcomment",
                "",
            ]
            lines += [f"{c.name:<20}\t{c.type:<20}\t{c.comment}" for c in table.partition_keys]
        # Athena's ColumnInfo names three columns; each row is one tab-separated cell
        result = text_result("col_name", lines, sub="DESCRIBE_TABLE")
        result.columns += [("data_type", "VARCHAR"), ("comment", "VARCHAR")]
        return result
    if m := _MSCK.match(text):
        return msck_repair(
            catalog.get_table(acct, region, *split_name(m.group(1), ctx.database)), ctx
        )
    return None


def msck_repair(table: catalog.TableInfo, ctx: Any) -> Result:
    """Add every ``k1=v1/k2=v2/`` folder under the table location that Glue does not know."""
    if not table.partition_keys:
        return text_result("result", [], sub="MSCK_REPAIR_TABLE")
    bucket, prefix = storage.parse_s3_url(table.location)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    keys = [k.name for k in table.partition_keys]
    known = {tuple(values) for values, _ in table.partitions}
    found: dict[tuple[str, ...], str] = {}
    for name, _ in storage.list_keys(ctx.account_id, ctx.region, bucket, prefix):
        parts = name[len(prefix) :].split("/")[:-1]
        if len(parts) < len(keys):
            continue
        pairs = [p.split("=", 1) for p in parts[: len(keys)]]
        if any(len(p) != 2 or p[0].lower() != k for p, k in zip(pairs, keys, strict=True)):
            continue
        values = tuple(p[1] for p in pairs)
        if values not in known and values not in found:
            found[values] = f"s3://{bucket}/{prefix}{'/'.join(parts[: len(keys)])}/"
    lines = []
    if found:
        names = sorted(
            f"{table.name}:" + "/".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
            for values in found
        )
        lines.append("Partitions not in metastore:\t" + "\t".join(names))
    for values, location in sorted(found.items()):
        catalog.add_partition(ctx.account_id, ctx.region, table, list(values), location)
        lines.append(
            f"Repair: Added partition to metastore {table.name}:"
            + "/".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
        )
    return text_result("result", lines, sub="MSCK_REPAIR_TABLE")


def _props(tree: Any) -> dict[str, Any]:
    """Collect the Hive properties sqlglot parsed on a CREATE."""
    from sqlglot import exp

    out: dict[str, Any] = {"tblproperties": {}, "serde_params": {}}
    properties = tree.args.get("properties")
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.ExternalProperty):
            out["external"] = True
        elif isinstance(prop, exp.LocationProperty):
            out["location"] = prop.this.name
        elif isinstance(prop, exp.PartitionedByProperty):
            out["partitioned_by"] = prop.this
        elif isinstance(prop, exp.FileFormatProperty):
            if isinstance(prop.this, exp.InputOutputFormat):  # STORED AS INPUTFORMAT '...' ...
                for arg in ("input_format", "output_format"):
                    node = prop.this.args.get(arg)
                    if node is not None:
                        out[arg] = node.name
            else:
                out["format"] = (prop.this.name if prop.this else "").upper()
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            out["serde"] = prop.this.name
            serde_props = prop.args.get("serde_properties")
            for p in serde_props.expressions if serde_props else []:
                out["serde_params"][p.name] = p.text("value")
        elif isinstance(prop, exp.RowFormatDelimitedProperty):
            out["serde"] = LAZY_SIMPLE
            for arg, param in (
                ("fields", "field.delim"),
                ("escaped", "escape.delim"),
                ("lines", "line.delim"),
                ("collection_items", "collection.delim"),
                ("map_keys", "mapkey.delim"),
                ("null", "serialization.null.format"),
            ):
                value = prop.args.get(arg)
                if value is not None:
                    out["serde_params"][param] = value.name
        elif isinstance(prop, exp.Property):
            key = prop.name
            value = prop.args.get("value")
            out["tblproperties"][key] = value.name if isinstance(value, exp.Literal) else value
        elif isinstance(prop, exp.SchemaCommentProperty):
            out["comment"] = prop.this.name
    return out


def _column_type(node: Any) -> str:
    return node.sql(dialect="hive").lower()


def create_table(tree: Any, ctx: Any) -> Result:
    """CREATE EXTERNAL TABLE ... ROW FORMAT ... LOCATION ... -> Glue table."""
    from sqlglot import exp

    schema = tree.this
    table_node = schema.this if isinstance(schema, exp.Schema) else schema
    database = (table_node.db or ctx.database).lower()
    name = table_node.name.lower()
    props = _props(tree)
    if not props.get("external"):
        raise QueryError(
            "Only external table creation is supported. Use CREATE EXTERNAL TABLE "
            "(or CREATE TABLE ... AS SELECT)."
        )
    if "location" not in props:
        raise QueryError("FAILED: SemanticException External table requires a LOCATION 's3://...'")
    storage.parse_s3_url(props["location"])
    columns = [
        {"Name": c.name.lower(), "Type": _column_type(c.args["kind"])}
        for c in schema.expressions
        if isinstance(c, exp.ColumnDef)
    ]
    partition_keys = []
    part = props.get("partitioned_by")
    if part is not None:
        for c in part.expressions:
            if isinstance(c, exp.ColumnDef):
                partition_keys.append(
                    {"Name": c.name.lower(), "Type": _column_type(c.args["kind"])}
                )
    fmt = props.get("format", "TEXTFILE")
    serde = props.get("serde") or (PARQUET_SERDE if fmt == "PARQUET" else LAZY_SIMPLE)
    if serde == serdes.CLOUDTRAIL_SERDE and "input_format" not in props:
        props["input_format"] = serdes.CLOUDTRAIL_INPUT  # the old CloudTrail DDL's pairing
    # refuse here what no query could read (Athena would accept it and fail every SELECT)
    serdes.check_supported(serde, props.get("input_format", ""), fmt)
    json_rows = serde in serdes.JSON_SERDES or props.get("input_format") == serdes.CLOUDTRAIL_INPUT
    for column in schema.expressions if json_rows else []:
        if isinstance(column, exp.ColumnDef):
            serdes.arrow_of(serdes.parse_type(_column_type(column.args["kind"])))
    serde_params = dict(props["serde_params"])
    if serde == LAZY_SIMPLE:
        serde_params.setdefault("field.delim", serde_params.get("field.delim", "\x01"))
        serde_params.setdefault("serialization.format", serde_params["field.delim"])
    elif serde == OPEN_CSV:
        serde_params.setdefault("separatorChar", ",")
    parquet = fmt == "PARQUET" or serde == PARQUET_SERDE
    input_format = props.get("input_format") or (PARQUET_INPUT if parquet else TEXT_INPUT)
    if input_format == serdes.CLOUDTRAIL_INPUT:
        classification = "cloudtrail"
    elif serde in serdes.JSON_SERDES:
        classification = "json"
    else:
        classification = "parquet" if parquet else "csv"
    parameters = {"EXTERNAL": "TRUE", "classification": classification}
    parameters.update({k: str(v) for k, v in props["tblproperties"].items()})
    table_input = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": partition_keys,
        "StorageDescriptor": {
            "Columns": columns,
            "Location": props["location"],
            "InputFormat": input_format,
            "OutputFormat": props.get("output_format")
            or (PARQUET_OUTPUT if parquet else TEXT_OUTPUT),
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_params},
        },
    }
    if props.get("comment"):
        table_input["Description"] = props["comment"]
    catalog.create_table(
        ctx.account_id, ctx.region, database, table_input, exists_ok=bool(tree.args.get("exists"))
    )
    return Result(header_row=False, statement_type="DDL", substatement_type="CREATE_TABLE")


def create_database(tree: Any, ctx: Any) -> Result:
    props = _props(tree)
    catalog.create_database(
        ctx.account_id,
        ctx.region,
        tree.this.name.lower(),
        exists_ok=bool(tree.args.get("exists")),
        description=props.get("comment", ""),
        location=props.get("location", ""),
    )
    return Result(header_row=False, statement_type="DDL", substatement_type="CREATE_DATABASE")


def drop(tree: Any, ctx: Any) -> Result:
    kind = (tree.args.get("kind") or "").upper()
    glue = catalog.glue(ctx.account_id, ctx.region)
    exists_ok = bool(tree.args.get("exists"))
    if kind in ("DATABASE", "SCHEMA"):
        name = tree.this.name.lower()
        db = glue.databases.get(name)
        if db is None:
            if exists_ok:
                return Result(
                    header_row=False, statement_type="DDL", substatement_type="DROP_DATABASE"
                )
            raise QueryError(
                f"FAILED: SemanticException [Error 10072]: Database does not exist: {name}"
            )
        if db.tables and not tree.args.get("cascade"):
            raise QueryError(
                f"FAILED: InvalidOperationException(message:Database {name} is not empty. "
                "One or more tables exist.)"
            )
        glue.delete_database(name)
        return Result(header_row=False, statement_type="DDL", substatement_type="DROP_DATABASE")
    tables = tree.args.get("tables") or [tree.this]
    for table_node in tables:
        database = (table_node.db or ctx.database).lower()
        name = table_node.name.lower()
        db = glue.databases.get(database)
        if db is None or name not in db.tables:
            if exists_ok:
                continue
            raise QueryError(
                f"FAILED: SemanticException [Error 10001]: Table not found {database}.{name}"
            )
        del db.tables[name]  # like Athena: the data in S3 stays
    return Result(header_row=False, statement_type="DDL", substatement_type="DROP_TABLE")


def alter(tree: Any, ctx: Any) -> Result:
    from sqlglot import exp

    table_node = tree.this
    table = catalog.get_table(
        ctx.account_id, ctx.region, (table_node.db or ctx.database).lower(), table_node.name.lower()
    )
    keys = [k.name for k in table.partition_keys]
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.AddPartition):
            spec = {eq.this.name.lower(): eq.expression.name for eq in action.this.expressions}
            if sorted(spec) != sorted(keys):
                raise QueryError(
                    f"FAILED: SemanticException partition spec {spec} does not match the "
                    f"table's partition keys {keys}"
                )
            values = [spec[k] for k in keys]
            loc_prop = action.args.get("location")
            location = (
                loc_prop.this.name
                if loc_prop is not None
                else (
                    table.location.rstrip("/")
                    + "/"
                    + "/".join(f"{k}={spec[k]}" for k in keys)
                    + "/"
                )
            )
            added = catalog.add_partition(ctx.account_id, ctx.region, table, values, location)
            if not added and not action.args.get("exists"):
                raise QueryError("FAILED: AlreadyExistsException: Partition already exists.")
            table.partitions.append((values, location))
        elif isinstance(action, exp.Drop) or type(action).__name__ == "DropPartition":
            for part in action.expressions:
                spec = {eq.this.name.lower(): eq.expression.name for eq in part.expressions}
                values = [spec.get(k, "") for k in keys]
                if not catalog.drop_partition(
                    ctx.account_id, ctx.region, table, values
                ) and not action.args.get("exists"):
                    raise QueryError("FAILED: SemanticException [Error 10006]: Partition not found")
        else:
            raise QueryError(
                f"ALTER TABLE {type(action).__name__} is not supported by the sandbox's Athena"
            )
    return Result(
        header_row=False, statement_type="DDL", substatement_type="ALTER_TABLE_ADD_PARTITION"
    )
