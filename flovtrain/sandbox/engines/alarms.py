"""CloudWatch alarm evaluation and the notifications AWS sends, as pure functions.

Works on moto's alarm and metric objects: :func:`decide` says which state an alarm should be in
(statistic or ``pNN`` per period, ``EvaluationPeriods``, ``DatapointsToAlarm`` (M of N),
threshold and operator, dimensions, unit and ``TreatMissingData``) with AWS's reason text;
:func:`notification` and :func:`email_text` are what CloudWatch publishes on a state change.

Sandbox choice: the evaluation window slides with the clock (N periods ending now), so data
counts the moment it arrives and a 6-hour billing period does not flip at a period boundary.
Metric-math, composite and anomaly-detection alarms are not evaluated (:func:`evaluable`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

OPERATORS = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
INITIAL_REASON = "Unchecked: Initial alarm creation"


# -- time and names --------------------------------------------------------------------------
def utcnow() -> datetime:
    """Return the current time as naive UTC, like moto's timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


def aware(dt: datetime) -> datetime:
    """Return ``dt`` timezone-aware in UTC (naive times are UTC, as moto's)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _naive(dt: datetime) -> datetime:
    return dt if dt.tzinfo is None else dt.astimezone(UTC).replace(tzinfo=None)


def aws_time(dt: datetime) -> str:
    """AWS's alarm timestamp format, e.g. ``2026-11-28T08:26:49.884+0000``."""
    return aware(dt).strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware(dt).microsecond // 1000:03d}+0000"


def _reason_time(dt: datetime) -> str:
    return _naive(dt).strftime("%d/%m/%y %H:%M:%S")


@cache
def region_name(region: str) -> str:
    """Long region name as in AWS's notification subject, e.g. ``US East (N. Virginia)``."""
    from botocore.loaders import create_loader

    for partition in create_loader().load_data("endpoints")["partitions"]:
        if region in partition["regions"]:
            return partition["regions"][region].get("description", region)
    return region


def configuration(alarm: Any) -> dict[str, Any]:
    """The alarm's configuration as AWS shows it in ConfigurationUpdate history (lowerCamel)."""
    config = {
        "alarmName": alarm.name,
        "alarmArn": alarm.alarm_arn,
        "alarmDescription": alarm.description,
        "actionsEnabled": bool(alarm.actions_enabled),
        "oKActions": list(alarm.ok_actions or []),
        "alarmActions": list(alarm.alarm_actions or []),
        "insufficientDataActions": list(alarm.insufficient_data_actions or []),
        "metricName": alarm.metric_name,
        "namespace": alarm.namespace,
        "statistic": alarm.statistic,
        "extendedStatistic": alarm.extended_statistic,
        "dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
        "period": alarm.period,
        "unit": alarm.unit,
        "evaluationPeriods": alarm.evaluation_periods,
        "datapointsToAlarm": alarm.datapoints_to_alarm,
        "threshold": alarm.threshold,
        "comparisonOperator": alarm.comparison_operator,
        "treatMissingData": alarm.treat_missing_data,
    }
    return {k: v for k, v in config.items() if v is not None}


# -- evaluation ------------------------------------------------------------------------------
def evaluable(alarm: Any) -> bool:
    """Return whether the sandbox evaluates ``alarm`` (one metric, a statistic, an operator)."""
    return (
        alarm.rule is None
        and not alarm.metric_data_queries
        and bool(alarm.metric_name)
        and alarm.comparison_operator in OPERATORS
        and bool(alarm.period)
        and bool(alarm.statistic or alarm.extended_statistic)
    )


def _statistic(alarm: Any, data: list[Any]) -> float | None:
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

    singles = [d.value for d in data if isinstance(d, MetricDatum)]
    aggregated = [d for d in data if isinstance(d, MetricAggregatedDatum)]
    count = len(singles) + sum(a.sample_count for a in aggregated)
    if not count:
        return None
    total = sum(singles) + sum(a.sum for a in aggregated)
    stat = alarm.statistic
    if stat == "SampleCount":
        return float(count)
    if stat == "Sum":
        return float(total)
    if stat == "Average":
        return float(total / count)
    if stat == "Minimum":
        return float(min(singles + [a.min for a in aggregated]))
    if stat == "Maximum":
        return float(max(singles + [a.max for a in aggregated]))
    ext = alarm.extended_statistic or ""
    if ext.startswith("p") and singles:
        try:
            pct = float(ext[1:])
        except ValueError:
            return None
        ordered = sorted(singles)
        rank = max(1, math.ceil(pct / 100.0 * len(ordered)))  # nearest rank
        return float(ordered[min(rank, len(ordered)) - 1])
    return None


