"""Athena SQL run by the sandbox: chapter queries cross-checked against pandas, dialect traps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from athena_fixtures import object_sizes, q, setup_market

from flovtrain.exceptions import AthenaQueryFailed
from flovtrain.sandbox.engines.athena.dialect import joda_to_strftime


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return setup_market()


def test_count_per_symbol_and_bytes_equal_files_read(truth):
    df = q(
        "SELECT symbol, count(*) AS n, sum(volume) AS vol FROM klines "
        "GROUP BY symbol ORDER BY symbol"
    )
    expected = truth.groupby("symbol").agg(n=("open", "size"), vol=("volume", "sum")).reset_index()
    assert df.symbol.tolist() == expected.symbol.tolist()
    assert df.n.tolist() == expected.n.tolist()
    np.testing.assert_allclose(df.vol, expected.vol, rtol=1e-9)
    assert df.attrs["bytes_scanned"] == sum(object_sizes("marketdata/klines/").values())


def test_daily_ohlc_matches_pandas(truth):
    df = q("""
        SELECT symbol, date_trunc('day', from_unixtime(open_time / 1000000)) AS day,
               min_by(open, open_time) AS open, max(high) AS high, min(low) AS low,
               max_by(close, open_time) AS close, sum(volume) AS volume
        FROM klines GROUP BY 1, 2 ORDER BY 1, 2""")
    t = truth.sort_values(["symbol", "open_time"])
    exp = (
        t.groupby(["symbol", "date"])
        .agg(
            open=("open", "first"),
            high=("high", "max"),
            low=("low", "min"),
            close=("close", "last"),
            volume=("volume", "sum"),
        )
        .reset_index()
    )
    assert len(df) == len(exp) == 15
    for col in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(df[col].to_numpy(), exp[col].to_numpy(), rtol=1e-9)
    assert str(df.day.iloc[0]) == "2025-01-01 00:00:00+00:00"


def test_hourly_vwap_matches_pandas(truth):
    df = q("""
        SELECT symbol, (open_time / 3600000000) AS hour_bucket,
               sum(quote_asset_volume) / sum(volume) AS vwap
        FROM klines WHERE symbol = 'ETHUSDT' GROUP BY 1, 2 ORDER BY 2""")
    t = truth[truth.symbol == "ETHUSDT"].copy()
    t["hour_bucket"] = t.open_time // 3_600_000_000
    g = t.groupby("hour_bucket")
    exp = (g.quote_asset_volume.sum() / g.volume.sum()).reset_index(name="vwap")
    assert df.hour_bucket.tolist() == exp.hour_bucket.tolist()  # integer division stayed integer
    np.testing.assert_allclose(df.vwap, exp.vwap, rtol=1e-9)


def test_returns_volatility_and_drawdown(truth):
    df = q("""
        WITH r AS (
          SELECT symbol, open_time, close,
                 ln(close / lag(close) OVER (PARTITION BY symbol ORDER BY open_time)) AS ret,
                 max(close) OVER (PARTITION BY symbol ORDER BY open_time) AS peak
          FROM klines)
        SELECT symbol, stddev_samp(ret) * sqrt(525600) AS annual_vol,
               min(close / peak - 1) AS max_drawdown
        FROM r GROUP BY symbol ORDER BY symbol""")
    assert df.symbol.tolist() == sorted(truth.symbol.unique())  # one row per symbol, none lost
    for _, row in df.iterrows():
        t = truth[truth.symbol == row.symbol].sort_values("open_time")
        ret = np.log(t.close / t.close.shift())
        np.testing.assert_allclose(row.annual_vol, ret.std() * np.sqrt(525600), rtol=1e-9)
        np.testing.assert_allclose(
            row.max_drawdown, (t.close / t.close.cummax() - 1).min(), rtol=1e-9
        )


def test_partition_pruning_reads_only_matching_files(truth):
    df = q("""SELECT count(*) AS n FROM klines
              WHERE symbol = 'BTCUSDT' AND "date" BETWEEN '2025-01-02' AND '2025-01-03'""")
    assert df.n.tolist() == [2 * 1440]
    sizes = object_sizes("marketdata/klines/symbol=BTCUSDT/")
    wanted = sum(v for k, v in sizes.items() if "date=2025-01-02" in k or "date=2025-01-03" in k)
    assert df.attrs["bytes_scanned"] == wanted


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("SELECT 7 / 2 AS v", 3),
        ("SELECT -7 / 2 AS v", -3),
        ("SELECT 7.0 / 2 AS v", 3.5),
        ("SELECT regexp_extract('abc', 'x') AS v", None),
        ("SELECT regexp_extract('abc', 'b') AS v", "b"),
        ("SELECT format('%.2f', 3.14159) AS v", "3.14"),
        (
            "SELECT format_datetime(from_unixtime(1735689600), 'yyyy-MM-dd HH:mm') AS v",
            "2025-01-01 00:00",
        ),
    ],
)
def test_dialect_traps(truth, sql, expected):
    value = q(sql).v.iloc[0]
    if expected is None:
        assert pd.isna(value)
    else:
        assert value == expected


def test_division_by_zero_fails_like_athena(truth):
    with pytest.raises(AthenaQueryFailed, match="DIVISION_BY_ZERO: Division by zero"):
        q("SELECT 1 / 0")


def test_unnamed_columns_are_named_like_athena(truth):
    assert q("SELECT 1, count(*) FROM klines").columns.tolist() == ["_col0", "_col1"]


def test_joda_patterns():
    assert joda_to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSS") == "%Y-%m-%dT%H:%M:%S.%g"
    assert joda_to_strftime("EEE, d MMM yyyy") == "%a, %-d %b %Y"
