"""flovtrain.athena reads a long result from the results CSV in S3, and gets the same frame."""

from __future__ import annotations

import pandas as pd
import pytest

import flovtrain.athena as athena
from flovtrain.sandbox import control

RESULTS = "s3://flovtrain-athena-client/athena-results/"

# every type the chapters show, NULLs, empty strings and CSV-hostile text, over 2.5 pages
MIXED = """
SELECT n,
       CAST(n AS double) / 3 AS third,
       CASE WHEN n % 7 = 0 THEN NULL WHEN n % 5 = 0 THEN '' ELSE 'v' || CAST(n AS varchar) END AS s,
       'a,"b"' || chr(10) || 'c' AS hostile,
       n % 2 = 0 AS even,
       CASE WHEN n % 11 = 0 THEN NULL ELSE n END AS maybe,
       date_add('day', n % 30, DATE '2025-01-01') AS day
FROM UNNEST(sequence(1, 2500)) AS t(n)
ORDER BY n"""


@pytest.fixture(scope="module")
def bucket():
    import boto3

    control.reset()
    boto3.client("s3").create_bucket(
        Bucket="flovtrain-athena-client",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )


def test_long_result_comes_from_the_csv_and_equals_the_paged_frame(bucket, monkeypatch):
    read = []
    real = athena._read_results_csv
    monkeypatch.setattr(athena, "_read_results_csv", lambda *a: read.append(a[0]) or real(*a))
    execution = athena.wait(athena.start(MIXED, output_location=RESULTS))
    from_csv = athena.results(execution)
    assert read == [execution["ResultConfiguration"]["OutputLocation"]]

    paged_only = {k: v for k, v in execution.items() if k != "ResultConfiguration"}
    from_pages = athena.results(paged_only)
    assert len(read) == 1
    pd.testing.assert_frame_equal(from_csv, from_pages)

    assert len(from_csv) == 2500
    assert from_csv.s.isna().sum() == 2500 // 7
    assert (from_csv.s == "").sum() == 2500 // 5 - 2500 // 35  # multiples of 5, not of 7
    assert from_csv.hostile.iloc[0] == 'a,"b"\nc'
    assert str(from_csv.maybe.dtype) == "Int64" and from_csv.maybe.isna().sum() == 2500 // 11


def test_short_result_is_read_from_its_page(bucket, monkeypatch):
    monkeypatch.setattr(
        athena, "_read_results_csv", lambda *a: pytest.fail("one page needs no download")
    )
    df = athena.query("SELECT 1 AS one, NULL AS nothing, '' AS empty", output_location=RESULTS)
    assert df.one.tolist() == [1]
    assert df["empty"].tolist() == [""]
    assert df["nothing"].isna().all()


# one column with NULLs (empty lines in the CSV) and the doubles Java spells out
SPECIAL = """
SELECT CASE WHEN n % 3 = 0 THEN NULL
            WHEN n % 3 = 1 THEN CAST('NaN' AS double)
            ELSE CAST(n AS double) * 1e6 END AS x
FROM UNNEST(sequence(1, 300)) AS t(n)
UNION ALL SELECT CAST('Infinity' AS double) UNION ALL SELECT CAST('-Infinity' AS double)"""


def test_nulls_of_a_one_column_result_and_java_doubles_survive_the_csv(bucket):
    execution = athena.wait(athena.start(SPECIAL, output_location=RESULTS))
    from_csv = athena.results(execution)
    paged_only = {k: v for k, v in execution.items() if k != "ResultConfiguration"}
    from_pages = athena.results(paged_only)
    pd.testing.assert_frame_equal(
        from_csv.sort_values("x").reset_index(drop=True),
        from_pages.sort_values("x").reset_index(drop=True),
    )
    assert len(from_csv) == 302 and str(from_csv.x.dtype) == "float64"
    assert from_csv.x.isna().sum() == 200  # 100 NULLs and 100 NaN: both NaN in pandas
    assert (from_csv.x == float("inf")).sum() == 1 and (from_csv.x == -float("inf")).sum() == 1
    assert from_csv.x.max() == float("inf") and 2e6 in from_csv.x.tolist()
