"""IAM's policy simulator on the same evaluator: ``SimulatePrincipalPolicy`` and
``SimulateCustomPolicy`` result entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flovtrain.sandbox.engines.policy import (
    Policy,
    Request,
    StatementResult,
    evaluate,
)
from flovtrain.sandbox.engines.policy_conditions import (
    context_from_entries,
)
from flovtrain.sandbox.engines.policy_validation import (
    statement_positions,
)


def _source_type(policy: Policy) -> str:
    if policy.source_type:
        return policy.source_type
    if policy.kind == "resource":
        return "resource"
    if policy.arn:
        return "aws-managed" if ":aws:policy/" in policy.arn else "user-managed"
    head = policy.attached_to.split("/", 1)[0]
    return head if head in ("user", "group", "role") else "none"


def _matched_statement(r: StatementResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "SourcePolicyId": r.policy.name,
        "SourcePolicyType": _source_type(r.policy),
    }
    spans = statement_positions(r.policy.document)
    if r.index < len(spans):
        entry["StartPosition"], entry["EndPosition"] = spans[r.index]
    return entry


def simulate(
    policies: Sequence[Policy | str],
    actions: Iterable[str],
    resources: Iterable[str] = ("*",),
    *,
    caller_arn: str | None = None,
    context: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
    resource_policy: Policy | str | None = None,
    resource_owner: str | None = None,
    permissions_boundaries: Sequence[Policy | str] = (),
) -> list[dict[str, Any]]:
    """IAM policy simulator results (``EvaluationResults`` entries) from the same evaluator.

    Parameters
    ----------
    policies : sequence of Policy or str
        The principal's policies, or ``PolicyInputList`` texts (named ``PolicyInputList.N``).
    actions, resources : iterable of str
        Every action is simulated on every resource.
    caller_arn : str, optional
        ``PolicySourceArn``/``CallerArn``; a placeholder user of the owner's account if not given.
    context : mapping or iterable of ContextEntries, optional
        Request context keys, or IAM's ``ContextEntries`` list as is.
    resource_policy, resource_owner, permissions_boundaries
        ``ResourcePolicy``, ``ResourceOwner``, ``PermissionsBoundaryPolicyInputList``.

    Returns
    -------
    list of dict
        ``EvalActionName``, ``EvalResourceName``, ``EvalDecision``, ``MatchedStatements``
        (``SourcePolicyId``, ``SourcePolicyType``, ``StartPosition``/``EndPosition`` for a JSON
        text), ``MissingContextValues``; ``PermissionsBoundaryDecisionDetail`` with a boundary.

    Examples
    --------
    >>> doc = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", ' \\
    ...       '"Action": "s3:Get*", "Resource": "*"}}'
    >>> [r["EvalDecision"] for r in simulate([doc], ["s3:GetObject", "s3:PutObject"])]
    ['allowed', 'implicitDeny']
    """
    resources = list(resources)
    owner = (
        (resource_owner or "").split(":")[4]
        if ":" in (resource_owner or "")
        else (resource_owner or None)
    )
    caller = caller_arn or f"arn:aws:iam::{owner or '000000000000'}:user/simulated-caller"
    listed = [
        p if isinstance(p, Policy) else Policy(f"PolicyInputList.{i}", p)
        for i, p in enumerate(policies, 1)
    ]
    listed += [
        Policy(p.name, p.document, "boundary", p.arn, p.attached_to, p.source_type)
        if isinstance(p, Policy)
        else Policy(f"PermissionsBoundaryPolicyInputList.{i}", p, "boundary")
        for i, p in enumerate(permissions_boundaries, 1)
    ]
    if resource_policy is not None:
        listed.append(
            resource_policy
            if isinstance(resource_policy, Policy)
            else Policy("ResourcePolicy", resource_policy, "resource")
        )
    values = dict(context) if isinstance(context, Mapping) else context_from_entries(context or [])
    results = []
    for action in actions:
        for resource in resources:
            request = Request(caller, action, resource, values, resource_account=owner)
            decision = evaluate(request, listed)
            shown = decision.deciding if decision.effect != "implicitDeny" else ()
            entry: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": decision.effect,
                "MatchedStatements": [_matched_statement(r) for r in shown],
                "MissingContextValues": list(decision.missing_context),
            }
            if any(p.kind == "boundary" for p in listed):
                boundary = [r for r in decision.statements if r.policy.kind == "boundary"]
                entry["PermissionsBoundaryDecisionDetail"] = {
                    "AllowedByPermissionsBoundary": (
                        any(r.matched and r.effect == "Allow" for r in boundary)
                        and not any(r.matched and r.effect == "Deny" for r in boundary)
                    )
                }
            results.append(entry)
    return results
