"""Query results the way Athena hands them out: typed ColumnInfo, string cells, CSV + .metadata."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

#: DuckDB type name -> Athena result type.
_ATHENA_TYPES = {
    "VARCHAR": "varchar",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "HUGEINT": "decimal",
    "UBIGINT": "decimal",
    "UINTEGER": "bigint",
    "INTERVAL": "interval day to second",
    "TIME": "time",
    "BLOB": "varbinary",
    "UUID": "varchar",
}


def athena_type(duck_type: str) -> tuple[str, int, int]:
    """Return (Athena type, precision, scale) for a DuckDB type string."""
    text = duck_type.upper()
    if text.startswith("DECIMAL"):
        inner = text[text.index("(") + 1 : -1].split(",") if "(" in text else ["38", "0"]
        return "decimal", int(inner[0]), int(inner[1])
    if text.endswith("[]"):
        return "array", 0, 0
    if text.startswith("STRUCT"):
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


def cell(value: Any) -> str | None:
    """Format one value as Athena's VarCharValue (None stays NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, (dt.date, decimal.Decimal, int)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join("null" if v is None else str(cell(v)) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={cell(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return value.hex(" ")
    return str(value)


@dataclass
class Result:
    """A finished statement: columns, string rows, and whether Athena shows a header row."""

    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, duckdb type)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    header_row: bool = True
    bytes_scanned: int = 0
    files_read: int = 0
    statement_type: str = "DML"
    substatement_type: str = "SELECT"

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

    def api_rows(self) -> list[dict[str, Any]]:
        """All rows as GetQueryResults ``Rows`` (header first for queries, as Athena does).

        Built once per result: every page of a paged read slices the same list.
        """
        cached = self.__dict__.get("_api_rows")
        if cached is not None and cached[0] == len(self.rows):
            return cached[1]
        out = self._build_api_rows()
        self.__dict__["_api_rows"] = (len(self.rows), out)
        return out

    def _build_api_rows(self) -> list[dict[str, Any]]:
        out = []
        if self.header_row and self.columns:
            out.append({"Data": [{"VarCharValue": name} for name, _ in self.columns]})
        for row in self.rows:
            out.append({"Data": [{} if v is None else {"VarCharValue": v} for v in row]})
        return out

    def csv_bytes(self) -> bytes:
        """The results file Athena writes: quoted CSV with a header (DDL: plain text lines)."""
        buf = io.StringIO()
        if not self.header_row:
            for row in self.rows:
                buf.write("\t".join("" if v is None else v for v in row) + "\n")
            return buf.getvalue().encode()
        writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow([name for name, _ in self.columns])
        for row in self.rows:
            buf.write(",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row))
            buf.write("\n")
        return buf.getvalue().encode()

    def metadata_bytes(self) -> bytes:
        """The ``.metadata`` object (Athena's is binary; ours has the same ColumnInfo as JSON)."""
        return json.dumps(
            {"ColumnInfo": self.column_info(), "RowCount": len(self.rows)}, indent=1
        ).encode()
