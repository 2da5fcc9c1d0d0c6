"""STS and the sandbox's per-request authorization (see :mod:`._authz`).

``AssumeRole`` is decided like any request, with the role's trust policy as the resource policy
that must allow it (principal, account, ``sts:ExternalId``, ``aws:MultiFactorAuthPresent``) and,
for a principal the trust policy names only through its account, the caller's own permission
to ``sts:AssumeRole``. A role that does not exist is ``AccessDenied`` with the same message, as
on AWS. The session remembers whether MFA was used and when it was issued (``aws:TokenIssueTime``).

One stand-in for AWS Organizations: a member account the sandbox has never seen has no roles, so
the first ``AssumeRole`` into its ``OrganizationAccountAccessRole`` from another account creates
that role as Organizations does when it creates a member account (trusting the caller's account,
with ``AdministratorAccess``). Chapter 07's PROD account works this way; any other missing role
is refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from moto.sts.responses import TokenResponse

from flovtrain.sandbox.providers import _authz
from flovtrain.sandbox.seam import AwsError, Call, Provider, after_import, authorize_requests

#: The role AWS Organizations creates in each member account it creates.
MEMBER_ROLE = "OrganizationAccountAccessRole"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


def ensure_member_role(role_arn: str, caller: _authz.Principal) -> None:
    """Create ``OrganizationAccountAccessRole`` in an account that has none (see module doc)."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[5] != f"role/{MEMBER_ROLE}" or parts[4] == caller.account:
        return
    backend = _authz._iam(parts[4])
    if any(r.name == MEMBER_ROLE for r in backend.roles.values()):
        return
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{caller.account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    backend.create_role(
        role_name=MEMBER_ROLE,
        assume_role_policy_document=json.dumps(trust),
        path="/",
        permissions_boundary=None,
        description="Created by AWS Organizations with the member account (sandbox stand-in)",
        tags=[],
        max_session_duration="3600",
    )
    backend.attach_role_policy(ADMIN_POLICY, MEMBER_ROLE)


def _check_duration(params: dict[str, Any]) -> None:
    """Refuse ``DurationSeconds`` above the role's ``MaxSessionDuration`` (moto grants any)."""
    parts = str(params.get("RoleArn", "")).split(":", 5)
    requested = params.get("DurationSeconds")
    if len(parts) != 6 or not parts[5].startswith("role/") or requested is None:
        return
    name = parts[5].rsplit("/", 1)[-1]
    role = next((r for r in _authz._iam(parts[4]).roles.values() if r.name == name), None)
    if role is not None and int(requested) > int(role.max_session_duration or 3600):
        message = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        raise AwsError("ValidationError", message)


def assume_role(call: Call) -> Any:
    """moto's AssumeRole (authorized before it runs) + the session's context keys."""
    _check_duration(call.params)
    result = call.moto()
    credentials = getattr(result, "result", {}).get("Credentials")
    key_id = getattr(credentials, "access_key_id", None)
    if key_id:
        params = call.params
        mfa = bool(params.get("SerialNumber") and params.get("TokenCode"))
        _authz.SESSIONS[key_id] = {
            "aws:MultiFactorAuthPresent": "true" if mfa else "false",
            "aws:TokenIssueTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    return result


def denials(request: Any) -> Any:
    """``GET /flovtrain-api/sts/denials[?request_id=…]``: the last denials (or the one answered
    with that request id), newest first, each explained."""
    from werkzeug.wrappers import Response

    from flovtrain.sandbox.engines.policy_explain import explain, smallest_change

    limit = int(request.args.get("limit", 20))
    if request.args.get("request_id"):
        found = _authz.find_denial(request_id=request.args["request_id"])
        records = [found] if found else []
    else:
        with _authz._denials_lock:
            records = list(_authz.DENIALS)[-limit:][::-1]
    body = [
        {
            **{k: v for k, v in entry.items() if k not in ("request", "decision")},
            "explanation": explain(entry["decision"]),
            "smallest_change": smallest_change(entry["decision"]),
        }
        for entry in records
    ]
    return Response(json.dumps(body, default=str), mimetype="application/json")


def _bucket_policies_are_ours() -> None:
    """moto answers an object request an explicit bucket-policy Deny with an empty 403 before
    any authorization; the sandbox's evaluator decides it instead (with AWS's message)."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    FakeBucket.get_permission = lambda self, action, resource: PermissionResult.NEUTRAL


def _setup() -> None:
    authorize_requests(_authz.check, _authz.set_request_id)
    after_import("moto.s3.models", _bucket_policies_are_ours)
    if ensure_member_role not in _authz.before_assume_role:
        _authz.before_assume_role.append(ensure_member_role)


def _reset() -> None:
    with _authz._denials_lock:
        _authz.DENIALS.clear()
    _authz.SESSIONS.clear()


PROVIDER = Provider(
    name="sts",
    response_class=TokenResponse,
    service="sts",
    operations={"AssumeRole": assume_role},
    routes={"denials": denials},
    setup=_setup,
    reset=_reset,
)
