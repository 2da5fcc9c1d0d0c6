"""CloudTrail: every request the sandbox serves recorded as AWS records it, ``LookupEvents``, and
trails that deliver log files to S3.

moto 5.2.5 keeps trails (create, describe, start/stop logging, event selectors) but records
nothing and has no ``LookupEvents``. Here a :class:`~flovtrain.sandbox.seam.Observer` sees each
AWS request at its authorization step (who signed it, which operation) and, once the answer is
known, keeps one event (:mod:`flovtrain.sandbox.engines.audit`) in the serving account and the
request's region (IAM's: us-east-1, as AWS records global services): refusals with their
``errorCode`` (``AccessDenied`` too). The sandbox's own ``/flovtrain-api/`` calls and requests
whose credentials are refused before any policy is read are not recorded.

``LookupEvents`` answers from the event history of the call's account and region (management
events only, 90 days, at most 50 per page). S3 object calls are data events: kept only while a
logging trail's selectors ask for them, and delivered, never looked up.

A trail that is logging delivers every :data:`~.audit_delivery.DELIVERY_INTERVAL_S` seconds
(AWS: about every 5 minutes), when it stops logging, and when asked at
``POST /flovtrain-api/cloudtrail/deliver``: one gzipped ``{"Records": [...]}`` file per region
under ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``. ``CreateTrail`` and ``UpdateTrail``
refuse a bucket whose policy does not let ``cloudtrail.amazonaws.com`` write there
(``InsufficientS3BucketPolicyException``), as AWS does.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import threading
import time
from functools import lru_cache
from typing import Any

from flovtrain.sandbox.engines import audit, audit_delivery
from flovtrain.sandbox.engines import s3 as s3_objects
from flovtrain.sandbox.engines.audit import AuditLog, Facts
from flovtrain.sandbox.providers import _authz
from flovtrain.sandbox.seam import (
    OBSERVERS,
    AwsError,
    Call,
    Observer,
    Provider,
    engine_backends,
    existing,
)

#: The event history and data events of each account and region (dropped by the reset).
STATE = engine_backends("cloudtrail", AuditLog)
MAX_RESULTS = 50
_delivering = threading.Lock()
_GLOBAL = {"iam": "us-east-1"}  # AWS records global services' events in us-east-1


@lru_cache(maxsize=64)
def _event_source(service: str) -> str:
    from moto.core.utils import get_service_model

    try:
        prefix = get_service_model(service).metadata.get("endpointPrefix") or service
    except Exception:  # a service botocore does not model: its name
        prefix = service
    return f"{prefix}.amazonaws.com"


# -- who asked: userIdentity --------------------------------------------------------------------


def _root(account: str, key_id: str) -> dict[str, Any]:
    return {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
        "accessKeyId": key_id,
    }


def identity(key_id: str | None, account: str) -> dict[str, Any] | None:
    """``userIdentity`` of the signer of a request in ``account``; ``None`` if refused outright."""
    try:
        principal = _authz.identify(key_id, account)
    except _authz.CredentialError:
        return None
    if principal is None or principal.kind == "root":
        return _root(account, key_id or "")
    backend = _authz._iam(principal.account)
    name = principal.arn.rsplit("/", 1)[-1]
    if principal.kind == "user":
        user = backend.users.get(name)
        return {
            "type": "IAMUser",
            "principalId": user.id if user is not None else "",
            "arn": principal.arn,
            "accountId": principal.account,
            "accessKeyId": key_id,
            "userName": name,
        }
    role_arn = principal.role_arn or ""
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None)
    role_id = role.id if role is not None else ""
    issued = principal.context.get("aws:TokenIssueTime", "")
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{name}",
        "arn": principal.arn,
        "accountId": principal.account,
        "accessKeyId": key_id,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": role_arn,
                "accountId": principal.account,
                "userName": role_arn.rsplit("/", 1)[-1],
            },
            "attributes": {
                "creationDate": issued,
                "mfaAuthenticated": principal.context.get("aws:MultiFactorAuthPresent", "false"),
            },
        },
    }


# -- the observer: facts at the authorization step, the event once answered -------------------


def _flat(params: dict[str, Any]) -> dict[str, Any]:
    """Query-protocol values arrive as one-item lists: one value each, as AWS records them.

    (moto also lists a JSON body as a query key: dropped, its fields are there already.)
    """
    return {
        k: v[0] if isinstance(v, list) and len(v) == 1 else v
        for k, v in params.items()
        if not k.lstrip().startswith("{")
    }


def _s3_operation(response: Any) -> str:
    """The S3 API operation (``ListObjectsV2``, ``HeadObject``), matched like botocore's model.

    moto's own S3 action names are IAM's (``ListBucket``, ``GetObject`` for a HEAD), not the
    operation CloudTrail names.
    """
    try:
        operation = response._get_action_from_method_and_request_uri(response.normalized_request)
    except Exception:  # a request the model does not describe: moto's name
        operation = None
    return str(operation or response.data.get("Action") or "")


def _s3_facts(response: Any, resource: str) -> tuple[str, dict[str, Any], list[tuple[str, str]]]:
    operation = _s3_operation(response)
    path = resource.split(":::", 1)[-1]
    bucket, _, key = path.partition("/")
    params: dict[str, Any] = {"Host": response.headers.get("Host", "")}
    resources = []
    if bucket and bucket != "*":
        params["bucketName"] = bucket
        resources.append(("AWS::S3::Bucket", f"arn:aws:s3:::{bucket}"))
    if key:
        params["key"] = key
        resources.append(("AWS::S3::Object", f"arn:aws:s3:::{bucket}/{key}"))
    return operation, params, resources


def seen(response: Any, resource: str, s3: bool, refusal: Any) -> Facts | None:
    """The :class:`Facts` of a request at its authorization step (``None``: not recorded)."""
    try:
        from flovtrain.sandbox.engines import authz

        account = response.current_account
        key_id = authz.access_key_id(response.headers, response.querystring)
        who = identity(key_id, account)
        if who is None:
            return None
        service = response.boto3_service_name
        resources: list[tuple[str, str]] = []
        if s3:
            operation, params, resources = _s3_facts(response, resource)
        else:
            operation, params = response._get_action(), _flat(_authz._params(response))
        return Facts(
            service=service,
            event_source=_event_source(service),
            event_name=operation,
            region=_GLOBAL.get(service, response.region),
            account=account,
            identity=who,
            params=params,
            resources=resources,
            source_ip=getattr(getattr(response, "request", None), "remote_addr", None)
            or "127.0.0.1",
            user_agent=response.headers.get("User-Agent", ""),
            data_event=s3 and operation in audit.S3_DATA_EVENTS,
        )
    except Exception:  # never let the record break the request it records
        return None


_XML_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_XML_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")


def error_of(headers: dict[str, str], body: bytes | None) -> tuple[str | None, str | None]:
    """AWS's error code and message in an error answer (JSON or XML)."""
    if not body:
        return None, None
    text = body.strip()
    if text.startswith(b"{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            return None, None
        code = str(loaded.get("__type") or loaded.get("code") or "").rsplit("#", 1)[-1]
        query_error = headers.get("x-amzn-query-error", "")
        code = query_error.split(";", 1)[0] or code
        return code or None, loaded.get("message") or loaded.get("Message")
    code, message = _XML_CODE.search(text), _XML_MESSAGE.search(text)
    from html import unescape

    return (
        unescape(code.group(1).decode()) if code else None,
        unescape(message.group(1).decode()) if message else None,
    )


def answered(facts: Facts, status: int, headers: dict[str, str], body: bytes | None) -> None:
    """Keep the event of an answered request (a data event only if a logging trail wants it)."""
    try:
        code, message = error_of(headers, body) if status >= 400 else (None, None)
        request_id = next(
            (
                v
                for k, v in headers.items()
                if k.lower() in ("x-amzn-requestid", "x-amz-request-id")
            ),
            "",
        )
        now = time.time()
        record = audit.build_event(facts, status, code, message, request_id, now)
        if facts.data_event and not any(t.wants(record) for t, _ in _logging_trails(facts.account)):
            return
        STATE[facts.account][facts.region].engine.add(record, now)
    except Exception:  # never let the record break the request it records
        return


# -- trails and their delivery ------------------------------------------------------------------


def _cloudtrail_backends() -> Any:
    from moto.cloudtrail.models import cloudtrail_backends

    return cloudtrail_backends


def _spec(trail: Any) -> audit_delivery.TrailSpec:
    return audit_delivery.TrailSpec(
        arn=trail.arn,
        region=trail.region_name,
        bucket=trail.bucket_name,
        prefix=trail.s3_key_prefix or "",
        multi_region=bool(trail.is_multi_region),
        event_selectors=list(trail.event_selectors or []),
        advanced_selectors=list(trail.advanced_event_selectors or []),
    )


def _logging_trails(account: str | None = None) -> list[tuple[audit_delivery.TrailSpec, Any]]:
    return [
        (_spec(trail), trail)
        for backend in existing(_cloudtrail_backends())
        if account is None or backend.account_id == account
        for trail in list(backend.trails.values())
        if trail.status.is_logging
    ]


def deliver(account: str | None = None) -> list[str]:
    """Write the events each logging trail has not delivered yet; return the S3 keys written."""
    with _delivering:  # the timer and a request may ask at once: each event is written once
        return _deliver(account)


def _deliver(account: str | None) -> list[str]:
    written = []
    for spec, trail in _logging_trails(account):
        home = STATE[trail.account_id][trail.region_name].engine
        cursor = home.cursors.get(spec.arn, 0)
        logs = [
            log.engine
            for log in existing(STATE)
            if log.engine.account_id == trail.account_id and spec.covers_region(log.engine.region)
        ]
        newest = cursor
        for log in logs:
            stored = log.since(cursor)
            newest = max([newest, *(s.sequence for s in stored)])
            records = [s.record for s in stored if spec.wants(s.record)]
            if not records:
                continue
            key = audit_delivery.log_key(trail.account_id, log.region, time.time(), spec.prefix)
            owner, _ = _authz._bucket_owner_and_policy(f"arn:aws:s3:::{spec.bucket}")
            try:
                s3_objects.write(
                    owner or trail.account_id, spec.bucket, key, audit_delivery.log_file(records)
                )
            except s3_objects.S3Error:  # the bucket is gone: AWS reports it in the trail status
                continue
            written.append(f"s3://{spec.bucket}/{key}")
        home.cursors[spec.arn] = newest
    return written


def _check_bucket(call: Call, bucket: str | None, prefix: str | None) -> None:
    if not bucket:
        return
    owner, policy = _authz._bucket_owner_and_policy(f"arn:aws:s3:::{bucket}")
    if owner is None:
        return  # moto answers S3BucketDoesNotExistException
    if not audit_delivery.bucket_policy_allows(policy, bucket, prefix or "", call.account_id):
        raise AwsError(
            "InsufficientS3BucketPolicyException",
            f"Incorrect S3 bucket policy is detected for bucket: {bucket}",
        )


def create_trail(call: Call) -> Any:
    _check_bucket(call, call.params.get("S3BucketName"), call.params.get("S3KeyPrefix"))
    return call.moto()


def update_trail(call: Call) -> Any:
    if call.params.get("S3BucketName") or call.params.get("S3KeyPrefix") is not None:
        trail = _cloudtrail_backends()[call.account_id][call.region].get_trail(call.params["Name"])
        bucket = call.params.get("S3BucketName") or trail.bucket_name
        prefix = call.params.get("S3KeyPrefix", trail.s3_key_prefix)
        _check_bucket(call, bucket, prefix)
    return call.moto()


def start_logging(call: Call) -> Any:
    result = call.moto()
    trail = _cloudtrail_backends()[call.account_id][call.region].get_trail(call.params["Name"])
    STATE[call.account_id][trail.region_name].engine.cursors[trail.arn] = audit.last_sequence()
    return result


def stop_logging(call: Call) -> Any:
    deliver(call.account_id)  # what was logged until now still reaches the bucket
    return call.moto()


def delete_trail(call: Call) -> Any:
    """AWS takes a trail's name or ARN and refuses one it does not have; moto 5.2.5 deletes by
    name only and answers success for anything else (the trail would stay and keep logging)."""
    backend = _cloudtrail_backends()[call.account_id][call.region]
    trail = backend.get_trail(call.params["Name"])  # TrailNotFoundException as on AWS
    deliver(call.account_id)  # what it logged until now still reaches the bucket
    backend.delete_trail(trail.trail_name)
    return {}


# -- LookupEvents -------------------------------------------------------------------------------


def _epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=value.tzinfo or dt.UTC).timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _query_hash(params: dict[str, Any]) -> str:
    wanted = {k: params.get(k) for k in ("LookupAttributes", "StartTime", "EndTime")}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _token(offset: int, query: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": query}).encode()).decode()


def _offset(token: str | None, query: str) -> int:
    if not token:
        return 0
    try:
        loaded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if loaded["q"] == query and int(loaded["o"]) >= 0:
            return int(loaded["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise AwsError("InvalidNextTokenException", "Invalid NextToken.")


def lookup_events(call: Call) -> dict[str, Any]:
    params = call.params
    limit = int(params.get("MaxResults") or MAX_RESULTS)
    if not 1 <= limit <= MAX_RESULTS:
        raise AwsError(
            "InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}."
        )
    query = _query_hash(params)
    start = _offset(params.get("NextToken"), query)
    if params.get("EventCategory") == "insight":  # the sandbox has no Insights
        return {"Events": []}
    log = STATE[call.account_id][call.region].engine
    records = audit.lookup(
        [log],
        params.get("LookupAttributes") or [],
        _epoch(params.get("StartTime")),
        _epoch(params.get("EndTime")),
    )
    page = records[start : start + limit]
    answer: dict[str, Any] = {"Events": [_entry(r) for r in page]}
    if start + limit < len(records):
        answer["NextToken"] = _token(start + limit, query)
    return answer


def _entry(record: dict[str, Any]) -> dict[str, Any]:
    entry = audit.lookup_entry(record)
    entry["EventTime"] = dt.datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.UTC
    )
    return entry


# -- the provider ---------------------------------------------------------------------------------

_OBSERVER = Observer(seen, answered)
_stopping = threading.Event()


def _setup() -> None:
    if _OBSERVER not in OBSERVERS:
        OBSERVERS.append(_OBSERVER)


def _deliver_route(request: Any) -> Any:
    from werkzeug.wrappers import Response

    if request.method != "POST":
        return Response(json.dumps({"error": "POST to deliver"}), 405, mimetype="application/json")
    files = deliver(request.args.get("account"))
    return Response(json.dumps({"delivered": files}), mimetype="application/json")


def _deliver_on_a_timer() -> None:
    while not _stopping.wait(audit_delivery.DELIVERY_INTERVAL_S):
        try:
            deliver()
        except Exception as exc:  # a reset in between: the next round sees the new state
            print(f"cloudtrail delivery skipped a round: {exc}", flush=True)


def _start() -> None:
    _stopping.clear()
    threading.Thread(target=_deliver_on_a_timer, name="cloudtrail-delivery", daemon=True).start()


PROVIDER = Provider(
    name="cloudtrail",
    response_class="moto.cloudtrail.responses.CloudTrailResponse",
    service="cloudtrail",
    operations={
        "LookupEvents": lookup_events,
        "CreateTrail": create_trail,
        "UpdateTrail": update_trail,
        "StartLogging": start_logging,
        "StopLogging": stop_logging,
        "DeleteTrail": delete_trail,
    },
    routes={"deliver": _deliver_route},
    setup=_setup,
    start=_start,
    stop=_stopping.set,
)
