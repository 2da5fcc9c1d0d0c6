"""Query executions and the one worker that runs them, in submission order.

An :class:`Execution` is QUEUED when submitted, then RUNNING, then SUCCEEDED / FAILED /
CANCELLED. One worker thread per process runs every account's and region's executions in the
order they were submitted, so tests stay deterministic; it runs each with :mod:`.executor` and
writes the results CSV and ``.metadata`` to the output location.

A hold (:meth:`QueryQueue.set_hold`) parks the worker right after a query turns RUNNING: tests
stop a query "while running" that way.
"""

from __future__ import annotations

import datetime as dt
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flovtrain.sandbox.engines.athena.errors import QueryCancelled, QueryError

FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass
class Execution:
    """One query execution, as Athena reports it."""

    id: str
    account_id: str
    region: str
    query: str
    database: str
    catalog: str
    workgroup: str
    output_folder: str
    cutoff: int | None
    parameters: list[str] | None
    state: str = "QUEUED"
    reason: str = ""
    error: tuple[int, int] | None = None  # (ErrorCategory, ErrorType)
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    completed: float | None = None
    engine_ms: int = 0
    bytes_scanned: int = 0
    result: Any = None
    ctx: Any = None
    statement_type: str = "DML"
    substatement_type: str = "SELECT"
    manifest_location: str = ""
    ended: threading.Event = field(default_factory=threading.Event)  # set in a final state

    @property
    def output_location(self) -> str:
        """The results file: ``<output folder><id>.csv``, ``.txt`` for DDL; a CTAS's is
        ``<output folder>tables/<id>`` and an UNLOAD's ``<output folder><id>`` (no file: their
        result is the data manifest beside it)."""
        folder = self.output_folder.rstrip("/")
        if self.substatement_type == "CREATE_TABLE_AS_SELECT":
            return f"{folder}/tables/{self.id}"
        if self.substatement_type == "UNLOAD":
            return f"{folder}/{self.id}"
        ext = "csv" if self.statement_type == "DML" else "txt"
        return f"{folder}/{self.id}.{ext}"

    def describe(self) -> dict[str, Any]:
        """Return the execution as ``get_query_execution`` shows it."""
        status: dict[str, Any] = {
            "State": self.state,
            "SubmissionDateTime": dt.datetime.fromtimestamp(self.submitted, dt.UTC),
        }
        if self.completed is not None:
            status["CompletionDateTime"] = dt.datetime.fromtimestamp(self.completed, dt.UTC)
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.error is not None:
            status["AthenaError"] = {
                "ErrorCategory": self.error[0],
                "ErrorType": self.error[1],
                "Retryable": False,
                "ErrorMessage": self.reason,
            }
        queue_ms = int(((self.started or self.completed or time.time()) - self.submitted) * 1000)
        total_ms = int(((self.completed or time.time()) - self.submitted) * 1000)
        out: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "SubstatementType": self.substatement_type,
            "ResultConfiguration": {"OutputLocation": self.output_location},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": {"Database": self.database, "Catalog": self.catalog},
            "Status": status,
            "Statistics": {
                "EngineExecutionTimeInMillis": self.engine_ms,
                "DataScannedInBytes": self.bytes_scanned,
                "TotalExecutionTimeInMillis": total_ms,
                "QueryQueueTimeInMillis": queue_ms,
                "ServicePreProcessingTimeInMillis": 0,
                "QueryPlanningTimeInMillis": 0,
                "ServiceProcessingTimeInMillis": max(0, total_ms - queue_ms - self.engine_ms),
                "ResultReuseInformation": {"ReusedPreviousResult": False},
            },
            "WorkGroup": self.workgroup,
            "EngineVersion": {
                "SelectedEngineVersion": "AUTO",
                "EffectiveEngineVersion": "Athena engine version 3",
            },
        }
        if self.manifest_location:
            out["Statistics"]["DataManifestLocation"] = self.manifest_location
        if self.parameters:
            out["ExecutionParameters"] = self.parameters
        return out


def substitute(query: str, parameters: list[str] | None) -> str:
    """Replace ``?`` placeholders with ExecutionParameters (already SQL literals), in order.

    Raises
    ------
    QueryError
        There are fewer parameters than placeholders.
    """
    if not parameters:
        return query
    parts = re.split(r"(\?)", query)
    values = iter(parameters)
    try:
        return "".join(next(values) if p == "?" else p for p in parts)
    except StopIteration:
        raise QueryError(
            "The number of ExecutionParameters does not match the number of ? in the query"
        ) from None


