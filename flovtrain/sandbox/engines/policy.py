"""AWS's policy evaluation logic for one request, with AWS's denial wording and an explanation.

A pure engine (no server, no moto, no I/O): a :class:`Request` and the policies that apply, each
a :class:`Policy` of one kind: ``identity`` (inline, managed, group), ``boundary`` (permissions
boundary), ``session`` (passed to ``AssumeRole``) or ``resource`` (bucket, topic, queue, key).

:func:`evaluate` decides as the IAM User Guide's "Policy evaluation logic" does: an explicit
``Deny`` anywhere wins; the account root is subject to resource policies only; within one account
an identity-based *or* a resource-based ``Allow`` suffices, and the permissions boundary and the
session policy limit the identity-based grants (and a resource policy's grant to the role ARN, but
not one to the user or the session itself); across accounts the caller's identity-based policies
*and* the resource policy must both allow. For a KMS key (``resource_policy_required``) the key
policy must allow, directly or by delegating to the account.

:mod:`~flovtrain.sandbox.engines.policy_explain` words a denial as AWS does and says what was
evaluated, what matched or missed and the smallest change that would allow the request;
:func:`validate_policy` refuses a malformed document with IAM's messages.
:mod:`~flovtrain.sandbox.engines.policy_simulator` answers in the shape of IAM's
``SimulatePrincipalPolicy``/``SimulateCustomPolicy`` results.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from flovtrain.sandbox.engines.policy_conditions import (
    Caller,
    Context,
    action_matches,
    arn_matches,
    as_list,
    context_from_entries,
    evaluate_conditions,
    expand,
    not_principal_excludes,
    principal_match,
)
from flovtrain.sandbox.engines.policy_validation import (
    PolicyDocumentError,
    validate_policy,
)

__all__ = [
    "Decision",
    "EvalDecision",
    "Policy",
    "PolicyDocumentError",
    "PolicyKind",
    "Request",
    "StatementResult",
    "context_from_entries",
    "evaluate",
    "validate_policy",
]

EvalDecision = Literal["allowed", "explicitDeny", "implicitDeny"]
PolicyKind = Literal["identity", "boundary", "session", "resource"]

_DENY_ORDER: tuple[PolicyKind, ...] = ("identity", "resource", "boundary", "session")
_KIND_NAME = {
    "identity": "identity-based policy",
    "resource": "resource-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
}
_WITH_ARTICLE = {
    "identity": "an identity-based policy",
    "resource": "a resource-based policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
}
_DIRECT = ("root", "user", "session", "service", "*")


@dataclass(frozen=True, eq=False)
class Policy:
    """One policy document and where it comes from (for explanations and the simulator).

    ``name`` is the policy's name (``SourcePolicyId`` in the simulator), ``arn`` a managed
    policy's ARN, ``attached_to`` what it is attached to (``user/john``, ``group/admins``, or for
    a resource policy the resource's name) and ``source_type`` the simulator's
    ``SourcePolicyType`` when it should not be guessed.
    """

    name: str
    document: str | Mapping[str, Any]
    kind: PolicyKind = "identity"
    arn: str | None = None
    attached_to: str = ""
    source_type: str | None = None

    @cached_property
    def parsed(self) -> dict[str, Any]:
        """The document as a mapping (an unreadable one as an empty policy)."""
        if isinstance(self.document, Mapping):
            return dict(self.document)
        try:
            found = json.loads(self.document)
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    @property
    def statements(self) -> list[Any]:
        return as_list(self.parsed.get("Statement"))

    @property
    def label(self) -> str:
        where = f" (attached to {self.attached_to})" if self.attached_to else ""
        return f"{_KIND_NAME[self.kind]} '{self.name}'{where}"


@dataclass(frozen=True)
class Request:
    """One request: who asks, for which action on which resource, with which context keys.

    The principal's account comes from its ARN unless given; the resource's owner from the
    resource ARN when it names an account (S3 ARNs do not: pass ``resource_account``), else the
    principal's account. An assumed-role session's role ARN is derived from the session ARN
    unless ``role_arn`` gives it (with its path).
    """

    principal_arn: str
    action: str
    resource: str = "*"
    context: Mapping[str, Any] = field(default_factory=dict)
    principal_account: str | None = None
    resource_account: str | None = None
    is_root: bool | None = None
    role_arn: str | None = None
    resource_policy_required: bool = False

    @property
    def account(self) -> str:
        if self.principal_account:
            return self.principal_account
        parts = self.principal_arn.split(":")
        return parts[4] if len(parts) > 5 else ""

    @property
    def owner(self) -> str:
        if self.resource_account:
            return self.resource_account
        parts = self.resource.split(":")
        return parts[4] if len(parts) > 5 and parts[4] else self.account

    @property
    def caller(self) -> Caller:
        arn, account = self.principal_arn, self.account
        tail = arn.split(":", 5)[-1]
        if self.is_root or (self.is_root is None and tail == "root" and ":iam::" in arn):
            return Caller(arn, account, "root")
        if tail.startswith("assumed-role/"):
            role = self.role_arn or f"arn:aws:iam::{account}:role/{tail.split('/')[1]}"
            return Caller(arn, account, "session", role)
        if arn.endswith(".amazonaws.com"):
            return Caller(arn, "", "service")
        if arn in ("", "*", "anonymous"):
            return Caller(arn or "anonymous", "", "anonymous")
        return Caller(arn, account, "user")

    @property
    def same_account(self) -> bool:
        return self.caller.kind != "service" and self.account == self.owner


@dataclass(frozen=True)
class StatementResult:
    """One statement checked against the request: matched, or which element missed and why."""

    policy: Policy
    index: int
    sid: str | None
    effect: str
    matched: bool
    miss: Literal["action", "resource", "principal", "condition"] | None = None
    detail: str = ""
    principal: str | None = None
    condition_key: str = ""
    condition_operator: str = ""
    missing: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"statement '{self.sid}'" if self.sid else f"statement #{self.index + 1}"

    def describe(self) -> str:
        return f"{self.label} of {self.policy.label}"


@dataclass(frozen=True)
class Decision:
    """The evaluation's outcome, what decided it and everything checked on the way."""

    request: Request
    effect: EvalDecision
    policy_type: PolicyKind | None
    deciding: tuple[StatementResult, ...]
    statements: tuple[StatementResult, ...]
    policies: tuple[Policy, ...]
    missing_context: tuple[str, ...]
    skipped: tuple[tuple[Policy, str], ...] = ()
    note: str = ""

    @property
    def allowed(self) -> bool:
        return self.effect == "allowed"


