"""What an Athena client sees for EXPLAIN, time zones, year-month intervals and rows.

Through the sandbox's Athena API (StartQueryExecution, GetQueryResults): the cells as Athena
prints them and the ColumnInfo types, where tests/test_trino_functions.py checks the DuckDB
side alone.
"""

from __future__ import annotations

import os

import boto3
import pytest
from athena_fixtures import wait_query

from flovtrain.sandbox import control

BUCKET = "flovtrain-athena-zones"
RESULTS = f"s3://{BUCKET}/results/"


@pytest.fixture(scope="module")
def athena():
    control.reset()
    boto3.client("s3").create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]},
    )
    return boto3.client("athena")


def run(athena, sql: str) -> tuple[dict, list[str], list[list[str | None]]]:
    """The execution, the ColumnInfo types and the rows (header first) of ``sql``."""
    qid = athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": RESULTS}
    )["QueryExecutionId"]
    execution = wait_query(athena, qid)
    if execution["Status"]["State"] != "SUCCEEDED":
        return execution, [], []
    page = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]
    types = [c["Type"] for c in page["ResultSetMetadata"]["ColumnInfo"]]
    rows = [[c.get("VarCharValue") for c in r["Data"]] for r in page["Rows"]]
    return execution, types, rows


def test_a_zone_is_kept_and_printed(athena):
    _, types, rows = run(
        athena,
        "SELECT timestamp '2012-10-31 01:00 UTC' AT TIME ZONE 'America/Los_Angeles', "
        "from_iso8601_timestamp('2020-05-11T11:15:05.055+01:00'), "
        "timezone(with_timezone(timestamp '2021-08-22 04:00', 'Canada/Newfoundland')), "
        "timestamp '2012-10-31 01:00 UTC'",
    )
    assert types == ["timestamp with time zone"] * 2 + ["varchar", "timestamp with time zone"]
    assert rows[1] == [
        "2012-10-30 18:00:00.000 America/Los_Angeles",
        "2020-05-11 11:15:05.055 +01:00",
        "Canada/Newfoundland",
        "2012-10-31 01:00:00.000 UTC",
    ]


def test_year_month_intervals_and_anonymous_rows_print_as_athena(athena):
    _, types, rows = run(
        athena,
        "SELECT interval '3' year + interval '5' month, ROW(1, 'a'), "
        "CAST(ROW(1, 2) AS ROW(x INT, y INT)), typeof(ROW(1, 2.5E0))",
    )
    assert types == ["interval year to month", "row", "row", "varchar"]
    assert rows[1] == ["3-5", "{field0=1, field1=a}", "{x=1, y=2}", "row(integer, double)"]


def test_ctas_stores_a_zoned_value_as_a_timestamp_not_as_its_printed_text(athena):
    run(athena, "CREATE DATABASE IF NOT EXISTS zones")
    execution, _, _ = run(
        athena,
        f"CREATE TABLE zones.t WITH (external_location = 's3://{BUCKET}/t/') AS "
        "SELECT timestamp '2012-10-31 01:00 UTC' AT TIME ZONE 'America/Los_Angeles' AS ts",
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    _, types, rows = run(athena, "SELECT ts FROM zones.t")
    assert types == ["timestamp"]
    assert rows[1] == ["2012-10-30 18:00:00.000"]


def test_explain_gives_the_plan_as_text_rows(athena):
    execution, types, rows = run(athena, "EXPLAIN SELECT 1 AS a, 'x' AS b")
    assert execution["SubstatementType"] == "EXPLAIN"
    assert types == ["varchar"]
    assert rows[0] == ["Query Plan"]
    text = [r[0] for r in rows[1:]]
    assert text[:2] == ["Fragment 0 [SINGLE]", "    Output layout: [a, b]"]
    assert any(line.startswith("    │   Layout: [a:integer, b:varchar") for line in text)
    assert any("Projection" in line for line in text)  # DuckDB's plan follows


def test_explain_validate_and_what_is_refused(athena):
    _, types, rows = run(athena, "EXPLAIN (TYPE VALIDATE) SELECT 1")
    assert (types, rows) == (["boolean"], [["Valid"], ["true"]])
    execution, _, _ = run(athena, "EXPLAIN (TYPE VALIDATE) SELECT nosuchcolumn")
    assert execution["Status"]["State"] == "FAILED"
    assert "nosuchcolumn" in execution["Status"]["StateChangeReason"]
    execution, _, _ = run(athena, "EXPLAIN (FORMAT GRAPHVIZ) SELECT 1")
    assert execution["Status"]["State"] == "FAILED"
    assert "FORMAT TEXT" in execution["Status"]["StateChangeReason"]


def test_an_unknown_function_is_function_not_found_naming_it(athena):
    execution, _, _ = run(athena, "SELECT bitwise_shift_sideways(1, 2)")
    assert execution["Status"]["State"] == "FAILED"
    reason = execution["Status"]["StateChangeReason"]
    assert reason.startswith("FUNCTION_NOT_FOUND") and "bitwise_shift_sideways" in reason
