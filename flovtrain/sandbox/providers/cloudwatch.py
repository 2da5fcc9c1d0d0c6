"""CloudWatch provider: alarms that are evaluated, notify, and keep a history, as on AWS.

moto stores alarms and metric data but never evaluates an alarm, starts alarms in ``OK``,
does not fire actions on ``SetAlarmState`` and has no ``DescribeAlarmHistory``. This provider:

- starts new alarms in ``INSUFFICIENT_DATA`` ("Unchecked: Initial alarm creation") and
  evaluates them at once; re-putting an alarm keeps its state, as on AWS;
- evaluates alarms whenever data arrives for their metric (``PutMetricData``, simulated
  billing data) and every few seconds on a background thread: statistic (or ``pNN``) per
  period, ``EvaluationPeriods``, ``DatapointsToAlarm`` (M of N), threshold and operator,
  dimensions, unit and ``TreatMissingData``;
- on every state change updates moto's alarm, records history and publishes AWS's alarm
  notification JSON to the SNS topics among the actions for the new state (``ActionsEnabled``);
- refuses ``PutMetricData`` into ``AWS/...`` namespaces like AWS;
- implements ``DescribeAlarmHistory`` (StateUpdate, ConfigurationUpdate and Action items).

Sandbox choices: the evaluation window slides with the clock (N periods ending now), so data
counts the moment it arrives and a 6-hour billing period does not flip at a period boundary;
after ``SetAlarmState`` the alarm keeps the forced state for one minute (AWS evaluates about
once a minute); only SNS actions run. Metric-math, composite and anomaly-detection alarms are
stored by moto but not evaluated here.

An evaluation that changes nothing draws no random numbers: moto's seeded generator is shared
and stored notebooks depend on the ids it hands out.
"""

from __future__ import annotations

import base64
import json
import math
import sys
import threading
import time
import traceback
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from moto.cloudwatch.responses import CloudWatchResponse

from flovtrain.sandbox import seam
from flovtrain.sandbox.providers import sns

#: Seconds between background evaluations.
INTERVAL = 5.0
#: Seconds a state forced with SetAlarmState is kept before evaluation resumes.
MANUAL_HOLD = 60.0

OPERATORS = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
INITIAL_REASON = "Unchecked: Initial alarm creation"

#: The one lock around alarm state, history and evaluation (request threads + the timer).
LOCK = threading.RLock()
_history: list[dict[str, Any]] = []
_manual_until: dict[tuple[str, str, str], float] = {}
_timer: dict[str, Any] = {"thread": None, "stop": None, "paused_until": 0.0}


# -- time and names --------------------------------------------------------------------------
def _utcnow() -> datetime:
    """Naive UTC, like moto's timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _naive(dt: datetime) -> datetime:
    return dt if dt.tzinfo is None else dt.astimezone(UTC).replace(tzinfo=None)


def aws_time(dt: datetime) -> str:
    """AWS's alarm timestamp format, e.g. ``2026-11-28T08:26:49.884+0000``."""
    return _aware(dt).strftime("%Y-%m-%dT%H:%M:%S.") + f"{_aware(dt).microsecond // 1000:03d}+0000"


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


def _backend(account_id: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account_id][region]


def _existing_backends() -> list[tuple[str, str, Any]]:
    """Every (account, region, backend) that exists, without creating any."""
    from moto.cloudwatch.models import cloudwatch_backends

    found = []
    for account_id, regions in list(dict.items(cloudwatch_backends)):
        for region, backend in list(dict.items(regions)):
            found.append((account_id, region, backend))
    return found


# -- history ---------------------------------------------------------------------------------
def _record(account_id: str, region: str, alarm_name: str, item_type: str, summary: str,
            data: dict[str, Any], when: datetime | None = None) -> None:
    _history.append({
        "account_id": account_id,
        "region": region,
        "AlarmName": alarm_name,
        "AlarmType": "MetricAlarm",
        "Timestamp": _aware(when or _utcnow()),
        "HistoryItemType": item_type,
        "HistorySummary": summary,
        "HistoryData": json.dumps(data, separators=(",", ":")),
    })


