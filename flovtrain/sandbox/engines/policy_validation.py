"""Policy documents as IAM checks them before storing: AWS's MalformedPolicyDocument and
LimitExceeded messages, and where each statement starts and ends (for the simulator)."""

from __future__ import annotations

import json
import re
from typing import Any

from flovtrain.sandbox.engines.policy_conditions import (
    OPERATORS,
    as_list,
    split_operator,
)


def _position(text: str, offset: int) -> dict[str, int]:
    return {
        "Line": text.count("\n", 0, offset) + 1,
        "Column": offset - (text.rfind("\n", 0, offset) + 1) + 1,
    }


def statement_positions(document: Any) -> list[tuple[dict[str, int], dict[str, int]]]:
    """Start and end (``Line``/``Column``, from 1) of each statement of a JSON policy text.

    Empty for a document given as a mapping or one whose ``Statement`` cannot be found.
    """
    if not isinstance(document, str):
        return []
    decoder = json.JSONDecoder()
    spans: list[tuple[dict[str, int], dict[str, int]]] = []
    try:
        at = document.index(":", document.index('"Statement"')) + 1
        while document[at].isspace():
            at += 1
        if document[at] == "{":
            end = decoder.raw_decode(document, at)[1]
            return [(_position(document, at), _position(document, end - 1))]
        at += 1
        while True:
            while document[at] in " \t\r\n,":
                at += 1
            if document[at] == "]":
                return spans
            end = decoder.raw_decode(document, at)[1]
            spans.append((_position(document, at), _position(document, end - 1)))
            at = end
    except (ValueError, IndexError):
        return []


# ---------------------------------------------------------------------------------------------
# which documents IAM accepts

_TOP = ("Version", "Id", "Statement")
_ELEMENTS = (
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
)
_MANAGED_POLICY_LIMIT = 6144
_TRUST_ACTIONS = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "sts:SetContext",
)


class PolicyDocumentError(ValueError):
    """A policy document IAM refuses: ``code`` is ``MalformedPolicyDocument`` or
    ``LimitExceeded`` and ``message`` IAM's own wording."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _malformed(message: str) -> PolicyDocumentError:
    return PolicyDocumentError("MalformedPolicyDocument", message)


def _strings(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


def _syntax_ok(doc: Any) -> bool:
    """The checks IAM answers with "Syntax errors in policy."."""
    if not isinstance(doc, dict) or any(k not in _TOP for k in doc):
        return False
    if doc.get("Version", "2012-10-17") not in ("2008-10-17", "2012-10-17"):
        return False
    statements = doc.get("Statement")
    if "Id" in doc and not isinstance(doc["Id"], str) or not statements:
        return False
    for stmt in as_list(statements) if isinstance(statements, list | dict) else [None]:
        if not isinstance(stmt, dict) or any(k not in _ELEMENTS for k in stmt):
            return False
        if any(
            a in stmt and b in stmt
            for a, b in (
                ("Action", "NotAction"),
                ("Resource", "NotResource"),
                ("Principal", "NotPrincipal"),
            )
        ):
            return False
        effect = stmt.get("Effect")
        if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
            return False
        if "Sid" in stmt and not isinstance(stmt["Sid"], str):
            return False
        if any(
            k in stmt and not _strings(stmt[k])
            for k in ("Action", "NotAction", "Resource", "NotResource")
        ):
            return False
        principal = stmt.get("Principal", stmt.get("NotPrincipal", "*"))
        if principal != "*" and not (
            isinstance(principal, dict) and all(_strings(v) for v in principal.values())
        ):
            return False
        condition = stmt.get("Condition", {})
        if not isinstance(condition, dict):
            return False
        for operator, keys in condition.items():
            if not isinstance(keys, dict) or any(
                not isinstance(v, str | bool | int | float | list) for v in keys.values()
            ):
                return False
            qualifier, base, _ = split_operator(operator)
            known = base in OPERATORS and qualifier in ("", "ForAllValues", "ForAnyValue")
            if keys and not known:
                return False
    return True


def _check_action(action: str) -> None:
    vendor, colon, rest = action.partition(":")
    if action != "*" and not colon:
        raise _malformed(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        )
    if ":" in rest:
        raise _malformed("Actions/Condition can contain only one colon.")
    if action != "*" and not re.fullmatch(r"[A-Za-z0-9\-.*]+", vendor):
        raise _malformed(f"Vendor {vendor} is not valid")


def validate_policy(
    document: str, *, kind: str = "identity", managed: bool = True
) -> dict[str, Any]:
    """Check a policy document as IAM does and return it parsed.

    Parameters
    ----------
    document : str
        The JSON text.
    kind : {"identity", "resource", "trust"}
        An identity policy (and permissions boundary or session policy), a resource-based
        policy, or a role trust policy.
    managed : bool
        Apply the managed-policy size quota (6,144 characters, whitespace not counted).

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    PolicyDocumentError
        ``MalformedPolicyDocument`` with IAM's message (``Syntax errors in policy.``, ``Policy
        document must be version 2012-10-17 or greater.``, ``Policy statement must contain
        actions.``, ``Policy statement must contain resources.``, …) or ``LimitExceeded``
        (``Cannot exceed quota for PolicySize: 6144``).

    Examples
    --------
    >>> validate_policy('{"Version": "2012-10-17", "Statement": []}')
    Traceback (most recent call last):
    ...
    flovtrain.sandbox.engines.policy_validation.PolicyDocumentError: MalformedPolicyDocument: \
