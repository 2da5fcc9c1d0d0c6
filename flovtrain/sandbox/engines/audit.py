"""CloudTrail's record of who did what: one event per request, kept per account and region.

A pure engine (no moto, no server): the CloudTrail provider hands it the facts of each request
the sandbox answered (:class:`Facts`), :func:`build_event` turns them into the record AWS writes
(``eventVersion`` 1.09: ``userIdentity``, ``eventSource``, ``eventName``, ``errorCode``...), an
:class:`AuditLog` keeps the newest :data:`KEEP` of one account and region like a ring, and
:func:`lookup` answers ``LookupEvents``' filters. Management events go to the event history;
data events (S3 object calls) are kept apart, for the trails whose selectors ask for them
(:mod:`.audit_delivery`).

Examples
--------
>>> facts = Facts("iam", "iam.amazonaws.com", "CreateUser", "us-east-1", "123456789012",
...               {"type": "Root", "arn": "arn:aws:iam::123456789012:root"}, {"UserName": "john"})
>>> event = build_event(facts, 200, None, None, "REQ1", now=0.0)
>>> event["eventName"], event["requestParameters"], event["readOnly"]
('CreateUser', {'userName': 'john'}, False)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from flovtrain.sandbox.engines.errors import EngineError

#: Events kept per account and region (the newest; AWS's event history keeps 90 days).
KEEP = 10_000
#: How far back ``LookupEvents`` looks, as on AWS.
HISTORY_S = 90 * 24 * 3600
#: Lookup attribute keys ``LookupEvents`` accepts.
LOOKUP_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
#: Parameter names that never reach a record (secrets, passwords, one-time codes, bodies).
SECRET_MARKERS = ("secret", "password", "token", "privatekey", "credential", "body", "content")
#: Longest parameter value kept (AWS also cuts long request parameters).
MAX_VALUE = 1024
#: S3 operations that are data events (object level), recorded only for a trail that asks.
S3_DATA_EVENTS = frozenset(
    {
        "GetObject",
        "HeadObject",
        "PutObject",
        "CopyObject",
        "DeleteObject",
        "DeleteObjects",
        "GetObjectAcl",
        "PutObjectAcl",
        "GetObjectTagging",
        "PutObjectTagging",
        "DeleteObjectTagging",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "ListParts",
        "RestoreObject",
        "SelectObjectContent",
        "ListObjects",  # listing a bucket's objects is object-level too (GuardDuty watches it)
        "ListObjectsV2",
        "ListObjectVersions",
    }
)
_READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "Simulate", "BatchGet")
#: Request parameters that name a resource, and its CloudTrail resource type.
RESOURCE_PARAMETERS = {
    "userName": "AWS::IAM::User",
    "groupName": "AWS::IAM::Group",
    "roleName": "AWS::IAM::Role",
    "policyArn": "AWS::IAM::Policy",
    "accessKeyId": "AWS::IAM::AccessKey",
    "instanceProfileName": "AWS::IAM::InstanceProfile",
    "roleArn": "AWS::IAM::Role",
    "bucketName": "AWS::S3::Bucket",
    "topicArn": "AWS::SNS::Topic",
    "alarmName": "AWS::CloudWatch::Alarm",
    "stackName": "AWS::CloudFormation::Stack",
    "repositoryName": "AWS::CodeCommit::Repository",
    "projectName": "AWS::CodeBuild::Project",
    "pipelineName": "AWS::CodePipeline::Pipeline",
    "applicationName": "AWS::CodeDeploy::Application",
    "instanceId": "AWS::EC2::Instance",
    "name": "",  # typed by the event source below
}
_NAMED_BY_SOURCE = {
    "cloudtrail.amazonaws.com": "AWS::CloudTrail::Trail",
    "ssm.amazonaws.com": "AWS::SSM::Parameter",
    "codepipeline.amazonaws.com": "AWS::CodePipeline::Pipeline",
    "codebuild.amazonaws.com": "AWS::CodeBuild::Project",
}
_sequence = itertools.count(1)


class LookupRefused(EngineError):
    """A ``LookupEvents`` request AWS refuses (``code``: the exception's name)."""


@dataclass
class Facts:
    """What the sandbox knows about one request when it decides to serve or refuse it.

    Attributes
    ----------
    service : str
        botocore's service name (``iam``, ``s3``).
    event_source : str
        ``iam.amazonaws.com``...
    event_name : str
        The API operation (``CreateUser``).
    region : str
        ``awsRegion``: the region the request was signed for (IAM's: us-east-1).
    account : str
        The account that served it (``recipientAccountId``).
    identity : dict
        ``userIdentity`` as CloudTrail writes it.
    params : dict
        The request's parameters (secrets are dropped by :func:`build_event`).
    resources : list of (type, ARN or name)
        Resources the request names, when known beyond its parameters.
    source_ip, user_agent : str
    data_event : bool
        An S3 object-level call (recorded only for a trail that asks for it).
    """

    service: str
    event_source: str
    event_name: str
    region: str
    account: str
    identity: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    resources: list[tuple[str, str]] = field(default_factory=list)
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    data_event: bool = False


def is_read_only(event_name: str) -> bool:
    """Whether CloudTrail marks ``event_name`` ``readOnly`` (it reads, it does not change)."""
    return event_name.startswith(_READ_PREFIXES) or event_name == "GetCallerIdentity"


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _clean(value: Any) -> Any:
    if isinstance(value, list):
        return [_clean(v) for v in value[:50]]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not _secret(k)}
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and len(value) > MAX_VALUE:
        return value[:MAX_VALUE] + "…"
    return value


