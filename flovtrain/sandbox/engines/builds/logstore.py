"""A build's CloudWatch log stream kept on disk, and log events capped as AWS caps them.

moto keeps every log event in memory: a build printing 100 MB kept ~385 MB in the sandbox.
A build's stream becomes a :class:`DiskLogStream`: its events live in a JSON-lines file under
``$FLOVTRAIN_HOME/codebuild-logs``; moto's ``GetLogEvents``, ``FilterLogEvents`` and
``DescribeLogStreams`` read them from there, a page at a time.

CloudWatch Logs took events of at most 256 KB, counted as the message's UTF-8 bytes plus 26
bytes of overhead, until April 2025 (1 MB since: ``PutLogEvents`` itself is checked in
:mod:`flovtrain.sandbox.providers.logs`). AWS's own log shippers split a longer line into
several events of at most 256 KB rather than drop or truncate it (reported for Lambda: a long
line arrives in pieces of ~262,119 characters); CodeBuild documents nothing else, so
:func:`split_message` splits the same way: nothing of the output is lost.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moto.core.utils import unix_time_millis, utcnow
from moto.logs.exceptions import InvalidParameterException
from moto.logs.models import LogEvent, LogStream

#: The largest event CloudWatch Logs accepts, and what it counts on top of the message.
MAX_EVENT_BYTES = 256 * 1024
EVENT_OVERHEAD_BYTES = 26
MAX_MESSAGE_BYTES = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES


def split_message(message: str, limit: int = MAX_MESSAGE_BYTES) -> list[str]:
    """Split ``message`` into pieces of at most ``limit`` UTF-8 bytes (never inside a character).

    Examples
    --------
    >>> [len(p) for p in split_message("x" * 600_000)]
    [262118, 262118, 75764]
    >>> split_message("short")
    ['short']
    """
    data = message.encode()
    if len(data) <= limit:
        return [message]
    pieces = []
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # a continuation byte
            cut -= 1
        pieces.append(data[:cut].decode())
        data = data[cut:]
    return pieces


class StoredEvent:
    """A log event as moto's code reads it, not one of moto's models: moto keeps every model
    instance it ever made in a class-wide list, which alone held ~300 MB for a 100 MB log."""

    __slots__ = ("event_id", "ingestion_time", "message", "timestamp")

    def __init__(self, ingestion_time: int, timestamp: int, message: str, event_id: int) -> None:
        self.ingestion_time = ingestion_time
        self.timestamp = timestamp
        self.message = message
        self.event_id = event_id

    @classmethod
    def new(cls, ingestion_time: int, log_event: dict[str, Any]) -> StoredEvent:
        """A new event with the next id from moto's counter (ids stay unique across streams)."""
        event_id = LogEvent._event_id
        LogEvent._event_id += 1
        return cls(ingestion_time, log_event["timestamp"], log_event["message"], event_id)

    def to_filter_dict(self) -> dict[str, Any]:
        return {
            "eventId": str(self.event_id),
            "ingestionTime": self.ingestion_time,
            "message": self.message,
            "timestamp": self.timestamp,
        }

    def to_response_dict(self) -> dict[str, Any]:
        return {
            "ingestionTime": self.ingestion_time,
            "message": self.message,
            "timestamp": self.timestamp,
        }


class DiskEvents:
    """The events of one stream in a JSON-lines file; what moto's ``LogStream`` does with its
    ``events`` list (``+=``, iterate, ``len``, truth) works on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.first: int | None = None
        self.last: int | None = None
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")

    def __iadd__(self, events: list[Any]) -> DiskEvents:
        rows = [
            json.dumps(
                {"i": e.ingestion_time, "t": e.timestamp, "m": e.message, "id": e.event_id},
                ensure_ascii=False,
            )
            for e in events
        ]
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write("".join(row + "\n" for row in rows))
            for event in events:
                self.first = event.timestamp if self.first is None else self.first
                self.first = min(self.first, event.timestamp)
                self.last = max(self.last or event.timestamp, event.timestamp)
            self.count += len(events)
        return self

    def __iter__(self) -> Iterator[StoredEvent]:
        try:
            handle = open(self.path, encoding="utf-8")
        except FileNotFoundError:  # wiped by a reset
            return
        with handle:
            for line in handle:
                row = json.loads(line)
                yield StoredEvent(row["i"], row["t"], row["m"], row["id"])

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __getitem__(self, index: int) -> StoredEvent:
        for position, event in enumerate(self):
            if position == index % max(self.count, 1):
                return event
        raise IndexError(index)


class DiskLogStream(LogStream):
    """moto's log stream with its events on disk, read a page at a time."""

    events: DiskEvents  # type: ignore[assignment]

    def _update(self) -> None:
        self.first_event_timestamp = self.events.first
        self.last_event_timestamp = self.events.last

    def put_log_events(self, log_events: list[dict[str, Any]]) -> str:
        """moto's ``put_log_events``, writing :class:`StoredEvent` rows instead of models."""
        self.last_ingestion_time = utcnow()
        self.stored_bytes += sum(len(event["message"]) for event in log_events)
        ingestion = int(unix_time_millis(self.last_ingestion_time))
        events = [StoredEvent.new(ingestion, event) for event in log_events]
        self.events += events
        self.upload_sequence_token += 1
        for subscription in self.log_group.subscription_filters.values():
            self._send_log_events(
                service=subscription.destination_arn.split(":")[2],
                destination_arn=subscription.destination_arn,
                filter_name=subscription.name,
                log_events=[
                    {"id": e.event_id, "timestamp": e.timestamp, "message": e.message}
                    for e in events
                ],
            )
        return f"{self.upload_sequence_token:056d}"

    def get_log_events(
        self,
        start_time: str,
        end_time: str,
        limit: int,
        next_token: str | None,
        start_from_head: str,
    ) -> tuple[list[dict[str, Any]], str | None, str | None]:
        """moto's paging (tokens ``f/<index>``, ``b/<index>``) without loading every event."""
        limit = limit or 10000

        def wanted() -> Iterator[StoredEvent]:
            for event in self.events:  # written in time order, as moto would sort them
                if start_time and event.timestamp < start_time:
                    continue
                if end_time and event.timestamp > end_time:
                    continue
                yield event

        final = sum(1 for _ in wanted()) - 1
        if next_token is None:
            direction, index = None, 0
        else:
            try:
                direction, index = next_token[0], int(next_token[2:])
            except ValueError:
                raise InvalidParameterException("The specified nextToken is invalid.") from None
        if direction is None:
            first = 0 if start_from_head else final - (limit - 1)
            end = first + limit - 1 if start_from_head else final
        elif direction == "f":
            first, end = index + 1, index + limit
        elif direction == "b":
            end = index - 1
            first = end - (limit - 1)
        else:
            raise InvalidParameterException("The specified nextToken is invalid.")
        first = max(first, 0)
        if first > final:
            return [], f"b/{final:056d}", f"f/{final:056d}"
        end = min(end, final)
        if end < 0:
            return [], f"b/{0:056d}", f"f/{0:056d}"
        page = [
            event.to_response_dict()
            for position, event in enumerate(wanted())
            if first <= position <= end
        ]
        return page, f"b/{first:056d}", f"f/{end:056d}"


def keep_on_disk(stream: LogStream, path: Path) -> None:
    """Move ``stream``'s events to ``path`` (a new, empty stream) and read them from there."""
    if isinstance(stream, DiskLogStream):
        return
    stream.__class__ = DiskLogStream
    events = DiskEvents(path)
    if stream.events:
        events += list(stream.events)
    stream.events = events  # type: ignore[assignment]
