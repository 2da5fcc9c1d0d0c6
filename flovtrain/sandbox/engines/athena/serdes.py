"""JSON tables: the OpenX and Hive JSON SerDes and CloudTrail's input format, read as Athena does.

A JSON table's files hold one object per line (``TextInputFormat``), or, with
``CloudTrailInputFormat``, one ``{"Records": [...]}`` document whose records are the rows.
Objects ending in ``.gz`` are gunzipped first (Hadoop picks the codec by extension). Values
are converted to the types the DDL declares: a nested object or array in a ``STRING`` column
stays JSON text (CloudTrail's ``requestParameters``), keys match columns case-insensitively
(OpenX's ``case.insensitive``, default true; the Hive SerDe always), and OpenX's
``mapping.<column>`` names the key a column reads. A line that is not JSON fails the query
(``HIVE_CURSOR_ERROR``) unless OpenX's ``ignore.malformed.json`` is true (then a row of NULLs);
a value the column type cannot hold fails it with ``HIVE_BAD_DATA`` unless OpenX's
``use.null.for.invalid.data`` is true (then NULL).

The SerDes and input formats the sandbox reads are listed here; :func:`check_supported`
refuses the others at ``CREATE TABLE`` and at query time, naming what is read.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
import re
from collections.abc import Callable
from typing import Any

from flovtrain.sandbox.engines.athena import storage
from flovtrain.sandbox.engines.athena.catalog import (
    LAZY_SIMPLE,
    OPEN_CSV,
    PARQUET_INPUT,
    PARQUET_SERDE,
    TEXT_INPUT,
    TableInfo,
)
from flovtrain.sandbox.engines.athena.errors import QueryError

OPENX_JSON = "org.openx.data.jsonserde.JsonSerDe"
HIVE_JSON = "org.apache.hive.hcatalog.data.JsonSerDe"
CLOUDTRAIL_SERDE = "com.amazon.emr.hive.serde.CloudTrailSerde"
CLOUDTRAIL_INPUT = "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
JSON_SERDES = (OPENX_JSON, HIVE_JSON, CLOUDTRAIL_SERDE)
SERDES = (LAZY_SIMPLE, OPEN_CSV, PARQUET_SERDE, *JSON_SERDES)
INPUT_FORMATS = (TEXT_INPUT, PARQUET_INPUT, CLOUDTRAIL_INPUT)
#: STORED AS keywords Athena knows whose files the sandbox cannot read.
UNREAD_FORMATS = ("ORC", "AVRO", "ION", "RCFILE", "SEQUENCEFILE")

_TYPE_TOKEN = re.compile(r"\s*(?:([<>(),:])|`([^`]+)`|([\w.$]+))")


def is_json(table: TableInfo) -> bool:
    """True when the table's rows are JSON (a JSON SerDe or CloudTrail's input format)."""
    return table.serde in JSON_SERDES or table.input_format == CLOUDTRAIL_INPUT


def _supported_text() -> str:
    return (
        "the sandbox's Athena reads the SerDes "
        + ", ".join(SERDES)
        + " and the input formats "
        + ", ".join(INPUT_FORMATS)
        + " (Athena itself reads more: this table works on a real account, not in the sandbox)"
    )


def check_supported(serde: str, input_format: str, stored_as: str = "") -> None:
    """Raise a ``QueryError`` naming a SerDe, input format or ``STORED AS`` the sandbox cannot
    read, and what it reads instead.

    Examples
    --------
    >>> check_supported(HIVE_JSON, CLOUDTRAIL_INPUT)
    >>> regex = "org.apache.hadoop.hive.serde2.RegexSerDe"
    >>> check_supported(regex, TEXT_INPUT)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    flovtrain.sandbox.engines.athena.errors.QueryError: HIVE_UNSUPPORTED_FORMAT: ...
    """
    if stored_as.upper() in UNREAD_FORMATS:
        what = f"STORED AS {stored_as.upper()}"
    elif serde not in SERDES and "parquet" not in serde.lower():
        what = f"SerDe {serde}"
    elif (
        input_format
        and input_format not in INPUT_FORMATS
        and "parquet" not in (input_format.lower())
    ):
        what = f"input format {input_format}"
    else:
        return
    raise QueryError(f"HIVE_UNSUPPORTED_FORMAT: Unable to read {what}: {_supported_text()}")


# -- Hive type strings ----------------------------------------------------------------------


def parse_type(text: str) -> Any:
    """Parse a Hive type string into a tree: ``"string"``, ``("array", t)``, ``("map", k, v)``,
    ``("struct", [(name, t), ...])`` or ``("decimal", p, s)``.

    Examples
    --------
    >>> parse_type("struct<a: string, b:array<int>>")
    ('struct', [('a', 'string'), ('b', ('array', 'int'))])
    """
    tokens = [m.group(1) or m.group(2) or m.group(3) for m in _TYPE_TOKEN.finditer(text)]
    pos = 0

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens) or (expected is not None and tokens[pos] != expected):
            raise QueryError(f"HIVE_INVALID_METADATA: Cannot parse column type {text!r}")
        pos += 1
        return tokens[pos - 1]

    def one() -> Any:
        name = take().lower()
        if name == "array":
            take("<")
            inner = one()
            take(">")
            return ("array", inner)
        if name == "map":
            take("<")
            key = one()
            take(",")
            value = one()
            take(">")
            return ("map", key, value)
        if name == "struct":
            take("<")
            fields = []
            while tokens[pos] != ">":
                field = take().lower()
                take(":")
                fields.append((field, one()))
                if tokens[pos] == ",":
                    take(",")
            take(">")
            return ("struct", fields)
        if pos < len(tokens) and tokens[pos] == "(":
            take("(")
            args = [int(take())]
            while tokens[pos] == ",":
                take(",")
                args.append(int(take()))
            take(")")
            if name == "decimal":
                return ("decimal", args[0], args[1] if len(args) > 1 else 0)
            return name  # varchar(n), char(n): strings
        return name

    return one()


#: Hive scalar type -> Arrow type alias (the CSV reader in ``tables`` uses it too).
ARROW_SCALARS = {
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
    "binary": "binary",
}


def arrow_of(tree: Any) -> Any:
    """The Arrow type of a parsed Hive type."""
    import pyarrow as pa

    if isinstance(tree, str):
        name = ARROW_SCALARS.get(tree)
        if name is None:
            raise QueryError(f"HIVE_UNSUPPORTED_FORMAT: column type {tree} is not supported here")
        return pa.type_for_alias(name)
    kind = tree[0]
    if kind == "array":
        return pa.list_(arrow_of(tree[1]))
    if kind == "map":
        return pa.map_(arrow_of(tree[1]), arrow_of(tree[2]))
    if kind == "decimal":
        return pa.decimal128(tree[1], tree[2])
    return pa.struct([(name, arrow_of(t)) for name, t in tree[1]])


# -- values ---------------------------------------------------------------------------------


class _BadValue(Exception):
    """A JSON value the column's type cannot hold."""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _timestamp(text: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _scalar(value: Any, kind: str) -> Any:
    if kind in ("string", "varchar", "char"):
        return _text(value)  # an object or array in a STRING column stays JSON text
    if isinstance(value, (dict, list)):
        raise _BadValue
    try:
        if kind in ("int", "integer", "bigint", "smallint", "tinyint"):
            if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
                raise _BadValue
            number = int(value) if not isinstance(value, str) else int(value.strip())
            bits = {"tinyint": 8, "smallint": 16, "bigint": 64}.get(kind, 32)
            if not -(1 << (bits - 1)) <= number < 1 << (bits - 1):
                raise _BadValue
            return number
        if kind in ("double", "float", "real"):
            return float(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise _BadValue
        if kind == "date":
            return dt.date.fromisoformat(str(value))
        if kind == "timestamp":
            return _timestamp(str(value))
        if kind == "binary":
            return str(value).encode()
    except (TypeError, ValueError, OverflowError):
        raise _BadValue from None
    raise _BadValue


def converter(tree: Any, lower: bool) -> Callable[[Any], Any]:
    """A function turning a parsed JSON value into the Python value of the Hive type ``tree``
    (for Arrow); it raises ``_BadValue`` for a value the type cannot hold. Built once per
    column: a function per value and type node would dominate the read.

    Examples
    --------
    >>> to_row = converter(("struct", [("a", "int"), ("b", "string")]), True)
    >>> to_row({"A": 1, "b": {"x": 2}})
    {'a': 1, 'b': '{"x":2}'}
    """
    if tree in ("string", "varchar", "char"):
        # an object or array in a STRING column stays JSON text
        return lambda v: v if v is None or type(v) is str else _text(v)
    if isinstance(tree, str):
        return lambda v: None if v is None else _scalar(v, tree)
    kind = tree[0]
    if kind == "decimal":
        quantum = decimal.Decimal(1).scaleb(-tree[2])

        def to_decimal(v: Any) -> Any:
            if v is None:
                return None
            if isinstance(v, (dict, list, bool)):
                raise _BadValue
            try:
                return decimal.Decimal(str(v)).quantize(quantum)
            except decimal.InvalidOperation:
                raise _BadValue from None

        return to_decimal
    if kind == "array":
        item = converter(tree[1], lower)

        def to_list(v: Any) -> Any:
            if v is None:
                return None
            if not isinstance(v, list):
                raise _BadValue
            return [item(x) for x in v]

        return to_list
    if kind == "map":
        key_of, value_of = converter(tree[1], lower), converter(tree[2], lower)

        def to_pairs(v: Any) -> Any:
            if v is None:
                return None
            if not isinstance(v, dict):
                raise _BadValue
            return [(key_of(k), value_of(x)) for k, x in v.items()]

        return to_pairs
    fields = [(name, converter(t, lower)) for name, t in tree[1]]

    def to_struct(v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, dict):
            raise _BadValue
        keys = {k.lower(): x for k, x in v.items()} if lower else v
        return {name: field(keys.get(name)) for name, field in fields}

    return to_struct


# -- files ----------------------------------------------------------------------------------


def _bytes(name: str, key: Any) -> bytes:
    data = bytes(storage.arrow_buffer(key))
    if name.endswith(".gz"):  # by extension only, as Hadoop: a misnamed file reads as garbage
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise QueryError(
                f"HIVE_CURSOR_ERROR: Cannot read s3://{name} as gzip: {exc}", 2, 1006
            ) from None
    return data


def _not_json(exc: json.JSONDecodeError, openx: bool) -> QueryError:
    where = f"at {exc.pos} [character {exc.colno} line {exc.lineno}]"
    if openx:
        return QueryError(
            f"HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: {exc.msg} {where}"
        )
    return QueryError(f"HIVE_CURSOR_ERROR: JsonParseException: {exc.msg} {where}")


def _records(name: str, key: Any, table: TableInfo) -> list[Any]:
    """The JSON rows of one file; None for a malformed row OpenX is told to ignore."""
    openx = table.serde == OPENX_JSON
    ignore = openx and table.serde_params.get("ignore.malformed.json", "").lower() == "true"
    text = _bytes(name, key).decode("utf-8", errors="replace")
    if table.input_format == CLOUDTRAIL_INPUT:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _not_json(exc, openx) from None
        records = document.get("Records") if isinstance(document, dict) else None
        if not isinstance(records, list):
            return []  # a digest file has no records
        return [r for r in records if isinstance(r, dict)]
    rows: list[Any] = []
    for line in text.split("\n"):  # Hadoop's lines: not str.splitlines' U+2028 and the like
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            if ignore:
                rows.append(None)
                continue
            raise _not_json(exc, openx) from None
        if not isinstance(row, dict):
            if ignore:
                rows.append(None)
                continue
            raise QueryError(
                "HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: A JSONObject "
                "text must begin with '{' at 1 [character 2 line 1]"
                if openx
                else "HIVE_CURSOR_ERROR: JsonParseException: Start token not found where expected"
            )
        rows.append(row)
    return rows


def _bad_data(value: Any, index: int, column_type: str) -> QueryError:
    """Athena's HIVE_BAD_DATA for a value its column cannot hold (Java's wording for numbers)."""
    shown = _text(value)
    if parse_type(column_type) in ("int", "integer", "bigint", "smallint", "tinyint"):
        detail = f'For input string: "{shown}"'
    else:
        detail = f"Cannot read it as {column_type}"
    return QueryError(
        f"HIVE_BAD_DATA: Error parsing field value '{shown}' for field {index}: {detail}"
    )


def load(
    table: TableInfo,
    files: list[tuple[str, Any, list[str]]],
    meter: storage.ScanMeter,
    columns: set[str] | None = None,
) -> Any:
    """Read a JSON table's files into one Arrow table (data columns, then partition columns).

    Parameters
    ----------
    table : TableInfo
        The Glue table (a JSON SerDe or CloudTrail's input format).
    files : list of tuple
        ``(s3 path, FakeKey, partition values)`` from :func:`.tables.files_of`.
    meter : ScanMeter
        Counts each file's stored (compressed) size, as Athena bills it.
    columns : set of str, optional
        The columns the query can read (None: all); the others are NULL, never converted.

    Examples
    --------
    >>> load(table, tables.files_of(table, account, region), meter).num_rows  # doctest: +SKIP
    3
    """
    import pyarrow as pa

    openx = table.serde == OPENX_JSON
    lower = not openx or table.serde_params.get("case.insensitive", "true").lower() != "false"
    null_bad = openx and table.serde_params.get("use.null.for.invalid.data", "").lower() == "true"
    every = [(i, c.name, parse_type(c.type)) for i, c in enumerate(table.columns)]
    trees = [(i, n, t) for i, n, t in every if columns is None or n in columns]
    # OpenX: a column may read a differently named key
    sources = [table.serde_params.get(f"mapping.{name}", name) for _, name, _ in trees]
    if lower:
        sources = [s.lower() for s in sources]
    values_of: dict[str, list[Any]] = {name: [] for _, name, _ in trees}
    converters = {name: converter(tree, lower) for _, name, tree in trees}
    rows_read = 0
    parts: list[list[Any]] = [[] for _ in table.partition_keys]
    for path, key, values in files:
        meter.check()
        meter.add(key.size, new_file=True)
        records = _records(path, key, table)
        rows_read += len(records)
        for row in records:
            keys = {} if row is None else {(k.lower() if lower else k): v for k, v in row.items()}
            for (index, name, _), source in zip(trees, sources, strict=True):
                raw = keys.get(source)
                try:
                    values_of[name].append(converters[name](raw))
                except _BadValue:
                    if not null_bad:
                        raise _bad_data(raw, index, table.columns[index].type) from None
                    values_of[name].append(None)
        for i, part in enumerate(parts):
            part.extend([values[i] if i < len(values) else None] * len(records))
    arrays = [
        pa.array(values_of[name], type=arrow_of(tree))
        if name in values_of
        else pa.nulls(rows_read, type=arrow_of(tree))
        for _, name, tree in every
    ]
    arrays += [pa.array(part, type=pa.string()) for part in parts]
    names = [name for _, name, _ in every] + [k.name for k in table.partition_keys]
    return pa.Table.from_arrays(arrays, names=names)
