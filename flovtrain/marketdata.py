"""Market data for chapter 08: Binance-format 1-minute klines, generated or real, uploaded to S3.

The generator is deterministic (seeded): a geometric Brownian motion per symbol with realistic
volatility, intraday seasonality (busier around the US open) and a slow pull back towards the
start price, so prices wander without drifting off. Files are written in Binance's exact public
spot format (12 columns, no header; microsecond timestamps from 2025, milliseconds before) under
the Hive layout Athena prunes on::

    <prefix>/symbol=BTCUSDT/date=2025-01-01/BTCUSDT-1m-2025-01-01.csv

Examples
--------
>>> import flovtrain, flovtrain.marketdata as md
>>> conn = flovtrain.connect()
>>> summary = md.upload("flovtec-marketdata")          # 3 symbols x 30 days, ~130 k rows
>>> summary[["symbol", "files", "rows"]]                # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flovtrain.exceptions import MarketDataError
from flovtrain.session import get_session

#: Binance spot kline columns, in file order (the files have no header).
KLINE_COLUMNS = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_asset_volume",
    "number_of_trades",
    "taker_buy_base_asset_volume",
    "taker_buy_quote_asset_volume",
    "ignore",
]
#: Athena/Glue types for those columns (timestamps stay raw integers, as Binance writes them).
KLINE_TYPES = [
    "bigint",
    "double",
    "double",
    "double",
    "double",
    "double",
    "bigint",
    "double",
    "bigint",
    "double",
    "double",
    "int",
]
DEFAULT_PREFIX = "marketdata/klines"
DEFAULT_START = "2025-01-01"
DEFAULT_DAYS = 30
MINUTES_PER_DAY = 1440
#: From this day on Binance writes spot timestamps in microseconds.
MICROSECONDS_FROM = dt.date(2025, 1, 1)
_FILE_RE = re.compile(r"^([A-Z0-9]+)-1m-(\d{4}-\d{2}-\d{2})\.(csv|zip)$")


@dataclass(frozen=True)
class Symbol:
    """How one generated symbol behaves.

    Attributes
    ----------
    name : str
        Binance symbol, e.g. ``BTCUSDT``.
    start_price : float
        Price at the first minute; the path is pulled back towards it.
    annual_vol : float
        Annualised volatility (0.55 = 55 %).
    minute_volume : float
        Typical base-asset volume per minute.
    tick : float
        Price tick size.
    lot : float
        Quantity step.
    """

    name: str
    start_price: float
    annual_vol: float
    minute_volume: float
    tick: float
    lot: float


#: The workshop's three symbols (prices and volatilities of early 2025).
SYMBOLS: dict[str, Symbol] = {
    s.name: s
    for s in (
        Symbol("BTCUSDT", 94_000.0, 0.55, 12.0, 0.01, 0.00001),
        Symbol("ETHUSDT", 3_350.0, 0.70, 260.0, 0.01, 0.0001),
        Symbol("SOLUSDT", 190.0, 0.90, 2_400.0, 0.01, 0.001),
    )
}
DEFAULT_SYMBOLS = tuple(SYMBOLS)


def _seasonality() -> np.ndarray:
    """Per-minute activity multiplier (mean 1): busier at the European and US opens."""
    hours = np.arange(MINUTES_PER_DAY) / 60.0
    s = (
        0.65
        + 0.25 * np.exp(-(((hours - 8.0) / 2.0) ** 2))
        + 0.7 * np.exp(-(((hours - 14.5) / 2.5) ** 2))
    )
    return s / s.mean()


def days_for_rows(rows: int, n_symbols: int = len(DEFAULT_SYMBOLS)) -> int:
    """Return how many days per symbol give at least ``rows`` klines in total."""
    if rows <= 0:
        raise MarketDataError(f"rows must be positive, got {rows}.")
    return -(-rows // (n_symbols * MINUTES_PER_DAY))


def _dates(start: str | dt.date, days: int) -> list[dt.date]:
    if days <= 0:
        raise MarketDataError(f"days must be at least 1, got {days}.")
    try:
        first = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
    except ValueError:
        raise MarketDataError(f"start must be a date like '2025-01-01', got {start!r}.") from None
    return [first + dt.timedelta(days=i) for i in range(days)]


def _symbols(symbols: Any) -> list[Symbol]:
    out = []
    for s in symbols:
        if isinstance(s, Symbol):
            out.append(s)
        elif s in SYMBOLS:
            out.append(SYMBOLS[s])
        else:
            raise MarketDataError(
                f"Unknown symbol {s!r}: use one of {sorted(SYMBOLS)} or pass a "
                "flovtrain.marketdata.Symbol(...) describing it."
            )
    if not out:
        raise MarketDataError("symbols is empty: name at least one, e.g. ['BTCUSDT'].")
    return out


def _fixed(values: np.ndarray, decimals: int = 8) -> Any:
    """Format floats with exactly ``decimals`` decimals, as Binance does (vectorised)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.round(pa.array(values), decimals)
    return pc.cast(pc.cast(arr, pa.decimal128(28, decimals)), pa.string())


