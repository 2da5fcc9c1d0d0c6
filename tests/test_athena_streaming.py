"""CSV tables stream into DuckDB: a LIMIT stops the reading, as Trino stops reading splits."""

from __future__ import annotations

import gzip
import threading
import time

import boto3
import numpy as np
import pyarrow as pa
import pytest
from athena_fixtures import BUCKET, RESULTS, object_sizes, q, setup_market, wait_query

from flovtrain.exceptions import AthenaQueryFailed
from flovtrain.sandbox.engines.athena import streaming
from flovtrain.sandbox.engines.athena.errors import QueryCancelled

DAYS = 30  # 90 files, ~13 MB: a stream of several tasks, over a 10 MB work group limit


@pytest.fixture(scope="module")
def truth():
    return setup_market(days=DAYS)


@pytest.fixture(scope="module")
def total(truth) -> int:
    return sum(object_sizes("marketdata/klines/").values())


def _start(sql: str, **kw) -> str:
    if "WorkGroup" not in kw:
        kw["ResultConfiguration"] = {"OutputLocation": RESULTS}
    return boto3.client("athena").start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": "marketdata"}, **kw
    )["QueryExecutionId"]


def test_limit_reads_only_the_first_files(truth, total):
    df = q("SELECT * FROM klines LIMIT 10")
    assert len(df) == 10
    assert 0 < df.attrs["bytes_scanned"] < total / 2
    # every row is a real kline of its symbol, every column in place
    merged = df.merge(truth, on=["symbol", "open_time"], suffixes=("", "_t"))
    assert len(merged) == 10
    for col in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_t"], rtol=1e-12)
    assert (merged["date"] == merged["date_t"]).all()


def test_full_scans_read_everything_once(truth, total):
    df = q(
        "SELECT symbol, count(*) AS n, sum(volume) AS vol FROM klines "
        "GROUP BY symbol ORDER BY symbol"
    )
    expected = truth.groupby("symbol").agg(n=("open", "size"), vol=("volume", "sum")).reset_index()
    assert df.symbol.tolist() == expected.symbol.tolist()
    assert df.n.tolist() == expected.n.tolist() == [1440 * DAYS] * 3
    np.testing.assert_allclose(df.vol, expected.vol, rtol=1e-9)
    assert df.attrs["bytes_scanned"] == total
    # a top-N reads every row before its LIMIT
    top = q("SELECT symbol, open_time, close FROM klines ORDER BY close DESC, open_time LIMIT 3")
    best = truth.sort_values(["close", "open_time"], ascending=[False, True]).head(3)
    assert top.open_time.tolist() == best.open_time.tolist()
    assert top.attrs["bytes_scanned"] == total


def test_tables_scanned_twice_are_read_whole(truth, total):
    n = len(truth)
    joined = q(
        "SELECT count(*) AS n FROM klines a JOIN klines b "
        "ON a.symbol = b.symbol AND a.open_time = b.open_time"
    )
    assert joined.n.tolist() == [n]
    twice = q("""
        WITH m AS (SELECT symbol, max(close) AS top FROM klines GROUP BY symbol)
        SELECT count(*) AS n FROM m x JOIN m y ON x.symbol = y.symbol""")
    assert twice.n.tolist() == [3]
    above = q("SELECT count(*) AS n FROM klines WHERE close > (SELECT avg(close) FROM klines)")
    assert above.n.tolist() == [int((truth.close > truth.close.mean()).sum())]
    both = q(
        "SELECT count(*) AS n FROM (SELECT open_time FROM klines UNION ALL "
        "SELECT open_time FROM klines)"
    )
    assert both.n.tolist() == [2 * n]
    q("CREATE OR REPLACE VIEW btc AS SELECT open_time, close FROM klines WHERE symbol = 'BTCUSDT'")
    view = q("SELECT count(*) AS n, max(close) AS top FROM btc")
    assert view.n.tolist() == [1440 * DAYS]
    assert view.top.tolist() == [truth[truth.symbol == "BTCUSDT"].close.max()]
    assert view.attrs["bytes_scanned"] == sum(
        object_sizes("marketdata/klines/symbol=BTCUSDT/").values()
    )


def _many_files(prefix: str, bodies: list[bytes]) -> None:
    s3 = boto3.client("s3")
    for i, body in enumerate(bodies):
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/part-{i:03d}.csv", Body=body)


def test_malformed_row_late_in_the_stream_reads_leniently(truth):
    # 12 files of ~300 kB: several tasks; the bad rows are in the last file, after
    # earlier batches already went to DuckDB
    good = b"".join(b"%d,%d.5\n" % (i, i) for i in range(30_000))
    bodies = [good] * 11 + [good + b"not-a-number,3\n4\n5,6,7\n"]
    _many_files("late-bad", bodies)
    q(
        "CREATE EXTERNAL TABLE late_bad (a bigint, b double) ROW FORMAT DELIMITED "
        f"FIELDS TERMINATED BY ',' LOCATION 's3://{BUCKET}/late-bad/'"
    )
    df = q("SELECT count(*) AS n, count(a) AS a, count(b) AS b, sum(a) AS s FROM late_bad")
    assert df.n.tolist() == [12 * 30_000 + 3]
    assert df.a.tolist() == [12 * 30_000 + 2]  # 'not-a-number' is NULL
    assert df.b.tolist() == [12 * 30_000 + 2]  # '4' has no second field
    assert df.s.tolist() == [12 * sum(range(30_000)) + 4 + 5]
    assert df.attrs["bytes_scanned"] == sum(len(b) for b in bodies)  # counted once
    # the first rows come before the bad file: a LIMIT never sees it
    assert q("SELECT a FROM late_bad LIMIT 2").a.notna().all()


