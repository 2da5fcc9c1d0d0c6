"""Query output written to S3 as table files (CTAS, UNLOAD), and the data manifest listing them.

Athena writes the files of a CTAS or UNLOAD under the target location and a *data manifest*
(``<query id>-manifest.csv``: one ``s3://`` path a line) that ``Statistics.DataManifestLocation``
points at; awswrangler and PyAthena read the result files through it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines.athena import storage
from flovtrain.sandbox.engines.athena.errors import QueryError

#: Athena's format name -> (DuckDB COPY format, default compression, file extension).
FORMATS = {
    "PARQUET": ("parquet", "SNAPPY", ".parquet"),
    "TEXTFILE": ("csv", "GZIP", ".gz"),
    "JSON": ("json", "GZIP", ".gz"),
}
_COMPRESSIONS = {"SNAPPY", "GZIP", "ZSTD", "NONE", "UNCOMPRESSED"}


@dataclass
class Written:
    """What a write produced: the S3 paths, bytes, and the partitions (values, location)."""

    paths: list[str] = field(default_factory=list)
    size: int = 0
    partitions: list[tuple[list[str], str]] = field(default_factory=list)


def check_target(ctx: Any, location: str, what: str) -> tuple[str, str]:
    """Return (bucket, prefix) of an empty target folder, or raise Athena's error."""
    if not location.endswith("/"):
        location += "/"
    bucket, prefix = storage.parse_s3_url(location)
    if storage.bucket_or_none(ctx.account_id, ctx.region, bucket) is None:
        raise QueryError(
            f"HIVE_PATH_ALREADY_EXISTS: Unable to write to s3://{bucket}: the bucket does not exist"
        )
    if storage.list_keys(ctx.account_id, ctx.region, bucket, prefix):
        raise QueryError(
            f"HIVE_PATH_ALREADY_EXISTS: Target directory for {what} already exists: "
            f"{location}. You may need to manually clean the data at location before "
            "creating the table."
        )
    return bucket, prefix


def copy_options(fmt: str, compression: str | None, delimiter: str | None) -> tuple[str, str]:
    """DuckDB ``COPY`` options and the file extension for an Athena format.

    Examples
    --------
    >>> copy_options("PARQUET", None, None)
    ('FORMAT parquet, COMPRESSION snappy', '.parquet')
    """
    if fmt not in FORMATS:
        raise QueryError(
            f"NOT_SUPPORTED: The sandbox's Athena writes PARQUET, TEXTFILE and JSON (got '{fmt}')",
            2,
            1004,
        )
    duck, default, ext = FORMATS[fmt]
    codec = (compression or default).upper()
    if codec not in _COMPRESSIONS:
        raise QueryError(f"INVALID_TABLE_PROPERTY: Unsupported compression: {codec}", 2, 1006)
    codec = "uncompressed" if codec == "NONE" else codec.lower()
    if fmt != "PARQUET":
        ext = ".gz" if codec == "gzip" else ".zst" if codec == "zstd" else ""
        codec = "none" if codec == "uncompressed" else codec
    options = f"FORMAT {duck}, COMPRESSION {codec}"
    if fmt == "TEXTFILE":
        sep = (delimiter or "\x01").replace("'", "''")
        options += f", HEADER false, DELIMITER '{sep}', NULLSTR '\\N'"
    return options, ext


def write(
    con: Any,
    select_sql: str,
    ctx: Any,
    bucket: str,
    prefix: str,
    fmt: str = "PARQUET",
    partitioned_by: list[str] | None = None,
    compression: str | None = None,
    delimiter: str | None = None,
    single_name: str | None = None,
    file_prefix: str = "part",
) -> Written:
    """Run ``select_sql`` into files under ``s3://bucket/prefix`` and return what was written.

    One file for an unpartitioned write (named ``single_name`` + extension), one per partition
    folder (``k=v/<file_prefix>-N``) otherwise. Parquet is written by one thread, so its row
    groups (and the bytes a later query scans) are reproducible.
    """
    options, ext = copy_options(fmt, compression, delimiter)
    out = Written()
    with tempfile.TemporaryDirectory(prefix="flovtrain-write-") as tmp:
        target = Path(tmp) / "out"
        if partitioned_by:
            options += ", PARTITION_BY (" + ", ".join(f'"{p}"' for p in partitioned_by) + ")"
            options += f", FILENAME_PATTERN '{file_prefix}-{{i}}'"
        path = target if partitioned_by else Path(tmp) / f"out{ext}"
        con.execute("SET threads = 1")
        con.execute(f"COPY ({select_sql}) TO '{path}' ({options})")
        files = sorted(p for p in target.rglob("*") if p.is_file()) if partitioned_by else [path]
        seen: set[str] = set()
        for file in files:
            if partitioned_by:
                rel_key = file.relative_to(target).as_posix()
            else:
                rel_key = f"{single_name or ctx.execution_id or 'data'}{ext}"
            storage.put_bytes(
                ctx.account_id, ctx.region, bucket, prefix + rel_key, file.read_bytes()
            )
            out.paths.append(f"s3://{bucket}/{prefix}{rel_key}")
            out.size += file.stat().st_size
            if partitioned_by:
                folder = rel_key.rsplit("/", 1)[0]
                if folder not in seen:
                    seen.add(folder)
                    values = [seg.split("=", 1)[1] for seg in folder.split("/")]
                    out.partitions.append((values, f"s3://{bucket}/{prefix}{folder}/"))
    return out


def manifest_bytes(paths: list[str]) -> bytes:
    """The data manifest: one S3 path a line, as Athena writes it.

    Examples
    --------
    >>> manifest_bytes(["s3://b/t/a.parquet", "s3://b/t/b.parquet"])
    b's3://b/t/a.parquet\\ns3://b/t/b.parquet\\n'
    """
    return "".join(p + "\n" for p in paths).encode()
