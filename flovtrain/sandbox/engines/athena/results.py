"""Query results the way Athena hands them out: typed ColumnInfo, string cells, CSV + .metadata."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from flovtrain.sandbox.engines.athena.cells import csv_line, csv_lines, parse_csv_lines

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


#: Rows kept in memory; a longer result goes to a file on disk and is paged from there.
IN_MEMORY_ROWS = 2000


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

    def append_lines(self, lines: Any) -> None:
        """Append rows already written as CSV lines: an Arrow string array from
        :func:`~flovtrain.sandbox.engines.athena.cells.csv_lines` (its data buffer is the lines
        back to back, its offsets the rows' starts)."""
        import numpy as np
        import pyarrow as pa

        if len(lines) == 0:
            return
        lines = lines.cast(pa.large_string())
        _, offsets_buffer, data = lines.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
            lines.offset : lines.offset + len(lines) + 1
        ]
        self.starts.extend((offsets[:-1] - offsets[0] + self.size).tolist())
        self.file.seek(0, 2)
        self.file.write(memoryview(data)[offsets[0] : offsets[-1]])
        self.size += int(offsets[-1] - offsets[0])

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
        if self._fits(len(rows)):
            self.rows.extend(rows)
        else:
            self._spilled().append(rows)

    def add_texts(self, texts: list[Any]) -> None:
        """Append a batch given as Arrow string columns (from ``cells.arrow_texts``): rows kept
        in memory become tuples; rows for the file are written as CSV lines, vectorized."""
        if self._fits(len(texts[0]) if texts else 0):
            self.rows.extend(zip(*(t.to_pylist() for t in texts), strict=True))
        else:
            self._spilled().append_lines(csv_lines(texts))

    def _fits(self, count: int) -> bool:
        return self.spill is None and len(self.rows) + count <= IN_MEMORY_ROWS

    def _spilled(self) -> RowFile:
        """The file the rows go to, made (with the rows kept so far) on first use."""
        if self.spill is None:
            self.spill = RowFile()
            self.spill.append(self.rows)
            self.rows = []
        return self.spill

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