def test_a_file_that_is_not_gzip_fails_as_in_athena(truth):
    good = gzip.compress(b"".join(b"%d\n" % i for i in range(100_000)))
    s3 = boto3.client("s3")
    for i in range(6):
        s3.put_object(Bucket=BUCKET, Key=f"gz/part-{i}.csv.gz", Body=good)
    s3.put_object(Bucket=BUCKET, Key="gz/part-9.csv.gz", Body=b"plain text\n")
    q(f"CREATE EXTERNAL TABLE gz (a bigint) LOCATION 's3://{BUCKET}/gz/'")
    with pytest.raises(AthenaQueryFailed, match=r"HIVE_CURSOR_ERROR: Cannot read s3://.*as gzip"):
        q("SELECT sum(a) AS s FROM gz")


def test_byte_limit_cancels_mid_stream_but_a_limit_fits_under_it(truth, total):
    athena = boto3.client("athena")
    athena.create_work_group(
        Name="stream-capped",
        Configuration={
            "ResultConfiguration": {"OutputLocation": RESULTS},
            "BytesScannedCutoffPerQuery": 10_000_000,
        },
    )
    assert total > 10_000_000
    e = wait_query(athena, _start("SELECT count(*) FROM klines", WorkGroup="stream-capped"))
    assert e["Status"]["State"] == "CANCELLED"
    assert e["Status"]["StateChangeReason"] == "Bytes scanned limit was exceeded"
    e = wait_query(athena, _start("SELECT * FROM klines LIMIT 5", WorkGroup="stream-capped"))
    assert e["Status"]["State"] == "SUCCEEDED"
    assert e["Statistics"]["DataScannedInBytes"] < 10_000_000


# The reader itself, in this process: DuckDB stopping early, failures, no threads left behind.


def _slow_tasks(n: int, rows: int = 5000):
    opened: list[int] = []
    lock = threading.Lock()

    def parse(i: int) -> pa.Table:
        with lock:
            opened.append(i)
        time.sleep(0.01)
        return pa.table({"n": pa.array(range(i * rows, (i + 1) * rows), pa.int64())})

    return list(range(n)), parse, opened


def _threads() -> int:
    """Python threads running, without the placeholders ``threading`` makes for DuckDB's own
    worker threads when they call into Python (those live as long as DuckDB's pool)."""
    return sum(1 for t in threading.enumerate() if type(t).__name__ != "_DummyThread")


def _threads_settle(baseline: int) -> int:
    for _ in range(100):
        if _threads() <= baseline:
            break
        time.sleep(0.01)
    assert not [t for t in threading.enumerate() if t.name.startswith("athena-stream")]
    return _threads()


def test_reader_stops_its_pool_when_duckdb_stops_early():
    import duckdb

    baseline = _threads()
    tasks, parse, opened = _slow_tasks(50)
    failures: list[BaseException] = []
    database = duckdb.connect()  # a cursor per statement, as the executor runs them
    con = database.cursor()
    schema = pa.schema([("n", pa.int64())])
    con.register("s", streaming.reader(schema, tasks, parse, 2, failures))
    rows = con.sql("SELECT n FROM s LIMIT 10").fetchall()  # no relation kept alive
    assert rows == [(i,) for i in range(10)]
    con.close()
    assert _threads_settle(baseline) == baseline
    assert len(opened) <= 2 * streaming.AHEAD_PER_THREAD + 1 and not failures
    # a full scan gives every row and leaves no thread either
    tasks, parse, opened = _slow_tasks(20, rows=100)
    con = database.cursor()
    con.register("s", streaming.reader(schema, tasks, parse, 2, failures))
    rows = con.sql("SELECT count(*), sum(n) FROM s").fetchall()
    assert rows == [(2000, sum(range(2000)))]
    con.close()
    database.close()
    assert sorted(opened) == list(range(20)) and _threads_settle(baseline) == baseline


def test_reader_reports_the_failure_that_ended_it():
    import duckdb

    baseline = _threads()
    _, parse, _ = _slow_tasks(1)

    def cancelled_at_five(i: int) -> pa.Table:
        if i == 5:
            raise QueryCancelled("Query was cancelled by user")
        return parse(i)

    failures: list[BaseException] = []
    con = duckdb.connect()
    schema = pa.schema([("n", pa.int64())])
    con.register("s", streaming.reader(schema, list(range(40)), cancelled_at_five, 2, failures))
    with pytest.raises(duckdb.Error, match="cancelled by user"):
        con.execute("SELECT sum(n) FROM s")
    con.close()
    assert [type(f) for f in failures] == [QueryCancelled]
    assert _threads_settle(baseline) == baseline
