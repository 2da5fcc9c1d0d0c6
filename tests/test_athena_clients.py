"""Real Athena clients against the sandbox: PyAthena (cursor, pandas, parameters, UNLOAD) and
awswrangler (CTAS / plain / UNLOAD reads, DDL helpers, catalog), compared with pandas' truth
over one day of klines."""

from __future__ import annotations

import boto3
import pandas as pd
import pytest
from athena_fixtures import BUCKET, RESULTS, setup_market, wait_query

SQL = "SELECT symbol, count(*) AS n, max(high) AS hi FROM klines GROUP BY symbol ORDER BY symbol"


@pytest.fixture(scope="module")
def truth():
    return setup_market(days=1)


@pytest.fixture(scope="module")
def expected(truth):
    g = truth.groupby("symbol").agg(n=("high", "size"), hi=("high", "max")).reset_index()
    return g.sort_values("symbol", ignore_index=True)


@pytest.fixture(scope="module")
def con(truth):
    import pyathena

    return pyathena.connect(s3_staging_dir=RESULTS, schema_name="marketdata")


def _rows(df: pd.DataFrame) -> list[tuple]:
    return [(r.symbol, int(r.n), float(r.hi)) for r in df.sort_values("symbol").itertuples()]


# --- PyAthena -----------------------------------------------------------------------------


def test_pyathena_cursor_rows_and_description(con, expected):
    cur = con.cursor()
    cur.execute(SQL)
    assert [(d[0], d[1]) for d in cur.description] == [
        ("symbol", "varchar"),
        ("n", "bigint"),
        ("hi", "double"),
    ]
    assert cur.fetchall() == _rows(expected)
    assert cur.query_id and cur.output_location.endswith(f"{cur.query_id}.csv")


def test_pyathena_parameters_both_paramstyles(con, truth):
    n = int((truth.symbol == "ETHUSDT").sum())
    pyformat = con.cursor().execute(
        "SELECT count(*) FROM klines WHERE symbol = %(s)s AND high > %(h)s",
        {"s": "ETHUSDT", "h": 0},
    )
    assert pyformat.fetchall() == [(n,)]
    qmark = con.cursor().execute(
        "SELECT count(*) FROM klines WHERE symbol = ? AND high > ?",
        ["'ETHUSDT'", "0"],
        paramstyle="qmark",
    )
    assert qmark.fetchall() == [(n,)]
    athena = boto3.client("athena")
    execution = athena.get_query_execution(QueryExecutionId=qmark.query_id)["QueryExecution"]
    assert execution["ExecutionParameters"] == ["'ETHUSDT'", "0"]


def test_pyathena_pandas_cursor_and_unload(con, expected):
    from pyathena.pandas.cursor import PandasCursor

    df = con.cursor(PandasCursor).execute(SQL).as_pandas()
    assert _rows(df) == _rows(expected)
    assert str(df.n.dtype) == "Int64" and str(df.hi.dtype) == "float64"

    cur = con.cursor(PandasCursor, unload=True)
    unloaded = cur.execute(SQL).as_pandas()
    assert _rows(unloaded) == _rows(expected)
    execution = boto3.client("athena").get_query_execution(QueryExecutionId=cur.query_id)
    e = execution["QueryExecution"]
    assert (e["StatementType"], e["SubstatementType"]) == ("DML", "UNLOAD")
    manifest = e["Statistics"]["DataManifestLocation"]
    assert manifest == f"{RESULTS}{cur.query_id}-manifest.csv"


def test_pyathena_arrow_cursor_needs_the_endpoint_given_to_pyarrow(con, expected, monkeypatch):
    """pyarrow's S3FileSystem ignores AWS_ENDPOINT_URL: give it ``endpoint_override``."""
    import os
    from urllib.parse import urlparse

    from pyarrow import fs
    from pyathena.arrow.cursor import ArrowCursor

    endpoint = urlparse(os.environ["AWS_ENDPOINT_URL"])
    real = fs.S3FileSystem

    def to_sandbox(**kwargs):
        return real(endpoint_override=endpoint.netloc, scheme=endpoint.scheme, **kwargs)

    monkeypatch.setattr(fs, "S3FileSystem", to_sandbox)
    table = con.cursor(ArrowCursor).execute(SQL).as_arrow()
    assert _rows(table.to_pandas()) == _rows(expected)
    unloaded = con.cursor(ArrowCursor, unload=True).execute(SQL).as_arrow()
    assert _rows(unloaded.to_pandas()) == _rows(expected)


