"""Athena that runs the SQL: executions, results, workgroup limits and named queries.

moto's Athena stores executions but never runs them (0 rows, or results queued by hand).
This provider owns the execution lifecycle: ``StartQueryExecution`` queues the statement for
the engine's single worker (:mod:`flovtrain.sandbox.engines.athena.queries`: QUEUED -> RUNNING
-> SUCCEEDED / FAILED / CANCELLED, in submission order, so tests stay deterministic), which
runs it with DuckDB over the sandbox's own S3 objects, tables from Glue, and writes the results
CSV and ``.metadata`` to the OutputLocation. Executions are kept per account and region;
execution ids come from moto's seeded random generator.

What clients read: SELECT results as ``<id>.csv`` (DML) or ``<id>.txt`` (DDL, UTILITY) and
``.metadata``; CTAS and UNLOAD report ``Statistics.DataManifestLocation``
(``tables/<id>-manifest.csv``, ``<id>-manifest.csv``: the data files written, one a line),
which awswrangler's default
``read_sql_query`` and PyAthena's ``unload=True`` read. PyAthena's ArrowCursor reads through
pyarrow's own S3 client, which ignores ``AWS_ENDPOINT_URL``: give pyarrow the endpoint, e.g.
``pyarrow.fs.S3FileSystem(endpoint_override="127.0.0.1:<port>", scheme="http", ...)`` (see
tests/test_athena_clients.py); PyAthena's default and pandas cursors use boto3 and need nothing.

Sandbox-only route: ``POST /flovtrain-api/athena/hold`` with ``{"hold": true}`` parks the worker
right after a query turns RUNNING (tests stop a query "while running" that way);
``{"hold": false}`` releases it.
"""

from __future__ import annotations

import base64
import json
import re
from collections import OrderedDict
from typing import Any

from moto.athena.responses import AthenaResponse
from moto.core.base_backend import BackendDict

from flovtrain.sandbox.engines.athena.queries import Execution, QueryQueue
from flovtrain.sandbox.protocols import JsonBridge
from flovtrain.sandbox.providers._common import constraint_failure, validation_error
from flovtrain.sandbox.seam import AwsError, Call, Provider, ProviderBackend, existing

DDL_PREFIXES = ("ALTER", "CREATE", "DESCRIBE", "DESC", "DROP", "MSCK", "SHOW")
MAX_RESULTS = 1000
#: One worker for every account and region: queries run in the order they were submitted.
QUEUE = QueryQueue()


class AthenaState(ProviderBackend):
    """The query executions of one account and region, oldest first."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.executions: OrderedDict[str, Execution] = OrderedDict()


STATE: BackendDict = BackendDict(AthenaState, "athena")


def _executions(call: Call) -> OrderedDict[str, Execution]:
    return STATE[call.account_id][call.region].executions


def _backend(call: Call) -> Any:
    from moto.athena.models import athena_backends

    return athena_backends[call.account_id][call.region]


def _workgroup(call: Call, name: str) -> Any:
    wg = _backend(call).work_groups.get(name)
    if wg is None:
        raise AwsError("InvalidRequestException", f"WorkGroup {name} is not found.")
    return wg


def get_work_group(call: Call) -> Any:
    """moto answers a missing work group with an empty one; Athena refuses it."""
    _workgroup(call, call.params.get("WorkGroup") or "")
    return call.moto()


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
        # awswrangler quotes it in backticks, as Athena accepts
        database=(context.get("Database") or "default").strip("`").lower(),
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
    with QUEUE.lock:
        _executions(call)[execution.id] = execution
    QUEUE.submit(execution)
    return {"QueryExecutionId": execution.id}


def _get(call: Call, execution_id: str | None) -> Execution:
    execution = _executions(call).get(execution_id or "")
    if execution is None:
        raise AwsError("InvalidRequestException", f"QueryExecution {execution_id} was not found")
    return execution


#: How long GetQueryExecution waits for an unfinished query to end before answering.
ANSWER_WITHIN = 0.1


def get_query_execution(call: Call) -> dict[str, Any]:
    """The execution's state; one still QUEUED or RUNNING is answered when it ends or after
    :data:`ANSWER_WITHIN` seconds, whichever comes first (AWS's own answer takes about that
    long), so a client polling in a loop sees the end at once instead of a sleep later."""
    execution = _get(call, call.params.get("QueryExecutionId"))
    execution.ended.wait(ANSWER_WITHIN)
    return {"QueryExecution": execution.describe()}


def _not_found(key: str, item_id: str, kind: str) -> dict[str, str]:
    """An entry of a batch call's unprocessed list: ``kind`` ``item_id`` was not found."""
    message = f"{kind} {item_id} was not found"
    return {key: item_id, "ErrorCode": "INVALID_INPUT", "ErrorMessage": message}


