"""Shared set-up for the Athena tests: a reset sandbox with the workshop klines and table."""

from __future__ import annotations

import time

import boto3
import pandas as pd

import flovtrain.athena as athena
import flovtrain.marketdata as md
from flovtrain.sandbox import control

BUCKET = "flovtrain-athena-test"
RESULTS = f"s3://{BUCKET}/athena-results/"
DAYS = 5
#: ``SELECT symbol, count(*) AS n FROM klines GROUP BY symbol ORDER BY symbol`` over
#: ``setup_market(days=1)``, as ``get_query_results`` rows: the header, then 1,440 minutes each.
COUNTS_ONE_DAY = [["symbol", "n"], ["BTCUSDT", "1440"], ["ETHUSDT", "1440"], ["SOLUSDT", "1440"]]


def setup_market(days: int = DAYS) -> pd.DataFrame:
    """Reset, upload ``days`` of klines, create database + table, repair partitions.

    Returns the pandas truth.
    """
    control.reset()
    md.upload(BUCKET, days=days)
    athena.query("CREATE DATABASE IF NOT EXISTS marketdata", output_location=RESULTS)
    athena.query(md.table_ddl("marketdata", BUCKET), database="marketdata", output_location=RESULTS)
    athena.query("MSCK REPAIR TABLE klines", database="marketdata", output_location=RESULTS)
    frames = []
    for symbol, day, body in md.iter_klines(days=days):
        df = md.parse_csv(body)
        df["symbol"], df["date"] = symbol, str(day)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def q(sql: str, **kwargs) -> pd.DataFrame:
    return athena.query(sql, database="marketdata", output_location=RESULTS, **kwargs)


def object_sizes(prefix: str) -> dict[str, int]:
    s3 = boto3.client("s3")
    return {
        o["Key"]: o["Size"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for o in page.get("Contents", [])
    }


def wait_query(client, query_id: str, tries: int = 600) -> dict:
    """The query execution once it left QUEUED and RUNNING (50 polls a second, 12 s at most)."""
    for _ in range(tries):
        execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return execution
        time.sleep(0.02)
    raise AssertionError("query did not finish")
