"""What a CloudTrail trail delivers, where, and whether its bucket lets CloudTrail write.

A pure engine: a :class:`TrailSpec` (what the trail's event selectors ask for), the events of
:mod:`.audit`, and the file a trail writes to its S3 bucket: gzipped JSON ``{"Records": [...]}``
under ``[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`` named
``<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz``, one file per region and
delivery, as AWS names them.

Examples
--------
>>> spec = TrailSpec("arn:aws:cloudtrail:eu-west-1:123456789012:trail/t", "eu-west-1", "logs")
>>> spec.wants({"managementEvent": True, "awsRegion": "eu-west-1", "readOnly": True})
True
>>> log_key("123456789012", "eu-west-1", 0.0, "", "abc")
'AWSLogs/123456789012/CloudTrail/eu-west-1/1970/01/01/123456789012_CloudTrail_eu-west-1_19700101T0000Z_abc.json.gz'
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

#: Seconds between two deliveries of a logging trail (AWS: about every 5 minutes).
DELIVERY_INTERVAL_S = 5.0
CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"


@dataclass
class TrailSpec:
    """A trail as delivery needs it: where it writes and which events its selectors select.

    ``event_selectors`` and ``advanced_selectors`` are ``PutEventSelectors``' two forms (empty:
    AWS's default, every management event and no data event).
    """

    arn: str
    region: str
    bucket: str
    prefix: str = ""
    multi_region: bool = False
    event_selectors: list[dict[str, Any]] = field(default_factory=list)
    advanced_selectors: list[dict[str, Any]] = field(default_factory=list)

    def covers_region(self, region: str) -> bool:
        """Whether events of ``region`` reach this trail."""
        return self.multi_region or region == self.region

    def wants(self, record: dict[str, Any]) -> bool:
        """Whether this trail logs ``record`` (its region, then its selectors)."""
        if not self.covers_region(record.get("awsRegion", "")):
            return False
        if self.advanced_selectors:
            return any(_advanced_match(s, record) for s in self.advanced_selectors)
        selectors = self.event_selectors or [{"IncludeManagementEvents": True}]
        return any(_classic_match(s, record) for s in selectors)


def _read_write(kind: str | None, record: dict[str, Any]) -> bool:
    kind = kind or "All"
    return kind == "All" or (kind == "ReadOnly") == bool(record.get("readOnly"))


def _object_arns(record: dict[str, Any]) -> list[str]:
    """The objects a data event touched; a listing touches its bucket's (``bucket/``)."""
    resources = record.get("resources", [])
    objects = [r["ARN"] for r in resources if r["type"] == "AWS::S3::Object"]
    return objects or [f"{r['ARN']}/" for r in resources if r["type"] == "AWS::S3::Bucket"]


def _classic_match(selector: dict[str, Any], record: dict[str, Any]) -> bool:
    if not _read_write(selector.get("ReadWriteType"), record):
        return False
    if record.get("managementEvent", True):
        return bool(selector.get("IncludeManagementEvents", True))
    arns = _object_arns(record)
    for resource in selector.get("DataResources") or []:
        if resource.get("Type") != "AWS::S3::Object":
            continue
        for value in resource.get("Values") or []:
            # "arn:aws:s3" (every bucket) or "arn:aws:s3:::bucket/" (+ a key prefix)
            if value in ("arn:aws:s3", "arn:aws:s3:::") or any(a.startswith(value) for a in arns):
                return True
    return False


def _advanced_match(selector: dict[str, Any], record: dict[str, Any]) -> bool:
    fields = {f.get("Field"): f for f in selector.get("FieldSelectors") or []}
    values = {
        "eventCategory": [record.get("eventCategory", "Management")],
        "readOnly": [str(bool(record.get("readOnly"))).lower()],
        "eventName": [record.get("eventName", "")],
        "eventSource": [record.get("eventSource", "")],
        "resources.type": [r["type"] for r in record.get("resources", [])],
        "resources.ARN": [r["ARN"] for r in record.get("resources", [])],
    }
    for name, condition in fields.items():
        if not any(_field_match(condition, v) for v in values.get(name, [""])):
            return False
    return True


def _field_match(condition: dict[str, Any], value: str) -> bool:
    checks = {
        "Equals": lambda wanted: value in wanted,
        "StartsWith": lambda wanted: any(value.startswith(w) for w in wanted),
        "EndsWith": lambda wanted: any(value.endswith(w) for w in wanted),
        "NotEquals": lambda wanted: value not in wanted,
        "NotStartsWith": lambda wanted: not any(value.startswith(w) for w in wanted),
        "NotEndsWith": lambda wanted: not any(value.endswith(w) for w in wanted),
    }
    return all(check(condition[op]) for op, check in checks.items() if condition.get(op))


def log_key(account: str, region: str, when: float, prefix: str = "", file_id: str = "") -> str:
    """The S3 key of one log file, as AWS names it.

    Examples
    --------
    >>> log_key("123456789012", "us-east-1", 86400.0, "trails", "X")
    'trails/AWSLogs/123456789012/CloudTrail/us-east-1/1970/01/02/123456789012_CloudTrail_us-east-1_19700102T0000Z_X.json.gz'
    """
    stamp = time.gmtime(when)
    file_id = file_id or "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(16)
    )
    name = f"{account}_CloudTrail_{region}_{time.strftime('%Y%m%dT%H%MZ', stamp)}_{file_id}.json.gz"
    folder = f"AWSLogs/{account}/CloudTrail/{region}/{time.strftime('%Y/%m/%d', stamp)}/{name}"
    return f"{prefix.strip('/')}/{folder}" if prefix.strip("/") else folder


def log_file(records: list[dict[str, Any]]) -> bytes:
    """The gzipped JSON body of a log file: ``{"Records": [...]}``.

    Examples
    --------
    >>> json.loads(gzip.decompress(log_file([{"eventName": "ListUsers"}])))
    {'Records': [{'eventName': 'ListUsers'}]}
    """
    return gzip.compress(json.dumps({"Records": records}).encode())


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _cloudtrail_allowed(statement: dict[str, Any], action: str, resource: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
    if principal != "*" and CLOUDTRAIL_PRINCIPAL not in services:
        return False
    actions = [a.lower() for a in _as_list(statement.get("Action", []))]
    if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
        return False
    return any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement.get("Resource", [])))


def bucket_policy_allows(policy: str | None, bucket: str, prefix: str, account: str) -> bool:
    """Whether a bucket policy lets CloudTrail check the bucket and write the account's logs.

    AWS checks this when a trail is created or updated (``s3:GetBucketAcl`` on the bucket,
    ``s3:PutObject`` on ``[prefix/]AWSLogs/<account>/*``) and answers
    ``InsufficientS3BucketPolicyException`` otherwise. Conditions (``aws:SourceArn``,
    ``s3:x-amz-acl``) are not evaluated here.

    Examples
    --------
    >>> bucket_policy_allows(None, "logs", "", "123456789012")
    False
    """
    if not policy:
        return False
    try:
        statements = _as_list(json.loads(policy).get("Statement", []))
    except (ValueError, AttributeError):
        return False
    folder = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    key = f"arn:aws:s3:::{bucket}/{folder}AWSLogs/{account}/example.json.gz"
    acl = any(
        _cloudtrail_allowed(s, "s3:GetBucketAcl", f"arn:aws:s3:::{bucket}") for s in statements
    )
    put = any(_cloudtrail_allowed(s, "s3:PutObject", key) for s in statements)
    return acl and put
