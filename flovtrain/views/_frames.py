"""Small helpers shared by the view modules: fixed-column frames, columns renamed from boto3's
keys, UTC timestamps, durations, ``batch_get_*`` calls in chunks.

Paging and error codes are :func:`flovtrain._aws.paginate` and :func:`flovtrain._aws.error_code`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd


def frame(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], sort: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return a DataFrame with exactly ``columns`` (kept when empty), sorted for stable output."""
    df = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=list(columns))
    if sort and len(df):
        df = df.sort_values(list(sort), kind="stable", na_position="last").reset_index(drop=True)
    return df


def renamed(item: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """Return a row of ``item`` (a boto3 dict): each ``column: key`` of ``fields`` becomes
    ``column: item.get(key)``.

    Examples
    --------
    >>> renamed({"LogicalResourceId": "Repo", "ResourceType": "AWS::CodeCommit::Repository"},
    ...         {"logical_id": "LogicalResourceId", "status": "ResourceStatus"})
    {'logical_id': 'Repo', 'status': None}
    """
    return {column: item.get(key) for column, key in fields.items()}


def utc(value: Any) -> pd.Timestamp | None:
    """Return ``value`` (datetime from botocore, any timezone) as a UTC pandas Timestamp."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return pd.Timestamp(value).tz_convert("UTC")


def to_utc_column(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Turn ``columns`` into ``datetime64[us, UTC]`` (also when the frame is empty)."""
    for column in columns:
        # whole seconds: what the console shows, and shorter in a notebook
        values = pd.to_datetime(df[column], utc=True).astype("datetime64[us, UTC]")
        df[column] = values.dt.floor("s")
    return df


def seconds_between(start: Any, end: Any) -> float | None:
    """Return the seconds from ``start`` to ``end`` (datetimes) to 0.1 s; None if one is None."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 1)


def newest_first(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], by: str, *times: str
) -> pd.DataFrame:
    """Return a fixed-column frame sorted by ``by``, largest first, ``times`` as UTC timestamps."""
    df = frame(rows, columns)
    if len(df):
        df = df.sort_values(by, ascending=False, kind="stable").reset_index(drop=True)
    return to_utc_column(df, *times)


def batch_get(
    call: Callable[..., Mapping[str, Any]],
    key: str,
    param: str,
    ids: Iterable[Any],
    size: int,
    **fixed: Any,
) -> Iterator[Any]:
    """Yield the items under ``key`` that ``call`` (a ``batch_get_*``) returns for all ``ids``,
    passed as ``param`` at most ``size`` at a time (AWS refuses more in one call).

    Examples
    --------
    >>> def get(numbers):  # stands in for e.g. codebuild's batch_get_builds
    ...     return {"found": [n * 10 for n in numbers]}
    >>> list(batch_get(get, "found", "numbers", range(5), size=2))
    [0, 10, 20, 30, 40]
    """
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield from call(**{param: ids[start : start + size]}, **fixed).get(key, [])
