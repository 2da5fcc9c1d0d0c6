"""A Glue table as a pyarrow dataset that DuckDB scans with projection and partition pruning.

Each file becomes one fragment whose partition expression carries the Glue partition's values,
so a filter on partition columns skips whole files before they are opened (and before their
bytes count as scanned), exactly like Athena's partition pruning.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.athena_engine import storage
from flovtrain.sandbox.athena_engine.catalog import OPEN_CSV, TableInfo
from flovtrain.sandbox.athena_engine.errors import QueryError

_ARROW_TYPES = {
    "string": "string",
    "varchar": "string",
    "char": "string",
    "int": "int32",
    "integer": "int32",
    "bigint": "int64",
    "smallint": "int16",
    "tinyint": "int8",
    "double": "float64",
    "float": "float32",
    "real": "float32",
    "boolean": "bool",
    "date": "date32",
    "timestamp": "timestamp[us]",
}
DUCK_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "real": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def base_type(glue_type: str) -> str:
    return glue_type.split("(")[0].strip().lower()


def arrow_type(glue_type: str) -> Any:
    import pyarrow as pa

    base = base_type(glue_type)
    if base == "decimal":
        inner = (
            glue_type[glue_type.index("(") + 1 : -1].split(",") if "(" in glue_type else ["38", "0"]
        )
        return pa.decimal128(int(inner[0]), int(inner[1]) if len(inner) > 1 else 0)
    name = _ARROW_TYPES.get(base)
    if name is None:
        raise QueryError(f"HIVE_UNSUPPORTED_FORMAT: column type {glue_type} is not supported here")
    return pa.type_for_alias(name)


def duck_type(glue_type: str) -> str:
    base = base_type(glue_type)
    if base == "decimal":
        return glue_type.upper()
    return DUCK_TYPES.get(base, "VARCHAR")


def files_of(table: TableInfo, account_id: str, region: str) -> list[tuple[str, Any, list[str]]]:
    """Return ``(s3 path, FakeKey, partition values)`` for every file of the table."""
    if table.partition_keys:
        places = [(values, loc) for values, loc in table.partitions]
    else:
        places = [([], table.location)]
    out = []
    index = storage.KeyIndex(account_id, region)
    for values, location in places:
        if not location:
            continue
        bucket, prefix = storage.parse_s3_url(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        for name, key in index.under(bucket, prefix):
            out.append((f"{bucket}/{name}", key, values))
    return out


def _csv_format(table: TableInfo, lenient: bool) -> tuple[Any, list[str]]:
    """Return the CSV file format and the raw column names it yields."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.dataset as ds

    skip = int(table.params.get("skip.header.line.count", "0") or 0)
    names = [c.name for c in table.columns]
    if table.serde == OPEN_CSV:
        sep = table.serde_params.get("separatorChar", ",")
        quote = table.serde_params.get("quoteChar", '"')
        escape = table.serde_params.get("escapeChar", "\\")
        parse = pcsv.ParseOptions(
            delimiter=sep, quote_char=quote or False, escape_char=escape or False
        )
        # OpenCSVSerDe reads every field as a string and casts afterwards
        types = {n: pa.string() for n in names}
        convert = pcsv.ConvertOptions(column_types=types, strings_can_be_null=False)
        read = pcsv.ReadOptions(column_names=names, skip_rows=skip)
        return ds.CsvFileFormat(
            parse_options=parse, convert_options=convert, read_options=read
        ), names
    delim = table.serde_params.get(
        "field.delim", table.serde_params.get("serialization.format", "\x01")
    )
    if delim.isdigit() and len(delim) > 1:
        delim = chr(int(delim))
    if lenient:
        # one column per line, split in SQL: wrong field counts and bad values become NULL
        parse = pcsv.ParseOptions(delimiter="\x1e", quote_char=False)  # a control char never in CSV
        read = pcsv.ReadOptions(column_names=["__line"], skip_rows=skip)
        convert = pcsv.ConvertOptions(
            column_types={"__line": pa.string()}, strings_can_be_null=False
        )
        return ds.CsvFileFormat(parse_options=parse, convert_options=convert, read_options=read), [
            "__line"
        ]
    escape = table.serde_params.get("escape.delim") or False
    parse = pcsv.ParseOptions(delimiter=delim, quote_char=False, escape_char=escape)
    types = {c.name: arrow_type(c.type) for c in table.columns}
    convert = pcsv.ConvertOptions(
        column_types=types, null_values=["\\N", ""], strings_can_be_null=False
    )
    read = pcsv.ReadOptions(column_names=names, skip_rows=skip)
    return ds.CsvFileFormat(parse_options=parse, convert_options=convert, read_options=read), names


def dataset(
    table: TableInfo, account_id: str, region: str, meter: storage.ScanMeter, lenient: bool = False
) -> tuple[Any, str]:
    """Return the pyarrow dataset of a table and the SELECT list that types its columns.

    The SELECT list is written against the dataset's raw columns: plain names on the fast
    path; ``TRY_CAST`` of split fields on the lenient path (LazySimpleSerDe's NULL for
    anything it cannot read) and for OpenCSVSerDe (strings cast to the declared types).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    files = files_of(table, account_id, region)
    if table.is_parquet:
        fmt: Any = ds.ParquetFileFormat()
        raw = [c.name for c in table.columns]
        fields = [(c.name, arrow_type(c.type)) for c in table.columns]
    else:
        fmt, raw = _csv_format(table, lenient)
        if raw == ["__line"]:
            fields = [("__line", pa.string())]
        elif table.serde == OPEN_CSV:
            fields = [(n, pa.string()) for n in raw]
        else:
            fields = [(c.name, arrow_type(c.type)) for c in table.columns]
    fields += [(k.name, pa.string()) for k in table.partition_keys]
    schema = pa.schema(fields)
    paths = [path for path, _, _ in files]
    keys = {path: key for path, key, _ in files}
    partitions = []
    for _, _, values in files:
        expr = pc.scalar(True)
        for column, value in zip(table.partition_keys, values, strict=False):
            expr = expr & (pc.field(column.name) == value)
        partitions.append(expr)
    fs = storage.filesystem(keys, meter, whole_files=not table.is_parquet)
    data = ds.FileSystemDataset.from_paths(
        paths, schema=schema, format=fmt, filesystem=fs, partitions=partitions
    )
    return data, _select_list(table, raw)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_list(table: TableInfo, raw: list[str]) -> str:
    parts = []
    delim = table.serde_params.get(
        "field.delim", table.serde_params.get("serialization.format", "\x01")
    )
    for i, column in enumerate(table.columns, start=1):
        target = duck_type(column.type)
        if raw == ["__line"]:
            literal = "'" + delim.replace("'", "''") + "'"
            field = f'split_part("__line", {literal}, {i})'
            if target == "VARCHAR":
                parts.append(f"{field} AS {_quote(column.name)}")
            else:
                parts.append(f"TRY_CAST(NULLIF({field}, '') AS {target}) AS {_quote(column.name)}")
        elif table.serde == OPEN_CSV and target != "VARCHAR":
            parts.append(
                f"TRY_CAST(NULLIF({_quote(column.name)}, '') AS {target}) AS {_quote(column.name)}"
            )
        else:
            parts.append(_quote(column.name))
    for key in table.partition_keys:
        target = duck_type(key.type)
        if target == "VARCHAR":
            parts.append(_quote(key.name))
        else:
            parts.append(f"TRY_CAST({_quote(key.name)} AS {target}) AS {_quote(key.name)}")
    return ", ".join(parts)
