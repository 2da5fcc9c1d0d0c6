"""CloudWatch provider: alarms that are evaluated, notify, and keep a history, as on AWS.

moto stores alarms and metric data but never evaluates an alarm, starts alarms in ``OK``,
does not fire actions on ``SetAlarmState`` and has no ``DescribeAlarmHistory``. This provider:

- starts new alarms in ``INSUFFICIENT_DATA`` ("Unchecked: Initial alarm creation") and
  evaluates them at once; re-putting an alarm keeps its state, as on AWS;
- evaluates alarms (:mod:`flovtrain.sandbox.engines.alarms`) whenever data arrives for their
  metric (``PutMetricData``, simulated billing data) and every few seconds on a background
  thread;
- on every state change updates moto's alarm, records history and publishes AWS's alarm
  notification JSON to the SNS topics among the actions for the new state (``ActionsEnabled``);
- refuses ``PutMetricData`` into ``AWS/...`` namespaces like AWS;
- implements ``DescribeAlarmHistory`` (StateUpdate, ConfigurationUpdate and Action items),
  from a history kept per account and region.

Sandbox choices: after ``SetAlarmState`` the alarm keeps the forced state for one minute (AWS
evaluates about once a minute); only SNS actions run.

An evaluation that changes nothing draws no random numbers: moto's seeded generator is shared
and stored notebooks depend on the ids it hands out.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import traceback
from datetime import datetime
from typing import Any

from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.base_backend import BackendDict

from flovtrain.sandbox import seam
from flovtrain.sandbox.engines import alarms
from flovtrain.sandbox.engines.alarms import INITIAL_REASON, aware, utcnow
from flovtrain.sandbox.providers import sns
from flovtrain.sandbox.providers._common import (
    constraint_failure,
    enum_constraint,
    validation_error,
)

#: Seconds between background evaluations.
INTERVAL = 5.0
#: Seconds a state forced with SetAlarmState is kept before evaluation resumes.
MANUAL_HOLD = 60.0
#: The one lock around alarm state, history and evaluation (request threads + the timer).
LOCK = threading.RLock()
_timer: dict[str, Any] = {"thread": None, "stop": None, "paused_until": 0.0}


class CloudWatchState(seam.ProviderBackend):
    """Alarm history and forced states of one account and region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.history: list[dict[str, Any]] = []
        self.manual_until: dict[str, float] = {}  # alarm name -> end of its SetAlarmState hold


STATE: BackendDict = BackendDict(CloudWatchState, "cloudwatch")


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
def _record(
    account_id: str,
    region: str,
    alarm_name: str,
    item_type: str,
    summary: str,
    data: dict[str, Any],
    when: datetime | None = None,
) -> None:
    STATE[account_id][region].history.append(
        {
            "account_id": account_id,
            "region": region,
            "AlarmName": alarm_name,
            "AlarmType": "MetricAlarm",
            "Timestamp": aware(when or utcnow()),
            "HistoryItemType": item_type,
            "HistorySummary": summary,
            "HistoryData": json.dumps(data, separators=(",", ":")),
        }
    )


def _configuration_update(
    call: seam.Call, name: str, summary: str, data: dict[str, Any], when: datetime | None = None
) -> None:
    """Record that alarm ``name`` was created, updated or deleted by ``call``."""
    _record(call.account_id, call.region, name, "ConfigurationUpdate", summary, data, when)


def history(account_id: str, region: str, alarm_name: str | None = None) -> list[dict[str, Any]]:
    """Return the history items recorded in ``account_id`` and ``region``, oldest first (copies)."""
    with LOCK:
        return [
            dict(h)
            for h in STATE[account_id][region].history
            if alarm_name is None or h["AlarmName"] == alarm_name
        ]


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
    message = json.dumps(alarms.notification(account_id, region, alarm, old_state))
    # as on AWS: JSON for every protocol, a readable text for e-mail subscribers
    structured = json.dumps(
        {"default": message, "email": alarms.email_text(account_id, region, alarm, old_state)}
    )
    subject = f'{alarm.state_value}: "{alarm.name}" in {alarms.region_name(region)}'[:100]
    for arn in actions:
        data: dict[str, Any] = {
            "actionState": "Succeeded",
            "stateUpdateTimestamp": int(aware(alarm.state_updated_timestamp).timestamp() * 1000),
            "notificationResource": arn,
            "publishedMessage": message,
        }
        if not arn.startswith("arn:aws:sns:"):
            data.update(actionState="Failed", error="The sandbox runs only SNS actions.")
            summary = f"Failed to execute action {arn}. The sandbox runs only SNS actions."
        else:
            try:
                sns.publish(arn, structured, subject, message_structure="json")
            except Exception as exc:  # a missing topic is a failed action, as on AWS
                data.update(actionState="Failed", error=str(exc))
                summary = f'Failed to execute action {arn}. Received error: "{exc}"'
            else:
                summary = f"Successfully executed action {arn}"
        _record(account_id, region, alarm.name, "Action", summary, data)


