"""CloudWatch Logs ``PutLogEvents`` refuses what AWS refuses: events and batches over 1 MB
(message UTF-8 bytes + 26 each), batches spanning more than 24 hours; the batch is not stored,
the sandbox keeps answering, and batches at the limits go through whole."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import ClientError

from flovtrain.sandbox import control

REGION = "eu-west-1"
GROUP, STREAM = "/flovtrain/limits", "app"
LIMIT = 1_048_576
OVERHEAD = 26

pytestmark = pytest.mark.usefixtures("clean_sandbox")


@pytest.fixture
def logs():
    client = boto3.client("logs", region_name=REGION)
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    return client


def _now_ms() -> int:
    return int(time.time() * 1000)


def _put(logs, events: list[dict]) -> dict:
    return logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=events)


def _stored(logs) -> list[str]:
    events = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM, startFromHead=True)
    return [e["message"] for e in events["events"]]


def _refusal(logs, events: list[dict]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        _put(logs, events)
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Code"], error["Message"]


def test_an_event_over_1_mb_is_refused_and_nothing_is_stored(logs):
    t = _now_ms()
    _put(logs, [{"timestamp": t, "message": "before"}])
    events = [{"timestamp": t, "message": "ok"}, {"timestamp": t, "message": "x" * 1_048_551}]
    assert _refusal(logs, events) == (
        "InvalidParameterException",
        "Log event too large: 1048577 bytes exceeds limit of 1048576",
    )
    # the whole batch is rejected, its small event too; what was there stays
    assert _stored(logs) == ["before"]
    assert control.status()["running"]


def test_a_batch_over_1_mb_is_refused_counting_utf8_bytes_and_26_per_event(logs):
    t = _now_ms()
    # 4 x 150,000 characters is 600,000 characters but 1,200,000 bytes of UTF-8
    events = [{"timestamp": t, "message": "é" * 150_000} for _ in range(4)]
    code, message = _refusal(logs, events)
    assert (code, message) == (
        "InvalidParameterException",
        f"Upload too large: {4 * (300_000 + OVERHEAD)} bytes exceeds limit of {LIMIT}",
    )
    assert _stored(logs) == []


def test_events_and_batches_exactly_at_the_limits_are_stored_whole(logs):
    t = _now_ms()
    one_event = "a" * (LIMIT - OVERHEAD)  # 1,048,550 bytes: an event of exactly 1 MB
    _put(logs, [{"timestamp": t, "message": one_event}])
    quarter = (LIMIT // 4) - OVERHEAD  # four events filling the batch to the byte
    _put(logs, [{"timestamp": t + 1, "message": str(i) * quarter} for i in range(4)])
    stored = _stored(logs)
    assert [len(m) for m in stored] == [LIMIT - OVERHEAD] + [quarter] * 4
    assert stored[0] == one_event


def test_an_event_between_256_kb_and_1_mb_is_taken_as_aws_takes_it_since_2025(logs):
    t = _now_ms()
    _put(logs, [{"timestamp": t, "message": "y" * 300_000}])
    assert [len(m) for m in _stored(logs)] == [300_000]


def test_a_batch_spanning_more_than_24_hours_is_refused(logs):
    t = _now_ms()
    day = 24 * 3600 * 1000
    events = [{"timestamp": t - day - 1000, "message": "early"}, {"timestamp": t, "message": "now"}]
    assert _refusal(logs, events) == (
        "InvalidParameterException",
        "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
    )
    _put(
        logs,
        [{"timestamp": t - day + 1000, "message": "early"}, {"timestamp": t, "message": "now"}],
    )
    assert _stored(logs) == ["early", "now"]


def test_too_old_events_are_still_reported_not_refused(logs):
    """Events over 14 days old do not count in the span: AWS takes the batch and names them."""
    t = _now_ms()
    old = t - 20 * 24 * 3600 * 1000
    answer = _put(logs, [{"timestamp": old, "message": "old"}, {"timestamp": t, "message": "now"}])
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}
    assert _stored(logs) == ["now"]
