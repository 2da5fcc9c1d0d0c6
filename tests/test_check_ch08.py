"""Check 08 judges answers, not counts: any query that gives the right answer passes, a wrong
answer or a failed query fails with Athena's first reason and what to do about it."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import botocore.session
import pytest
from athena_fixtures import q, setup_market

from flovtrain.athena import AthenaQueryFailed
from flovtrain.checks import check
from flovtrain.checks._athena_hints import (
    API_HINTS,
    CHECKED_CALLS,
    QUERY_HINTS,
    UNKNOWN_QUERY_HINT,
    query_hint,
)

ROOT = Path(__file__).resolve().parents[1]
WIDEST = "your query names each symbol's day with the widest high-low range"
JUMPS = "your query counts each symbol's minutes that closed > 0.5 % above their open"


@pytest.fixture
def market():
    """A reset sandbox with 4 days of klines, the table and its partitions; returns the minutes
    as pandas read them."""
    return setup_market(days=4)


def items(session=None):
    return check("08", session=session or boto3.Session(region_name="eu-west-1"))


def widest_by_pandas(truth) -> dict[str, str]:
    out = {}
    for symbol, minutes in truth.groupby("symbol"):
        spread = {d: g.high.max() - g.low.min() for d, g in minutes.groupby("date")}
        out[symbol] = max(spread, key=spread.get)
    return out


def test_a_failed_query_is_shown_once_with_its_first_cause_and_a_hint(market):
    assert (
        items()[WIDEST].why
        == "no successful query over klines answers the widest day per symbol yet"
    )
    for _ in range(2):
        with pytest.raises(AthenaQueryFailed):
            q("SELECT price FROM klines")
    with pytest.raises(AthenaQueryFailed):
        q("SELECT symbol, max_by(day) FROM klines GROUP BY symbol")
    cl = items()
    item = cl[WIDEST]
    assert not item.passed
    assert re.search(
        r"^no query answers it; 3 of yours over klines failed, the first with: "
        r"COLUMN_NOT_FOUND: .*'price'",
        item.why,
    )
    assert item.hint == QUERY_HINTS["COLUMN_NOT_FOUND"]
    assert cl[JUMPS].why == item.why  # one cause: shown once, the second item in one line
    assert str(cl).count("COLUMN_NOT_FOUND") == 1
    assert f"✗ {JUMPS} (same cause as: {WIDEST})" in str(cl)


def test_a_wrong_answer_fails_and_any_right_query_passes(market):
    q('SELECT symbol, min("date") AS day FROM klines GROUP BY symbol')  # not the widest day
    assert not items()[WIDEST].passed
    # the console's way: other names, other column order, no max_by, sorted by range
    q(
        'SELECT "date", symbol, max(high) - min(low) AS spread FROM klines '
        "GROUP BY 1, 2 ORDER BY spread DESC"
    )
    cl = items()
    assert cl[WIDEST].passed, cl[WIDEST].why
    assert not cl[JUMPS].passed
    df = q("SELECT count_if(close > open * 1.005) AS n, symbol FROM klines GROUP BY symbol")
    expected = market[market.close > market.open * 1.005].groupby("symbol").size().to_dict()
    assert dict(zip(df.symbol, df.n, strict=True)) == expected
    assert items()[JUMPS].passed


def test_the_answers_match_pandas(market):
    df = q(
        'WITH d AS (SELECT symbol, "date" AS day, max(high) - min(low) AS r FROM klines '
        "GROUP BY 1, 2) SELECT symbol, max_by(day, r) AS day FROM d GROUP BY symbol"
    )
    assert dict(zip(df.symbol, df.day, strict=True)) == widest_by_pandas(market)
    assert items()[WIDEST].passed


def test_every_error_the_checked_calls_can_answer_has_a_hint():
    models = botocore.session.get_session()
    for service, operations in CHECKED_CALLS.items():
        model = models.get_service_model(service)
        for name in operations:
            for error in model.operation_model(name).error_shapes:
                assert error.name in API_HINTS, f"{service}.{name} may answer {error.name}"


def test_every_error_name_the_sandbox_athena_gives_has_a_hint():
    engine = ROOT / "flovtrain" / "sandbox" / "engines" / "athena"
    names = {
        name
        for path in engine.glob("*.py")
        for name in re.findall(r'"([A-Z][A-Z_]{3,}): ', path.read_text())
        if name != "FAILED"  # Hive DDL's prefix, followed by the exception's own name
    }
    assert names, "no error names found: has the engine's wording moved?"
    for name in sorted(names):
        assert query_hint(f"{name}: line 1:1: something") != UNKNOWN_QUERY_HINT, name
    assert query_hint("line 1:8: mismatched input 'FORM'") == QUERY_HINTS["SYNTAX_ERROR"]
    assert "BytesScannedCutoffPerQuery" in query_hint("Bytes scanned limit was exceeded")