def test_prepare_execute_using(con, truth):
    cur = con.cursor()
    cur.execute("PREPARE per_symbol FROM SELECT count(*) FROM klines WHERE symbol = ? AND high > ?")
    e = boto3.client("athena").get_query_execution(QueryExecutionId=cur.query_id)
    assert e["QueryExecution"]["StatementType"] == "UTILITY"
    got = cur.execute("EXECUTE per_symbol USING 'SOLUSDT', 0").fetchall()
    assert got == [(int((truth.symbol == "SOLUSDT").sum()),)]
    from pyathena.error import OperationalError

    with pytest.raises(OperationalError, match="Incorrect number of parameters"):
        cur.execute("EXECUTE per_symbol USING 'SOLUSDT'")


# --- awswrangler --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"ctas_approach": False}],
    ids=["ctas", "plain"],
)
def test_wrangler_read_sql_query(truth, expected, options):
    import awswrangler as wr

    df = wr.athena.read_sql_query(SQL, database="marketdata", s3_output=RESULTS, **options)
    assert _rows(df) == _rows(expected)
    assert str(df.n.dtype) == "Int64"


def test_wrangler_ctas_reports_and_writes_the_manifest(truth):
    import awswrangler as wr

    df = wr.athena.read_sql_query(SQL, database="marketdata", s3_output=RESULTS, keep_files=True)
    qid = df.query_metadata["QueryExecutionId"]
    e = boto3.client("athena").get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    assert (e["StatementType"], e["SubstatementType"]) == ("DDL", "CREATE_TABLE_AS_SELECT")
    assert e["ResultConfiguration"]["OutputLocation"] == f"{RESULTS}tables/{qid}"
    manifest = e["Statistics"]["DataManifestLocation"]
    assert manifest == f"{RESULTS}tables/{qid}-manifest.csv"
    key = manifest.removeprefix(f"s3://{BUCKET}/")
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    paths = body.split()
    assert paths and all(p.startswith(f"s3://{BUCKET}/") for p in paths)
    for path in paths:  # every file listed exists
        boto3.client("s3").head_object(Bucket=BUCKET, Key=path.removeprefix(f"s3://{BUCKET}/"))


def test_wrangler_unload(truth, expected):
    import awswrangler as wr

    df = wr.athena.read_sql_query(
        SQL,
        database="marketdata",
        s3_output=f"s3://{BUCKET}/unload-wrangler/",
        ctas_approach=False,
        unload_approach=True,
    )
    assert _rows(df) == _rows(expected)
    with pytest.raises(wr.exceptions.QueryFailed, match="HIVE_PATH_ALREADY_EXISTS"):
        wr.athena.read_sql_query(
            SQL, database="marketdata", s3_output=RESULTS, ctas_approach=False, unload_approach=True
        )


def test_wrangler_describe_and_show_create_table(truth):
    import awswrangler as wr

    glue = boto3.client("glue").get_table(DatabaseName="marketdata", Name="klines")["Table"]
    described = wr.athena.describe_table("klines", database="marketdata", s3_output=RESULTS)
    columns = glue["StorageDescriptor"]["Columns"] + glue["PartitionKeys"]
    assert described["Column Name"].tolist() == [c["Name"] for c in columns]
    assert described["Type"].tolist() == [c["Type"] for c in columns]
    assert described["Partition"].tolist() == [False] * 12 + [True, True]

    ddl = wr.athena.show_create_table("klines", database="marketdata", s3_output=RESULTS)
    assert ddl.startswith("CREATE EXTERNAL TABLE `klines`(")
    assert "PARTITIONED BY (" in ddl and glue["StorageDescriptor"]["Location"] in ddl
    # the DDL Athena prints creates the same table again
    copy = ddl.replace("`klines`", "`klines_copy`")
    wr.athena.start_query_execution(copy, database="marketdata", s3_output=RESULTS, wait=True)
    again = boto3.client("glue").get_table(DatabaseName="marketdata", Name="klines_copy")["Table"]
    assert again["StorageDescriptor"]["Columns"] == glue["StorageDescriptor"]["Columns"]
    assert again["PartitionKeys"] == glue["PartitionKeys"]


def test_wrangler_read_sql_table_and_create_ctas_table(truth):
    import awswrangler as wr

    df = wr.athena.read_sql_table("klines", database="marketdata", s3_output=RESULTS)
    assert len(df) == len(truth)
    assert df.high.sum() == pytest.approx(truth.high.sum())

    made = wr.athena.create_ctas_table(
        "SELECT symbol, max(high) AS hi FROM klines GROUP BY symbol",
        database="marketdata",
        ctas_table="maxes",
        s3_output=RESULTS,
        wait=True,
    )
    assert made["ctas_table"] == "maxes"
    assert wr.catalog.get_table_types(database="marketdata", table="maxes") == {
        "symbol": "string",
        "hi": "double",
    }
    back = wr.athena.read_sql_query(
        "SELECT * FROM maxes", database="marketdata", ctas_approach=False, s3_output=RESULTS
    )
    want = truth.groupby("symbol").high.max()
    assert dict(zip(back.symbol, back.hi, strict=True)) == want.to_dict()


