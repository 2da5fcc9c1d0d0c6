"""A Glue table's files read for one query: only the partitions and columns it needs.

:mod:`.pruning` picks the partitions first, so the other files are never listed or opened
(and their bytes never count as scanned), as in Athena. CSV files are parsed by Arrow's native
reader on a thread pool, many small files joined into one buffer per task (a file at a time
costs more in per-call overhead than in parsing); Parquet objects that moto keeps in temp files
are handed to DuckDB's own parallel Parquet scan by path. Partition values become dictionary
columns (no per-row strings).
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines.athena import serdes, storage, streaming
from flovtrain.sandbox.engines.athena.catalog import OPEN_CSV, TableInfo
from flovtrain.sandbox.engines.athena.errors import QueryError

# a CSV column holds no binary
_ARROW_TYPES = {k: v for k, v in serdes.ARROW_SCALARS.items() if k != "binary"}
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


def files_of(
    table: TableInfo, account_id: str, region: str, wanted: set[int] | None = None
) -> list[tuple[str, Any, list[str]]]:
    """Return ``(s3 path, FakeKey, partition values)`` for the files of the table.

    ``wanted`` holds the indexes (in ``table.partitions``) of the partitions the query needs;
    None means all. Only those prefixes are listed, so a pruned query never touches the rest.
    """
    if table.partition_keys:
        places = [
            (values, loc)
            for i, (values, loc) in enumerate(table.partitions)
            if wanted is None or i in wanted
        ]
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


def _csv_options(table: TableInfo, lenient: bool, needed: list[str]) -> tuple[Any, Any, Any]:
    """Return pyarrow CSV ``(read, parse, convert)`` options for the table's SerDe.

    Only the ``needed`` columns are converted (the others are tokenized and dropped).
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    skip = int(table.params.get("skip.header.line.count", "0") or 0)
    names = [c.name for c in table.columns]
    # one file per task: the pool parallelizes across files
    read = pcsv.ReadOptions(
        column_names=names, skip_rows=skip, use_threads=False, block_size=1 << 24
    )
    if table.serde == OPEN_CSV:
        sep = table.serde_params.get("separatorChar", ",")
        quote = table.serde_params.get("quoteChar", '"')
        escape = table.serde_params.get("escapeChar", "\\")
        parse = pcsv.ParseOptions(
            delimiter=sep, quote_char=quote or False, escape_char=escape or False
        )
        # OpenCSVSerDe reads every field as a string and casts afterwards
        convert = pcsv.ConvertOptions(
            column_types={n: pa.string() for n in needed},
            strings_can_be_null=False,
            include_columns=needed,
        )
        return read, parse, convert
    if lenient:
        # one column per line, split in SQL: wrong field counts and bad values become NULL
        parse = pcsv.ParseOptions(delimiter="\x1e", quote_char=False)  # a control char never in CSV
        read = pcsv.ReadOptions(
            column_names=["__line"], skip_rows=skip, use_threads=False, block_size=1 << 24
        )
        convert = pcsv.ConvertOptions(
            column_types={"__line": pa.string()}, strings_can_be_null=False
        )
        return read, parse, convert
    delim = table.serde_params.get(
        "field.delim", table.serde_params.get("serialization.format", "\x01")
    )
    if delim.isdigit() and len(delim) > 1:
        delim = chr(int(delim))
    escape = table.serde_params.get("escape.delim") or False
    parse = pcsv.ParseOptions(delimiter=delim, quote_char=False, escape_char=escape)
    types = {c.name: arrow_type(c.type) for c in table.columns if c.name in needed}
    convert = pcsv.ConvertOptions(
        column_types=types,
        null_values=["\\N", ""],
        strings_can_be_null=False,
        include_columns=needed,
    )
    return read, parse, convert


def _raw_fields(table: TableInfo, lenient: bool, needed: list[str]) -> list[tuple[str, Any]]:
    """The (name, arrow type) of the columns a file yields, in the table's order."""
    import pyarrow as pa

    if table.is_parquet:
        return [(c.name, arrow_type(c.type)) for c in table.columns if c.name in needed]
    if lenient and table.serde != OPEN_CSV:
        return [("__line", pa.string())]
    if table.serde == OPEN_CSV:
        return [(c.name, pa.string()) for c in table.columns if c.name in needed]
    return [(c.name, arrow_type(c.type)) for c in table.columns if c.name in needed]


