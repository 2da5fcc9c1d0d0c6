"""The SQL engine behind the sandbox's Athena: Trino SQL on DuckDB over the sandbox's own S3.

Layers, one module each:

- :mod:`.dialect` — Athena/Trino SQL to DuckDB with sqlglot, plus fixes where plain transpiling
  is silently wrong (integer division, division by zero, ``regexp_extract``, ``format``,
  ``format_datetime``).
- :mod:`.catalog` — Glue tables and partitions, read from moto's Glue backend in-process.
- :mod:`.storage` — S3 objects read in-process from moto's S3 backend (zero-copy), counted so
  ``DataScannedInBytes`` is the bytes actually read.
- :mod:`.pruning` — which Glue partitions a query needs, decided before any file is listed.
- :mod:`.tables` — a table's needed files and columns read into Arrow (SerDe options,
  partition values) or handed to DuckDB's Parquet scan.
- :mod:`.ddl` — DDL through Athena updating Glue; CTAS to Parquet.
- :mod:`.executor` — runs one statement and returns a :class:`~.executor.Result`.
- :mod:`.results` — Athena result types, the results CSV and ``.metadata``.
- :mod:`.queries` — query executions and the one worker that runs them in submission order.

Heavy imports (duckdb, sqlglot, pyarrow) happen when the first query runs, never at sandbox
start.
"""