def test_wrangler_catalog(truth):
    import awswrangler as wr

    assert {"default", "marketdata"} <= set(wr.catalog.databases().Database)
    tables = wr.catalog.tables(database="marketdata")
    assert "klines" in tables.Table.tolist()
    types = wr.catalog.get_table_types(database="marketdata", table="klines")
    assert types["open_time"] == "bigint" and types["symbol"] == "string"
    assert wr.catalog.get_partitions(database="marketdata", table="klines")


# --- statements and result shapes ---------------------------------------------------------


def test_views_show_statements_and_statement_types(con, expected):
    cur = con.cursor()
    cur.execute("CREATE VIEW counts AS SELECT symbol, count(*) AS n FROM klines GROUP BY symbol")
    glue = boto3.client("glue").get_table(DatabaseName="marketdata", Name="counts")["Table"]
    assert glue["TableType"] == "VIRTUAL_VIEW"
    assert glue["ViewOriginalText"].startswith("/* Presto View: ")
    assert cur.execute("SELECT * FROM counts ORDER BY symbol").fetchall() == [
        (s, n) for s, n, _ in _rows(expected)
    ]
    shown = [r[0] for r in cur.execute("SHOW CREATE VIEW counts").fetchall()]
    assert shown[0] == 'CREATE VIEW "awsdatacatalog"."marketdata"."counts" SECURITY DEFINER AS'
    assert "GROUP BY symbol" in " ".join(shown)
    assert "counts" in [r[0] for r in cur.execute("SHOW TABLES").fetchall()]
    cols = [r[0] for r in cur.execute("SHOW COLUMNS IN `marketdata`.`klines`").fetchall()]
    assert cols[:2] == ["open_time", "open"]
    cur.execute("DROP VIEW counts")
    athena = boto3.client("athena")
    e = athena.get_query_execution(QueryExecutionId=cur.query_id)["QueryExecution"]
    assert (e["StatementType"], e["SubstatementType"]) == ("DDL", "DROP_VIEW")
    from pyathena.error import OperationalError

    with pytest.raises(OperationalError, match="does not exist"):
        cur.execute("DROP VIEW counts")


def test_unnamed_columns_and_rendered_values(con):
    cur = con.cursor()
    cur.execute("SELECT 13 UNION SELECT 42")
    assert [d[0] for d in cur.description] == ["_col0"]
    cur.execute(
        "SELECT ARRAY[1, 2], MAP(ARRAY['a'], ARRAY[1]), TIMESTAMP '2001-08-22 03:04:05.321', "
        "INTERVAL '2' DAY + INTERVAL '3' HOUR, 1 + 1 AS two"
    )
    assert [d[0] for d in cur.description] == ["_col0", "_col1", "_col2", "_col3", "two"]
    athena = boto3.client("athena")
    rows = athena.get_query_results(QueryExecutionId=cur.query_id)["ResultSet"]["Rows"]
    assert [c.get("VarCharValue") for c in rows[1]["Data"]] == [
        "[1, 2]",
        "{a=1}",
        "2001-08-22 03:04:05.321",
        "2 03:00:00.000",
        "2",
    ]


