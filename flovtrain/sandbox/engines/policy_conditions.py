"""The policy language under :mod:`.policy`: how a statement's elements match a request
(wildcards, ARNs, policy variables, principals, condition operators) and which documents IAM
accepts (:func:`validate_policy`), as the IAM User Guide and IAM's own answers describe them.

Pure functions: nothing here does I/O or keeps state beyond a cache of compiled wildcards.

Rules implemented (IAM User Guide, "IAM JSON policy elements"):

- ``*`` matches any run of characters and ``?`` exactly one; actions match case-insensitively,
  resources and ARNs case-sensitively, each of an ARN's six ``:``-separated parts on its own.
- ``${key}`` and ``${key, 'default'}`` are replaced by the request context's value (Version
  2012-10-17 only); ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters. A variable
  with no value and no default makes that pattern match nothing.
- Several operators in a ``Condition`` and several keys under one operator must all hold; several
  values for one key are alternatives. A key absent from the request makes a condition false,
  except for ``...IfExists``, ``Null``, ``ForAllValues:`` (true for an absent key) and the negated
  operators (``StringNotEquals``, ``NotIpAddress``…), which hold when the key is absent.
"""

from __future__ import annotations

import ipaddress
import operator as op
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

_LITERAL_STAR, _LITERAL_QMARK = "\ue000", "\ue001"  # literal * and ? after variable expansion
_VARIABLE = re.compile(r"\$\{([^}]*)\}")

# operator -> (family, comparison, negated)
OPERATORS: dict[str, tuple[str, str, bool]] = {
    "StringEquals": ("string", "eq", False),
    "StringNotEquals": ("string", "eq", True),
    "StringEqualsIgnoreCase": ("string", "ieq", False),
    "StringNotEqualsIgnoreCase": ("string", "ieq", True),
    "StringLike": ("string", "like", False),
    "StringNotLike": ("string", "like", True),
    "NumericEquals": ("numeric", "eq", False),
    "NumericNotEquals": ("numeric", "eq", True),
    "NumericLessThan": ("numeric", "lt", False),
    "NumericLessThanEquals": ("numeric", "le", False),
    "NumericGreaterThan": ("numeric", "gt", False),
    "NumericGreaterThanEquals": ("numeric", "ge", False),
    "DateEquals": ("date", "eq", False),
    "DateNotEquals": ("date", "eq", True),
    "DateLessThan": ("date", "lt", False),
    "DateLessThanEquals": ("date", "le", False),
    "DateGreaterThan": ("date", "gt", False),
    "DateGreaterThanEquals": ("date", "ge", False),
    "Bool": ("bool", "eq", False),
    "BinaryEquals": ("binary", "eq", False),
    "IpAddress": ("ip", "in", False),
    "NotIpAddress": ("ip", "in", True),
    "ArnEquals": ("arn", "like", False),
    "ArnLike": ("arn", "like", False),
    "ArnNotEquals": ("arn", "like", True),
    "ArnNotLike": ("arn", "like", True),
    "Null": ("null", "null", False),
}
_COMPARE = {"eq": op.eq, "lt": op.lt, "le": op.le, "gt": op.gt, "ge": op.ge}
_WILDCARDS = {"*": ".*", "?": ".", _LITERAL_STAR: re.escape("*"), _LITERAL_QMARK: re.escape("?")}


def as_list(value: Any) -> list[Any]:
    """A policy element's value as a list (a lone string or mapping becomes a one-item list)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class Context:
    """The request context: condition keys (matched case-insensitively) to one or more values."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in (values or {}).items():
            if value is not None:
                self._values[key.lower()] = [_text(v) for v in as_list(value)]

    def get(self, key: str) -> list[str] | None:
        """The key's values as text, ``None`` when the request does not carry the key."""
        return self._values.get(key.lower())

    def single(self, key: str) -> str | None:
        """The key's value when it has exactly one (policy variables need a single value)."""
        values = self.get(key)
        return values[0] if values and len(values) == 1 else None


