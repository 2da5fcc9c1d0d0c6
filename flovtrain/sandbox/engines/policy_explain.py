"""Denials in AWS's words, and what AWS does not say: what was evaluated, what matched or
missed and why, and the smallest change that would allow the request (each one re-evaluated)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flovtrain.sandbox.engines.policy import (
    _KIND_NAME,
    _WITH_ARTICLE,
    Decision,
    Policy,
    Request,
    evaluate,
)
from flovtrain.sandbox.engines.policy_conditions import (
    condition_keys,
)


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
