"""The sandbox's Athena through plain boto3: lifecycle, results, paging, DDL via Glue, bad input."""

from __future__ import annotations

import time

import boto3
import pytest
from athena_fixtures import BUCKET, RESULTS, q, setup_market, wait_query
from botocore.exceptions import ClientError

from flovtrain.exceptions import AthenaQueryFailed
from flovtrain.sandbox import control


@pytest.fixture(scope="module")
def market():
    return setup_market(days=2)


@pytest.fixture()
def athena():
    return boto3.client("athena")


def _start(client, sql, **kw):
    if "WorkGroup" not in kw:  # a work group brings its own output location
        kw.setdefault("ResultConfiguration", {"OutputLocation": RESULTS})
    return client.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": "marketdata"}, **kw
    )["QueryExecutionId"]


def test_lifecycle_statistics_and_result_files(market, athena):
    qid = _start(athena, "SELECT symbol, count(*) AS n FROM klines GROUP BY symbol ORDER BY symbol")
    first = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
    assert first in ("QUEUED", "RUNNING", "SUCCEEDED")
    e = wait_query(athena, qid)
    assert e["Status"]["State"] == "SUCCEEDED"
    assert e["StatementType"] == "DML"
    assert e["Statistics"]["DataScannedInBytes"] > 0
    assert e["ResultConfiguration"]["OutputLocation"] == f"{RESULTS}{qid}.csv"
    s3 = boto3.client("s3")
    body = s3.get_object(Bucket=BUCKET, Key=f"athena-results/{qid}.csv")["Body"].read().decode()
    assert body.splitlines() == [
        '"symbol","n"',
        '"BTCUSDT","2880"',
        '"ETHUSDT","2880"',
        '"SOLUSDT","2880"',
    ]
    s3.head_object(Bucket=BUCKET, Key=f"athena-results/{qid}.csv.metadata")
    res = athena.get_query_results(QueryExecutionId=qid)
    info = res["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in info] == [("symbol", "varchar"), ("n", "bigint")]
    assert res["ResultSet"]["Rows"][0]["Data"] == [
        {"VarCharValue": "symbol"},
        {"VarCharValue": "n"},
    ]
    batch = athena.batch_get_query_execution(QueryExecutionIds=[qid, "nope"])
    assert [x["QueryExecutionId"] for x in batch["QueryExecutions"]] == [qid]
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "nope"
    assert qid in athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]


def test_paging_with_max_results_and_next_token(market, athena):
    qid = _start(
        athena,
        "SELECT open_time FROM klines WHERE symbol = 'BTCUSDT' AND \"date\" = '2025-01-01' "
        "ORDER BY 1",
    )
    wait_query(athena, qid)
    rows, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        page = athena.get_query_results(QueryExecutionId=qid, MaxResults=500, **kw)
        rows += page["ResultSet"]["Rows"]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(rows) == 1441  # header + 1440 minutes
    assert rows[1]["Data"][0]["VarCharValue"] == "1735689600000000"
    paginated = [
        r
        for p in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid)
        for r in p["ResultSet"]["Rows"]
    ]
    assert paginated == rows
    with pytest.raises(ClientError, match="NextToken"):
        athena.get_query_results(QueryExecutionId=qid, NextToken="garbage")


def test_ddl_round_trips_through_glue(market, athena):
    glue = boto3.client("glue")
    table = glue.get_table(DatabaseName="marketdata", Name="klines")["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["symbol", "date"]
    assert table["StorageDescriptor"]["SerdeInfo"]["Parameters"]["field.delim"] == ","
    assert (
        len(glue.get_partitions(DatabaseName="marketdata", TableName="klines")["Partitions"]) == 6
    )
    q(
        f"""CREATE EXTERNAL TABLE extra (a string, b int)
         ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
         WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"')
         LOCATION 's3://{BUCKET}/extra/' TBLPROPERTIES ('skip.header.line.count' = '1')"""
    )
    t = glue.get_table(DatabaseName="marketdata", Name="extra")["Table"]
    assert t["Parameters"]["skip.header.line.count"] == "1"
    boto3.client("s3").put_object(Bucket=BUCKET, Key="extra/x.csv", Body=b'a,b\n"x,y",1\nz,2\n')
    df = q("SELECT a, b FROM extra ORDER BY b")
    assert df.a.tolist() == ["x,y", "z"] and df.b.tolist() == [1, 2]
    assert q("SHOW TABLES").iloc[:, 0].tolist() == ["extra", "klines"]
    q(
        "ALTER TABLE klines ADD PARTITION (symbol = 'XRPUSDT', `date` = '2025-01-01') "
        f"LOCATION 's3://{BUCKET}/empty-partition/'"
    )
    assert "symbol=XRPUSDT/date=2025-01-01" in q("SHOW PARTITIONS klines").iloc[:, 0].tolist()
    assert q("SELECT count(*) AS n FROM klines WHERE symbol = 'XRPUSDT'").n.tolist() == [
        0
    ]  # empty partition
    described = q("DESCRIBE klines").iloc[:, 0].tolist()
    assert described[0].split("\t")[0].strip() == "open_time"
    q("DROP TABLE extra")
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName="marketdata", Name="extra")


