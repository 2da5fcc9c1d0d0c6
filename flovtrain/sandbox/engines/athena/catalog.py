"""Glue databases, tables and partitions, read and written in-process via moto's Glue backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flovtrain.sandbox.engines.athena.errors import QueryError, schema_not_found, table_not_found

LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


@dataclass
class Column:
    name: str
    type: str
    comment: str = ""


@dataclass
class TableInfo:
    """What the engine needs from one Glue table."""

    database: str
    name: str
    columns: list[Column]
    partition_keys: list[Column]
    location: str
    serde: str
    serde_params: dict[str, str]
    params: dict[str, str]
    input_format: str = TEXT_INPUT
    partitions: list[tuple[list[str], str]] = field(default_factory=list)  # (values, location)

    @property
    def is_parquet(self) -> bool:
        return "parquet" in (self.serde + self.input_format).lower()

    @property
    def all_columns(self) -> list[Column]:
        return self.columns + self.partition_keys


def glue(account_id: str, region: str) -> Any:
    from moto.glue.models import glue_backends

    return glue_backends[account_id][region]


def _columns(items: list[dict[str, Any]] | None) -> list[Column]:
    return [
        Column(c["Name"].lower(), c.get("Type", "string").lower(), c.get("Comment", ""))
        for c in items or []
    ]


def has_database(account_id: str, region: str, database: str) -> bool:
    return database in glue(account_id, region).databases


def get_table(account_id: str, region: str, database: str, name: str) -> TableInfo:
    """Read a table (and its partitions) from Glue, or raise Athena's not-found error."""
    backend = glue(account_id, region)
    db = backend.databases.get(database)
    if db is None:
        raise schema_not_found(database)
    table = db.tables.get(name)
    if table is None:
        raise table_not_found("awsdatacatalog", database, name)
    data = table.as_dict()
    sd = data.get("StorageDescriptor") or {}
    serde = sd.get("SerdeInfo") or {}
    info = TableInfo(
        database=database,
        name=name,
        columns=_columns(sd.get("Columns")),
        partition_keys=_columns(data.get("PartitionKeys")),
        location=sd.get("Location") or "",
        serde=serde.get("SerializationLibrary") or LAZY_SIMPLE,
        serde_params=dict(serde.get("Parameters") or {}),
        params=dict(data.get("Parameters") or {}),
        input_format=sd.get("InputFormat") or TEXT_INPUT,
    )
    for partition in table.partitions.values():
        p = partition.partition_input
        location = (p.get("StorageDescriptor") or {}).get("Location") or ""
        info.partitions.append((list(p.get("Values") or []), location))
    return info


def table_names(account_id: str, region: str, database: str) -> list[str]:
    db = glue(account_id, region).databases.get(database)
    if db is None:
        raise schema_not_found(database)
    return sorted(db.tables)


def database_names(account_id: str, region: str) -> list[str]:
    return sorted(glue(account_id, region).databases)


def ensure_default_database(account_id: str, region: str) -> None:
    """Athena accounts always have a ``default`` database."""
    backend = glue(account_id, region)
    if "default" not in backend.databases:
        backend.create_database("default", {"Name": "default"})


def create_database(
    account_id: str,
    region: str,
    name: str,
    exists_ok: bool,
    description: str = "",
    location: str = "",
) -> None:
    backend = glue(account_id, region)
    if name in backend.databases:
        if exists_ok:
            return
        raise QueryError(f"Database {name} already exists", 2, 1006)
    db_input: dict[str, Any] = {"Name": name}
    if description:
        db_input["Description"] = description
    if location:
        db_input["LocationUri"] = location
    backend.create_database(name, db_input)


def create_table(
    account_id: str, region: str, database: str, table_input: dict[str, Any], exists_ok: bool
) -> bool:
    backend = glue(account_id, region)
    if database not in backend.databases:
        raise schema_not_found(database)
    name = table_input["Name"]
    if name in backend.databases[database].tables:
        if exists_ok:
            return False
        raise QueryError(f"Table {database}.{name} already exists", 2, 1006)
    backend.create_table(database, name, table_input)
    return True


def add_partition(
    account_id: str, region: str, table: TableInfo, values: list[str], location: str
) -> bool:
    """Add one partition; return False when it was there already."""
    backend = glue(account_id, region)
    fake = backend.databases[table.database].tables[table.name]
    if str(values) in fake.partitions:
        return False
    sd = dict(fake.as_dict().get("StorageDescriptor") or {})
    sd["Location"] = location
    fake.create_partition({"Values": values, "StorageDescriptor": sd})
    return True


def drop_partition(account_id: str, region: str, table: TableInfo, values: list[str]) -> bool:
    fake = glue(account_id, region).databases[table.database].tables[table.name]
    return fake.partitions.pop(str(values), None) is not None


def table_dict(account_id: str, region: str, database: str, name: str) -> dict[str, Any]:
    """A Glue table (or view) as ``GetTable`` shows it, or Athena's not-found error."""
    db = glue(account_id, region).databases.get(database)
    if db is None:
        raise schema_not_found(database)
    table = db.tables.get(name)
    if table is None:
        raise table_not_found("awsdatacatalog", database, name)
    return table.as_dict()
