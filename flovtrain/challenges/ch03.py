"""Chapter 03 · billing alarm: the topic it notifies, its history, a changed threshold."""

from __future__ import annotations

from typing import Any

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, number, paginate, text

BILLING_REGION = "us-east-1"  # billing metrics, and so billing alarms, live only here
ALARM_NAME = "billing-over-10-usd"
TALK_THRESHOLD = 10.0


class _Missing(Exception):
    pass


def _alarm(session: boto3.Session) -> dict[str, Any]:
    cloudwatch = client(session, "cloudwatch", BILLING_REGION)
    alarms = cloudwatch.describe_alarms(AlarmNames=[ALARM_NAME])["MetricAlarms"]
    if not alarms:
        raise _Missing(
            f"there is no alarm {ALARM_NAME} in {BILLING_REGION}: create it in section 3"
        )
    return alarms[0]


def _topic(answer: object, session: boto3.Session) -> str | None:
    try:
        actions = _alarm(session).get("AlarmActions", [])
    except _Missing as exc:
        return str(exc)
    given = text(answer)
    if given in actions:
        return None
    if any(given.startswith(action + ":") for action in actions):
        return (
            "that is a subscription ARN (the topic's ARN plus an id); the alarm notifies the topic"
        )
    if given.startswith("arn:aws:sns:") and f":{BILLING_REGION}:" not in given:
        return f"that topic is not in {BILLING_REGION}, where billing alarms and their topics live"
    return f"the alarm's AlarmActions do not name {given!r}"


def _history(answer: object, session: boto3.Session) -> str | None:
    count = number(answer)
    if count is None:
        return f"{answer!r} is not a number: count the state changes"
    cloudwatch = client(session, "cloudwatch", BILLING_REGION)
    items = list(
        paginate(cloudwatch, "describe_alarm_history", "AlarmHistoryItems", AlarmName=ALARM_NAME)
    )
    changes = sum(i["HistoryItemType"] == "StateUpdate" for i in items)
    if count == changes:
        return None
    if count == len(items) and len(items) != changes:
        return f"{count:g} counts every history item; only StateUpdate items are state changes"
    return (
        f"the history holds {'more' if changes > count else 'fewer'} state changes than {count:g}"
    )


def _threshold(answer: object, session: boto3.Session) -> str | None:
    try:
        threshold = float(_alarm(session)["Threshold"])
    except _Missing as exc:
        return str(exc)
    if threshold == TALK_THRESHOLD:
        return (
            f"the threshold is still {TALK_THRESHOLD:g} USD: change it with put_metric_alarm first"
        )
    given = number(answer)
    if given is None:
        return f"{answer!r} is not a number: give the threshold in USD"
    if given != threshold:
        return f"{given:g} is not what describe_alarms reports as the alarm's Threshold now"
    return None


CHALLENGES = [
    Challenge(
        "03.1",
        "The ARN of the topic the billing alarm notifies",
        _topic,
        f"cloudwatch in {BILLING_REGION}: describe_alarms(AlarmNames=[...]): AlarmActions",
    ),
    Challenge(
        "03.2",
        "How many state changes are in the alarm's history?",
        _history,
        "describe_alarm_history(AlarmName=..., HistoryItemType='StateUpdate')",
    ),
    Challenge(
        "03.3",
        "The alarm's threshold after you raised it",
        _threshold,
        "put_metric_alarm with section 3's settings but Threshold=15.0, then describe_alarms",
    ),
]
