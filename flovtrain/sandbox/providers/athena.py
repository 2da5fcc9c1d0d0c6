"""Athena that runs the SQL: executions, results, workgroup limits and named queries.

moto's Athena stores executions but never runs them (0 rows, or results queued by hand).
This provider owns the execution lifecycle: ``StartQueryExecution`` queues the statement for a
single worker thread (QUEUED -> RUNNING -> SUCCEEDED / FAILED / CANCELLED, in submission order,
so tests stay deterministic); the worker runs it with :mod:`flovtrain.sandbox.athena_engine`
(DuckDB over the sandbox's own S3 objects, tables from Glue) and writes the results CSV and
``.metadata`` to the OutputLocation. Execution ids come from moto's seeded random generator.

Sandbox-only route: ``POST /flovtrain-api/athena/hold`` with ``{"hold": true}`` parks the worker
right after a query turns RUNNING (tests stop a query "while running" that way);
``{"hold": false}`` releases it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import queue
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from moto.athena.responses import AthenaResponse

from flovtrain.sandbox.protocols import JsonBridge
from flovtrain.sandbox.seam import AwsError, Call, Provider

DDL_PREFIXES = ("ALTER", "CREATE", "DESCRIBE", "DESC", "DROP", "MSCK", "SHOW")
MAX_RESULTS = 1000


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

    @property
    def output_location(self) -> str:
        ext = (
            "txt"
            if self.statement_type == "DDL" and self.substatement_type != "CREATE_TABLE_AS_SELECT"
            else "csv"
        )
        return f"{self.output_folder.rstrip('/')}/{self.id}.{ext}"

    def describe(self) -> dict[str, Any]:
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
        if self.parameters:
            out["ExecutionParameters"] = self.parameters
        return out


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executions: OrderedDict[str, Execution] = OrderedDict()
        self.jobs: queue.Queue[Execution | None] = queue.Queue()
        self.worker: threading.Thread | None = None
        self.hold = threading.Event()
        self.release = threading.Event()
        self.generation = 0


_state = _State()


def _backend(call: Call) -> Any:
    from moto.athena.models import athena_backends

    return athena_backends[call.account_id][call.region]


def _workgroup(call: Call, name: str) -> Any:
    wg = _backend(call).work_groups.get(name)
    if wg is None:
        raise AwsError("InvalidRequestException", f"WorkGroup {name} is not found.")
    return wg


def _substitute(query: str, parameters: list[str] | None) -> str:
    """Replace ``?`` placeholders with ExecutionParameters (already SQL literals), in order."""
    if not parameters:
        return query
    parts = re.split(r"(\?)", query)
    values = iter(parameters)
    try:
        return "".join(next(values) if p == "?" else p for p in parts)
    except StopIteration:
        raise AwsError(
            "InvalidRequestException",
            "The number of ExecutionParameters does not match the number of ? in the query",
        ) from None


def start_query_execution(call: Call) -> dict[str, Any]:
    from moto.moto_api._internal import mock_random

    p = call.params
    query = p.get("QueryString") or ""
    if not query.strip():
        raise AwsError("InvalidRequestException", "QueryString must not be empty")
    context = p.get("QueryExecutionContext") or {}
    wg_name = p.get("WorkGroup") or "primary"
    wg = _workgroup(call, wg_name)
    if getattr(wg, "state", "ENABLED") == "DISABLED":
        raise AwsError("InvalidRequestException", f"WorkGroup {wg_name} is disabled.")
    config = wg.configuration or {}
    wg_output = (config.get("ResultConfiguration") or {}).get("OutputLocation")
    asked = (p.get("ResultConfiguration") or {}).get("OutputLocation")
    output = (
        wg_output
        if (config.get("EnforceWorkGroupConfiguration") and wg_output)
        else (asked or wg_output)
    )
    if not output:
        raise AwsError(
            "InvalidRequestException",
            "No output location provided. An output location is required either through the "
            "Workgroup result configuration setting or as an API input.",
        )
    cutoff = config.get("BytesScannedCutoffPerQuery")
    execution = Execution(
        id=str(mock_random.uuid4()),
        account_id=call.account_id,
        region=call.region,
        query=query,
        database=(context.get("Database") or "default").lower(),
        catalog=context.get("Catalog") or "AwsDataCatalog",
        workgroup=wg_name,
        output_folder=output if output.endswith("/") else output + "/",
        cutoff=int(cutoff) if cutoff else None,
        parameters=p.get("ExecutionParameters"),
    )
    first = query.lstrip().split(None, 1)[0].upper() if query.strip() else ""
    if first in DDL_PREFIXES and not re.match(
        r"(?is)^\s*CREATE\s+TABLE\s+.*\bAS\b\s*(SELECT|WITH|\()", query
    ):
        execution.statement_type, execution.substatement_type = "DDL", first
    with _state.lock:
        _state.executions[execution.id] = execution
        _ensure_worker()
    _state.jobs.put(execution)
    return {"QueryExecutionId": execution.id}


def _ensure_worker() -> None:
    if _state.worker is None or not _state.worker.is_alive():
        _state.worker = threading.Thread(target=_work, name="flovtrain-athena", daemon=True)
        _state.worker.start()


def _work() -> None:
    while True:
        execution = _state.jobs.get()
        if execution is None:
            return
        try:
            _run(execution)
        except Exception as exc:  # noqa: BLE001 - never kill the worker
            _finish(execution, "FAILED", f"INTERNAL_ERROR_QUERY_ENGINE: {exc}", (1, 401))


def _finish(
    execution: Execution, state: str, reason: str = "", error: tuple[int, int] | None = None
) -> None:
    with _state.lock:
        if execution.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return
        execution.state = state
        execution.reason = reason
        execution.error = error
        execution.completed = time.time()


def _run(execution: Execution) -> None:
    from flovtrain.sandbox.athena_engine import executor, storage
    from flovtrain.sandbox.athena_engine.errors import QueryCancelled, QueryError

    with _state.lock:
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
        )
        execution.ctx = ctx
    if _state.hold.is_set():
        _state.release.wait()
    if execution.state != "RUNNING":
        return
    bucket, _ = storage.parse_s3_url(execution.output_folder)
    if storage.bucket_or_none(execution.account_id, execution.region, bucket) is None:
        _finish(execution, "FAILED", f"Unable to verify/create output bucket {bucket}", (2, 1006))
        return
    started = time.perf_counter()
    try:
        result = executor.run(_substitute_safe(execution), ctx)
    except QueryCancelled as exc:
        execution.engine_ms = int((time.perf_counter() - started) * 1000)
        execution.bytes_scanned = ctx.meter.bytes_read
        _finish(execution, "CANCELLED", exc.reason)
        return
    except QueryError as exc:
        execution.engine_ms = int((time.perf_counter() - started) * 1000)
        execution.bytes_scanned = ctx.meter.bytes_read
        _finish(execution, "FAILED", exc.reason, (exc.category, exc.error_type))
        return
    execution.engine_ms = int((time.perf_counter() - started) * 1000)
    execution.bytes_scanned = result.bytes_scanned
    execution.statement_type = result.statement_type
    execution.substatement_type = result.substatement_type
    out_bucket, key = storage.parse_s3_url(execution.output_location)
    storage.put_bytes(execution.account_id, execution.region, out_bucket, key, result.csv_bytes())
    storage.put_bytes(
        execution.account_id,
        execution.region,
        out_bucket,
        key + ".metadata",
        result.metadata_bytes(),
    )
    execution.result = result
    _finish(execution, "SUCCEEDED")


def _substitute_safe(execution: Execution) -> str:
    try:
        return _substitute(execution.query, execution.parameters)
    except AwsError as exc:
        from flovtrain.sandbox.athena_engine.errors import QueryError

        raise QueryError(exc.message) from None


def _get(call: Call, execution_id: str | None) -> Execution:
    execution = _state.executions.get(execution_id or "")
    if (
        execution is None
        or execution.account_id != call.account_id
        or execution.region != call.region
    ):
        raise AwsError("InvalidRequestException", f"QueryExecution {execution_id} was not found")
    return execution


def get_query_execution(call: Call) -> dict[str, Any]:
    return {"QueryExecution": _get(call, call.params.get("QueryExecutionId")).describe()}


def batch_get_query_execution(call: Call) -> dict[str, Any]:
    found, missing = [], []
    for execution_id in call.params.get("QueryExecutionIds") or []:
        execution = _state.executions.get(execution_id)
        if execution is None or execution.account_id != call.account_id:
            missing.append(
                {
                    "QueryExecutionId": execution_id,
                    "ErrorCode": "INVALID_INPUT",
                    "ErrorMessage": f"QueryExecution {execution_id} was not found",
                }
            )
        else:
            found.append(execution.describe())
    return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise AwsError(
            "InvalidRequestException",
            "The NextToken is not valid: pass the token returned by the previous call unchanged.",
        ) from None


def get_query_results(call: Call) -> dict[str, Any]:
    execution = _get(call, call.params.get("QueryExecutionId"))
    if execution.state in ("QUEUED", "RUNNING"):
        raise AwsError(
            "InvalidRequestException",
            f"Query has not yet finished. Current state: {execution.state}",
        )
    if execution.state != "SUCCEEDED":
        raise AwsError(
            "InvalidRequestException",
            f"Query did not finish successfully. Final query state: {execution.state}\n"
            f"{execution.reason}",
        )
    limit = int(call.params.get("MaxResults") or MAX_RESULTS)
    if not 1 <= limit <= MAX_RESULTS:
        raise AwsError(
            "InvalidRequestException",
            f"1 validation error detected: Value '{limit}' at 'maxResults' failed to "
            f"satisfy constraint: Member must have value less than or equal to {MAX_RESULTS}",
        )
    result = execution.result
    rows = result.api_rows()
    start = _offset(call.params.get("NextToken"))
    out: dict[str, Any] = {
        "UpdateCount": 0,
        "ResultSet": {
            "Rows": rows[start : start + limit],
            "ResultSetMetadata": {"ColumnInfo": result.column_info()},
        },
    }
    if start + limit < len(rows):
        out["NextToken"] = _token(start + limit)
    return out


def list_query_executions(call: Call) -> dict[str, Any]:
    wg = call.params.get("WorkGroup") or "primary"
    _workgroup(call, wg)
    ids = [
        e.id
        for e in reversed(_state.executions.values())
        if e.account_id == call.account_id and e.region == call.region and e.workgroup == wg
    ]
    limit = int(call.params.get("MaxResults") or 50)
    start = _offset(call.params.get("NextToken"))
    out: dict[str, Any] = {"QueryExecutionIds": ids[start : start + limit]}
    if start + limit < len(ids):
        out["NextToken"] = _token(start + limit)
    return out


def stop_query_execution(call: Call) -> dict[str, Any]:
    execution = _get(call, call.params.get("QueryExecutionId"))
    with _state.lock:
        ctx = execution.ctx
    if execution.state in ("QUEUED", "RUNNING"):
        _finish(execution, "CANCELLED", "Query was cancelled by user")
        if ctx is not None:
            ctx.interrupt()
    return {}


def batch_get_named_query(call: Call) -> dict[str, Any]:
    backend = _backend(call)
    found, missing = [], []
    for query_id in call.params.get("NamedQueryIds") or []:
        nq = backend.named_queries.get(query_id)
        if nq is None:
            missing.append(
                {
                    "NamedQueryId": query_id,
                    "ErrorCode": "INVALID_INPUT",
                    "ErrorMessage": f"NamedQuery {query_id} was not found",
                }
            )
        else:
            found.append(
                {
                    "Name": nq.name,
                    "Description": nq.description or "",
                    "Database": nq.database,
                    "QueryString": nq.query_string,
                    "NamedQueryId": nq.id,
                    "WorkGroup": nq.workgroup.name,
                }
            )
    return {"NamedQueries": found, "UnprocessedNamedQueryIds": missing}


def delete_named_query(call: Call) -> dict[str, Any]:
    query_id = call.params.get("NamedQueryId")
    if _backend(call).named_queries.pop(query_id, None) is None:
        raise AwsError("InvalidRequestException", f"NamedQuery {query_id} was not found")
    return {}


def update_work_group(call: Call) -> dict[str, Any]:
    p = call.params
    wg = _workgroup(call, p.get("WorkGroup") or "")
    updates = p.get("ConfigurationUpdates") or {}
    config = wg.configuration
    if "BytesScannedCutoffPerQuery" in updates:
        cutoff = int(updates["BytesScannedCutoffPerQuery"])
        if cutoff < 10_000_000:
            raise AwsError(
                "InvalidRequestException",
                "BytesScannedCutoffPerQuery must be at least 10000000 bytes (10 MB).",
            )
        config["BytesScannedCutoffPerQuery"] = cutoff
    if updates.get("RemoveBytesScannedCutoffPerQuery"):
        config.pop("BytesScannedCutoffPerQuery", None)
    for key in (
        "EnforceWorkGroupConfiguration",
        "PublishCloudWatchMetricsEnabled",
        "RequesterPaysEnabled",
    ):
        if key in updates:
            config[key] = updates[key]
    result_updates = updates.get("ResultConfigurationUpdates") or {}
    rc = config.setdefault("ResultConfiguration", {})
    if "OutputLocation" in result_updates:
        rc["OutputLocation"] = result_updates["OutputLocation"]
    if result_updates.get("RemoveOutputLocation"):
        rc.pop("OutputLocation", None)
    if "Description" in p:
        wg.description = p["Description"]
    if "State" in p:
        wg.state = p["State"]
    return {}


def create_work_group(call: Call) -> Any:
    cutoff = (call.params.get("Configuration") or {}).get("BytesScannedCutoffPerQuery")
    if cutoff is not None and int(cutoff) < 10_000_000:
        raise AwsError(
            "InvalidRequestException",
            "BytesScannedCutoffPerQuery must be at least 10000000 bytes (10 MB).",
        )
    return call.moto()


def _hold(request: Any) -> Any:
    from werkzeug.wrappers import Response

    body = json.loads(request.get_data() or b"{}")
    if body.get("hold"):
        _state.release.clear()
        _state.hold.set()
    else:
        _state.hold.clear()
        _state.release.set()
    return Response(json.dumps({"hold": _state.hold.is_set()}), mimetype="application/json")


def reset() -> None:
    with _state.lock:
        for execution in _state.executions.values():
            if execution.state in ("QUEUED", "RUNNING"):
                execution.state, execution.reason = "CANCELLED", "Sandbox reset"
                if execution.ctx is not None:
                    execution.ctx.interrupt()
        _state.executions.clear()
    _state.hold.clear()
    _state.release.set()


def stop() -> None:
    reset()
    _state.jobs.put(None)


PROVIDER = Provider(
    name="athena",
    response_class=AthenaResponse,
    service="athena",
    protocols=JsonBridge("AmazonAthena"),  # botocore < 1.44.18: JSON-1.1; since: REST-JSON
    operations={
        "StartQueryExecution": start_query_execution,
        "GetQueryExecution": get_query_execution,
        "BatchGetQueryExecution": batch_get_query_execution,
        "GetQueryResults": get_query_results,
        "ListQueryExecutions": list_query_executions,
        "StopQueryExecution": stop_query_execution,
        "BatchGetNamedQuery": batch_get_named_query,
        "DeleteNamedQuery": delete_named_query,
        "UpdateWorkGroup": update_work_group,
        "CreateWorkGroup": create_work_group,
    },
    routes={"hold": _hold},
    reset=reset,
    stop=stop,
)