Syntax errors in policy.
    """
    size = sum(1 for ch in document if not ch.isspace())
    if managed and kind == "identity" and size > _MANAGED_POLICY_LIMIT:
        raise PolicyDocumentError(
            "LimitExceeded", f"Cannot exceed quota for PolicySize: {_MANAGED_POLICY_LIMIT}"
        )
    try:
        doc = json.loads(document)
    except ValueError:
        raise _malformed("Syntax errors in policy.") from None
    if not isinstance(doc, dict) or not _syntax_ok(doc):
        raise _malformed("Syntax errors in policy.")
    if kind == "identity" and doc.get("Version") != "2012-10-17":
        raise _malformed("Policy document must be version 2012-10-17 or greater.")
    statements = as_list(doc["Statement"])
    if any(s["Effect"] not in ("Allow", "Deny") for s in statements):
        raise _malformed("The policy failed legacy parsing")
    sids = [s["Sid"] for s in statements if s.get("Sid")]
    if len(sids) != len(set(sids)):
        raise _malformed("Statement IDs (SID) in a single policy must be unique.")
    if any(not as_list(s.get("Action", s.get("NotAction"))) for s in statements):
        raise _malformed("Policy statement must contain actions.")
    for stmt in statements:
        for resource in as_list(stmt.get("Resource", stmt.get("NotResource"))):
            if resource != "*" and not resource.startswith("arn:"):
                raise _malformed(f'Resource {resource} must be in ARN format or "*".')
    for stmt in statements:
        for action in as_list(stmt.get("Action", stmt.get("NotAction"))):
            _check_action(action)
    has = {k: any(k in s or f"Not{k}" in s for s in statements) for k in ("Resource", "Principal")}
    if kind == "identity" and not all(
        as_list(s.get("Resource", s.get("NotResource"))) for s in statements
    ):
        raise _malformed("Policy statement must contain resources.")
    if kind == "identity" and has["Principal"]:
        raise _malformed("Policy document should not specify a principal.")
    if kind != "identity" and not all("Principal" in s or "NotPrincipal" in s for s in statements):
        raise _malformed(
            "Missing required field Principal"
            if kind == "resource"
            else "Invalid principal in policy: com.amazon.balsa.error."
            "InvalidPolicyException: The passed in policy has a statement with no "
            "principals!"
        )
    if kind == "trust" and has["Resource"]:
        raise _malformed("Has prohibited field Resource.")
    if kind == "trust" and any(
        a not in _TRUST_ACTIONS
        for s in statements
        for a in as_list(s.get("Action", s.get("NotAction")))
    ):
        raise _malformed(
            "Trust Policy statement actions can only be sts:AssumeRole, "
            "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"
        )
    return doc