def history(account_id: str | None = None, region: str | None = None,
            alarm_name: str | None = None) -> list[dict[str, Any]]:
    """Return recorded history items, oldest first (copies)."""
    with LOCK:
        return [
            dict(h) for h in _history
            if (account_id is None or h["account_id"] == account_id)
            and (region is None or h["region"] == region)
            and (alarm_name is None or h["AlarmName"] == alarm_name)
        ]


def _config(alarm: Any) -> dict[str, Any]:
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
def _evaluable(alarm: Any) -> bool:
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


def _series(backend: Any, namespace: str, metric_name: str,
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
            for d in data if d.namespace == namespace and d.name == metric_name
        ]
    return cache[key]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _decide(alarm: Any, backend: Any, now: datetime,
            cache: dict | None = None) -> tuple[str, str, dict[str, Any]] | None:
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
    for ts, d_dims, unit, datum in _series(backend, alarm.namespace, alarm.metric_name,
                                           {} if cache is None else cache):
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
        ("extendedStatistic" if alarm.extended_statistic else "statistic"):
            alarm.extended_statistic or alarm.statistic,
        "period": period,
        "recentDatapoints": [v for _, v, _ in present],
        "threshold": threshold,
        "evaluatedDatapoints": [
            {"timestamp": aws_time(t), "sampleCount": float(c), "value": v}
            for t, v, c in present
        ],
    }
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return None
        verb = "was" if n == 1 else "were"
        return ("INSUFFICIENT_DATA",
                f"Insufficient Data: {_plural(n, 'datapoint')} {verb} unknown.", reason_data)

    new_state = "ALARM" if breach_count >= m else "OK"
    shown = breaching if new_state == "ALARM" else [(t, v) for t, v, _ in present]
    listed = ", ".join(f"{v!r} ({_reason_time(t)})" for t, v in shown)
    negation = "" if new_state == "ALARM" else "not "
    if n == 1 and present:
        reason = (f"Threshold Crossed: 1 datapoint [{listed}] was {negation}{words} "
                  f"the threshold ({threshold!r}).")
    elif not present:
        kind = "Breaching" if treat == "breaching" else "NonBreaching"
        reason = (f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} "
                  f"and {_plural(missing, 'missing datapoint')} "
                  f"{'was' if missing == 1 else 'were'} treated as [{kind}].")
    else:
        count = breach_count if new_state == "ALARM" else len(present)
        transition = "OK -> ALARM" if new_state == "ALARM" else "ALARM -> OK"
        reason = (f"Threshold Crossed: {count} out of the last {n} datapoints [{listed}] "
                  f"{'was' if count == 1 else 'were'} {negation}{words} the threshold "
                  f"({threshold!r}) (minimum {_plural(m, 'datapoint')} for {transition} "
                  "transition).")
        if missing and treat in ("breaching", "notBreaching"):
            kind = "Breaching" if treat == "breaching" else "NonBreaching"
            reason += f" {_plural(missing, 'missing datapoint')} treated as [{kind}]."
    return new_state, reason, reason_data


def _notification(account_id: str, region: str, alarm: Any, old_state: str) -> dict[str, Any]:
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


def _email_text(account_id: str, region: str, alarm: Any, old_state: str) -> str:
    """The readable e-mail CloudWatch sends e-mail subscribers instead of the JSON."""
    when = _aware(alarm.state_updated_timestamp).strftime("%A %d %B, %Y %H:%M:%S UTC")
    n = alarm.evaluation_periods
    m = alarm.datapoints_to_alarm or n
    dims = ", ".join(f"{d.name} = {d.value}" for d in alarm.dimensions)

    def listed(actions: list[str] | None) -> str:
        return f"[{', '.join(actions)}]" if actions else ""

    return "\n".join([
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
        f"{alarm.threshold} for at least {m} of the last {n} period(s) of {alarm.period} seconds.",
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
    ])