def _series(
    backend: Any,
    namespace: str,
    metric_name: str,
    cache: dict[tuple[int, str, str], list[tuple[datetime, frozenset, Any, Any]]],
) -> list[tuple[datetime, frozenset, Any, Any]]:
    """(time, dimensions, unit, datum) of one metric, computed once per evaluation pass."""
    key = (id(backend), namespace, metric_name)
    if key not in cache:
        data = list(backend.metric_data)
        if namespace.startswith("AWS/") and namespace != "AWS/Billing":
            try:  # metrics moto's own services publish (computed on the fly)
                data += list(backend.aws_metric_data)
            except Exception:
                pass
        cache[key] = [
            (_naive(d.timestamp), frozenset((x.name, x.value) for x in d.dimensions), d.unit, d)
            for d in data
            if d.namespace == namespace and d.name == metric_name
        ]
    return cache[key]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def decide(
    alarm: Any, backend: Any, now: datetime, cache: dict | None = None
) -> tuple[str, str, dict[str, Any]] | None:
    """Return (new state, reason, reason data), or None to keep the current state."""
    period = int(alarm.period)
    n = max(1, int(alarm.evaluation_periods or 1))
    m = max(1, min(n, int(alarm.datapoints_to_alarm or n)))
    threshold = float(alarm.threshold)
    words, compare = OPERATORS[alarm.comparison_operator]
    treat = alarm.treat_missing_data or "missing"
    window_start = now - timedelta(seconds=period * n)
    dims = frozenset((d.name, d.value) for d in alarm.dimensions)
    grouped: list[list[tuple[datetime, Any]]] = [[] for _ in range(n)]
    for ts, d_dims, unit, datum in _series(
        backend, alarm.namespace, alarm.metric_name, {} if cache is None else cache
    ):
        if d_dims != dims or (alarm.unit and unit != alarm.unit):
            continue
        if not window_start < ts <= now:
            continue
        # bucket i holds (now - (i+1)*period, now - i*period]
        i = min(n - 1, int((now - ts).total_seconds() // period))
        grouped[i].append((ts, datum))

    buckets = []  # newest first: (latest datum's time, value or None, sample count)
    for i, members in enumerate(grouped):
        start = now - timedelta(seconds=period * (i + 1))
        latest = max((ts for ts, _ in members), default=start)
        in_bucket = [datum for _, datum in members]
        buckets.append((latest, _statistic(alarm, in_bucket), len(in_bucket)))
    present = [(t, v, c) for t, v, c in buckets if v is not None]
    missing = n - len(present)
    breaching = [(t, v) for t, v, _ in present if compare(v, threshold)]
    breach_count = len(breaching) + (missing if treat == "breaching" else 0)

    reason_data = {
        "version": "1.0",
        "queryDate": aws_time(now),
        "startDate": aws_time(window_start),
        ("extendedStatistic" if alarm.extended_statistic else "statistic"): alarm.extended_statistic
        or alarm.statistic,
        "period": period,
        "recentDatapoints": [v for _, v, _ in present],
        "threshold": threshold,
        "evaluatedDatapoints": [
            {"timestamp": aws_time(t), "sampleCount": float(c), "value": v} for t, v, c in present
        ],
    }
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return None
        verb = "was" if n == 1 else "were"
        return (
            "INSUFFICIENT_DATA",
            f"Insufficient Data: {_plural(n, 'datapoint')} {verb} unknown.",
            reason_data,
        )

    new_state = "ALARM" if breach_count >= m else "OK"
    shown = breaching if new_state == "ALARM" else [(t, v) for t, v, _ in present]
    listed = ", ".join(f"{v!r} ({_reason_time(t)})" for t, v in shown)
    negation = "" if new_state == "ALARM" else "not "
    if n == 1 and present:
        reason = (
            f"Threshold Crossed: 1 datapoint [{listed}] was {negation}{words} "
            f"the threshold ({threshold!r})."
        )
    elif not present:
        kind = "Breaching" if treat == "breaching" else "NonBreaching"
        reason = (
            f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} "
            f"and {_plural(missing, 'missing datapoint')} "
            f"{'was' if missing == 1 else 'were'} treated as [{kind}]."
        )
    else:
        count = breach_count if new_state == "ALARM" else len(present)
        transition = "OK -> ALARM" if new_state == "ALARM" else "ALARM -> OK"
        reason = (
            f"Threshold Crossed: {count} out of the last {n} datapoints [{listed}] "
            f"{'was' if count == 1 else 'were'} {negation}{words} the threshold "
            f"({threshold!r}) (minimum {_plural(m, 'datapoint')} for {transition} "
            "transition)."
        )
        if missing and treat in ("breaching", "notBreaching"):
            kind = "Breaching" if treat == "breaching" else "NonBreaching"
            reason += f" {_plural(missing, 'missing datapoint')} treated as [{kind}]."
    return new_state, reason, reason_data


def notification(account_id: str, region: str, alarm: Any, old_state: str) -> dict[str, Any]:
    """The JSON CloudWatch publishes to SNS on a state change."""
    extended = bool(alarm.extended_statistic) and not alarm.statistic
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "StatisticType": "ExtendedStatistic" if extended else "Statistic",
        "Statistic": (alarm.extended_statistic if extended else (alarm.statistic or "").upper()),
        "Unit": alarm.unit,
        "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
    }
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": aws_time(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": aws_time(alarm.state_updated_timestamp),
        "Region": region_name(region),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions or []),
        "AlarmActions": list(alarm.alarm_actions or []),
        "InsufficientDataActions": list(alarm.insufficient_data_actions or []),
        "Trigger": trigger,
    }


