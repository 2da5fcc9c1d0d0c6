"""The market-data generator: exact Binance format, determinism, layout, speed."""

from __future__ import annotations

import boto3
import numpy as np
import pytest

import flovtrain.marketdata as md
from flovtrain.exceptions import MarketDataError
from flovtrain.sandbox import control


def test_binance_format_microseconds_from_2025():
    _, day, body = next(md.iter_klines(["BTCUSDT"], start="2025-01-01", days=1))
    lines = body.decode().splitlines()
    assert len(lines) == 1440 and not lines[0][0].isalpha()  # no header
    first = lines[0].split(",")
    assert len(first) == 12
    assert first[0] == "1735689600000000"
    assert int(first[6]) - int(first[0]) == 59_999_999
    assert all(len(v.split(".")[1]) == 8 for v in first[1:6])  # 8 decimals, like Binance
    assert first[11] == "0"
    second = lines[1].split(",")
    assert int(second[0]) - int(first[0]) == 60_000_000
    assert second[1] == first[4]  # open = previous close


def test_milliseconds_before_2025():
    _, _, body = next(md.iter_klines(["ETHUSDT"], start="2024-12-31", days=1))
    first = body.decode().splitlines()[0].split(",")
    assert first[0] == "1735603200000"
    assert int(first[6]) - int(first[0]) == 59_999


def test_deterministic_and_consistent_ohlc():
    a = [b for *_, b in md.iter_klines(days=2)]
    b = [b for *_, b in md.iter_klines(days=2)]
    assert a == b
    c = [b for *_, b in md.iter_klines(days=2, seed=7)]
    assert a != c
    df = md.parse_csv(a[0])
    assert (df.high >= df[["open", "close"]].max(axis=1)).all()
    assert (df.low <= df[["open", "close"]].min(axis=1)).all()
    vwap = df.quote_asset_volume / df.volume
    assert ((vwap >= df.low - 0.01) & (vwap <= df.high + 0.01)).all()
    assert (df.taker_buy_base_asset_volume <= df.volume).all()


def test_prices_wander_around_start():
    bodies = [b for s, _, b in md.iter_klines(["SOLUSDT"], days=60)]
    closes = np.concatenate([md.parse_csv(b).close.to_numpy() for b in bodies])
    assert 0.5 * 190 < closes.min() and closes.max() < 1.6 * 190
    returns = np.diff(np.log(closes))
    annual = returns.std() * np.sqrt(365 * 1440)
    assert 0.6 < annual < 1.3  # SOL ~90 % a year


def test_bad_input():
    with pytest.raises(MarketDataError, match="Unknown symbol"):
        list(md.iter_klines(["DOGEUSD"]))
    with pytest.raises(MarketDataError, match="date like"):
        list(md.iter_klines(start="yesterday"))
    with pytest.raises(MarketDataError, match="at least 1"):
        list(md.iter_klines(days=0))
    with pytest.raises(MarketDataError, match="days or rows"):
        md.upload("b", days=1, rows=10)
    assert md.days_for_rows(10_000_000) == 2315


def test_workshop_upload_layout():
    control.reset()
    s3 = boto3.client("s3")
    # warm up: the sandbox builds its S3 backend on the first call, a real account has none
    s3.create_bucket(
        Bucket="flovtrain-test-md", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    summary = md.upload("flovtrain-test-md")  # its speed (< 3 s) is a row of flovtrain.bench
    assert summary.rows.sum() == 3 * 30 * 1440 == 129_600
    keys = [
        o["Key"]
        for p in s3.get_paginator("list_objects_v2").paginate(Bucket="flovtrain-test-md")
        for o in p.get("Contents", [])
    ]
    assert len(keys) == 90
    assert "marketdata/klines/symbol=BTCUSDT/date=2025-01-01/BTCUSDT-1m-2025-01-01.csv" in keys
    assert (
        sum(
            o["Size"]
            for p in s3.get_paginator("list_objects_v2").paginate(Bucket="flovtrain-test-md")
            for o in p.get("Contents", [])
        )
        == summary.bytes.sum()
    )


def test_upload_folder_of_real_files(tmp_path):
    import zipfile

    control.reset()
    _, _, body = next(md.iter_klines(["BTCUSDT"], days=1))
    with zipfile.ZipFile(tmp_path / "BTCUSDT-1m-2025-01-01.zip", "w") as z:
        z.writestr("BTCUSDT-1m-2025-01-01.csv", body)
    (tmp_path / "ETHUSDT-1m-2025-01-02.csv").write_bytes(body)
    (tmp_path / "notes.txt").write_text("ignored")
    summary = md.upload_folder(tmp_path, "flovtrain-test-real")
    assert sorted(summary.symbol) == ["BTCUSDT", "ETHUSDT"]
    got = (
        boto3.client("s3")
        .get_object(
            Bucket="flovtrain-test-real",
            Key="marketdata/klines/symbol=BTCUSDT/date=2025-01-01/BTCUSDT-1m-2025-01-01.csv",
        )["Body"]
        .read()
    )
    assert got == body
    tags = boto3.client("s3").get_bucket_tagging(Bucket="flovtrain-test-real")["TagSet"]
    assert {"Key": "flovtrain:workshop", "Value": "flovtrain"} in tags
    (tmp_path / "empty").mkdir()
    with pytest.raises(MarketDataError, match="No Binance kline files"):
        md.upload_folder(tmp_path / "empty", "x")
    with pytest.raises(MarketDataError, match="is not a folder"):
        md.upload_folder(tmp_path / "missing", "x")


def test_object_key_without_prefix_is_relative(tmp_path):
    """write_folder joins keys to a folder: a leading '/' would write to the filesystem root."""
    from flovtrain import marketdata

    key = marketdata.object_key("BTCUSDT", "2025-01-02", prefix="")
    assert key == "symbol=BTCUSDT/date=2025-01-02/BTCUSDT-1m-2025-01-02.csv"
    assert (tmp_path / key).is_relative_to(tmp_path)