class QueryQueue:
    """The worker that runs submitted executions one at a time, oldest first.

    Examples
    --------
    >>> runs = QueryQueue()  # doctest: +SKIP
    >>> runs.submit(execution)  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()  # around every execution's state
        self.jobs: queue.Queue[Execution | None] = queue.Queue()
        self.worker: threading.Thread | None = None
        self.hold = threading.Event()
        self.release = threading.Event()

    def submit(self, execution: Execution) -> None:
        """Queue ``execution`` (QUEUED) for the worker."""
        with self.lock:
            self._ensure_worker()
        self.jobs.put(execution)

    def _ensure_worker(self) -> None:
        if self.worker is None or not self.worker.is_alive():
            self.worker = threading.Thread(target=self._work, name="flovtrain-athena", daemon=True)
            self.worker.start()

    def _work(self) -> None:
        while True:
            execution = self.jobs.get()
            if execution is None:
                return
            try:
                self._run(execution)
            except Exception as exc:  # noqa: BLE001 - never kill the worker
                self.finish(execution, "FAILED", f"INTERNAL_ERROR_QUERY_ENGINE: {exc}", (1, 401))

    def finish(
        self,
        execution: Execution,
        state: str,
        reason: str = "",
        error: tuple[int, int] | None = None,
    ) -> None:
        """End ``execution`` in ``state`` unless it has ended already."""
        with self.lock:
            if execution.state in FINAL_STATES:
                return
            execution.state = state
            execution.reason = reason
            execution.error = error
            execution.completed = time.time()
            execution.ended.set()

    def cancel(self, execution: Execution, reason: str) -> None:
        """Cancel a QUEUED or RUNNING execution (a running query is interrupted)."""
        with self.lock:
            ctx = execution.ctx
        if execution.state in ("QUEUED", "RUNNING"):
            self.finish(execution, "CANCELLED", reason)
            if ctx is not None:
                ctx.interrupt()

    def cancel_all(self, executions: list[Execution], reason: str) -> None:
        """Mark every unfinished one of ``executions`` CANCELLED at once (reset)."""
        with self.lock:
            for execution in executions:
                if execution.state in ("QUEUED", "RUNNING"):
                    execution.state, execution.reason = "CANCELLED", reason
                    execution.ended.set()
                    if execution.ctx is not None:
                        execution.ctx.interrupt()

    def set_hold(self, hold: bool) -> None:
        """Park the worker after the next query turns RUNNING (True), or let it go (False)."""
        if hold:
            self.release.clear()
            self.hold.set()
        else:
            self.hold.clear()
            self.release.set()

    def close(self) -> None:
        """End the worker once the queue before it has run."""
        self.jobs.put(None)

    def _run(self, execution: Execution) -> None:
        from flovtrain.sandbox.engines import memory
        from flovtrain.sandbox.engines.athena import executor, storage

        with self.lock:
            if execution.state != "QUEUED":
                return
            execution.state = "RUNNING"
            execution.started = time.time()
            ctx = executor.Context(
                execution.account_id,
                execution.region,
                execution.database,
                execution.id,
                execution.output_folder,
                storage.ScanMeter(limit=execution.cutoff),
                workgroup=execution.workgroup,
            )
            execution.ctx = ctx
        if self.hold.is_set():
            self.release.wait()
        if execution.state != "RUNNING":
            return
        bucket, _ = storage.parse_s3_url(execution.output_folder)
        if storage.bucket_or_none(execution.account_id, execution.region, bucket) is None:
            self.finish(
                execution, "FAILED", f"Unable to verify/create output bucket {bucket}", (2, 1006)
            )
            return
        started = time.perf_counter()
        try:
            result = executor.run(substitute(execution.query, execution.parameters), ctx)
        except QueryCancelled as exc:
            execution.engine_ms = int((time.perf_counter() - started) * 1000)
            execution.bytes_scanned = ctx.meter.bytes_read
            self.finish(execution, "CANCELLED", exc.reason)
            return
        except QueryError as exc:
            execution.engine_ms = int((time.perf_counter() - started) * 1000)
            execution.bytes_scanned = ctx.meter.bytes_read
            self.finish(execution, "FAILED", exc.reason, (exc.category, exc.error_type))
            return
        execution.engine_ms = int((time.perf_counter() - started) * 1000)
        execution.bytes_scanned = result.bytes_scanned
        execution.statement_type = result.statement_type
        execution.substatement_type = result.substatement_type
        _write_outputs(execution, result)
        execution.result = result
        self.finish(execution, "SUCCEEDED")
        memory.release_freed()  # DuckDB's buffers and the rows just written to S3


def _write_outputs(execution: Execution, result: Any) -> None:
    """Write the results file and ``.metadata`` (or, for CTAS and UNLOAD, the data manifest
    and ``.metadata``) where Athena writes them."""
    from flovtrain.sandbox.engines.athena import storage, writer

    location = execution.output_location
    bucket, key = storage.parse_s3_url(location)
    acct, region = execution.account_id, execution.region
    if result.manifest is not None:
        execution.manifest_location = f"{location}-manifest.csv"
        storage.put_bytes(
            acct, region, bucket, key + "-manifest.csv", writer.manifest_bytes(result.manifest)
        )
        storage.put_bytes(acct, region, bucket, key + ".metadata", result.metadata_bytes())
        return
    result.store(lambda chunks: storage.put_chunks(acct, region, bucket, key, chunks))
    storage.put_bytes(acct, region, bucket, key + ".metadata", result.metadata_bytes())