def test_ctas_parquet_scans_fewer_bytes(market):
    q(
        f"""CREATE TABLE klines_parquet WITH (format = 'PARQUET',
           external_location = 's3://{BUCKET}/parquet/klines/', partitioned_by = ARRAY['symbol'])
         AS SELECT open_time, open, high, low, close, volume, "date", symbol FROM klines"""
    )
    csv = q("SELECT symbol, sum(volume) AS v FROM klines GROUP BY 1 ORDER BY 1")
    pq = q("SELECT symbol, sum(volume) AS v FROM klines_parquet GROUP BY 1 ORDER BY 1")
    assert csv.v.round(6).tolist() == pq.v.round(6).tolist()
    # whole Parquet files of the partitions read count (an upper bound of what Athena bills)
    assert pq.attrs["bytes_scanned"] < csv.attrs["bytes_scanned"] / 3
    parts = boto3.client("glue").get_partitions(
        DatabaseName="marketdata", TableName="klines_parquet"
    )
    assert sorted(p["Values"][0] for p in parts["Partitions"]) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    with pytest.raises(AthenaQueryFailed, match="HIVE_PATH_ALREADY_EXISTS"):
        q(
            f"CREATE TABLE again WITH (external_location = 's3://{BUCKET}/parquet/klines/') "
            "AS SELECT 1 AS x"
        )


def test_bad_input_fails_with_athena_messages(market, athena):
    with pytest.raises(AthenaQueryFailed, match=r"line 1:\d+: mismatched input"):
        q("SELEC symbol FROM klines")
    with pytest.raises(
        AthenaQueryFailed,
        match="TABLE_NOT_FOUND: .*'awsdatacatalog.marketdata.nope' does not exist",
    ):
        q("SELECT * FROM nope")
    with pytest.raises(
        AthenaQueryFailed, match="COLUMN_NOT_FOUND: .*Column 'price' cannot be resolved"
    ):
        q("SELECT price FROM klines")
    qid = _start(
        athena, "SELECT 1", ResultConfiguration={"OutputLocation": "s3://no-such-bucket-xyz/r/"}
    )
    e = wait_query(athena, qid)
    assert e["Status"]["State"] == "FAILED"
    assert (
        e["Status"]["StateChangeReason"]
        == "Unable to verify/create output bucket no-such-bucket-xyz"
    )
    with pytest.raises(ClientError, match="No output location provided"):
        athena.start_query_execution(QueryString="SELECT 1")
    with pytest.raises(ClientError, match="Query did not finish successfully"):
        athena.get_query_results(QueryExecutionId=qid)


def test_malformed_rows_become_nulls_and_empty_location(market):
    boto3.client("s3").put_object(
        Bucket=BUCKET, Key="bad/x.csv", Body=b"1,2.5\nnot-a-number,3\n4\n5,6,7\n"
    )
    q(
        "CREATE EXTERNAL TABLE bad (a bigint, b double) "
        f"ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION 's3://{BUCKET}/bad/'"
    )
    df = q("SELECT a, b FROM bad")
    assert df.a.tolist()[0] == 1 and df.a.isna().tolist() == [False, True, False, False]
    assert df.b.isna().tolist() == [False, False, True, False]
    q(f"CREATE EXTERNAL TABLE nothing (a bigint) LOCATION 's3://{BUCKET}/nothing-here/'")
    assert q("SELECT count(*) AS n FROM nothing").n.tolist() == [0]