def _context(request: Request, caller: Caller) -> Context:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": int(now.timestamp()),
    }
    if caller.kind in ("root", "user", "session"):
        base["aws:PrincipalArn"] = caller.role_arn if caller.kind == "session" else caller.arn
        base["aws:PrincipalAccount"] = caller.account
        base["aws:PrincipalType"] = {"root": "Account", "user": "User", "session": "AssumedRole"}[
            caller.kind
        ]
        if caller.kind == "user":
            base["aws:username"] = caller.arn.rsplit("/", 1)[-1]
    if request.owner:
        base["aws:ResourceAccount"] = request.owner
    return Context({**base, **dict(request.context)})


def _check(
    policy: Policy,
    index: int,
    stmt: Mapping[str, Any],
    request: Request,
    caller: Caller,
    ctx: Context,
) -> StatementResult:
    variables = policy.parsed.get("Version") == "2012-10-17"
    sid = stmt.get("Sid") if isinstance(stmt.get("Sid"), str) else None
    missing: list[str] = []

    def result(matched: bool, miss: Any = None, detail: str = "", **more: Any) -> StatementResult:
        return StatementResult(
            policy,
            index,
            sid,
            str(stmt.get("Effect", "")),
            matched,
            miss,
            detail,
            missing=tuple(dict.fromkeys(missing)),
            **more,
        )

    key = "Action" if "Action" in stmt else "NotAction"
    actions = [str(a) for a in as_list(stmt.get(key))]
    hit = any(action_matches(a, request.action) for a in actions)
    if key == "Action" and not hit:
        return result(False, "action", f"{request.action} is not among Action {actions}")
    if key == "NotAction" and (hit or not actions):
        return result(False, "action", f"{request.action} is excluded by NotAction {actions}")
    key = "Resource" if "Resource" in stmt else "NotResource"
    if key in stmt:
        patterns = [str(p) for p in as_list(stmt[key])]
        expanded = [expand(p, ctx, missing, enabled=variables) for p in patterns]
        hit = any(e is not None and arn_matches(e, request.resource) for e in expanded)
        unresolved = f" (no value for {', '.join(missing)})" if missing else ""
        if key == "Resource" and not hit:
            return result(
                False,
                "resource",
                f"{request.resource} is not among Resource {patterns}{unresolved}",
            )
        if key == "NotResource" and hit:
            return result(
                False, "resource", f"{request.resource} is excluded by NotResource {patterns}"
            )
    elif policy.kind != "resource":
        return result(False, "resource", "the statement has no Resource")
    how, note = None, ""
    if policy.kind == "resource":
        if "Principal" in stmt:
            how = principal_match(stmt["Principal"], caller)
            if how is None:
                return result(
                    False,
                    "principal",
                    f"Principal {json.dumps(stmt['Principal'])} does not name {caller.arn}",
                )
        elif "NotPrincipal" in stmt:
            if not_principal_excludes(stmt["NotPrincipal"], caller):
                return result(
                    False,
                    "principal",
                    f"NotPrincipal {json.dumps(stmt['NotPrincipal'])} excludes {caller.arn}",
                )
            how = "*"
            listed = json.dumps(stmt["NotPrincipal"])
            if caller.arn in listed or (caller.role_arn and caller.role_arn in listed):
                note = (
                    "NotPrincipal names the caller but not every principal it stands for "
                    "(its account, and for a session the role and the session)"
                )
        else:
            return result(False, "principal", "the statement names no Principal")
    cond = evaluate_conditions(stmt.get("Condition"), ctx, variables=variables)
    missing.extend(cond.missing)
    if not cond.ok:
        return result(
            False,
            "condition",
            cond.detail,
            condition_key=cond.key,
            condition_operator=cond.operator,
        )
    return result(True, detail=note, principal=how)


