"""CloudWatch as tables: alarms, their history, and the AWS/Billing EstimatedCharges series.

Billing metrics exist only in us-east-1, which is why ``estimated_charges`` defaults to it.

Examples
--------
>>> from flovtrain.views import cloudwatch
>>> cloudwatch.alarms(region="us-east-1")          # doctest: +SKIP
>>> cloudwatch.estimated_charges()                 # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain._aws import paginate
from flovtrain.session import get_session
from flovtrain.views._frames import frame, renamed, to_utc_column

ALARM_COLUMNS = [
    "name",
    "namespace",
    "metric",
    "dimensions",
    "statistic",
    "threshold",
    "comparison",
    "period",
    "evaluation_periods",
    "state",
    "state_reason",
    "actions",
]
#: The columns of :func:`alarm_history` and the keys of ``describe_alarm_history`` they show.
HISTORY_FIELDS = {
    "timestamp": "Timestamp",
    "alarm": "AlarmName",
    "type": "HistoryItemType",
    "summary": "HistorySummary",
}
HISTORY_COLUMNS = list(HISTORY_FIELDS)
CHARGES_COLUMNS = ["timestamp", "usd"]
BILLING_REGION = "us-east-1"

# The console's symbols for ComparisonOperator: shorter and clearer in a table.
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


def _cloudwatch(region: str | None, session: boto3.Session | None) -> Any:
    return get_session(session, region).client("cloudwatch", region_name=region)


def iter_alarms(
    region: str | None = None, session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``describe_alarms`` metric alarms.

    Parameters
    ----------
    region : str, optional
        Defaults to the connection's region (billing alarms live in us-east-1).

    Examples
    --------
    >>> [a["AlarmName"] for a in iter_alarms("us-east-1")]        # doctest: +SKIP
    ['billing-10usd']
    """
    yield from paginate(_cloudwatch(region, session), "describe_alarms", "MetricAlarms")


def alarms(region: str | None = None, session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the metric alarms of ``region``.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``namespace``, ``metric``, ``dimensions`` (``Name=Value, ...``),
        ``statistic``, ``threshold``, ``comparison`` (``>=``, ``>``, ...), ``period`` (s),
        ``evaluation_periods``, ``state`` (OK / ALARM / INSUFFICIENT_DATA), ``state_reason``,
        ``actions`` (alarm action ARNs, comma-separated); sorted by name.

    Examples
    --------
    >>> alarms("us-east-1")[["name", "threshold", "state"]]      # doctest: +SKIP
                name  threshold state
    0  billing-10usd       10.0    OK
    """
    rows = []
    for alarm in iter_alarms(region, session):
        dims = ", ".join(f"{d['Name']}={d['Value']}" for d in alarm.get("Dimensions", []))
        comparison = alarm.get("ComparisonOperator")
        rows.append(
            {
                "name": alarm["AlarmName"],
                "namespace": alarm.get("Namespace"),
                "metric": alarm.get("MetricName"),
                "dimensions": dims,
                "statistic": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
                "threshold": alarm.get("Threshold"),
                "comparison": COMPARISONS.get(comparison, comparison),
                "period": alarm.get("Period"),
                "evaluation_periods": alarm.get("EvaluationPeriods"),
                "state": alarm.get("StateValue"),
                "state_reason": alarm.get("StateReason"),
                "actions": ", ".join(sorted(alarm.get("AlarmActions", []))),
            }
        )
    return frame(rows, ALARM_COLUMNS, sort=["name"])


def iter_alarm_history(
    name: str | None = None, region: str | None = None, session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``describe_alarm_history`` items (AlarmName, Timestamp, HistoryItemType, ...).

    Examples
    --------
    >>> next(iter_alarm_history("billing-10usd", "us-east-1"))["HistoryItemType"]  # doctest: +SKIP
    'StateUpdate'
    """
    kwargs = {"AlarmName": name} if name else {}
    yield from paginate(
        _cloudwatch(region, session), "describe_alarm_history", "AlarmHistoryItems", **kwargs
    )


def alarm_history(
    name: str | None = None, region: str | None = None, session: boto3.Session | None = None
) -> pd.DataFrame:
    """Return the history of one alarm (or of all alarms) in ``region``.

    Returns
    -------
    pandas.DataFrame
        Columns ``timestamp`` (UTC), ``alarm``, ``type`` (StateUpdate, ConfigurationUpdate,
        Action), ``summary``; oldest first.

    Examples
    --------
    >>> alarm_history("billing-10usd", "us-east-1").type.tolist()      # doctest: +SKIP
    ['ConfigurationUpdate', 'StateUpdate', 'Action']
    """
    rows = (renamed(h, HISTORY_FIELDS) for h in iter_alarm_history(name, region, session))
    df = to_utc_column(frame(rows, HISTORY_COLUMNS), "timestamp")
    # the API returns newest first; a story reads oldest first (stable keeps same-second order)
    return df.iloc[::-1].sort_values(["timestamp"], kind="stable", ignore_index=True)


def estimated_charges(
    region: str = BILLING_REGION,
    days: int = 14,
    period: int = 21600,
    end: dt.datetime | None = None,
    session: boto3.Session | None = None,
) -> pd.DataFrame:
    """Return the AWS/Billing EstimatedCharges (Currency=USD) series, statistic Maximum.

    Parameters
    ----------
    region : str
        Billing metrics are published in us-east-1 only.
    days : int
        How far back to look.
    period : int
        Seconds per data point (AWS publishes the estimate about every 6 hours: 21600).
    end : datetime, optional
        End of the window (default: a minute from now, so a point published this very
        second is included).
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Returns
    -------
    pandas.DataFrame
        Columns ``timestamp`` (UTC) and ``usd`` (month-to-date estimate); oldest first.

    Examples
    --------
    >>> estimated_charges().usd.max()            # doctest: +SKIP
    12.0
    """
    end = end or dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    response = _cloudwatch(region, session).get_metric_statistics(
        Namespace="AWS/Billing",
        MetricName="EstimatedCharges",
        Dimensions=[{"Name": "Currency", "Value": "USD"}],
        StartTime=end - dt.timedelta(days=days),
        EndTime=end,
        Period=period,
        Statistics=["Maximum"],
    )
    rows = [
        {"timestamp": p["Timestamp"], "usd": float(p["Maximum"])} for p in response["Datapoints"]
    ]
    df = to_utc_column(frame(rows, CHARGES_COLUMNS, sort=["timestamp"]), "timestamp")
    return df.astype({"usd": "float64"})
