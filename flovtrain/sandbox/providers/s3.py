"""S3 provider: what the sandbox adds to moto's S3, CloudFormation's ``AWS::S3::BucketPolicy``.

moto's stack engine skips bucket policies; a stack's policy is put on (and removed from) the
bucket through moto's S3 backend here. Bucket names and bucket policies are checked as S3
checks them (``InvalidBucketName``, ``MalformedPolicy``). Everything else about S3 is moto's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.seam import Provider, after_import


def _stack_bucket_policy(
    name: str, props: dict[str, Any], account: str, region: str
) -> dict[str, Any]:
    from moto.s3.models import s3_backends

    bucket = props["Bucket"]
    policy = props["PolicyDocument"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    s3_backends[account]["aws"].put_bucket_policy(bucket, text.encode())
    return {"physical": name, "attrs": {}, "bucket": bucket}


def _delete_stack_bucket_policy(
    name: str, account: str, region: str, state: dict[str, Any]
) -> None:
    from moto.s3.models import s3_backends

    try:
        s3_backends[account]["aws"].delete_bucket_policy(state["bucket"])
    except Exception:  # the bucket went first: nothing left to remove
        pass


# -- refusing what S3 refuses --------------------------------------------------------------------
# moto's S3 takes any bucket name of the right length and stores any policy text.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_NOT_JSON = "Policies must be valid JSON and the first byte must be '{'"
_patched: dict[str, Any] = {}


def bucket_name_problem(name: str) -> str | None:
    """Why S3 refuses ``name`` for a general purpose bucket, or None when it is valid.

    Examples
    --------
    >>> bucket_name_problem("flovtrain-artifacts")
    >>> bucket_name_problem("Bad_Bucket")
    'only lowercase letters, numbers, periods and hyphens, beginning and ending with one'
    >>> bucket_name_problem("192.0.2.10")
    'formatted as an IP address'
    """
    if not _BUCKET_NAME.match(name):
        return "only lowercase letters, numbers, periods and hyphens, beginning and ending with one"
    if ".." in name:
        return "two adjacent periods"
    if _IP_ADDRESS.match(name):
        return "formatted as an IP address"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "a reserved prefix or suffix"
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_problem(bucket: str, text: str | bytes) -> str | None:
    """S3's ``MalformedPolicy`` message for a bucket policy, or None when S3 takes it.

    Examples
    --------
    >>> policy_problem("b", "allow everyone")
    "Policies must be valid JSON and the first byte must be '{'"
    >>> policy_problem("b", '{"Version": "2012-10-17"}')
    'Missing required field Statement'
    >>> other = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "arn:aws:s3:::c"}
    >>> policy_problem("b", json.dumps({"Statement": [other]}))
    'Policy has invalid resource'
    """
    raw = text.decode(errors="replace") if isinstance(text, bytes) else text
    try:
        policy = json.loads(raw)
    except ValueError:
        return _NOT_JSON
    if not raw.lstrip().startswith("{") or not isinstance(policy, dict):
        return _NOT_JSON
    if "Statement" not in policy:
        return "Missing required field Statement"
    statements = _as_list(policy["Statement"])
    if not statements:
        return "Could not parse the policy: Statement is empty!"
    for statement in statements:
        if not isinstance(statement, dict):
            return _NOT_JSON
        for field in ("Effect", "Principal", "Action", "Resource"):
            if field not in statement and f"Not{field}" not in statement:
                return f"Missing required field {field}"
        actions = _as_list(statement.get("Action", statement.get("NotAction")))
        if any(not isinstance(a, str) or not a.lower().startswith(("s3:", "*")) for a in actions):
            return "Policy has invalid action"
        resources = _as_list(statement.get("Resource", statement.get("NotResource")))
        arn = f"arn:aws:s3:::{bucket}"
        if any(not isinstance(r, str) or r.split("/")[0] != arn for r in resources):
            return "Policy has invalid resource"
    return None


def _refuse_what_s3_refuses() -> None:
    """Check bucket names and policies in moto's S3 backend (API and CloudFormation alike)."""
    from moto.s3.exceptions import InvalidBucketName, S3ClientError
    from moto.s3.models import S3Backend

    if _patched:
        return
    create_bucket, put_bucket_policy = S3Backend.create_bucket, S3Backend.put_bucket_policy

    def checked_create_bucket(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        if bucket_name_problem(bucket_name):
            raise InvalidBucketName()
        return create_bucket(self, bucket_name, *args, **kwargs)

    def checked_put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> None:
        self.get_bucket(bucket_name)  # NoSuchBucket comes first
        problem = policy_problem(bucket_name, policy)
        if problem:
            raise S3ClientError("MalformedPolicy", problem)
        return put_bucket_policy(self, bucket_name, policy)

    _patched.update(create_bucket=create_bucket, put_bucket_policy=put_bucket_policy)
    S3Backend.create_bucket = checked_create_bucket  # type: ignore[method-assign]
    S3Backend.put_bucket_policy = checked_put_bucket_policy  # type: ignore[method-assign]


def _setup() -> None:
    after_import("moto.s3.models", _refuse_what_s3_refuses)  # not at start: S3 loads late


cfn_types.declare("AWS::S3::BucketPolicy", "", _stack_bucket_policy, _delete_stack_bucket_policy)

PROVIDER = Provider(name="s3", setup=_setup)