def _fire_actions(account_id: str, region: str, alarm: Any, old_state: str) -> None:
    if not alarm.actions_enabled:
        return
    actions = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }[alarm.state_value] or []
    if not actions:
        return
    message = json.dumps(_notification(account_id, region, alarm, old_state))
    # as on AWS: JSON for every protocol, a readable text for e-mail subscribers
    structured = json.dumps({"default": message,
                             "email": _email_text(account_id, region, alarm, old_state)})
    subject = f'{alarm.state_value}: "{alarm.name}" in {region_name(region)}'[:100]
    for arn in actions:
        data: dict[str, Any] = {
            "actionState": "Succeeded",
            "stateUpdateTimestamp": int(_aware(alarm.state_updated_timestamp).timestamp() * 1000),
            "notificationResource": arn,
            "publishedMessage": message,
        }
        if not arn.startswith("arn:aws:sns:"):
            data.update(actionState="Failed", error="The sandbox runs only SNS actions.")
            _record(account_id, region, alarm.name, "Action",
                    f"Failed to execute action {arn}. The sandbox runs only SNS actions.", data)
            continue
        try:
            sns.publish(arn, structured, subject, message_structure="json")
        except Exception as exc:  # a missing topic is a failed action, as on AWS
            data.update(actionState="Failed", error=str(exc))
            _record(account_id, region, alarm.name, "Action",
                    f"Failed to execute action {arn}. Received error: \"{exc}\"", data)
        else:
            _record(account_id, region, alarm.name, "Action",
                    f"Successfully executed action {arn}", data)


def _transition(account_id: str, region: str, alarm: Any, old_state: str, old_reason: str,
                old_reason_data: str | None) -> dict[str, Any]:
    """Record the change moto's alarm already shows, fire its actions; return a summary."""
    def state(value: str, reason: str, reason_data: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"stateValue": value, "stateReason": reason}
        if reason_data and reason_data != "{}":
            try:
                item["stateReasonData"] = json.loads(reason_data)
            except ValueError:
                pass
        return item

    _record(
        account_id, region, alarm.name, "StateUpdate",
        f"Alarm updated from {old_state} to {alarm.state_value}",
        {"version": "1.0",
         "oldState": state(old_state, old_reason, old_reason_data),
         "newState": state(alarm.state_value, alarm.state_reason, alarm.state_reason_data)},
        when=alarm.state_updated_timestamp,
    )
    _fire_actions(account_id, region, alarm, old_state)
    return {
        "account_id": account_id,
        "region": region,
        "alarm_name": alarm.name,
        "old_state": old_state,
        "new_state": alarm.state_value,
        "reason": alarm.state_reason,
    }


def _evaluate_alarm(account_id: str, region: str, backend: Any, alarm: Any,
                    now: datetime, cache: dict | None = None) -> dict[str, Any] | None:
    if not _evaluable(alarm):
        return None
    hold = _manual_until.get((account_id, region, alarm.name))
    if hold is not None:
        if time.monotonic() < hold:
            return None
        _manual_until.pop((account_id, region, alarm.name), None)
    if alarm.state_value == "OK" and alarm.state_reason == INITIAL_REASON:
        # created without PutMetricAlarm (e.g. by CloudFormation): moto's initial OK is
        # AWS's INSUFFICIENT_DATA, not a state anyone was told about
        alarm.state_value = "INSUFFICIENT_DATA"
    decision = _decide(alarm, backend, now, cache)
    if decision is None or decision[0] == alarm.state_value:
        return None  # nothing changes: touch nothing, draw no random numbers
    new_state, reason, reason_data = decision
    old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data)
    alarm.state_value = new_state
    alarm.state_reason = reason
    alarm.state_reason_data = json.dumps(reason_data, separators=(",", ":"))
    alarm.state_updated_timestamp = _utcnow()
    return _transition(account_id, region, alarm, *old)