def _state(alarm: Any) -> tuple[str, str, str | None] | None:
    """An alarm's state value, reason and reason data (None for no alarm)."""
    if alarm is None:
        return None
    return (alarm.state_value, alarm.state_reason, alarm.state_reason_data)


def _set_state(alarm: Any, value: str, reason: str, reason_data: str | None) -> None:
    """Give ``alarm`` a state value, reason and reason data (what AWS reports as its state)."""
    alarm.state_value, alarm.state_reason, alarm.state_reason_data = value, reason, reason_data


def _transition(
    account_id: str,
    region: str,
    alarm: Any,
    old_state: str,
    old_reason: str,
    old_reason_data: str | None,
) -> dict[str, Any]:
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
        account_id,
        region,
        alarm.name,
        "StateUpdate",
        f"Alarm updated from {old_state} to {alarm.state_value}",
        {
            "version": "1.0",
            "oldState": state(old_state, old_reason, old_reason_data),
            "newState": state(*_state(alarm)),
        },
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


def _evaluate_alarm(
    account_id: str, region: str, backend: Any, alarm: Any, now: datetime, cache: dict | None = None
) -> dict[str, Any] | None:
    if not alarms.evaluable(alarm):
        return None
    manual_until = STATE[account_id][region].manual_until
    hold = manual_until.get(alarm.name)
    if hold is not None:
        if time.monotonic() < hold:
            return None
        manual_until.pop(alarm.name, None)
    if alarm.state_value == "OK" and alarm.state_reason == INITIAL_REASON:
        # created without PutMetricAlarm (e.g. by CloudFormation): moto's initial OK is
        # AWS's INSUFFICIENT_DATA, not a state anyone was told about
        alarm.state_value = "INSUFFICIENT_DATA"
    decision = alarms.decide(alarm, backend, now, cache)
    if decision is None or decision[0] == alarm.state_value:
        return None  # nothing changes: touch nothing, draw no random numbers
    new_state, reason, reason_data = decision
    old = _state(alarm)
    _set_state(alarm, new_state, reason, json.dumps(reason_data, separators=(",", ":")))
    alarm.state_updated_timestamp = utcnow()
    return _transition(account_id, region, alarm, *old)


def evaluate(
    account_id: str | None = None,
    region: str | None = None,
    namespace: str | None = None,
    metric_names: set[str] | None = None,
    alarm_name: str | None = None,
) -> list[dict[str, Any]]:
    """Evaluate the matching alarms now; return one summary dict per state change."""
    changes = []
    cache: dict[tuple[int, str, str], list[Any]] = {}
    with LOCK:
        now = utcnow()
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


# -- refusing what CloudWatch refuses ------------------------------------------------------------
# moto stores any comparison operator, statistic and period; AWS validates them first.
_PERIODS = "Period must be 10, 20, 30 or a multiple of 60"


def _model_enum(shape: str) -> list[str]:
    """The values CloudWatch's API model allows for an enum shape, in the model's order."""
    from moto.core.utils import get_service_model

    return get_service_model("cloudwatch").shape_for(shape).enum


def _enum_errors(params: dict[str, Any]) -> list[str]:
    """AWS's per-member enum errors of a PutMetricAlarm request, in the request's member order."""
    errors = []
    for member in ("Statistic", "ComparisonOperator"):
        allowed = _model_enum(member)
        value = params.get(member)
        if value is not None and value not in allowed:
            path = member[0].lower() + member[1:]
            errors.append(constraint_failure(value, path, enum_constraint(allowed)))
    return errors


def check_alarm(params: dict[str, Any]) -> None:
    """Refuse a PutMetricAlarm request AWS refuses (enum values, then the period).

    Examples
    --------
    >>> check_alarm({"Statistic": "Median"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    flovtrain.sandbox.seam.AwsError: ...Value 'Median' at 'statistic' failed to satisfy ...
    >>> check_alarm({"Period": 45})
    Traceback (most recent call last):
    flovtrain.sandbox.seam.AwsError: ValidationError: Period must be 10, 20, 30 or a multiple of 60
    """
    errors = _enum_errors(params)
    if errors:
        raise validation_error("ValidationError", errors)
    period = params.get("Period")
    if period is not None and int(period) not in (10, 20, 30) and int(period) % 60:
        raise seam.AwsError("ValidationError", _PERIODS)