def test_partition_values_follow_their_files_whatever_the_line_endings(market):
    # small files are parsed joined together: rows must still get their own file's partition
    s3 = boto3.client("s3")
    bodies = {
        "1": b"1,10\n2,20",  # no final newline
        "2": b"3,30\r\n4,40\r\n",  # CRLF
        "3": b"\n5,50\n\n6,60\n",  # empty lines are skipped
        "4": b"7,70\n",
    }
    for part, body in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=f"parts/p={part}/data.csv", Body=body)
    q(
        "CREATE EXTERNAL TABLE parts (a bigint, b bigint) PARTITIONED BY (p string) "
        f"ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION 's3://{BUCKET}/parts/'"
    )
    q("MSCK REPAIR TABLE parts")
    df = q("SELECT p, a, b FROM parts ORDER BY a")
    assert df.p.tolist() == ["1", "1", "2", "2", "3", "3", "4"]
    assert df.a.tolist() == [1, 2, 3, 4, 5, 6, 7] and df.b.tolist() == [10, 20, 30, 40, 50, 60, 70]
    pruned = q("SELECT sum(a) AS s FROM parts WHERE p IN ('2', '4') AND a > 3")
    assert pruned.s.tolist() == [11]
    assert pruned.attrs["bytes_scanned"] == len(bodies["2"]) + len(bodies["4"])


def test_workgroup_byte_limit_cancels_query(market, athena):
    athena.create_work_group(
        Name="capped",
        Configuration={
            "ResultConfiguration": {"OutputLocation": RESULTS},
            "BytesScannedCutoffPerQuery": 10_000_000,
        },
    )
    with pytest.raises(
        athena.exceptions.InvalidRequestException, match="capped is already created"
    ):
        athena.create_work_group(Name="capped", Configuration={})  # a re-run: refused as on AWS
    e = wait_query(athena, _start(athena, "SELECT count(*) FROM klines", WorkGroup="capped"))
    # 2 days of 3 symbols is ~4.4 MB: under the limit
    assert e["Status"]["State"] == "SUCCEEDED"
    athena.update_work_group(
        WorkGroup="capped", ConfigurationUpdates={"BytesScannedCutoffPerQuery": 10_000_000}
    )
    boto3.client("s3").put_object(Bucket=BUCKET, Key="big/x.csv", Body=b"1\n" * 6_000_000)
    q(f"CREATE EXTERNAL TABLE big (a bigint) LOCATION 's3://{BUCKET}/big/'")
    e = wait_query(athena, _start(athena, "SELECT count(*) FROM big", WorkGroup="capped"))
    assert e["Status"]["State"] == "CANCELLED"
    assert e["Status"]["StateChangeReason"] == "Bytes scanned limit was exceeded"


def test_stop_while_running(market, athena):
    control.api("athena/hold", method="POST", data=b'{"hold": true}')
    try:
        qid = _start(athena, "SELECT count(*) FROM klines")
        for _ in range(200):
            if (
                athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"][
                    "State"
                ]
                == "RUNNING"
            ):
                break
            time.sleep(0.01)
        assert (
            athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
            == "RUNNING"
        )
        athena.stop_query_execution(QueryExecutionId=qid)
    finally:
        control.api("athena/hold", method="POST", data=b'{"hold": false}')
    e = wait_query(athena, qid)
    assert e["Status"]["State"] == "CANCELLED"
    assert e["Status"]["StateChangeReason"] == "Query was cancelled by user"


def test_named_queries(market, athena):
    nid = athena.create_named_query(Name="daily", Database="marketdata", QueryString="SELECT 1")[
        "NamedQueryId"
    ]
    got = athena.batch_get_named_query(NamedQueryIds=[nid, "missing"])
    assert got["NamedQueries"][0]["QueryString"] == "SELECT 1"
    assert got["UnprocessedNamedQueryIds"][0]["NamedQueryId"] == "missing"
    athena.delete_named_query(NamedQueryId=nid)
    assert nid not in athena.list_named_queries()["NamedQueryIds"]


def test_ids_are_seeded(athena):
    control.reset()
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    a = _start(athena, "SELECT 1")
    control.reset()
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert _start(athena, "SELECT 1") == a