def evaluate(request: Request, policies: Iterable[Policy]) -> Decision:
    """Decide one request with AWS's policy evaluation logic.

    Parameters
    ----------
    request : Request
        Principal, action, resource, accounts and request context.
    policies : iterable of Policy
        Every policy that applies: identity (inline, managed, group), at most one permissions
        boundary, session policies, and the resource's policy.

    Returns
    -------
    Decision
        ``effect`` is ``allowed``, ``explicitDeny`` or ``implicitDeny`` (the simulator's words);
        ``policy_type`` names the kind of policy that denied; ``deciding`` the statements that
        decided; ``statements`` every statement checked, each with why it missed.

    Examples
    --------
    >>> admin = Policy("Admin", {"Version": "2012-10-17",
    ...     "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    >>> req = Request("arn:aws:iam::123456789012:user/john", "s3:CreateBucket",
    ...               "arn:aws:s3:::x")
    >>> evaluate(req, [admin]).effect
    'allowed'
    >>> evaluate(req, []).effect
    'implicitDeny'
    """
    policies = tuple(policies)
    caller = request.caller
    ctx = _context(request, caller)
    used = [p for p in policies if p.kind == "resource" or caller.kind in ("user", "session")]
    why = (
        "the account root is not subject to identity-based policies"
        if caller.kind == "root"
        else f"it does not apply to a {caller.kind} principal"
    )
    results = tuple(
        _check(p, i, s, request, caller, ctx)
        for p in used
        for i, s in enumerate(p.statements)
        if isinstance(s, Mapping)
    )
    effect, kind, deciding, note = _decide(request, caller, used, results)
    return Decision(
        request,
        effect,
        kind,
        tuple(deciding),
        results,
        policies,
        tuple(dict.fromkeys(k for r in results for k in r.missing)),
        tuple((p, why) for p in policies if p not in used),
        note,
    )


def _decide(
    request: Request, caller: Caller, used: list[Policy], results: tuple[StatementResult, ...]
) -> tuple[Any, Any, list[StatementResult], str]:
    denies = [r for r in results if r.matched and r.effect == "Deny"]
    if denies:
        return (
            "explicitDeny",
            next(k for k in _DENY_ORDER if any(r.policy.kind == k for r in denies)),
            denies,
            "",
        )
    allow = {
        k: [r for r in results if r.matched and r.effect == "Allow" and r.policy.kind == k]
        for k in _DENY_ORDER
    }
    res = allow["resource"]
    if caller.kind not in ("user", "session"):
        if caller.kind == "root" and request.same_account and not request.resource_policy_required:
            return (
                "allowed",
                None,
                [],
                "the account root is allowed unless a resource policy denies",
            )
        return ("allowed", None, res, "") if res else ("implicitDeny", "resource", [], "")
    has = {k: any(p.kind == k for p in used) for k in _DENY_ORDER}
    limits = [r for k in ("boundary", "session") for r in allow[k]]
    bounded = all(allow[k] or not has[k] for k in ("boundary", "session"))
    limiting = "boundary" if has["boundary"] and not allow["boundary"] else "session"
    if request.same_account:
        grants = allow["identity"] + [r for r in res if r.principal == "role"]
        if request.resource_policy_required:
            delegated = any(r.principal == "account" for r in res)
            grants = [r for r in res if r.principal == "role"] + (
                allow["identity"] if delegated else []
            )
        direct = [r for r in res if r.principal in _DIRECT]
        if direct or (grants and bounded):
            return "allowed", None, direct or grants + limits, ""
        if request.resource_policy_required and not res:
            return "implicitDeny", "resource", [], ""
        return "implicitDeny", limiting if grants else "identity", [], ""
    if allow["identity"] and bounded and res:
        return "allowed", None, allow["identity"] + limits + res, ""
    missing = (
        "resource"
        if allow["identity"] and bounded
        else (limiting if allow["identity"] else "identity")
    )
    return "implicitDeny", missing, [], ""