def batch_get_query_execution(call: Call) -> dict[str, Any]:
    found, missing = [], []
    # an execution of the caller's account in any region, as the sandbox has always answered
    regions = [s for s in existing(STATE) if s.account_id == call.account_id]
    for execution_id in call.params.get("QueryExecutionIds") or []:
        execution = next(
            (s.executions[execution_id] for s in regions if execution_id in s.executions), None
        )
        if execution is None:
            missing.append(_not_found("QueryExecutionId", execution_id, "QueryExecution"))
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
        bound = f"Member must have value less than or equal to {MAX_RESULTS}"
        raise validation_error(
            "InvalidRequestException", [constraint_failure(limit, "maxResults", bound)]
        )
    result = execution.result
    start = _offset(call.params.get("NextToken"))
    out: dict[str, Any] = {
        "UpdateCount": 0,
        "ResultSet": {
            "Rows": result.page(start, limit),
            "ResultSetMetadata": {"ColumnInfo": result.column_info()},
        },
    }
    if start + limit < result.api_row_count():
        out["NextToken"] = _token(start + limit)
    return out


def list_query_executions(call: Call) -> dict[str, Any]:
    wg = call.params.get("WorkGroup") or "primary"
    _workgroup(call, wg)
    ids = [e.id for e in reversed(_executions(call).values()) if e.workgroup == wg]
    limit = int(call.params.get("MaxResults") or 50)
    start = _offset(call.params.get("NextToken"))
    out: dict[str, Any] = {"QueryExecutionIds": ids[start : start + limit]}
    if start + limit < len(ids):
        out["NextToken"] = _token(start + limit)
    return out


def stop_query_execution(call: Call) -> dict[str, Any]:
    execution = _get(call, call.params.get("QueryExecutionId"))
    QUEUE.cancel(execution, "Query was cancelled by user")
    return {}


def batch_get_named_query(call: Call) -> dict[str, Any]:
    backend = _backend(call)
    found, missing = [], []
    for query_id in call.params.get("NamedQueryIds") or []:
        nq = backend.named_queries.get(query_id)
        if nq is None:
            missing.append(_not_found("NamedQueryId", query_id, "NamedQuery"))
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
    name = call.params.get("Name", "")
    if name in _backend(call).work_groups:  # moto answers an HTML error page here
        raise AwsError("InvalidRequestException", f"WorkGroup {name} is already created")
    return call.moto()


def _hold(request: Any) -> Any:
    from werkzeug.wrappers import Response

    body = json.loads(request.get_data() or b"{}")
    QUEUE.set_hold(bool(body.get("hold")))
    return Response(json.dumps({"hold": QUEUE.hold.is_set()}), mimetype="application/json")


def reset() -> None:
    """Cancel every unfinished query and release a hold; moto's reset drops the executions."""
    QUEUE.cancel_all([e for s in existing(STATE) for e in s.executions.values()], "Sandbox reset")
    QUEUE.set_hold(False)


def stop() -> None:
    reset()
    QUEUE.close()


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
        "GetWorkGroup": get_work_group,
        "CreateWorkGroup": create_work_group,
    },
    routes={"hold": _hold},
    reset=reset,
    stop=stop,
)
