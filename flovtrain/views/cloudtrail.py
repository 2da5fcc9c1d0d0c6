"""CloudTrail as a table: who did what, when, and what AWS answered (the event history).

The event history holds the account's management events of one region for 90 days, free and
always on; IAM's (a global service) are in us-east-1. ``LookupEvents`` takes one filter at a
time (``Username``, ``EventName``, ``ResourceName``...).

Examples
--------
>>> from flovtrain.views import cloudtrail
>>> cloudtrail.events(username="visitor")                       # doctest: +SKIP
>>> cloudtrail.events(event_name="CreateUser", region="us-east-1")   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain._aws import client, paginate
from flovtrain.views._frames import newest_first

EVENT_COLUMNS = ["time", "user", "event_source", "event_name", "error_code", "resource"]
#: Keyword -> LookupEvents attribute key (AWS accepts one per call).
LOOKUP_KEYS = {
    "username": "Username",
    "event_name": "EventName",
    "event_source": "EventSource",
    "resource_name": "ResourceName",
    "resource_type": "ResourceType",
    "access_key_id": "AccessKeyId",
    "read_only": "ReadOnly",
    "event_id": "EventId",
}


def _attributes(filters: dict[str, Any]) -> list[dict[str, str]]:
    given = {k: v for k, v in filters.items() if v is not None}
    unknown = sorted(set(given) - set(LOOKUP_KEYS))
    if unknown:
        raise TypeError(f"unknown filter {unknown[0]!r}; use one of {sorted(LOOKUP_KEYS)}")
    if len(given) > 1:
        raise ValueError(
            f"LookupEvents takes one filter at a time, got {sorted(given)}: pick one and filter "
            "the DataFrame for the rest"
        )
    return [
        {
            "AttributeKey": LOOKUP_KEYS[k],
            "AttributeValue": str(v).lower() if k == "read_only" else v,
        }
        for k, v in given.items()
    ]


def iter_events(
    session: boto3.Session | None = None,
    region: str | None = None,
    start: Any = None,
    end: Any = None,
    **filters: Any,
) -> Iterator[dict[str, Any]]:
    """Yield the ``LookupEvents`` entries that match, newest first (boto3's paginator).

    Parameters
    ----------
    session : boto3.Session, optional
        Defaults to the workbook's session.
    region : str, optional
        The region whose history to read (IAM's events: ``"us-east-1"``).
    start, end : datetime, optional
        The time window (``StartTime``/``EndTime``).
    **filters
        At most one of ``username``, ``event_name``, ``event_source``, ``resource_name``,
        ``resource_type``, ``access_key_id``, ``read_only``, ``event_id``.

    Examples
    --------
    >>> next(iter_events(username="visitor"))["EventName"]       # doctest: +SKIP
    'CreateBucket'
    """
    kwargs: dict[str, Any] = {"LookupAttributes": _attributes(filters)}
    if start is not None:
        kwargs["StartTime"] = start
    if end is not None:
        kwargs["EndTime"] = end
    yield from paginate(client("cloudtrail", session, region), "lookup_events", "Events", **kwargs)


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    record = json.loads(entry.get("CloudTrailEvent") or "{}")
    resources = entry.get("Resources") or []
    return {
        "time": entry.get("EventTime"),
        "user": entry.get("Username", ""),
        "event_source": entry.get("EventSource", ""),
        "event_name": entry.get("EventName", ""),
        "error_code": record.get("errorCode", ""),
        "resource": ", ".join(r.get("ResourceName", "") for r in resources),
    }


def events(
    session: boto3.Session | None = None,
    region: str | None = None,
    start: Any = None,
    end: Any = None,
    limit: int | None = 50,
    **filters: Any,
) -> pd.DataFrame:
    """Return who did what as a table, newest first: the console's *Event history*.

    Columns: ``time`` (UTC), ``user``, ``event_source``, ``event_name``, ``error_code`` (empty
    when AWS allowed it), ``resource``.

    Parameters
    ----------
    session, region, start, end, **filters
        As :func:`iter_events`.
    limit : int or None
        At most this many rows (the newest); ``None`` reads the whole history.

    Examples
    --------
    >>> events(username="visitor")[["user", "event_name", "error_code"]]   # doctest: +SKIP
          user    event_name    error_code
    0  visitor  CreateBucket
    1  visitor  CreateBucket  AccessDenied
    """
    rows = []
    for entry in iter_events(session, region, start, end, **filters):
        rows.append(_row(entry))
        if limit is not None and len(rows) >= limit:
            break
    # the history is newest first already; the stable sort keeps same-second events in order
    return newest_first(rows, EVENT_COLUMNS, "time", "time")
