"""Run by tools/newest_client.sh in a venv with the newest boto3 and PyAthena (no flovtrain).

Plain boto3 and PyAthena against the sandbox named by AWS_ENDPOINT_URL: S3 upload, a table
from DDL, a query through StartQueryExecution -> GetQueryExecution -> GetQueryResults, an
error, and the same query through PyAthena's DB-API cursor. Exits non-zero on any difference.
"""

from __future__ import annotations

import time
from importlib import metadata

import boto3
from botocore.exceptions import ClientError

BUCKET = "newest-client"
RESULTS = f"s3://{BUCKET}/results/"
CSV = "symbol,price\nBTCUSDT,97000.5\nETHUSDT,3600.25\nBTCUSDT,97100.5\n"


def run(athena, sql: str, database: str | None = None) -> list[list[str | None]]:
    kwargs = {"QueryExecutionContext": {"Database": database}} if database else {}
    qid = athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": RESULTS}, **kwargs
    )["QueryExecutionId"]
    for _ in range(600):
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.05)
    if status["State"] != "SUCCEEDED":
        raise SystemExit(f"{sql!r} ended {status['State']}: {status.get('StateChangeReason')}")
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    return [[d.get("VarCharValue") for d in row["Data"]] for row in rows]


def main() -> None:
    region = "eu-west-1"
    athena = boto3.client("athena", region_name=region)
    protocol = athena.meta.service_model.protocol
    print(
        f"boto3 {metadata.version('boto3')} · botocore {metadata.version('botocore')} · "
        f"pyathena {metadata.version('pyathena')} · Athena protocol {protocol}"
    )
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=BUCKET, Key="prices/prices.csv", Body=CSV.encode())
    run(athena, "CREATE DATABASE IF NOT EXISTS newest")
    run(
        athena,
        "CREATE EXTERNAL TABLE newest.prices (symbol string, price double) "
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
        f"LOCATION 's3://{BUCKET}/prices/' TBLPROPERTIES ('skip.header.line.count'='1')",
    )
    got = run(athena, "SELECT symbol, count(*) AS n FROM prices GROUP BY 1 ORDER BY 1", "newest")
    assert got == [["symbol", "n"], ["BTCUSDT", "2"], ["ETHUSDT", "1"]], got
    try:
        athena.get_query_execution(QueryExecutionId="00000000-0000-0000-0000-000000000000")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "InvalidRequestException", error.response
    else:
        raise SystemExit("an unknown execution id was accepted")

    from pyathena import connect

    cursor = connect(s3_staging_dir=RESULTS, region_name=region, schema_name="newest").cursor()
    cursor.execute("SELECT max(price) AS top FROM prices WHERE symbol = %(s)s", {"s": "BTCUSDT"})
    assert cursor.fetchall() == [(97100.5,)], "PyAthena's answer differs"
    print("newest client: boto3 and PyAthena queries answered as on Athena")


if __name__ == "__main__":
    main()
