"""Query results the way Athena hands them out: typed ColumnInfo, string cells, CSV + .metadata."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

#: DuckDB type name -> the Trino type name Athena prints, for the types that never vary (result
#: metadata and error messages extend it with their own spellings).
TRINO_TYPES = {
    "VARCHAR": "varchar",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "INTERVAL": "interval day to second",
    "BLOB": "varbinary",
}
#: DuckDB type name -> Athena result type.
_ATHENA_TYPES = {
    **TRINO_TYPES,
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "HUGEINT": "decimal",
    "UBIGINT": "decimal",
    "UINTEGER": "bigint",
    "TIME": "time",
    "UUID": "varchar",
    "JSON": "json",
    "TIME WITH TIME ZONE": "time with time zone",
}


def athena_type(duck_type: str) -> tuple[str, int, int]:
    """Return (Athena type, precision, scale) for a DuckDB type string."""
    text = duck_type.upper()
    if text.endswith("[]"):  # before DECIMAL: an array of decimals is an array
        return "array", 0, 0
    if text.startswith("DECIMAL"):
        inner = text[text.index("(") + 1 : -1].split(",") if "(" in text else ["38", "0"]
        return "decimal", int(inner[0]), int(inner[1])
    if text.endswith("[]"):
        return "array", 0, 0
    if text.startswith("STRUCT"):
        from flovtrain.sandbox.engines.athena.trino_zones import MARKERS

        marked = [
            kind for key, kind in MARKERS.items() if text.startswith(f"STRUCT({key.upper()} ")
        ]
        if marked:  # a value printed as Trino prints it (see trino_zones)
            return marked[0], 3 if marked[0].startswith("timestamp") else 0, 0
        return "row", 0, 0
    if text.startswith("TUPLE"):  # DuckDB's unnamed struct: Trino's row with anonymous fields
        return "row", 0, 0
    if text.startswith("MAP"):
        return "map", 0, 0
    name = _ATHENA_TYPES.get(text, "varchar")
    precision = {
        "bigint": 19,
        "integer": 10,
        "smallint": 5,
        "tinyint": 3,
        "double": 17,
        "real": 7,
        "varchar": 2147483647,
        "boolean": 0,
        "date": 0,
    }.get(name, 0)
    if name.startswith("timestamp"):
        precision = 3
    return name, precision, 0


def interval_text(value: dt.timedelta) -> str:
    """An ``interval day to second`` as Trino prints it.

    Examples
    --------
    >>> interval_text(dt.timedelta(days=2, hours=3))
    '2 03:00:00.000'
    >>> interval_text(-dt.timedelta(seconds=1.5))
    '-0 00:00:01.500'
    """
    sign = "-" if value < dt.timedelta(0) else ""
    millis = abs(value) // dt.timedelta(milliseconds=1)
    seconds, ms = divmod(millis, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return f"{sign}{days} {hour:02d}:{minute:02d}:{sec:02d}.{ms:03d}"


def cell(value: Any) -> str | None:
    """Format one value as Athena's VarCharValue (None stays NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # Java's Double.toString, as Athena prints a double
        from flovtrain.sandbox.engines.athena.trino_java_format import _java_double

        return _java_double(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, dt.timedelta):
        return interval_text(value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, (dt.date, decimal.Decimal, int)):
        return str(value)
    if isinstance(value, tuple):  # an unnamed struct: Athena names the fields field0, field1...
        return "{" + ", ".join(f"field{i}={_nested(v)}" for i, v in enumerate(value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        from flovtrain.sandbox.engines.athena.trino_zones import marker_text

        if (text := marker_text(value)) is not None:
            return text
        return "{" + ", ".join(f"{_field_name(k)}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return value.hex(" ")
    return str(value)


_INTEGERS = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"}


def column_cells(duck_type: str) -> Any:
    """A function formatting a whole column of one DuckDB type as :func:`cell` would.

    A query's values are formatted a column at a time: one type decision per column instead
    of one per value (a 7,000-row daily OHLC has 49,000 values).

    Examples
    --------
    >>> column_cells("BIGINT")((1, None, 3))
    ['1', None, '3']
    >>> column_cells("DOUBLE")((0.5, 12345678.0))
    ['0.5', '1.2345678E7']
    """
    kind = duck_type.upper()
    if kind == "VARCHAR":
        return list
    if kind in _INTEGERS or kind == "DATE" or re.fullmatch(r"DECIMAL\(\d+, ?\d+\)", kind):
        return lambda values: [None if v is None else str(v) for v in values]
    if kind in ("DOUBLE", "FLOAT"):
        return _doubles
    return lambda values: [cell(v) for v in values]


def _doubles(values: Any) -> list[str | None]:
    """Java's ``Double.toString`` of a column. Arrow's cast to string writes the same shortest
    digits as Java for 0 and magnitudes in [1e-3, 1e7), without the ``.0`` of a whole number
    (added here); the other values (found with numpy) go through the full rules one by one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from flovtrain.sandbox.engines.athena.trino_java_format import _java_double

    numbers = pa.array(values, type=pa.float64())
    text = numbers.cast(pa.string())
    whole = pc.invert(pc.match_substring(text, "."))
    text = pc.if_else(whole, pc.binary_join_element_wise(text, "", ".0"), text)
    out = text.to_pylist()
    size = np.abs(numbers.to_numpy(zero_copy_only=False))  # NULL is NaN here
    with np.errstate(invalid="ignore"):
        plain = (size == 0) | ((size >= 1e-3) & (size < 1e7))
    for i in np.flatnonzero(~plain).tolist():
        if values[i] is not None:
            out[i] = _java_double(values[i])
    return out


def rows_of_batch(batch: list[tuple[Any, ...]], formatters: list[Any]) -> list[tuple[Any, ...]]:
    """Format a batch of fetched rows column by column (see :func:`column_cells`)."""
    if not batch:
        return []
    by_column = zip(*batch, strict=True)
    columns = [fmt(values) for fmt, values in zip(formatters, by_column, strict=True)]
    return list(zip(*columns, strict=True))


#: Rows kept in memory; a longer result goes to a file on disk and is paged from there.
IN_MEMORY_ROWS = 2000


# One field of a results-CSV line as :func:`csv_line` writes it: a quoted value, or nothing
# (NULL), then the separator.
_FIELD = re.compile(r'(?:"((?:[^"]|"")*)"|)(,|\n)', re.S)


def csv_line(row: Any) -> str:
    r'''One row of Athena's results CSV: every value quoted, NULL an empty unquoted field.

    Examples
    --------
    >>> csv_line(('a', None, 'say "hi"'))
    '"a",,"say ""hi"""\n'
    '''
    return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row) + "\n"


def parse_csv_lines(text: str) -> list[list[str | None]]:
    r"""Rows written by :func:`csv_line` back as cells (quoted newlines included).

    Examples
    --------
    >>> parse_csv_lines('"a",,"x""y"\n"b\nc",""\n')
    [['a', None, 'x"y'], ['b\nc', '']]
    """
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    for match in _FIELD.finditer(text):
        value, separator = match.groups()
        row.append(None if value is None else value.replace('""', '"'))
        if separator == "\n":
            rows.append(row)
            row = []
    return rows


class RowFile:
    """String rows spilled to an anonymous temp file as the lines of the results CSV, with an
    index of where each row starts: a page is one seek and one read, whatever its offset, and
    the results file is a copy of this one behind its header."""

    def __init__(self) -> None:
        import array
        import tempfile

        self.file = tempfile.TemporaryFile(prefix="flovtrain-athena-rows-")
        self.starts = array.array("q")
        self.size = 0

    def append(self, rows: list[tuple[str | None, ...]]) -> None:
        lines = []
        for row in rows:
            line = csv_line(row).encode()
            self.starts.append(self.size)
            self.size += len(line)
            lines.append(line)
        self.file.seek(0, 2)
        self.file.write(b"".join(lines))

    def __len__(self) -> int:
        return len(self.starts)

    def read(self, start: int, stop: int) -> list[list[str | None]]:
        stop = min(stop, len(self.starts))
        if start >= stop:
            return []
        end = self.starts[stop] if stop < len(self.starts) else self.size
        self.file.seek(self.starts[start])
        return parse_csv_lines(self.file.read(end - self.starts[start]).decode())

    def chunks(self, size: int = 1 << 20) -> Any:
        """The file's bytes, ``size`` at a time."""
        self.file.seek(0)
        while chunk := self.file.read(size):
            yield chunk


def _field_name(key: Any) -> str:
    """A row field's name as Athena prints it: an anonymous field (sqlglot names the fields of
    ``ROW(a, b)`` ``_0``, ``_1``) is ``field0``, ``field1``."""
    text = _nested(key)
    return "field" + text[1:] if text[:1] == "_" and text[1:].isdigit() else text


def _nested(value: Any) -> str:
    """A value inside an array, map or row: NULL prints as ``null``."""
    return "null" if value is None else str(cell(value))


@dataclass
class Result:
    """A finished statement: columns, string rows, and whether Athena shows a header row.

    Rows beyond :data:`IN_MEMORY_ROWS` are kept in a :class:`RowFile` on disk, so a large
    result does not stay in the sandbox's memory; :meth:`page` reads any slice of them.
    """

    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, duckdb type)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    header_row: bool = True
    bytes_scanned: int = 0
    files_read: int = 0
    statement_type: str = "DML"
    substatement_type: str = "SELECT"
    manifest: list[str] | None = None  # CTAS / UNLOAD: the data files written
    spill: RowFile | None = None

    @classmethod
    def of_write(
        cls, statement_type: str, substatement_type: str, meter: Any, paths: Any
    ) -> Result:
        """A statement that wrote data files (CTAS, UNLOAD): no header row, what ``meter`` saw
        it read, and the ``paths`` written as its manifest.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> meter = SimpleNamespace(bytes_read=10, files_read=1)
        >>> r = Result.of_write("DML", "UNLOAD", meter, ["s3://b/out/q_0"])
        >>> r.header_row, r.bytes_scanned, r.manifest
        (False, 10, ['s3://b/out/q_0'])
        """
        return cls(
            header_row=False,
            statement_type=statement_type,
            substatement_type=substatement_type,
            bytes_scanned=meter.bytes_read,
            files_read=meter.files_read,
            manifest=paths,
        )

    def add_rows(self, rows: list[tuple[str | None, ...]]) -> None:
        """Append rows, moving them all to disk once there are more than fit in memory."""
        if self.spill is None and len(self.rows) + len(rows) <= IN_MEMORY_ROWS:
            self.rows.extend(rows)
            return
        if self.spill is None:
            self.spill = RowFile()
            self.spill.append(self.rows)
            self.rows = []
        self.spill.append(rows)

    @property
    def row_count(self) -> int:
        return len(self.spill) if self.spill is not None else len(self.rows)

    def iter_rows(self, batch: int = 5000) -> Any:
        """Every row, read a batch at a time."""
        if self.spill is None:
            yield from self.rows
            return
        for start in range(0, len(self.spill), batch):
            yield from self.spill.read(start, start + batch)

    def column_info(self) -> list[dict[str, Any]]:
        info = []
        for name, duck in self.columns:
            kind, precision, scale = athena_type(duck)
            info.append(
                {
                    "CatalogName": "hive",
                    "SchemaName": "",
                    "TableName": "",
                    "Name": name,
                    "Label": name,
                    "Type": kind,
                    "Precision": precision,
                    "Scale": scale,
                    "Nullable": "UNKNOWN",
                    "CaseSensitive": kind == "varchar",
                }
            )
        return info

    def api_row_count(self) -> int:
        """Rows GetQueryResults returns in all: the header (for queries) and the data."""
        return self.row_count + int(self.header_row and bool(self.columns))

    def page(self, start: int, limit: int) -> list[dict[str, Any]]:
        """GetQueryResults ``Rows`` ``[start, start + limit)`` (header first, as Athena does)."""
        out = []
        header = int(self.header_row and bool(self.columns))
        if header and start == 0:
            out.append({"Data": [{"VarCharValue": name} for name, _ in self.columns]})
            limit -= 1
        first = max(0, start - header)
        if self.spill is not None:
            rows: Any = self.spill.read(first, first + limit)
        else:
            rows = self.rows[first : first + limit]
        for row in rows:
            out.append({"Data": [{} if v is None else {"VarCharValue": v} for v in row]})
        return out

    def api_rows(self) -> list[dict[str, Any]]:
        """All rows as GetQueryResults ``Rows`` (header first for queries)."""
        return self.page(0, self.api_row_count())

    def csv_chunks(self) -> Any:
        """The results file Athena writes, a chunk of bytes at a time: quoted CSV with a
        header (DDL: plain text lines)."""
        if not self.header_row:
            for row in self.iter_rows():
                yield ("\t".join("" if v is None else v for v in row) + "\n").encode()
            return
        buf = io.StringIO()
        csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(
            [name for name, _ in self.columns]
        )
        if self.spill is not None:  # already the CSV's lines
            yield buf.getvalue().encode()
            yield from self.spill.chunks()
            return
        lines = [buf.getvalue()] + [csv_line(row) for row in self.rows]
        yield "".join(lines).encode()

    def csv_bytes(self) -> bytes:
        """The whole results file (see :meth:`csv_chunks`)."""
        return b"".join(self.csv_chunks())

    def store(self, put_chunks: Any) -> None:
        """Hand :meth:`csv_chunks` to ``put_chunks`` (which writes them to S3)."""
        put_chunks(self.csv_chunks())

    def metadata_bytes(self) -> bytes:
        """The ``.metadata`` object (Athena's is binary; ours has the same ColumnInfo as JSON)."""
        return json.dumps(
            {"ColumnInfo": self.column_info(), "RowCount": self.row_count}, indent=1
        ).encode()
