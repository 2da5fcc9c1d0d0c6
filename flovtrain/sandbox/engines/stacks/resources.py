"""One stack resource at a time, through moto's models: create, update, delete, and events.

moto's ``ResourceMap`` resolves ``Ref`` / ``Fn::GetAtt`` / ``Fn::Sub`` and parameters, and its
``parse_and_*_resource`` functions call each model's CloudFormation hooks (the sandbox's own
types included: the CloudFormation provider registers them as models). These helpers call
them for one resource, so :mod:`flovtrain.sandbox.engines.stacks.operations` decides the order
and what to undo, instead of moto's lazy, all-or-nothing walk.

Examples
--------
>>> physical_id(None)
''
"""

from __future__ import annotations

import copy
from typing import Any

from flovtrain.sandbox.engines.errors import EngineError

STACK_TYPE = "AWS::CloudFormation::Stack"


_strict: list[type] = []


def strict(resource_map: Any) -> Any:
    """Make ``resource_map`` never create a resource by itself; return it.

    moto's map creates any resource it is asked for and has not made (``__getitem__``), so
    describing a stack whose delete failed, or resolving an output, re-created what was
    deleted. Here a resource exists once :func:`create` made it, and the map iterates only
    over those (describe_stack_resources lists what exists).
    """
    if not _strict:
        from moto.cloudformation.parsing import ResourceMap

        class StrictResourceMap(ResourceMap):
            def __getitem__(self, key: str) -> Any:
                if key in self._parsed_resources:
                    return self._parsed_resources[key]
                if key in self._resource_json_map:
                    return None  # not created (its condition is false, or not yet, or gone)
                raise KeyError(key)

            def __iter__(self) -> Any:
                return iter(list(created(self)))

            def __len__(self) -> int:
                return len(created(self))

        _strict.append(StrictResourceMap)
    resource_map.__class__ = _strict[0]
    return resource_map


def physical_id(resource: Any) -> str:
    """The physical id moto gives a created resource (``""`` if none)."""
    physical = getattr(resource, "physical_resource_id", None)
    return physical if isinstance(physical, str) else str(physical or "")


def modelled(resource_json: dict[str, Any]) -> bool:
    """Whether moto (or a sandbox provider) models the type; moto skips the others silently."""
    from moto.cloudformation.parsing import get_model_map

    return resource_json.get("Type") in get_model_map()


def condition_holds(resource_map: Any, resource_json: dict[str, Any]) -> bool:
    """Whether the resource's ``Condition`` (if any) is true in ``resource_map``."""
    condition = resource_json.get("Condition")
    return not condition or bool(resource_map.lazy_condition_map[condition])


def create(stack: Any, resource_map: Any, logical_id: str) -> str:
    """Create ``logical_id`` of ``resource_map``'s template; store it in the map."""
    from moto.cloudformation.parsing import parse_and_create_resource

    resource_json = copy.deepcopy(resource_map._resource_json_map[logical_id])
    resource = parse_and_create_resource(
        logical_id, resource_json, resource_map, stack.account_id, stack.region_name
    )
    if resource is None:
        return ""
    resource_map._parsed_resources[logical_id] = resource
    _tag_ec2(stack, resource_map, logical_id, resource)
    return physical_id(resource)


def _tag_ec2(stack: Any, resource_map: Any, logical_id: str, resource: Any) -> None:
    """Tag an EC2 resource with the stack's tags, as AWS (and moto's ResourceMap) do."""
    from moto.ec2 import models as ec2_models
    from moto.ec2.models.core import TaggedEC2Resource

    if not isinstance(resource, TaggedEC2Resource):
        return
    tags = dict(resource_map.tags)
    tags.update(
        {
            "aws:cloudformation:stack-name": stack.name,
            "aws:cloudformation:stack-id": stack.stack_id,
            "aws:cloudformation:logical-id": logical_id,
        }
    )
    backend = ec2_models.ec2_backends[stack.account_id][stack.region_name]
    backend.create_tags([resource.physical_resource_id], tags)


def update(stack: Any, resource_map: Any, logical_id: str, current: Any) -> str:
    """Update ``current`` (a resource of another map) to its definition in ``resource_map``."""
    from moto.cloudformation.parsing import parse_and_update_resource

    resource_json = copy.deepcopy(resource_map._resource_json_map[logical_id])
    resource_map._parsed_resources[logical_id] = current
    changed = parse_and_update_resource(
        logical_id, resource_json, resource_map, stack.account_id, stack.region_name
    )
    if changed is not None:  # None: moto's model has no update; the resource stays as it is
        resource_map._parsed_resources[logical_id] = changed
    return physical_id(resource_map._parsed_resources[logical_id])


def delete(resource_map: Any, logical_id: str) -> None:
    """Delete ``logical_id`` (if created) and take it out of ``resource_map``."""
    resource = resource_map._parsed_resources.get(logical_id)
    if resource is None or isinstance(resource, str):
        return
    resource_json = resource_map._resource_json_map[logical_id]
    if resource_json.get("Type") == "AWS::S3::Bucket" and getattr(resource, "keys", None):
        # moto keeps a bucket with objects silently; AWS fails the resource's delete
        raise EngineError("BucketNotEmpty", "The bucket you tried to delete is not empty")
    resource_map._delete_resource(resource, resource_json)
    resource_map._parsed_resources.pop(logical_id, None)


def created(resource_map: Any) -> dict[str, Any]:
    """The map's resources that exist, by logical id (not parameters or pseudo parameters)."""
    return {
        name: resource
        for name, resource in resource_map._parsed_resources.items()
        if name in resource_map._resource_json_map
        and resource is not None
        and not isinstance(resource, str)
    }


def recorder(stack: Any) -> Any:
    """A :data:`transaction.Record` that appends events to ``stack`` (and sends them to SNS)."""

    def record(
        logical_id: str, cfn_type: str, status: str, physical: str, reason: str | None
    ) -> None:
        from moto.cloudformation.models import Event

        event = Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical or "",
            resource_type=cfn_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
        stack.events.append(event)
        try:
            event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
        except Exception:  # a lost notification never stops the operation (AWS)
            pass

    return record


def stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    """Set the stack's status and record it as an event of the stack itself."""
    stack.status = status
    if reason is not None:
        stack.status_reason = reason
    elif status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE"):
        stack.status_reason = None
    # else (ROLLBACK_COMPLETE...): the reason the rollback started with stays, as on AWS
    recorder(stack)(stack.name, STACK_TYPE, status, stack.stack_id, reason)