def _day_csv(
    sym: Symbol, day: dt.date, rng: np.random.Generator, log_open: float, season: np.ndarray
) -> tuple[bytes, float]:
    """One day of klines as CSV bytes; returns them and the log close of the last minute."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sigma = sym.annual_vol / np.sqrt(365 * MINUTES_PER_DAY)
    # slow pull back towards the start price (half-life about 3 weeks)
    drift = -(log_open - np.log(sym.start_price)) / (21 * MINUTES_PER_DAY)
    shocks = rng.standard_t(5, MINUTES_PER_DAY) * np.sqrt(3 / 5)  # fat tails, unit variance
    steps = drift + sigma * season * shocks
    log_close = log_open + np.cumsum(steps)
    close = np.round(np.exp(log_close) / sym.tick) * sym.tick
    open_ = np.empty_like(close)
    open_[0] = np.round(np.exp(log_open) / sym.tick) * sym.tick
    open_[1:] = close[:-1]
    wick = sigma * season * 0.6
    high = np.maximum(open_, close) * np.exp(np.abs(rng.standard_normal(MINUTES_PER_DAY)) * wick)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.standard_normal(MINUTES_PER_DAY)) * wick)
    high = np.maximum(np.round(high / sym.tick) * sym.tick, np.maximum(open_, close))
    low = np.minimum(np.round(low / sym.tick) * sym.tick, np.minimum(open_, close))
    activity = season**1.5 * (1 + 20 * np.abs(steps) / sigma / 10)
    volume = sym.minute_volume * activity * rng.lognormal(-0.18, 0.6, MINUTES_PER_DAY)
    volume = np.maximum(np.round(volume / sym.lot), 1) * sym.lot
    vwap = low + (high - low) * rng.uniform(0.3, 0.7, MINUTES_PER_DAY)
    trades = np.maximum(
        1,
        (volume / sym.minute_volume * 180 * rng.lognormal(0, 0.2, MINUTES_PER_DAY)).astype(
            np.int64
        ),
    )
    taker = np.round(volume * rng.uniform(0.35, 0.65, MINUTES_PER_DAY) / sym.lot) * sym.lot

    day_ms = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
    open_ms = day_ms + np.arange(MINUTES_PER_DAY, dtype=np.int64) * 60_000
    if day >= MICROSECONDS_FROM:
        open_t, close_t = open_ms * 1000, open_ms * 1000 + 59_999_999
    else:
        open_t, close_t = open_ms, open_ms + 59_999
    cols = [
        pa.array(open_t).cast(pa.string()),
        _fixed(open_),
        _fixed(high),
        _fixed(low),
        _fixed(close),
        _fixed(volume),
        pa.array(close_t).cast(pa.string()),
        _fixed(volume * vwap),
        pa.array(trades).cast(pa.string()),
        _fixed(taker),
        _fixed(taker * vwap),
        pa.array(np.zeros(MINUTES_PER_DAY, dtype=np.int64)).cast(pa.string()),
    ]
    lines = pc.binary_join_element_wise(*cols, ",")
    body = ("\n".join(lines.to_pylist()) + "\n").encode()
    return body, float(log_close[-1])


def iter_klines(
    symbols: Any = DEFAULT_SYMBOLS,
    start: str | dt.date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    seed: int = 42,
) -> Iterator[tuple[str, dt.date, bytes]]:
    """Yield ``(symbol, date, csv_bytes)`` for each generated daily file, deterministically.

    Parameters
    ----------
    symbols : iterable of str or Symbol
        Symbols to generate (default BTCUSDT, ETHUSDT, SOLUSDT).
    start : str or date
        First day (UTC).
    days : int
        Days per symbol.
    seed : int
        Same seed, same bytes.

    Examples
    --------
    >>> sym, day, body = next(iter_klines(["BTCUSDT"], days=1))
    >>> body.splitlines()[0].split(b",")[:2]
    [b'1735689600000000', b'94000.00000000']
    """
    dates = _dates(start, days)
    season = _seasonality()
    for index, sym in enumerate(_symbols(symbols)):
        rng = np.random.default_rng([seed, index])
        log_price = float(np.log(sym.start_price))
        for day in dates:
            body, log_price = _day_csv(sym, day, rng, log_price, season)
            yield sym.name, day, body


def object_key(symbol: str, day: dt.date | str, prefix: str = DEFAULT_PREFIX) -> str:
    """Return the S3 key of one daily file in the partitioned layout."""
    key = f"symbol={symbol}/date={day}/{symbol}-1m-{day}.csv"
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key  # no leading "/": keys and paths stay relative


def parse_csv(body: bytes) -> pd.DataFrame:
    """Parse one Binance kline CSV (bytes) into a DataFrame with the 12 named columns."""
    frame = pd.read_csv(io.BytesIO(body), header=None, names=KLINE_COLUMNS)
    return frame


def _progress(total: int, enabled: bool | None) -> Any:
    if enabled is False or (enabled is None and total < 1000):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="file", desc="klines")


def upload(
    bucket: str,
    prefix: str = DEFAULT_PREFIX,
    symbols: Any = DEFAULT_SYMBOLS,
    start: str | dt.date = DEFAULT_START,
    days: int | None = None,
    rows: int | None = None,
    seed: int = 42,
    progress: bool | None = None,
    create_bucket: bool = True,
    region: str | None = None,
    session: Any = None,
) -> pd.DataFrame:
    """Generate klines and upload them to ``s3://bucket/prefix/symbol=.../date=.../``.

    Parameters
    ----------
    bucket : str
        Target bucket (created, tagged, if missing and ``create_bucket``).
    prefix : str
        Key prefix of the table (default ``marketdata/klines``).
    symbols, start, seed :
        See :func:`iter_klines`.
    days : int, optional
        Days per symbol (default 30). Mutually exclusive with ``rows``.
    rows : int, optional
        Total klines wanted (e.g. 10_000_000); days are derived from it.
    progress : bool, optional
        Show a progress bar (default: only for large uploads).
    session : boto3.Session, optional
        Defaults to the current connection's.

    Returns
    -------
    pandas.DataFrame
        One row per symbol: ``symbol, first_date, last_date, files, rows, bytes``.

    Examples
    --------
    >>> summary = upload("flovtec-marketdata", days=2)     # doctest: +SKIP
    """
    if days is not None and rows is not None:
        raise MarketDataError("Pass days or rows, not both.")
    syms = _symbols(symbols)
    days = days_for_rows(rows, len(syms)) if rows is not None else (days or DEFAULT_DAYS)
    s3 = _s3(bucket, create_bucket, region, session)
    files = iter_klines(syms, start, days, seed)
    return _put_all(s3, bucket, prefix, files, len(syms) * days, progress)


def upload_folder(
    folder: str | Path,
    bucket: str,
    prefix: str = DEFAULT_PREFIX,
    create_bucket: bool = True,
    region: str | None = None,
    session: Any = None,
) -> pd.DataFrame:
    """Upload real Binance daily kline files (``SYM-1m-YYYY-MM-DD.csv`` or ``.zip``) the same way.

    Examples
    --------
    >>> upload_folder("~/Downloads/binance", "flovtec-marketdata")   # doctest: +SKIP
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise MarketDataError(f"{root} is not a folder: pass the folder holding the Binance files.")
    paths = sorted(p for p in root.rglob("*") if _FILE_RE.match(p.name))
    if not paths:
        raise MarketDataError(
            f"No Binance kline files in {root}: expected names like BTCUSDT-1m-2025-01-01.csv "
            "or .zip (from data.binance.vision, spot, daily, klines, 1m)."
        )

    def read() -> Iterator[tuple[str, str, bytes]]:
        for path in paths:
            match = _FILE_RE.match(path.name)
            assert match
            symbol, day, ext = match.groups()
            if ext == "zip":
                with zipfile.ZipFile(path) as archive:
                    body = archive.read(archive.namelist()[0])
            else:
                body = path.read_bytes()
            yield symbol, day, body

    s3 = _s3(bucket, create_bucket, region, session)
    return _put_all(s3, bucket, prefix, read(), len(paths), None)


