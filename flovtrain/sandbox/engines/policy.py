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

:func:`denial_message` words a denial as AWS does, :func:`explain` says what was evaluated, what
matched or missed and the smallest change that would allow the request, and
:func:`validate_policy` refuses a malformed document with IAM's messages.
:mod:`~flovtrain.sandbox.engines.policy_simulator` answers in the shape of IAM's
``SimulatePrincipalPolicy``/``SimulateCustomPolicy`` results.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from flovtrain.sandbox.engines.policy_conditions import (
    Caller,
    Context,
    action_matches,
    arn_matches,
    as_list,
    condition_keys,
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
    "denial_message",
    "evaluate",
    "explain",
    "smallest_change",
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


def denial_message(request: Request, decision: Decision, *, with_policy_arn: bool = False) -> str:
    """The AccessDenied message AWS gives for a denied request (its 2021+ wording).

    Parameters
    ----------
    request : Request
        The request that was denied.
    decision : Decision
        Its decision from :func:`evaluate`; an allowed one raises ``ValueError``.
    with_policy_arn : bool
        Append the denying managed policy's ARN to a same-account explicit deny (AWS's 2025+
        form: ``…with an explicit deny in an identity-based policy: arn:…``).

    Returns
    -------
    str
        ``User: ARN is not authorized to perform: ACTION on resource: RESOURCE`` and ``with an
        explicit deny in a … policy`` or ``because no … policy allows the ACTION action``
        (``on resource: …`` left out for ``*``).

    Examples
    --------
    >>> req = Request("arn:aws:iam::123456789012:user/john", "s3:CreateBucket",
    ...               "arn:aws:s3:::x")
    >>> print(denial_message(req, evaluate(req, [])))
    User: arn:aws:iam::123456789012:user/john is not authorized to perform: s3:CreateBucket \
on resource: arn:aws:s3:::x because no identity-based policy allows the s3:CreateBucket action
    """
    if decision.allowed or decision.policy_type is None:
        raise ValueError("the request was allowed: there is no denial to word")
    on = f" on resource: {request.resource}" if request.resource not in ("", "*") else ""
    head = f"User: {request.principal_arn} is not authorized to perform: {request.action}{on}"
    kind = decision.policy_type
    if decision.effect == "implicitDeny":
        return f"{head} because no {_KIND_NAME[kind]} allows the {request.action} action"
    message = f"{head} with an explicit deny in {_WITH_ARTICLE[kind]}"
    arns = [r.policy.arn for r in decision.deciding if r.policy.kind == kind and r.policy.arn]
    if with_policy_arn and arns and kind != "resource" and request.same_account:
        message += f": {arns[0]}"
    return message


def _who(request: Request) -> str:
    caller = request.caller
    if caller.kind == "root":
        return f"the root of account {caller.account}"
    if caller.kind == "session" and caller.role_arn:
        return caller.role_arn.split(":", 5)[-1]
    return caller.arn.split(":", 5)[-1] if caller.arn.startswith("arn:") else caller.arn


def _resource_policy_name(request: Request) -> str:
    parts = request.resource.split(":", 5)
    service, name = (parts[2], parts[5]) if len(parts) == 6 else ("", request.resource)
    kind = {"s3": "bucket", "sns": "topic", "sqs": "queue", "kms": "key"}.get(service)
    if kind is None:
        return ""
    return f"{kind} policy of {name.split('/')[0] if service == 's3' else name.split('/')[-1]}"


def _grantee(request: Request) -> tuple[str, Any]:
    caller = request.caller
    if caller.kind == "service":
        return caller.arn, {"Service": caller.arn}
    if caller.kind == "anonymous":
        return 'everyone ("*")', "*"
    arn = caller.role_arn if caller.kind == "session" and caller.role_arn else caller.arn
    return arn, {"AWS": arn}


def _with_statement(policy: Policy, statement: dict[str, Any]) -> Policy:
    doc = dict(policy.parsed) or {"Version": "2012-10-17"}
    doc["Statement"] = [*policy.statements, statement]
    return replace(policy, document=doc)


def _next_step(decision: Decision) -> tuple[str, list[Policy]] | None:
    """One change towards allowing the request and the policies after it."""
    request, policies = decision.request, list(decision.policies)
    what = f"{request.action} on {request.resource}"
    grant = {"Effect": "Allow", "Action": request.action, "Resource": request.resource}
    if decision.effect == "explicitDeny":
        drop = {(id(r.policy), r.index) for r in decision.deciding}
        names = " and ".join(f"the Deny {r.describe()}" for r in decision.deciding)
        keys = sorted(
            {
                k
                for r in decision.deciding
                for k in condition_keys(r.policy.statements[r.index].get("Condition"))
            }
        )
        names += f" (its Condition on {', '.join(keys)} holds for this request)" if keys else ""
        changed = []
        for p in policies:
            kept = [s for i, s in enumerate(p.statements) if (id(p), i) not in drop]
            changed.append(
                p
                if len(kept) == len(p.statements)
                else replace(p, document={**p.parsed, "Statement": kept})
            )
        return f"remove {names}, or narrow it so it no longer matches {what}", changed
    kind = decision.policy_type
    if kind == "identity":
        where = "" if request.same_account else f" in account {request.account}"
        text = f"add {what} to an identity policy of {_who(request)}{where}"
        return text, [
            *policies,
            Policy("suggested grant", {"Version": "2012-10-17", "Statement": [grant]}),
        ]
    if kind in ("boundary", "session"):
        target = next(p for p in policies if p.kind == kind)
        text = (
            f"add {what} to the permissions boundary '{target.name}' of {_who(request)}"
            if kind == "boundary"
            else f"add {what} to the session policy '{target.name}' (or start the session "
            "without a session policy)"
        )
        return text, [_with_statement(p, grant) if p is target else p for p in policies]
    if kind == "resource":
        shown, principal = _grantee(request)
        existing = next((p for p in policies if p.kind == "resource"), None)
        name = _resource_policy_name(request) or (existing.name if existing else "")
        text = (
            f"add a statement to the {name or 'resource policy'} allowing {shown} to perform {what}"
        )
        statement = {**grant, "Principal": principal}
        if existing is None:
            return text, [
                *policies,
                Policy(
                    name or "resource policy",
                    {"Version": "2012-10-17", "Statement": [statement]},
                    "resource",
                ),
            ]
        return text, [_with_statement(p, statement) if p is existing else p for p in policies]
    return None


def smallest_change(decision: Decision) -> list[str]:
    """The changes, in order, after which the same request is allowed (each one re-evaluated).

    Examples
    --------
    >>> req = Request("arn:aws:iam::123456789012:user/john", "sns:Publish", "*")
    >>> smallest_change(evaluate(req, []))
    ['add sns:Publish on * to an identity policy of user/john']
    """
    steps: list[str] = []
    while not decision.allowed and len(steps) < 5:
        step = _next_step(decision)
        if step is None:
            break
        steps.append(step[0])
        decision = evaluate(decision.request, step[1])
    if not decision.allowed:
        steps.append("no change found that allows it: check the policies by hand")
    return steps


def _near_misses(decision: Decision) -> list[str]:
    """Allow statements of the kind that was missing that came closest (failed late)."""
    if decision.effect != "implicitDeny":
        return []
    found = []
    for r in decision.statements:
        if (
            r.effect == "Allow"
            and r.policy.kind == decision.policy_type
            and r.miss in ("condition", "principal", "resource")
        ):
            found.append(f"or make {r.describe()} match: {r.detail}")
    return found


def explain(decision: Decision) -> str:
    """A plain-text account of a decision: policies, statements, missing keys, the fix.

    Parameters
    ----------
    decision : Decision
        A decision from :func:`evaluate`.

    Returns
    -------
    str
        The request, the decision and AWS's message, the deciding statements, each statement of
        each policy matched or missed (on which element, condition key and operator), missing
        context values and for a denial the smallest change to allow it (checked by evaluating).

    Examples
    --------
    >>> req = Request("arn:aws:iam::123456789012:user/john", "s3:CreateBucket",
    ...               "arn:aws:s3:::x")
    >>> print(explain(evaluate(req, [])).splitlines()[-1])
    - add s3:CreateBucket on arn:aws:s3:::x to an identity policy of user/john
    """
    request = decision.request
    scope = (
        "service principal"
        if request.caller.kind == "service"
        else "same account"
        if request.same_account
        else "cross-account"
    )
    lines = [
        f"Request: {request.principal_arn} -> {request.action} on {request.resource} "
        f"(resource account {request.owner or '?'}, {scope})",
        f"Decision: {decision.effect}",
    ]
    if not decision.allowed:
        lines.append(f"AWS says: {denial_message(request, decision)}")
    if decision.note:
        lines.append(f"Why: {decision.note}")
    verb = {"allowed": "Allowed by", "explicitDeny": "Denied by"}.get(decision.effect)
    for r in decision.deciding if verb else ():
        lines.append(f"{verb} {r.describe()}")
    lines.append("Policies evaluated:" if decision.statements else "Policies evaluated: none")
    for policy in dict.fromkeys(r.policy for r in decision.statements):
        lines.append(f"  {policy.label}:")
        for r in (r for r in decision.statements if r.policy is policy):
            state = (
                f"missed on {r.miss}: {r.detail}"
                if not r.matched
                else (f"matched ({r.detail})" if r.detail else "matched")
            )
            lines.append(f"    {r.label} ({r.effect}): {state}")
    for policy, why in decision.skipped:
        lines.append(f"Not evaluated: {policy.label}: {why}")
    if decision.missing_context:
        lines.append(f"Missing context values: {', '.join(decision.missing_context)}")
    if not decision.allowed:
        lines.append("Smallest change that would allow it:")
        lines += [f"- {step}" for step in smallest_change(decision)]
        lines += [f"  {hint}" for hint in _near_misses(decision)]
    return "\n".join(lines)