def _secret(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def request_parameters(params: dict[str, Any]) -> dict[str, Any] | None:
    """The ``requestParameters`` of a record: camelCase names, no secrets, long values cut.

    Examples
    --------
    >>> request_parameters({"UserName": "john", "Password": "hunter2", "Action": "X"})
    {'userName': 'john'}
    """
    kept = {
        (k if k == "Host" else _camel(k)): _clean(v)  # S3 records its Host header as is
        for k, v in params.items()
        if k not in ("Action", "Version") and not _secret(k)
    }
    return kept or None


def _resources(facts: Facts, parameters: dict[str, Any] | None) -> list[dict[str, str]]:
    found = [{"type": t, "ARN": name} for t, name in facts.resources]
    for key, kind in RESOURCE_PARAMETERS.items():
        value = (parameters or {}).get(key)
        if isinstance(value, str) and value:
            kind = kind or _NAMED_BY_SOURCE.get(facts.event_source, "")
            if kind and not any(_names(r["ARN"], value) for r in found):
                found.append({"type": kind, "ARN": value})
    return found


def _names(arn: str, name: str) -> bool:
    return arn == name or arn.endswith((f":{name}", f"/{name}"))


def build_event(
    facts: Facts,
    status: int,
    error_code: str | None,
    error_message: str | None,
    request_id: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The CloudTrail record of a request answered with ``status`` (and the error, if any).

    Parameters
    ----------
    facts : Facts
        The request.
    status : int
        The HTTP status it was answered with.
    error_code, error_message : str or None
        AWS's error, for a refusal (``AccessDenied`` included).
    request_id : str
        The request id the answer carried.
    now : float, optional
        The event time (epoch seconds); the current time if omitted.

    Returns
    -------
    dict
        The record, as in a trail's log file (``Records``) or ``CloudTrailEvent``.

    Examples
    --------
    >>> f = Facts("s3", "s3.amazonaws.com", "CreateBucket", "eu-west-1", "123456789012",
    ...           {"type": "IAMUser", "userName": "visitor"}, {"bucketName": "b"})
    >>> build_event(f, 403, "AccessDenied", "User: ... is not authorized", "R")["errorCode"]
    'AccessDenied'
    """
    when = time.time() if now is None else now
    parameters = request_parameters(facts.params)
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": facts.identity,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        "eventSource": facts.event_source,
        "eventName": facts.event_name,
        "awsRegion": facts.region,
        "sourceIPAddress": facts.source_ip,
        "userAgent": facts.user_agent,
        "requestParameters": parameters,
        "responseElements": None,
        "requestID": request_id,
        "eventID": str(uuid.uuid4()),  # the OS's randomness: moto's seeded ids stay put
        "readOnly": is_read_only(facts.event_name),
        "resources": _resources(facts, parameters),
        "eventType": "AwsApiCall",
        "managementEvent": not facts.data_event,
        "recipientAccountId": facts.account,
        "eventCategory": "Data" if facts.data_event else "Management",
    }
    if error_code:
        event["errorCode"] = error_code
        event["errorMessage"] = error_message or ""
    if not event["resources"]:
        del event["resources"]
    return event


@dataclass
class Stored:
    """One kept event: its sequence number (for delivery), time and record."""

    sequence: int
    time: float
    record: dict[str, Any]


class AuditLog:
    """The events of one account and region, newest last, the newest :data:`KEEP` of each kind.

    Examples
    --------
    >>> log = AuditLog("123456789012", "eu-west-1")
    >>> log.add({"eventName": "ListUsers", "eventTime": "2026-01-01T00:00:00Z"}, 0.0)
    >>> len(log.management)
    1
    """

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id, self.region = account_id, region
        self.management: deque[Stored] = deque(maxlen=KEEP)
        self.data: deque[Stored] = deque(maxlen=KEEP)
        self.cursors: dict[str, int] = {}  # trail ARN -> last sequence it delivered
        self.lock = threading.Lock()

    def add(self, record: dict[str, Any], when: float) -> None:
        """Keep ``record`` (a data event apart from the event history)."""
        stored = Stored(next(_sequence), when, record)
        with self.lock:
            kind = self.management if record.get("managementEvent", True) else self.data
            kind.append(stored)

    def since(self, sequence: int) -> list[Stored]:
        """Every kept event (both kinds) after ``sequence``, oldest first."""
        with self.lock:
            found = [s for s in (*self.management, *self.data) if s.sequence > sequence]
        return sorted(found, key=lambda s: s.sequence)


def last_sequence() -> int:
    """The sequence number the next event will exceed (a trail starts logging after it)."""
    return next(_sequence)


def _matches(stored: Stored, key: str, value: str) -> bool:
    record = stored.record
    if key == "EventId":
        return record["eventID"] == value
    if key == "EventName":
        return record["eventName"] == value
    if key == "EventSource":
        return record["eventSource"] == value
    if key == "ReadOnly":
        return str(record["readOnly"]).lower() == value.lower()
    if key == "Username":
        return username(record) == value
    if key == "AccessKeyId":
        return record["userIdentity"].get("accessKeyId") == value
    resources = record.get("resources", [])
    if key == "ResourceType":
        return any(r["type"] == value for r in resources)
    return any(_names(r["ARN"], value) or r["ARN"].split(":::", 1)[-1] == value for r in resources)


def username(record: dict[str, Any]) -> str:
    """The ``Username`` LookupEvents shows: the user, the role session, or ``root``."""
    identity = record["userIdentity"]
    if identity.get("type") == "Root":
        return "root"
    if identity.get("type") == "AssumedRole":
        return identity.get("arn", "").rsplit("/", 1)[-1]
    return identity.get("userName", "")


def _validate(attributes: list[dict[str, str]], start: float | None, end: float | None) -> None:
    if len(attributes) > 1:
        raise LookupRefused(
            "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute."
        )
    for attribute in attributes:
        if attribute.get("AttributeKey") not in LOOKUP_KEYS:
            raise LookupRefused(
                "InvalidLookupAttributesException",
                f"Invalid attribute key: {attribute.get('AttributeKey')}. Valid keys: "
                f"{', '.join(LOOKUP_KEYS)}.",
            )
        if not attribute.get("AttributeValue"):
            raise LookupRefused(
                "InvalidLookupAttributesException", "Attribute value cannot be empty."
            )
    if start is not None and end is not None and start > end:
        raise LookupRefused(
            "InvalidTimeRangeException", "Start time must be earlier than or equal to end time."
        )


def lookup(
    logs: list[AuditLog],
    attributes: list[dict[str, str]] | None = None,
    start: float | None = None,
    end: float | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """The management events of ``logs`` that match, newest first (``LookupEvents``' order).

    Raises
    ------
    LookupRefused
        ``InvalidLookupAttributesException`` (more than one attribute, an unknown key, an
        empty value) or ``InvalidTimeRangeException`` (start after end).

    Examples
    --------
    >>> lookup([], [{"AttributeKey": "Username", "AttributeValue": "john"}])
    []
    """
    attributes = attributes or []
    _validate(attributes, start, end)
    oldest = (time.time() if now is None else now) - HISTORY_S
    found = []
    for log in logs:
        with log.lock:
            found += list(log.management)
    found = [
        s
        for s in found
        if s.time >= oldest
        and (start is None or s.time >= start)
        and (end is None or s.time <= end)
        and all(_matches(s, a["AttributeKey"], a["AttributeValue"]) for a in attributes)
    ]
    found.sort(key=lambda s: s.sequence, reverse=True)
    return [s.record for s in found]


def lookup_entry(record: dict[str, Any]) -> dict[str, Any]:
    """One ``Events`` entry of a ``LookupEvents`` answer for ``record``."""
    entry = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": str(record["readOnly"]).lower(),
        "EventTime": record["eventTime"],
        "EventSource": record["eventSource"],
        "Username": username(record),
        "Resources": [
            {"ResourceType": r["type"], "ResourceName": r["ARN"].split(":::", 1)[-1]}
            for r in record.get("resources", [])
        ],
        "CloudTrailEvent": json.dumps(record),
    }
    key = record["userIdentity"].get("accessKeyId")
    if key:
        entry["AccessKeyId"] = key
    return entry
