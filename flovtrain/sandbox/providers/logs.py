"""CloudWatch Logs provider: ``PutLogEvents`` refuses what AWS refuses (issue #11).

moto stores any batch it is given. AWS (``PutLogEvents`` in the API model botocore ships)
refuses, with ``InvalidParameterException`` and the whole batch rejected:

- an event over 1 MB, counted as its message's UTF-8 bytes plus 26 (AWS raised this from
  256 KB in April 2025): ``Log event too large: N bytes exceeds limit of 1048576``;
- a batch over 1,048,576 bytes, counted the same way:
  ``Upload too large: N bytes exceeds limit of 1048576``;
- valid events (14 days back to 2 hours ahead) spanning more than 24 hours.

Events too old or too new stay moto's business: AWS accepts the batch and reports them in
``rejectedLogEventsInfo``, as moto does. The checks sit on the API call only: the sandbox's own
writers (CodeBuild's log shipper) split and batch their events themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flovtrain.sandbox.seam import AwsError, Call, Provider

#: The largest event and the largest batch, in bytes, and what each event counts on top.
MAX_EVENT_BYTES = 1_048_576
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_SPAN_MS = 24 * 3600 * 1000


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def check_batch(events: list[dict[str, Any]], now_ms: int | None = None) -> None:
    """Raise AWS's ``InvalidParameterException`` for a batch ``PutLogEvents`` refuses.

    Parameters
    ----------
    events : list of dict
        The request's ``logEvents`` (``timestamp`` in ms, ``message``).
    now_ms : int, optional
        The time the batch arrives, in ms (default: now); it decides which events are valid.

    Examples
    --------
    >>> def refusal(batch):
    ...     try:
    ...         check_batch(batch, now_ms=0)
    ...     except AwsError as exc:
    ...         return f"{exc.code}: {exc.message}"
    >>> refusal([{"timestamp": 0, "message": "x" * 1_048_551}])
    'InvalidParameterException: Log event too large: 1048577 bytes exceeds limit of 1048576'
    >>> refusal([{"timestamp": 0, "message": "x" * 600_000}] * 2)
    'InvalidParameterException: Upload too large: 1200052 bytes exceeds limit of 1048576'
    >>> refusal([{"timestamp": 0, "message": "x" * 1_048_550}]) is None
    True
    """
    total = 0
    for event in events:
        size = len(str(event.get("message", "")).encode()) + EVENT_OVERHEAD_BYTES
        if size > MAX_EVENT_BYTES:
            raise _invalid(f"Log event too large: {size} bytes exceeds limit of {MAX_EVENT_BYTES}")
        total += size
    if total > MAX_BATCH_BYTES:
        raise _invalid(f"Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}")
    if now_ms is None:
        now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    oldest, newest = now_ms - 14 * 24 * 3600 * 1000, now_ms + 2 * 3600 * 1000
    valid = [e["timestamp"] for e in events if oldest <= e.get("timestamp", 0) <= newest]
    if valid and max(valid) - min(valid) > MAX_SPAN_MS:
        raise _invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than "
            "24 hours."
        )


def put_log_events(call: Call) -> Any:
    """PutLogEvents refuses an event over 1 MB, a batch over 1 MB and a batch spanning more
    than 24 hours, as AWS does; moto stores the rest.

    Examples
    --------
    ``logs.put_log_events(..., logEvents=[{"timestamp": t, "message": "x" * 2_000_000}])``
    answers ``InvalidParameterException: Log event too large: 2000026 bytes exceeds limit of
    1048576`` (moto stored it).
    """
    check_batch(call.params.get("logEvents") or [])
    return call.moto()


PROVIDER = Provider(
    name="logs",
    response_class="moto.logs.responses.LogsResponse",
    service="logs",
    operations={"PutLogEvents": put_log_events},
)