def context_from_entries(entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """IAM's ``ContextEntries`` (``ContextKeyName``/``Values``/``Type``) as a context mapping.

    Examples
    --------
    >>> context_from_entries([{"ContextKeyName": "aws:MultiFactorAuthPresent",
    ...                        "ContextKeyValues": ["true"], "ContextKeyType": "boolean"}])
    {'aws:MultiFactorAuthPresent': 'true'}
    """
    found: dict[str, Any] = {}
    for entry in entries:
        values = [str(v) for v in entry.get("ContextKeyValues", [])]
        kind = str(entry.get("ContextKeyType", "string"))
        found[str(entry["ContextKeyName"])] = (
            values if kind.endswith("List") else (values[0] if values else None)
        )
    return found


@lru_cache(maxsize=4096)
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(_WILDCARDS.get(ch) or re.escape(ch) for ch in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """``*`` and ``?`` wildcard match of the whole ``value``."""
    return _regex(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """An ``Action`` entry against ``service:Operation``: wildcards, case-insensitive."""
    return wildcard_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """An ARN pattern (``Resource``, ``ArnLike``) against an ARN, part by part, case-sensitive.

    Examples
    --------
    >>> arn_matches("arn:aws:s3:::reports/*", "arn:aws:s3:::reports/2024/q1.csv")
    True
    >>> arn_matches("arn:aws:sns:*:111111111111:x", "arn:aws:sns:eu-west-1:222222222222:x")
    False
    """
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) == 6 and len(given) == 6:
        return all(wildcard_match(w, g) for w, g in zip(wanted, given, strict=True))
    return wildcard_match(pattern, arn)


def expand(
    pattern: str, context: Context, missing: list[str], *, enabled: bool = True
) -> str | None:
    """``pattern`` with its policy variables replaced; ``None`` when one has no value.

    Replaced values and the ``${*}``/``${?}`` escapes stay literal in a later wildcard match; the
    name of each variable without a value is appended to ``missing``.

    Examples
    --------
    >>> expand("arn:aws:s3:::home/${aws:username}/*", Context({"aws:username": "john"}), [])
    'arn:aws:s3:::home/john/*'
    >>> missing = []
    >>> expand("team-${aws:PrincipalTag/team}", Context(), missing), missing
    (None, ['aws:PrincipalTag/team'])
    """
    if not enabled or "${" not in pattern:
        return pattern
    unresolved = False

    def replace(found: re.Match[str]) -> str:
        nonlocal unresolved
        inner = found.group(1).strip()
        if inner in ("*", "?", "$"):
            return {"*": _LITERAL_STAR, "?": _LITERAL_QMARK, "$": "$"}[inner]
        key, _, default = inner.partition(",")
        value = context.single(key.strip())
        if value is None and default.strip():
            value = default.strip().strip("'\"")
        if value is None:
            unresolved = True
            missing.append(key.strip())
            return ""
        return value.replace("*", _LITERAL_STAR).replace("?", _LITERAL_QMARK)

    result = _VARIABLE.sub(replace, pattern)
    return None if unresolved else result


def literal(expanded: str) -> str:
    """An expanded pattern read as plain text (the escapes back to ``*`` and ``?``)."""
    return expanded.replace(_LITERAL_STAR, "*").replace(_LITERAL_QMARK, "?")


# ---------------------------------------------------------------------------------------------
# principals


@dataclass(frozen=True)
class Caller:
    """Who makes the request, as a resource policy's ``Principal`` sees it.

    ``kind`` is ``root``, ``user``, ``session`` (an assumed role), ``service`` or ``anonymous``;
    ``role_arn`` is the role behind a session.
    """

    arn: str
    account: str
    kind: str
    role_arn: str | None = None

    def identities(self) -> list[str]:
        """The principals the request stands for: the account, the role, the session or user."""
        if self.kind in ("service", "anonymous"):
            return [self.arn]
        found = [f"arn:aws:iam::{self.account}:root"]
        if self.kind == "session" and self.role_arn:
            found.append(self.role_arn)
        if self.kind != "root":
            found.append(self.arn)
        return found


_MATCH_RANK = {"root": 0, "user": 0, "session": 0, "service": 0, "*": 1, "role": 2, "account": 3}


def _principal_entries(element: Any) -> list[tuple[str, str]]:
    if element == "*":
        return [("AWS", "*")]
    if isinstance(element, Mapping):
        return [(str(kind), str(v)) for kind, values in element.items() for v in as_list(values)]
    return [("AWS", str(v)) for v in as_list(element)]


def _entry_matches(kind: str, entry: str, identity: str, caller: Caller) -> bool:
    if entry == "*":
        return True
    if kind == "Service":
        return caller.kind == "service" and entry == identity
    if kind != "AWS":
        return False  # Federated, CanonicalUser: not evaluated
    if re.fullmatch(r"\d{12}", entry):
        entry = f"arn:aws:iam::{entry}:root"
    return entry == identity


def principal_match(element: Any, caller: Caller) -> str | None:
    """How a ``Principal`` element names the caller, the most specific way, or ``None``.

    ``root``/``user``/``session``/``service`` name the caller itself, ``*`` everyone, ``role`` the
    role behind a session, ``account`` the caller's account (a delegation to its IAM policies).

    Examples
    --------
    >>> me = Caller("arn:aws:sts::111111111111:assumed-role/ci/run-1", "111111111111",
    ...             "session", "arn:aws:iam::111111111111:role/ci")
    >>> principal_match({"AWS": ["111111111111", "arn:aws:iam::111111111111:role/ci"]}, me)
    'role'
    """
    best: str | None = None
    for kind, entry in _principal_entries(element):
        for identity in caller.identities():
            if not _entry_matches(kind, entry, identity, caller):
                continue
            if entry == "*":
                how = "*"
            elif identity == caller.arn:
                how = caller.kind
            elif identity == caller.role_arn:
                how = "role"
            else:
                how = "account"
            if best is None or _MATCH_RANK[how] < _MATCH_RANK[best]:
                best = how
    return best


def not_principal_excludes(element: Any, caller: Caller) -> bool:
    """Whether ``NotPrincipal`` leaves the caller out: every identity of it must be listed.

    As the IAM User Guide warns, naming a user alone does not exclude it: its account must be
    listed too (and the role and session for an assumed role).
    """
    entries = _principal_entries(element)
    return all(
        any(_entry_matches(kind, entry, identity, caller) for kind, entry in entries)
        for identity in caller.identities()
    )


# ---------------------------------------------------------------------------------------------
# conditions


@dataclass(frozen=True)
class ConditionResult:
    """The outcome of a statement's ``Condition`` block."""

    ok: bool
    operator: str = ""
    key: str = ""
    detail: str = ""
    missing: tuple[str, ...] = ()


def split_operator(operator: str) -> tuple[str, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> (``ForAnyValue``, ``StringLike``, True)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    return qualifier, base[: -len("IfExists")] if if_exists else base, if_exists


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime:
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), UTC)
    found = datetime.fromisoformat(text.replace("z", "Z"))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _one(family: str, comparison: str, given: str, wanted: str) -> bool:
    """Whether one request value satisfies one policy value (before any negation)."""
    try:
        if family == "string" and comparison == "like":
            return wildcard_match(wanted, given)
        if family == "string" and comparison == "ieq":
            return literal(wanted).casefold() == given.casefold()
        if family in ("string", "binary"):
            return literal(wanted) == given
        if family == "arn":
            return arn_matches(wanted, given)
        if family == "bool":
            return given.lower() == wanted.lower()
        if family == "ip":
            return ipaddress.ip_address(given) in ipaddress.ip_network(wanted, strict=False)
        if family == "numeric":
            return bool(_COMPARE[comparison](_number(given), _number(wanted)))
        if family == "date":
            return bool(_COMPARE[comparison](_date(given), _date(wanted)))
    except ValueError:
        return False
    return False


def evaluate_condition(
    operator: str, key: str, values: Any, context: Context, *, variables: bool = True
) -> tuple[bool, list[str], str]:
    """One operator on one key: (holds, keys absent from the request, why it does not hold).

    The absent keys are the condition key itself and any policy variable in the values that
    the request context has no value for (``Null`` reports none: absence is what it tests).
    """
    qualifier, base, if_exists = split_operator(operator)
    if base not in OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        return False, [], f"unsupported condition operator {operator}"
    family, comparison, negated = OPERATORS[base]
    given = context.get(key)
    absent = given is None
    if family == "null":
        want_absent = any(_text(v).lower() == "true" for v in as_list(values))
        ok = absent == want_absent
        state = "absent" if absent else "present"
        return ok, [], "" if ok else f"Null on {key}: the key is {state} in the request"
    missing: list[str] = [key] if absent else []
    expandable = variables and family in ("string", "arn")
    wanted = [
        w
        for v in as_list(values)
        if (w := expand(_text(v), context, missing, enabled=expandable)) is not None
    ]

    def matches(value: str) -> bool:
        hit = any(_one(family, comparison, value, w) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        ok = all(matches(v) for v in given or [])
    elif qualifier == "ForAnyValue":
        ok = any(matches(v) for v in given or [])
    elif absent:
        ok = if_exists or negated
    else:
        assert given is not None
        ok = all(matches(v) for v in given) if negated else any(matches(v) for v in given)
    if ok:
        return True, missing, ""
    shown = [literal(w) for w in wanted]
    if absent:
        detail = f"{key} is missing from the request context ({operator} needs it"
        detail += "; the IfExists form would allow its absence)" if not qualifier else ")"
    else:
        detail = f"{operator} on {key}: request value {given!r} does not satisfy {shown!r}"
    return False, missing, detail


def evaluate_conditions(
    block: Mapping[str, Any] | None, context: Context, *, variables: bool = True
) -> ConditionResult:
    """A whole ``Condition`` block: every operator and every key must hold.

    All of it is evaluated so that every absent key is reported; the first failure explains.

    Examples
    --------
    >>> block = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"},
    ...          "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    >>> evaluate_conditions(block, Context({"aws:SourceIp": "203.0.113.9"})).ok
    True
    >>> evaluate_conditions(block, Context({"aws:SourceIp": "198.51.100.1"})).detail
    "IpAddress on aws:SourceIp: request value ['198.51.100.1'] does not satisfy ['203.0.113.0/24']"
    """
    missing: list[str] = []
    failure: tuple[str, str, str] | None = None
    for operator, keys in (block or {}).items():
        if not isinstance(keys, Mapping):
            failure = failure or (operator, "", f"condition {operator} is not a key/value block")
            continue
        for key, values in keys.items():
            ok, absent, detail = evaluate_condition(
                operator, key, values, context, variables=variables
            )
            missing.extend(absent)
            if not ok and failure is None:
                failure = (operator, key, detail)
    unique = tuple(dict.fromkeys(missing))
    if failure is None:
        return ConditionResult(True, missing=unique)
    return ConditionResult(False, failure[0], failure[1], failure[2], unique)


def condition_keys(block: Mapping[str, Any] | None) -> Iterable[str]:
    """The condition keys a ``Condition`` block reads."""
    for keys in (block or {}).values():
        if isinstance(keys, Mapping):
            yield from keys