def evaluate(account_id: str | None = None, region: str | None = None,
             namespace: str | None = None, metric_names: set[str] | None = None,
             alarm_name: str | None = None) -> list[dict[str, Any]]:
    """Evaluate the matching alarms now; return one summary dict per state change."""
    changes = []
    cache: dict[tuple[int, str, str], list[Any]] = {}
    with LOCK:
        now = _utcnow()
        for acct, reg, backend in _existing_backends():
            if (account_id and acct != account_id) or (region and reg != region):
                continue
            for alarm in list(backend.alarms.values()):
                if namespace and alarm.namespace != namespace:
                    continue
                if metric_names is not None and alarm.metric_name not in metric_names:
                    continue
                if alarm_name and alarm.name != alarm_name:
                    continue
                change = _evaluate_alarm(acct, reg, backend, alarm, now, cache)
                if change:
                    changes.append(change)
    return changes


# -- operations ------------------------------------------------------------------------------
def put_metric_alarm(call: seam.Call) -> Any:
    name = call.params.get("AlarmName")
    with LOCK:
        backend = _backend(call.account_id, call.region)
        old = backend.alarms.get(name)
        result = call.moto()
        alarm = backend.alarms.get(name)
        if alarm is None or alarm is old:
            return result
        if old is None:
            alarm.state_value = "INSUFFICIENT_DATA"
            alarm.state_reason = INITIAL_REASON
            alarm.state_reason_data = "{}"
            _record(call.account_id, call.region, name, "ConfigurationUpdate",
                    f'Alarm "{name}" created',
                    {"type": "Create", "version": "1.0", "createdAlarm": _config(alarm)},
                    when=alarm.configuration_updated_timestamp)
        else:  # AWS keeps an updated alarm's state
            alarm.state_value = old.state_value
            alarm.state_reason = old.state_reason
            alarm.state_reason_data = old.state_reason_data
            alarm.state_updated_timestamp = old.state_updated_timestamp
            before, after = _config(old), _config(alarm)
            if before == after:  # re-running the same cell changes nothing
                alarm.configuration_updated_timestamp = old.configuration_updated_timestamp
            else:
                _record(call.account_id, call.region, name, "ConfigurationUpdate",
                        f'Alarm "{name}" updated',
                        {"type": "Update", "version": "1.0",
                         "originalAlarm": before, "updatedAlarm": after})
        _manual_until.pop((call.account_id, call.region, name), None)
        _evaluate_alarm(call.account_id, call.region, backend, alarm, _utcnow())
    return result


def put_metric_data(call: seam.Call) -> Any:
    namespace = call.params.get("Namespace") or ""
    if namespace.startswith("AWS/"):
        raise seam.AwsError(
            "InvalidParameterValue", f"The value {namespace} for parameter Namespace is invalid."
        )
    result = call.moto()
    backend = _backend(call.account_id, call.region)
    names = {d.get("MetricName") for d in call.params.get("MetricData") or []}
    # fast path: most data has no alarm watching it
    alarms = list(backend.alarms.values())
    if any(a.namespace == namespace and a.metric_name in names for a in alarms):
        evaluate(call.account_id, call.region, namespace, names)
    return result


def set_alarm_state(call: seam.Call) -> Any:
    name = call.params.get("AlarmName")
    with LOCK:
        backend = _backend(call.account_id, call.region)
        alarm = backend.alarms.get(name)
        old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data) if alarm else None
        result = call.moto()  # validates (ResourceNotFound, state value, JSON reason data)
        alarm = backend.alarms[name]
        if old is not None and alarm.state_value != old[0]:
            _manual_until[(call.account_id, call.region, name)] = time.monotonic() + MANUAL_HOLD
            _transition(call.account_id, call.region, alarm, *old)
    return result


def delete_alarms(call: seam.Call) -> Any:
    names = call.params.get("AlarmNames") or []
    with LOCK:
        backend = _backend(call.account_id, call.region)
        existing = {n: backend.alarms[n] for n in names if n in backend.alarms}
        result = call.moto()
        for name, alarm in existing.items():
            _manual_until.pop((call.account_id, call.region, name), None)
            _record(call.account_id, call.region, name, "ConfigurationUpdate",
                    f'Alarm "{name}" deleted',
                    {"type": "Delete", "version": "1.0", "deletedAlarm": _config(alarm)})
    return result


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"flovtrain-history:{offset}".encode()).decode()