def test_errors_are_worded_and_typed_like_athena(con):
    athena = boto3.client("athena")
    cases = {
        "SELECT x FROM klines": ("COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved", 1006),
        "SELECT nosuchfn(1)": (
            "FUNCTION_NOT_FOUND: line 1:8: Function 'nosuchfn' not registered",
            1006,
        ),
        "SELECT * FROM nope": (
            "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.marketdata.nope' does not exist",
            1006,
        ),
        "SELECT FROM": ("line 1:8: mismatched input", 1004),
        "SELECT 'a' + 1": (
            "TYPE_MISMATCH: line 1:12: Cannot apply operator: varchar + integer",
            1006,
        ),
        "SELECT length(1)": (
            "FUNCTION_NOT_FOUND: line 1:8: Unexpected parameters (integer) for function length",
            1006,
        ),
        "SELECT from_base('xyz', 16)": (
            "INVALID_FUNCTION_ARGUMENT: Not a valid base-16 number: xyz",
            1006,
        ),
        "SELECT CAST('x' AS integer)": ("INVALID_CAST_ARGUMENT: Cannot cast 'x' to INT", 1006),
        "SELECT CAST('' AS bigint)": ("INVALID_CAST_ARGUMENT: Cannot cast '' to BIGINT", 1006),
        "SELECT CAST('1,5' AS double)": (
            "INVALID_CAST_ARGUMENT: Cannot cast '1,5' to DOUBLE",
            1006,
        ),
        "SELECT CAST('2021-13-01' AS date)": (
            "INVALID_CAST_ARGUMENT: Value cannot be cast to date: 2021-13-01",
            1006,
        ),
        "SELECT CAST('x' AS decimal(10, 2))": (
            "INVALID_CAST_ARGUMENT: Cannot cast VARCHAR 'x' to DECIMAL(10, 2). "
            "Value is not a number.",
            1006,
        ),
        "SELECT slice(ARRAY[1], 0, 1)": (
            "INVALID_FUNCTION_ARGUMENT: SQL array indices start at 1",
            1006,
        ),
    }
    for sql, (reason, error_type) in cases.items():
        qid = athena.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": "marketdata"},
            ResultConfiguration={"OutputLocation": RESULTS},
        )["QueryExecutionId"]
        e = wait_query(athena, qid)
        assert e["Status"]["State"] == "FAILED", sql
        assert e["Status"]["StateChangeReason"].startswith(reason), (sql, e["Status"])
        error = e["Status"]["AthenaError"]
        assert (error["ErrorCategory"], error["ErrorType"], error["Retryable"]) == (
            2,
            error_type,
            False,
        ), sql
        assert error["ErrorMessage"] == e["Status"]["StateChangeReason"]


def test_a_long_result_is_paged_from_disk():
    from flovtrain.sandbox.engines.athena.results import IN_MEMORY_ROWS, Result

    result = Result(columns=[("n", "BIGINT"), ("s", "VARCHAR")])
    for start in range(0, IN_MEMORY_ROWS + 500, 700):
        result.add_rows([(str(i), None if i % 3 else f"v{i}") for i in range(start, start + 700)])
    total = len(range(0, IN_MEMORY_ROWS + 500, 700)) * 700
    assert result.rows == [] and result.spill is not None and result.row_count == total
    assert result.api_row_count() == total + 1
    first = result.page(0, 3)
    assert first[0] == {"Data": [{"VarCharValue": "n"}, {"VarCharValue": "s"}]}
    assert first[1] == {"Data": [{"VarCharValue": "0"}, {"VarCharValue": "v0"}]}
    assert first[2] == {"Data": [{"VarCharValue": "1"}, {}]}
    later = result.page(2501, 2)  # rows 2500 and 2501 (the header is row 0 of the pages)
    assert [r["Data"][0]["VarCharValue"] for r in later] == ["2500", "2501"]
    assert result.page(total + 1, 10) == []
    lines = result.csv_bytes().decode().splitlines()
    assert lines[0] == '"n","s"' and lines[1] == '"0","v0"' and lines[2] == '"1",'
    assert len(lines) == total + 1


def test_insert_into_external_tables_and_backtick_ddl(con, truth):
    cur = con.cursor()
    cur.execute(
        "CREATE EXTERNAL TABLE `marketdata`.`daily` (`symbol` string, `hi` double) "
        "PARTITIONED BY (`day` string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
        f"LOCATION 's3://{BUCKET}/daily/'"
    )
    cur.execute(
        'INSERT INTO daily SELECT symbol, max(high), "date" FROM klines GROUP BY symbol, "date"'
    )
    assert cur.fetchall() == [(3,)]
    e = boto3.client("athena").get_query_execution(QueryExecutionId=cur.query_id)
    assert (e["QueryExecution"]["StatementType"], e["QueryExecution"]["SubstatementType"]) == (
        "DML",
        "INSERT",
    )
    with pytest.raises(Exception, match="line 1:13: backquoted identifiers are not supported"):
        cur.execute("INSERT INTO `daily` (symbol, day) VALUES ('XRPUSDT', '2025-01-01')")
    cur.execute("""INSERT INTO "daily" (symbol, "day") VALUES ('XRPUSDT', '2025-01-01')""")
    rows = cur.execute("SELECT symbol, hi, day FROM daily ORDER BY symbol").fetchall()
    want = truth.groupby("symbol").high.max()
    assert rows[:3] == [(s, want[s], "2025-01-01") for s in sorted(want.index)]
    assert rows[3] == ("XRPUSDT", None, "2025-01-01")
    partitions = [r[0] for r in cur.execute("SHOW PARTITIONS `marketdata`.`daily`").fetchall()]
    assert partitions == ["day=2025-01-01"]
    cur.execute("DROP TABLE `marketdata`.`daily`")
    assert "daily" not in [r[0] for r in cur.execute("SHOW TABLES IN `marketdata`").fetchall()]