def email_text(account_id: str, region: str, alarm: Any, old_state: str) -> str:
    """The readable e-mail CloudWatch sends e-mail subscribers instead of the JSON."""
    when = aware(alarm.state_updated_timestamp).strftime("%A %d %B, %Y %H:%M:%S UTC")
    n = alarm.evaluation_periods
    m = alarm.datapoints_to_alarm or n
    dims = ", ".join(f"{d.name} = {d.value}" for d in alarm.dimensions)

    def listed(actions: list[str] | None) -> str:
        return f"[{', '.join(actions)}]" if actions else ""

    return "\n".join(
        [
            f'You are receiving this email because your Amazon CloudWatch Alarm "{alarm.name}" in '
            f"the {region_name(region)} region has entered the {alarm.state_value} state, because "
            f'"{alarm.state_reason}" at "{when}".',
            "",
            "View this alarm in the AWS Management Console:",
            f"https://{region}.console.aws.amazon.com/cloudwatch/deeplink.js?region={region}"
            f"#alarmsV2:alarm/{alarm.name}",
            "",
            "Alarm Details:",
            f"- Name:                       {alarm.name}",
            f"- Description:                {alarm.description or ''}",
            f"- State Change:               {old_state} -> {alarm.state_value}",
            f"- Reason for State Change:    {alarm.state_reason}",
            f"- Timestamp:                  {when}",
            f"- AWS Account:                {account_id}",
            f"- Alarm Arn:                  {alarm.alarm_arn}",
            "",
            "Threshold:",
            f"- The alarm is in the ALARM state when the metric is {alarm.comparison_operator} "
            f"{alarm.threshold} for at least {m} of the last {n} period(s) of "
            f"{alarm.period} seconds.",
            "",
            "Monitored Metric:",
            f"- MetricNamespace:                     {alarm.namespace}",
            f"- MetricName:                          {alarm.metric_name}",
            f"- Dimensions:                          [{dims}]",
            f"- Period:                              {alarm.period} seconds",
            f"- Statistic:                           {alarm.statistic or alarm.extended_statistic}",
            f"- Unit:                                {alarm.unit or 'not specified'}",
            f"- TreatMissingData:                    {alarm.treat_missing_data or 'missing'}",
            "",
            "State Change Actions:",
            f"- OK: {listed(alarm.ok_actions)}",
            f"- ALARM: {listed(alarm.alarm_actions)}",
            f"- INSUFFICIENT_DATA: {listed(alarm.insufficient_data_actions)}",
            "",
        ]
    )