def _set_state_or_not_found(call: seam.Call) -> Any:
    """moto's SetAlarmState; a missing alarm is ``ResourceNotFound`` without a message, as on
    AWS (the AWS CLI prints ``Unknown``), not moto's "An unspecified service error occurred"."""
    from moto.cloudwatch.exceptions import ResourceNotFound

    try:
        return call.moto()
    except ResourceNotFound:
        raise seam.AwsError("ResourceNotFound", "", 404) from None


# -- operations ------------------------------------------------------------------------------
def put_metric_alarm(call: seam.Call) -> Any:
    check_alarm(call.params)
    name = call.params.get("AlarmName")
    with LOCK:
        backend = _backend(call.account_id, call.region)
        old = backend.alarms.get(name)
        result = call.moto()
        alarm = backend.alarms.get(name)
        if alarm is None or alarm is old:
            return result
        if old is None:
            _set_state(alarm, "INSUFFICIENT_DATA", INITIAL_REASON, "{}")
            _configuration_update(
                call,
                name,
                f'Alarm "{name}" created',
                {"type": "Create", "version": "1.0", "createdAlarm": alarms.configuration(alarm)},
                when=alarm.configuration_updated_timestamp,
            )
        else:  # AWS keeps an updated alarm's state
            _set_state(alarm, *_state(old))
            alarm.state_updated_timestamp = old.state_updated_timestamp
            before, after = alarms.configuration(old), alarms.configuration(alarm)
            if before == after:  # re-running the same cell changes nothing
                alarm.configuration_updated_timestamp = old.configuration_updated_timestamp
            else:
                _configuration_update(
                    call,
                    name,
                    f'Alarm "{name}" updated',
                    {
                        "type": "Update",
                        "version": "1.0",
                        "originalAlarm": before,
                        "updatedAlarm": after,
                    },
                )
        STATE[call.account_id][call.region].manual_until.pop(name, None)
        _evaluate_alarm(call.account_id, call.region, backend, alarm, utcnow())
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
    watching = list(backend.alarms.values())
    if any(a.namespace == namespace and a.metric_name in names for a in watching):
        evaluate(call.account_id, call.region, namespace, names)
    return result


def set_alarm_state(call: seam.Call) -> Any:
    name = call.params.get("AlarmName")
    with LOCK:
        backend = _backend(call.account_id, call.region)
        old = _state(backend.alarms.get(name))
        result = _set_state_or_not_found(call)  # validates (state value, JSON reason data)
        alarm = backend.alarms[name]
        if old is not None and alarm.state_value != old[0]:
            hold_until = time.monotonic() + MANUAL_HOLD
            STATE[call.account_id][call.region].manual_until[name] = hold_until
            _transition(call.account_id, call.region, alarm, *old)
    return result


def delete_alarms(call: seam.Call) -> Any:
    names = call.params.get("AlarmNames") or []
    with LOCK:
        backend = _backend(call.account_id, call.region)
        existing = {n: backend.alarms[n] for n in names if n in backend.alarms}
        result = call.moto()
        manual_until = STATE[call.account_id][call.region].manual_until
        for name, alarm in existing.items():
            manual_until.pop(name, None)
            _configuration_update(
                call,
                name,
                f'Alarm "{name}" deleted',
                {"type": "Delete", "version": "1.0", "deletedAlarm": alarms.configuration(alarm)},
            )
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
    item_types = _model_enum("HistoryItemType")
    if item_type and item_type not in item_types:
        failure = constraint_failure(item_type, "historyItemType", enum_constraint(item_types))
        raise validation_error("ValidationError", [failure])
    max_records = int(p.get("MaxRecords") or 100)
    if not 1 <= max_records <= 100:
        raise validation_error(
            "ValidationError",
            [
                constraint_failure(
                    max_records, "maxRecords", "Member must have value between 1 and 100"
                )
            ],
        )
    types = p.get("AlarmTypes") or []
    start, end = p.get("StartDate"), p.get("EndDate")
    items = [
        h
        for h in history(call.account_id, call.region, p.get("AlarmName"))
        if (not item_type or h["HistoryItemType"] == item_type)
        and (not types or h["AlarmType"] in types)
        and (start is None or h["Timestamp"] >= aware(start))
        and (end is None or h["Timestamp"] <= aware(end))
    ]
    items.sort(key=lambda h: h["Timestamp"])  # stable: same-instant items keep their order
    if (p.get("ScanBy") or "TimestampDescending") == "TimestampDescending":
        items.reverse()
    offset = _offset(p["NextToken"]) if p.get("NextToken") else 0
    page = items[offset : offset + max_records]
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
    thread = threading.Thread(
        target=_loop, args=(stop_event,), name="flovtrain-alarm-evaluator", daemon=True
    )
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
    """Pause the timer briefly so no pass straddles moto's reset (which drops the history)."""
    with LOCK:
        _timer["paused_until"] = time.monotonic() + 2.0


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
