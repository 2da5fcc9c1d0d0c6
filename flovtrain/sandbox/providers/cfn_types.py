"""CloudFormation resource types moto skips, declared by the provider of their service.

A provider declares a type with :func:`declare`: the property that names it, how to create it
(from the template's properties), how to delete it and, optionally, how to update it in place
(otherwise a stack update replaces it). The CloudFormation provider turns every
declared type into a moto model class once moto's stack engine is imported, so stacks create,
list and delete them. Adding a resource type is a :func:`declare` call in the provider of its
service.

Examples
--------
>>> def create(name, props, account, region):
...     return {"physical": name, "attrs": {"Arn": f"arn:aws:demo:{region}:{account}:{name}"}}
>>> def delete(name, account, region, state):
...     pass
>>> declare("AWS::Demo::Thing", "ThingName", create, delete)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: ``create(logical or physical name, properties, account, region)`` returns the resource's
#: state: ``physical`` (its physical id), ``attrs`` (what ``Fn::GetAtt`` reads) and anything
#: its ``delete`` needs.
Create = Callable[[str, dict[str, Any], str, str], dict[str, Any]]
#: ``delete(physical id, account, region, state)``; the state is ``{}`` when moto deletes a
#: resource it did not create through ``create``.
Delete = Callable[[str, str, str, dict[str, Any]], None]
#: ``update(physical id, new properties, account, region, state)`` changes the resource in
#: place and returns its new state. Types without one are replaced (deleted, then created).
Update = Callable[[str, dict[str, Any], str, str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ResourceType:
    """One declared type: ``AWS::Service::Thing``, its name property, create, delete, update."""

    cfn_type: str
    name_property: str
    create: Create
    delete: Delete
    update: Update | None = None


_declared: dict[str, ResourceType] = {}


def declare(
    cfn_type: str,
    name_property: str,
    create: Create,
    delete: Delete,
    update: Update | None = None,
) -> None:
    """Declare (or replace) how stacks create, delete and update resources of ``cfn_type``.

    Parameters
    ----------
    cfn_type : str
        E.g. ``AWS::CodeBuild::Project``.
    name_property : str
        The property holding the resource's name (``Name``), or ``""`` when it has none:
        moto then generates a physical name from the stack and the logical id.
    create, delete : callable
        See :data:`Create` and :data:`Delete`.
    update : callable, optional
        See :data:`Update`; without it an update replaces the resource.
    """
    _declared[cfn_type] = ResourceType(cfn_type, name_property, create, delete, update)


def declared() -> dict[str, ResourceType]:
    """Return the declared types by name."""
    return dict(_declared)


# -- property conversion --------------------------------------------------------------------
_API_NAMES = {
    "BuildSpec": "buildspec",
    "Ec2TagFilters": "ec2TagFilters",
    "Ec2TagSet": "ec2TagSet",
    "Ec2TagSetList": "ec2TagSetList",
}


def camel(value: Any, keep: tuple[str, ...] = ("Configuration",)) -> Any:
    """CloudFormation's PascalCase properties -> the API's camelCase (``Configuration`` kept)."""
    if isinstance(value, list):
        return [camel(v, keep) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, val in value.items():
        name = _API_NAMES.get(key) or (key[:1].lower() + key[1:])
        out[name] = val if key in keep else camel(val, keep)
    return out


def tags(props: dict[str, Any], lower: bool = False) -> list[dict[str, str]]:
    """The template's ``Tags`` as the API wants them: ``Key``/``Value`` or ``key``/``value``."""
    items = props.get("Tags") or []
    if lower:
        return [{"key": t["Key"], "value": t["Value"]} for t in items]
    return [{"Key": t["Key"], "Value": t["Value"]} for t in items]
