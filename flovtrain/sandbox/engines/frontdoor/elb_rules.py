"""Listener rules of an Application Load Balancer: which action answers a request.

Rules are evaluated in priority order, the default rule last; a rule matches when each of its
conditions matches (a condition matches when any of its values does). Conditions served:
``path-pattern`` (case-sensitive, ``*`` and ``?`` wildcards, the path without the query),
``host-header`` (case-insensitive), ``http-request-method``, ``http-header`` and
``query-string``. A rule with a condition the sandbox cannot evaluate (``source-ip``) never
matches. Actions: ``forward`` (one target group or weighted groups), ``fixed-response`` and
``redirect`` with AWS's ``#{host}``, ``#{path}``, ``#{port}``, ``#{protocol}``, ``#{query}``.

Examples
--------
>>> wildcard("/api/*", "/api/orders"), wildcard("/api/*", "/web")
(True, False)
>>> redirect_location({"Protocol": "#{protocol}", "Host": "www.#{host}", "Path": "/#{path}",
...                    "Query": "#{query}", "Port": "#{port}"},
...                   protocol="http", host="example.com", port=80, path="/a", query="x=1")
'http://www.example.com:80/a?x=1'
"""

from __future__ import annotations

import fnmatch
import random
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    """What the rules look at in one HTTP request."""

    method: str
    path: str  # without the query
    query: str
    host: str  # without the port
    headers: Mapping[str, str]


def wildcard(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """ALB pattern match: ``*`` any characters, ``?`` one character, nothing else special."""
    pattern = pattern.replace("[", "[[]")
    if not case_sensitive:
        return fnmatch.fnmatchcase(value.lower(), pattern.lower())
    return fnmatch.fnmatchcase(value, pattern)


def _values(condition: Mapping[str, Any], config: str) -> list[str]:
    if config in condition and isinstance(condition[config], Mapping):
        return list(condition[config].get("Values") or [])
    return list(condition.get("Values") or [])


def condition_matches(condition: Mapping[str, Any], request: Request) -> bool:
    """Whether one rule condition matches the request."""
    field = condition.get("Field")
    if field == "path-pattern":
        return any(wildcard(v, request.path) for v in _values(condition, "PathPatternConfig"))
    if field == "host-header":
        return any(
            wildcard(v, request.host, case_sensitive=False)
            for v in _values(condition, "HostHeaderConfig")
        )
    if field == "http-request-method":
        return request.method.upper() in {
            v.upper() for v in _values(condition, "HttpRequestMethodConfig")
        }
    if field == "http-header":
        config = condition.get("HttpHeaderConfig") or {}
        value = _header(request.headers, config.get("HttpHeaderName", ""))
        return value is not None and any(
            wildcard(v, value, case_sensitive=False) for v in config.get("Values") or []
        )
    if field == "query-string":
        pairs = urllib.parse.parse_qsl(request.query, keep_blank_values=True)
        config = condition.get("QueryStringConfig") or {}
        return any(
            any(
                (not wanted.get("Key") or wildcard(wanted["Key"], k, case_sensitive=False))
                and wildcard(wanted.get("Value", "*"), v, case_sensitive=False)
                for k, v in pairs
            )
            for wanted in config.get("Values") or []
        )
    return False  # source-ip and conditions to come: never matched here


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _priority(rule: Any) -> tuple[int, int]:
    if getattr(rule, "is_default", False) or rule.priority == "default":
        return (1, 0)
    return (0, int(rule.priority))


def choose_action(rules: list[Any], request: Request) -> dict[str, Any] | None:
    """Return the data of the action that answers ``request`` (moto rules), or None."""
    for rule in sorted(rules, key=_priority):
        conditions = rule.conditions or []
        if all(condition_matches(c, request) for c in conditions):
            actions = sorted(rule.actions, key=lambda a: int(a.data.get("Order") or 0))
            for action in actions:  # authenticate-* come first on AWS: not served here
                if action.data.get("Type") in ("forward", "fixed-response", "redirect"):
                    return action.data
            return None
    return None


def forward_groups(action: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Return ``(target group ARN, weight)`` pairs of a forward action."""
    config = action.get("ForwardConfig") or {}
    groups = [
        (g["TargetGroupArn"], int(g.get("Weight", 1))) for g in config.get("TargetGroups") or []
    ]
    if not groups and action.get("TargetGroupArn"):
        groups = [(action["TargetGroupArn"], 1)]
    return groups


def pick_group(groups: list[tuple[str, int]]) -> str | None:
    """Pick one target group by weight (weight 0 gets no traffic)."""
    live = [(arn, weight) for arn, weight in groups if weight > 0]
    if not live:
        return None
    if len(live) == 1:
        return live[0][0]
    return random.choices([a for a, _ in live], weights=[w for _, w in live])[0]


def redirect_location(
    config: Mapping[str, Any], *, protocol: str, host: str, port: int, path: str, query: str
) -> str:
    """Build the ``Location`` of a redirect action from its config and the request."""
    values = {
        "#{protocol}": protocol,
        "#{host}": host,
        "#{port}": str(port),
        "#{path}": path.lstrip("/"),
        "#{query}": query,
    }

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    scheme = fill(config.get("Protocol") or "#{protocol}").lower()
    target_host = fill(config.get("Host") or "#{host}")
    target_port = fill(config.get("Port") or "#{port}")
    target_path = fill(config.get("Path") or "/#{path}")
    target_query = fill(config.get("Query") if config.get("Query") is not None else "#{query}")
    location = f"{scheme}://{target_host}:{target_port}{target_path}"
    return location + (f"?{target_query}" if target_query else "")
