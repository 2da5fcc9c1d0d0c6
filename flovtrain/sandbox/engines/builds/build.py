"""One build: its ``batch_get_builds`` record, its CloudWatch log and its phases.

The log is written to CloudWatch Logs in batches, each event capped as AWS caps them, and kept
on disk (:mod:`.logstore`); the build itself holds only its last lines (for phase contexts).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines.builds import logstore

LOG_TAIL_LINES = 20
#: A batch goes to CloudWatch Logs at these sizes at the latest (PutLogEvents' batch limits).
FLUSH_BYTES = 1_048_576
FLUSH_EVENTS = 10_000


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC (as CodeBuild's timestamps)."""
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d %H:%M:%S.%f")


class PhaseFailed(Exception):
    """A phase ends with ``status``; ``code`` and ``message`` become its context."""

    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Build:
    """One build: its batch_get_builds record plus what only the sandbox needs.

    Parameters
    ----------
    account, region : str
        Where it runs (its log goes to that account's and region's CloudWatch Logs).
    record : dict
        What ``batch_get_builds`` shows (keys starting with ``_`` are the sandbox's own).
    """

    def __init__(self, account: str, region: str, record: dict[str, Any]) -> None:
        self.account = account
        self.region = region
        self.record = record
        self.lock = threading.RLock()
        self.done = threading.Event()
        self.proc: Any = None
        self.pgids: list[int] = []
        self.stop_reason: str | None = None  # "STOPPED" or "TIMED_OUT"
        self.artifact: bytes | None = None
        self.log_lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.pending: list[dict[str, Any]] = []
        self.pending_bytes = 0
        self.last_flush = 0.0
        self.log_path: Path | None = None  # where the stream's events live (set by the runner)
        #: the service role's session the build acts as (credentials and the evaluator's view)
        self.credentials: Any = None
        self.session: Any = None

    @property
    def id(self) -> str:
        return self.record["id"]

    # -- the log ---------------------------------------------------------------------------
    def _logs_backend(self) -> Any:
        from moto.logs.models import logs_backends

        return logs_backends[self.account][self.region]

    def open_log(self) -> None:
        """Create the build's log group and stream in moto's CloudWatch Logs if missing."""
        logs = self.record["logs"]
        backend = self._logs_backend()
        if logs["groupName"] not in backend.groups:
            backend.create_log_group(logs["groupName"], tags={})
        group = backend.groups[logs["groupName"]]
        if logs["streamName"] not in group.streams:
            backend.create_log_stream(logs["groupName"], logs["streamName"])
        if self.log_path is not None:
            logstore.keep_on_disk(group.streams[logs["streamName"]], self.log_path)

    def log(self, message: str, container: bool = True, flush: bool = False) -> None:
        """Add a line to the log: ``[Container] <time> message``, or ``message`` alone."""
        now = utcnow()
        text = f"[Container] {_timestamp(now)} {message}" if container else message
        stamp = int(now.timestamp() * 1000)
        with self.lock:
            for piece in logstore.split_message(text):  # a longer line: several events
                self.log_lines.append(piece)
                self.pending.append({"timestamp": stamp, "message": piece})
                self.pending_bytes += len(piece) + logstore.EVENT_OVERHEAD_BYTES
            if (
                flush
                or time.monotonic() - self.last_flush > 0.25
                or self.pending_bytes > FLUSH_BYTES
                or len(self.pending) >= FLUSH_EVENTS
            ):
                self.flush_log()

    def flush_log(self) -> None:
        """Write the lines not yet written to CloudWatch Logs (best effort)."""
        with self.lock:
            if not self.pending:
                return
            events, self.pending = self.pending, []
            self.pending_bytes = 0
            self.last_flush = time.monotonic()
            logs = self.record["logs"]
            try:
                self.open_log()
                self._logs_backend().put_log_events(logs["groupName"], logs["streamName"], events)
            except Exception as exc:  # logs are best effort (e.g. wiped by a reset)
                print(f"codebuild: could not write logs for {self.id}: {exc}", file=sys.stderr)

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Return the last ``lines`` lines of the build's log (at most :data:`LOG_TAIL_LINES`)."""
        with self.lock:
            return "\n".join(list(self.log_lines)[-lines:])

    # -- phases ----------------------------------------------------------------------------
    def begin_phase(self, phase: str) -> dict[str, Any]:
        """Start phase ``phase`` (e.g. ``BUILD``) in the record; return its entry."""
        entry = {"phaseType": phase, "startTime": utcnow()}
        with self.lock:
            self.record["phases"].append(entry)
            self.record["currentPhase"] = phase
        return entry

    def end_phase(
        self, entry: dict[str, Any], status: str, contexts: list[dict] | None = None
    ) -> None:
        """End the phase ``entry`` with ``status`` (and its contexts: why it failed)."""
        end = utcnow()
        with self.lock:
            entry["phaseStatus"] = status
            entry["endTime"] = end
            entry["durationInSeconds"] = int(round((end - entry["startTime"]).total_seconds()))
            if contexts:
                entry["contexts"] = contexts
            elif status == "SUCCEEDED":
                entry["contexts"] = [{"statusCode": "", "message": ""}]