def write_folder(
    folder: str | Path,
    symbols: Any = DEFAULT_SYMBOLS,
    start: str | dt.date = DEFAULT_START,
    days: int | None = None,
    rows: int | None = None,
    seed: int = 42,
) -> pd.DataFrame:
    """Write the generated files to a local folder (same layout) instead of S3; for pandas."""
    syms = _symbols(symbols)
    days = days_for_rows(rows, len(syms)) if rows is not None else (days or DEFAULT_DAYS)
    root = Path(folder)
    stats: dict[str, dict[str, Any]] = {}
    for symbol, day, body in iter_klines(syms, start, days, seed):
        path = root / object_key(symbol, day, prefix="")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        _count(stats, symbol, str(day), body)
    return _summary(stats)


def _s3(bucket: str, create_bucket: bool, region: str | None, session: Any) -> Any:
    from botocore.exceptions import ClientError

    sess = get_session(session, region)
    s3 = sess.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
        if not create_bucket:
            raise MarketDataError(
                f"Bucket {bucket} does not exist: create it first or pass create_bucket=True."
            ) from None
        from flovtrain import config

        region = sess.region_name or config.DEFAULT_REGION
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": config.workshop_tags()})
    return s3


def _count(stats: dict[str, dict[str, Any]], symbol: str, day: str, body: bytes) -> None:
    row = stats.setdefault(
        symbol,
        {"symbol": symbol, "first_date": day, "last_date": day, "files": 0, "rows": 0, "bytes": 0},
    )
    row["first_date"] = min(row["first_date"], day)
    row["last_date"] = max(row["last_date"], day)
    row["files"] += 1
    row["rows"] += body.count(b"\n")
    row["bytes"] += len(body)


