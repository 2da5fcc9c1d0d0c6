"""What a stack operation does, in which order: dependencies, cycles, creation order, diffs.

A resource depends on every resource it names with ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``
(``${Name}`` / ``${Name.Attr}``) or ``DependsOn``. CloudFormation creates a resource after
everything it depends on and deletes in the reverse order; an update creates what is new,
updates what changed and removes what is gone (see :func:`diff`).

Examples
--------
>>> resources = {
...     "Group": {"Type": "T", "Properties": {"App": {"Ref": "App"}}},
...     "App": {"Type": "T"},
... }
>>> creation_order(resources)
['App', 'Group']
>>> cycles({"A": {"B"}, "B": {"A"}, "C": {"A"}})
[['A', 'B']]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PSEUDO = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


def references(value: Any) -> set[str]:
    """Names ``value`` refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``), pseudo parameters too.

    Examples
    --------
    >>> sorted(references({"Fn::Sub": "${Bucket.Arn}/${AWS::Region}-${Name}"}))
    ['AWS::Region', 'Bucket', 'Name']
    >>> sorted(references({"Fn::GetAtt": "Role.Arn"}))
    ['Role']
    """
    found: set[str] = set()
    _walk(value, found)
    return found


def _walk(value: Any, found: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _walk(item, found)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            found.add(arg)
            return
        if key == "Fn::GetAtt":
            name = arg.split(".", 1)[0] if isinstance(arg, str) else (arg or [None])[0]
            if isinstance(name, str):
                found.add(name)
            return
        if key == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg + [None, {}])[:2]
            local = local if isinstance(local, dict) else {}
            if isinstance(text, str):
                for var in _SUB_VAR.findall(text):
                    name = var.split(".", 1)[0].strip()
                    if name not in local:
                        found.add(name)
            _walk(local, found)
            return
    for item in value.values():
        _walk(item, found)


def depends_on(resource: Any) -> list[str]:
    """The resource's ``DependsOn`` as a list."""
    names = resource.get("DependsOn", []) if isinstance(resource, dict) else []
    return [names] if isinstance(names, str) else [n for n in names if isinstance(n, str)]


def dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource -> the resources (of ``resources``) it depends on."""
    graph = {}
    for name, resource in resources.items():
        body = {k: v for k, v in resource.items() if k != "DependsOn"} if resource else {}
        named = references(body) | set(depends_on(resource))
        graph[name] = {n for n in named if n in resources}  # itself too: a cycle of one
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of resources that depend on each other (Tarjan, iterative), names sorted.

    A resource naming itself is a cycle of one.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in graph.get(node, ()):
                    found.append(sorted(group))
    return found


def creation_order(resources: dict[str, Any]) -> list[str]:
    """Resources after what they depend on, otherwise in template order (no cycles assumed)."""
    graph = dependencies(resources)
    order: list[str] = []
    placed: set[str] = set()
    pending = list(resources)
    while pending:
        ready = [n for n in pending if graph[n] <= placed]
        if not ready:  # a cycle: validation refuses it before any plan is made
            raise ValueError(f"Circular dependency between resources: {sorted(pending)}")
        for name in ready:
            order.append(name)
            placed.add(name)
        pending = [n for n in pending if n not in placed]
    return order


@dataclass
class Plan:
    """An update's changes by logical id: ``add`` and ``modify`` in creation order of the new
    template, ``remove`` in deletion order of the old one."""

    add: list[str] = field(default_factory=list)
    modify: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.add or self.modify or self.remove)


def diff(
    old: dict[str, Any],
    new: dict[str, Any],
    old_parameters: dict[str, Any],
    new_parameters: dict[str, Any],
) -> Plan:
    """What an update from template ``old`` to ``new`` (both parsed) adds, modifies, removes.

    A resource is modified when its definition changed or a parameter it refers to has a new
    value.

    Examples
    --------
    >>> old = {"Resources": {"A": {"Type": "T"}, "B": {"Type": "T", "Properties": {"X": 1}}}}
    >>> new = {"Resources": {"B": {"Type": "T", "Properties": {"X": 2}}, "C": {"Type": "T"}}}
    >>> diff(old, new, {}, {})
    Plan(add=['C'], modify=['B'], remove=['A'])
    """
    before, after = old.get("Resources") or {}, new.get("Resources") or {}
    changed = {k for k in set(old_parameters) | set(new_parameters)}
    changed = {k for k in changed if old_parameters.get(k) != new_parameters.get(k)}
    order = creation_order(after)
    modify: list[str] = []
    for name in order:
        if name not in before:
            continue
        if after[name] != before[name] or references(after[name]) & changed:
            modify.append(name)
    return Plan(
        add=[n for n in order if n not in before],
        modify=modify,
        remove=[n for n in reversed(creation_order(before)) if n not in after],
    )
