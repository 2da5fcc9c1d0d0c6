"""Which sandbox instances a deployment group's tags select."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def _ec2_instances(account_id: str, region: str) -> list[Any]:
    from moto.ec2.models import ec2_backends

    return list(ec2_backends[account_id][region].all_instances())


def _tag_match(tags: dict[str, str], flt: dict[str, Any]) -> bool:
    key, value, kind = flt.get("Key"), flt.get("Value"), flt.get("Type") or "KEY_AND_VALUE"
    if kind == "KEY_ONLY":
        return key in tags
    if kind == "VALUE_ONLY":
        return value in tags.values()
    return key in tags and tags[key] == value


def matching_instances(account_id: str, region: str, group: Any) -> list[Any]:
    """Return the running instances (moto's) a deployment group selects, sorted by id.

    ``ec2TagFilters`` are ORed; each group of ``ec2TagSet`` must match (an AND of ORs).
    """
    filters = group.ec2_tag_filters or []
    tag_set = (group.ec2_tag_set or {}).get("ec2TagSetList") or []
    if not filters and not tag_set:
        return []
    found = []
    for instance in _ec2_instances(account_id, region):
        if instance._state.name != "running":
            continue
        tags = dict(instance.ec2_backend.tags.get(instance.id, {}))
        ok = True
        if filters and not any(_tag_match(tags, f) for f in filters):
            ok = False
        for group_filters in tag_set:
            if not any(_tag_match(tags, f) for f in group_filters):
                ok = False
        if ok:
            found.append(instance)
    return sorted(found, key=lambda i: i.id)


def selected_by(
    account_id: str,
    region: str,
    tag_filters: list[dict[str, Any]] | None,
    ec2_tag_set: dict[str, Any] | None,
) -> list[Any]:
    """Return the running instances ``tagFilters`` / ``ec2TagSet`` select (``targetInstances``
    of a blue/green deployment), sorted by id."""
    # the two attributes matching_instances reads from a deployment group
    selection = SimpleNamespace(ec2_tag_filters=tag_filters, ec2_tag_set=ec2_tag_set)
    return matching_instances(account_id, region, selection)