def _offset(token: str) -> int:
    try:
        prefix, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix != "flovtrain-history":
            raise ValueError
        return int(number)
    except (ValueError, UnicodeDecodeError):
        raise seam.AwsError("InvalidNextToken", "The service couldn't process the token.") from None


def describe_alarm_history(call: seam.Call) -> dict[str, Any]:
    p = call.params
    item_type = p.get("HistoryItemType")
    if item_type and item_type not in ("ConfigurationUpdate", "StateUpdate", "Action",
                                       "AlarmContributorStateUpdate", "AlarmContributorAction"):
        raise seam.AwsError("ValidationError", f"1 validation error detected: Value '{item_type}' "
                            "at 'historyItemType' failed to satisfy constraint: Member must "
                            "satisfy enum value set: [ConfigurationUpdate, StateUpdate, Action, "
                            "AlarmContributorStateUpdate, AlarmContributorAction]")
    max_records = int(p.get("MaxRecords") or 100)
    if not 1 <= max_records <= 100:
        raise seam.AwsError("ValidationError", "1 validation error detected: Value "
                            f"'{max_records}' at 'maxRecords' failed to satisfy constraint: "
                            "Member must have value between 1 and 100")
    types = p.get("AlarmTypes") or []
    start, end = p.get("StartDate"), p.get("EndDate")
    items = [
        h for h in history(call.account_id, call.region, p.get("AlarmName"))
        if (not item_type or h["HistoryItemType"] == item_type)
        and (not types or h["AlarmType"] in types)
        and (start is None or h["Timestamp"] >= _aware(start))
        and (end is None or h["Timestamp"] <= _aware(end))
    ]
    items.sort(key=lambda h: h["Timestamp"])  # stable: same-instant items keep their order
    if (p.get("ScanBy") or "TimestampDescending") == "TimestampDescending":
        items.reverse()
    offset = _offset(p["NextToken"]) if p.get("NextToken") else 0
    page = items[offset:offset + max_records]
    result: dict[str, Any] = {
        "AlarmHistoryItems": [
            {k: v for k, v in h.items() if k not in ("account_id", "region")} for h in page
        ]
    }
    if offset + max_records < len(items):
        result["NextToken"] = _token(offset + max_records)
    return result


# -- background evaluation -------------------------------------------------------------------
def _loop(stop_event: threading.Event) -> None:
    while not stop_event.wait(INTERVAL):
        if time.monotonic() < _timer["paused_until"]:
            continue
        try:
            evaluate()
        except Exception:  # keep evaluating; a reset can race with one pass
            traceback.print_exc(file=sys.stderr)


def start() -> None:
    """Start the background evaluator (a daemon thread); idempotent."""
    if _timer["thread"] is not None and _timer["thread"].is_alive():
        return
    stop_event = threading.Event()
    thread = threading.Thread(target=_loop, args=(stop_event,), name="flovtrain-alarm-evaluator",
                              daemon=True)
    _timer.update(thread=thread, stop=stop_event)
    thread.start()


def stop() -> None:
    """Stop the background evaluator and wait for it."""
    thread, stop_event = _timer["thread"], _timer["stop"]
    if stop_event is not None:
        stop_event.set()
    if thread is not None:
        thread.join(timeout=INTERVAL + 5)
    _timer.update(thread=None, stop=None)


def reset() -> None:
    """Forget history; pause the timer briefly so no pass straddles moto's reset and re-seed."""
    with LOCK:
        _timer["paused_until"] = time.monotonic() + 2.0
        _history.clear()
        _manual_until.clear()


PROVIDER = seam.Provider(
    name="cloudwatch",
    response_class=CloudWatchResponse,
    service="cloudwatch",
    operations={
        "PutMetricAlarm": put_metric_alarm,
        "PutMetricData": put_metric_data,
        "SetAlarmState": set_alarm_state,
        "DeleteAlarms": delete_alarms,
        "DescribeAlarmHistory": describe_alarm_history,
    },
    reset=reset,
    start=start,
    stop=stop,
)