def load(
    table: TableInfo,
    account_id: str,
    region: str,
    meter: storage.ScanMeter,
    lenient: bool = False,
    columns: set[str] | None = None,
    wanted: set[int] | None = None,
    failures: list[BaseException] | None = None,
) -> tuple[Any, str]:
    """Read a table's files into one Arrow table (or a stream of its batches); return it and
    the SELECT list typing it.

    Parameters
    ----------
    columns : set of str, optional
        Data columns the query can read (None: all). The others are not converted and the
        SELECT list gives them as typed NULLs.
    wanted : set of int, optional
        Indexes of the partitions to read (None: all), from :mod:`.pruning`: the other
        files are never opened, so their bytes do not count as scanned.
    failures : list, optional
        Given, a CSV or JSON table is returned as a one-shot :class:`pyarrow.RecordBatchReader`
        (:mod:`.streaming`): files are parsed as DuckDB consumes them, so a satisfied ``LIMIT``
        stops the reading (files never parsed never count), and the exception that ends the
        stream is appended to ``failures``. Only for a statement that scans the table once.
        Parquet is never streamed (DuckDB reads it by path, or it is read whole).

    Files are parsed by native Arrow readers on a thread pool (one file per task, the GIL
    released), straight from moto's buffers; every opened file counts whole in ``meter``.
    The SELECT list is written against the Arrow table: plain names on the fast path;
    ``TRY_CAST`` of split fields on the lenient path (LazySimpleSerDe's NULL for anything it
    cannot read) and for OpenCSVSerDe (strings cast to the declared types).
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pyarrow as pa

    if serdes.is_json(table):
        json_files = files_of(table, account_id, region, wanted)
        json_list = ", ".join([_quote(c.name) for c in table.columns] + _partition_parts(table))
        if failures is None:
            return serdes.load(table, json_files, meter, columns), json_list
        empty = serdes.load(table, [], meter, columns).schema
        return (
            streaming.reader(
                empty,
                [[f] for f in json_files],  # a file at a time, parsed by the consuming thread
                lambda group: serdes.load(table, group, meter, columns),
                1,
                failures,
            ),
            json_list,
        )
    serdes.check_supported(table.serde, table.input_format)  # never a CSV error for, say, ORC
    names = [c.name for c in table.columns]
    needed = [n for n in names if columns is None or n in columns]
    lines = lenient and not table.is_parquet and table.serde != OPEN_CSV
    if not needed and not lines and names:
        needed = names[:1]  # count(*) still needs the rows of one column
    fields = _raw_fields(table, lenient, needed)
    part_type = pa.dictionary(pa.int32(), pa.string())
    schema = pa.schema(fields + [(k.name, part_type) for k in table.partition_keys])
    files = files_of(table, account_id, region, wanted)
    raw = [n for n, _ in fields]
    select_list = _select_list(table, raw, needed)
    if table.is_parquet:
        source = _parquet_sql(table, files, needed, meter)
        if source is not None:
            return source, select_list
        reader = _parquet_reader(needed)
    else:
        reader = _csv_reader(*_csv_options(table, lenient, needed))
    data_schema = pa.schema(fields)
    # LazySimpleSerDe without header, escapes or quotes: files can be parsed joined together
    joinable = (
        not table.is_parquet
        and table.serde != OPEN_CSV
        and not lenient
        and int(table.params.get("skip.header.line.count", "0") or 0) == 0
        and not table.serde_params.get("escape.delim")
    )

    def conform(data: Any) -> Any:
        if data.schema.names != raw:
            data = data.select(raw)
        return data.cast(data_schema) if data.schema != data_schema else data

    def per_file(batch: list[tuple[str, Any, list[str]]]) -> tuple[Any, list[int]]:
        tables_ = [
            conform(reader(_plain_buffer(name, key, table.is_parquet))) for name, key, _ in batch
        ]
        return pa.concat_tables(tables_), [x.num_rows for x in tables_]

    def joined(batch: list[tuple[str, Any, list[str]]]) -> tuple[Any, list[int]] | None:
        pieces, bounds, size = [], [], 0
        for _, key, _ in batch:
            view = memoryview(storage.arrow_buffer(key))
            if view[0] == 10:  # a leading empty line: let the per-file parse decide
                return None
            pieces.append(view)
            size += len(view)
            if view[-1] != 10:
                pieces.append(b"\n")
                size += 1
            bounds.append(size)
        big = b"".join(pieces)
        if b"\r" in big or b"\n\n" in big:
            return None
        counts, begin = [], 0
        for end in bounds:
            counts.append(big.count(b"\n", begin, end))
            begin = end
        data = conform(reader(pa.py_buffer(big)))
        return (data, counts) if data.num_rows == sum(counts) else None

    def one(batch: list[tuple[str, Any, list[str]]]) -> Any:
        for _, key, _ in batch:
            meter.check()
            meter.add(key.size, new_file=True)
        gzipped = any(name.endswith(".gz") for name, _, _ in batch)
        got = joined(batch) if joinable and not gzipped else None
        data, counts = got if got is not None else per_file(batch)
        for i, key_column in enumerate(table.partition_keys):
            values = [v[i] if i < len(v) else None for _, _, v in batch]
            uniques = list(dict.fromkeys(values))
            codes = np.array([uniques.index(v) for v in values], dtype=np.int32)
            indices = pa.array(np.repeat(codes, counts), type=pa.int32())
            column = pa.DictionaryArray.from_arrays(indices, pa.array(uniques, pa.string()))
            data = data.append_column(key_column.name, column)
        return data

    threads = max(1, os.cpu_count() or 1)
    total = sum(key.size for _, key, _ in files)
    stream = failures is not None and not table.is_parquet
    # a stream's tasks are smaller: a LIMIT met early opens less, and they overlap DuckDB's work
    target = min((8 if stream else 32) << 20, max(1 << 20, total // (threads * 4)))
    batches: list[list[tuple[str, Any, list[str]]]] = []
    size = target
    for item in files:
        if size >= target:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += item[1].size
    if stream:
        assert failures is not None
        return streaming.reader(schema, batches, one, threads, failures), select_list
    if len(batches) <= 1:
        parts = [one(batch) for batch in batches]
    else:
        with ThreadPoolExecutor(max_workers=min(len(batches), threads)) as pool:
            parts = list(pool.map(one, batches))
    data = pa.concat_tables(parts) if parts else schema.empty_table()
    return data, select_list


def _parquet_sql(
    table: TableInfo, files: list[tuple[str, Any, list[str]]], needed: list[str], meter: Any
) -> str | None:
    """DuckDB's own Parquet scan (parallel, projection pushed down) over moto's temp files.

    Possible when every object has rolled over to a real temp file (objects over ~5 MB do),
    so DuckDB opens it by path; one ``read_parquet`` per partition. None otherwise.
    """
    paths = [storage.real_path(key) for _, key, _ in files]
    if not files or any(p is None for p in paths):
        return None
    groups: dict[tuple[str, ...], list[str]] = {}
    for (_, _, values), path in zip(files, paths, strict=True):
        groups.setdefault(tuple(values), []).append(str(path))
    if len(groups) > 64:
        return None
    for _, key, _ in files:
        meter.check()
        meter.add(key.size, new_file=True)
    columns = ", ".join(_quote(n) for n in needed)
    branches = []
    for values, group in groups.items():
        parts = [columns] if columns else []
        for i, key in enumerate(table.partition_keys):
            value = "NULL" if i >= len(values) else "'" + values[i].replace("'", "''") + "'"
            parts.append(f"CAST({value} AS VARCHAR) AS {_quote(key.name)}")
        listing = ", ".join("'" + p.replace("'", "''") + "'" for p in group)
        branches.append(f"SELECT {', '.join(parts)} FROM read_parquet([{listing}])")
    return " UNION ALL ".join(branches)


def _plain_buffer(name: str, key: Any, parquet: bool) -> Any:
    """A file's bytes for its reader: a text file gunzipped when its name ends in ``.gz``
    (Hadoop picks the codec by extension; Parquet compresses inside the file)."""
    import gzip

    import pyarrow as pa

    buffer = storage.arrow_buffer(key)
    if parquet or not name.endswith(".gz"):
        return buffer
    try:
        return pa.py_buffer(gzip.decompress(buffer))
    except (OSError, EOFError) as exc:
        raise QueryError(f"HIVE_CURSOR_ERROR: Cannot read s3://{name} as gzip: {exc}") from None


def _csv_reader(read: Any, parse: Any, convert: Any) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    def reader(buffer: Any) -> Any:
        return pcsv.read_csv(
            pa.BufferReader(buffer),
            read_options=read,
            parse_options=parse,
            convert_options=convert,
        )

    return reader


def _parquet_reader(needed: list[str]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def reader(buffer: Any) -> Any:
        source = pq.ParquetFile(pa.BufferReader(buffer))
        present = set(source.schema_arrow.names)
        data = source.read(columns=[n for n in needed if n in present], use_threads=False)
        for name in needed:
            if name not in present:  # a column the file lacks reads as NULL, as in Athena
                data = data.append_column(name, pa.nulls(data.num_rows))
        return data

    return reader


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_list(table: TableInfo, raw: list[str], needed: list[str]) -> str:
    parts = []
    delim = table.serde_params.get(
        "field.delim", table.serde_params.get("serialization.format", "\x01")
    )
    for i, column in enumerate(table.columns, start=1):
        target = duck_type(column.type)
        if raw != ["__line"] and column.name not in needed:
            parts.append(f"CAST(NULL AS {target}) AS {_quote(column.name)}")
        elif raw == ["__line"]:
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
    parts.extend(_partition_parts(table))
    return ", ".join(parts)


def partition_select_list(table: TableInfo) -> str:
    """The SELECT list typing the partition columns alone (for :mod:`.pruning`)."""
    return ", ".join(_partition_parts(table))


def _partition_parts(table: TableInfo) -> list[str]:
    parts = []
    for key in table.partition_keys:
        target = duck_type(key.type)
        if target == "VARCHAR":
            parts.append(_quote(key.name))
        else:
            parts.append(f"TRY_CAST({_quote(key.name)} AS {target}) AS {_quote(key.name)}")
    return parts