def _summary(stats: dict[str, dict[str, Any]]) -> pd.DataFrame:
    cols = ["symbol", "first_date", "last_date", "files", "rows", "bytes"]
    return pd.DataFrame(list(stats.values()), columns=cols)


def _put_all(
    s3: Any, bucket: str, prefix: str, files: Any, total: int, progress: bool | None
) -> pd.DataFrame:
    stats: dict[str, dict[str, Any]] = {}
    bar = _progress(total, progress)

    def put(item: tuple[str, Any, bytes]) -> None:
        symbol, day, body = item
        s3.put_object(
            Bucket=bucket, Key=object_key(symbol, day, prefix), Body=body, ContentType="text/csv"
        )

    # generation is CPU-bound in this thread; uploads overlap it in a small pool
    with ThreadPoolExecutor(max_workers=6) as pool:
        pending = []
        for symbol, day, body in files:
            _count(stats, symbol, str(day), body)
            pending.append(pool.submit(put, (symbol, day, body)))
            if len(pending) >= 64:
                _drain(pending, bar)
        _drain(pending, bar)
    if bar is not None:
        bar.close()
    return _summary(stats)


def _drain(pending: list[Any], bar: Any) -> None:
    for future in pending:
        future.result()
        if bar is not None:
            bar.update(1)
    pending.clear()


def table_ddl(
    database: str, bucket: str, prefix: str = DEFAULT_PREFIX, table: str = "klines"
) -> str:
    """Return the Athena DDL that declares the kline files as a partitioned table.

    Examples
    --------
    >>> print(table_ddl("marketdata", "b").splitlines()[0])
    CREATE EXTERNAL TABLE IF NOT EXISTS marketdata.klines (
    """
    cols = ",\n".join(f"  {n} {t}" for n, t in zip(KLINE_COLUMNS, KLINE_TYPES, strict=True))
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{table} (\n{cols}\n)\n"
        "PARTITIONED BY (symbol string, `date` string)\n"
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY ','\n"
        "STORED AS TEXTFILE\n"
        f"LOCATION 's3://{bucket}/{prefix.strip('/')}/'"
    )


ProgressHook = Callable[[int], None]
