"""CloudFormation provider: the resource types moto silently skips are created for real.

moto's stack engine looks resource types up in ``CloudFormationModel.__subclasses__()``
(``moto/cloudformation/parsing.py: get_model_map``). :func:`setup` defines one model class per
type the providers declare (:mod:`flovtrain.sandbox.providers.cfn_types`: a stack's CodeCommit
repository, CodeBuild project, CodeDeploy application and deployment group, CodePipeline
pipeline, EC2 key pair, S3 bucket policy) and clears that cache, so stacks create them through
the provider of their service, list them in describe_stack_resources and remove them in
delete_stack.

moto 5.2.5 records stack-level events only (``FakeStack._add_stack_event``: the stack's own
``CREATE_IN_PROGRESS`` / ``CREATE_COMPLETE``). :func:`setup` also wraps the stack engine's
per-resource steps, so ``describe_stack_events`` lists every resource of every stack, as AWS
does (newest first): ``CREATE_IN_PROGRESS`` then ``CREATE_COMPLETE`` (or ``CREATE_FAILED`` with
the reason), ``UPDATE_*`` and ``DELETE_*``, with logical and physical id, type and time.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines.errors import EngineError
from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.seam import AwsError, Call, Provider, after_import

_models: dict[str, type] = {}


# -- moto model classes -------------------------------------------------------------------------
def _make_model(declared: cfn_types.ResourceType) -> type:
    from moto.core.common_models import CloudFormationModel

    cfn_type, name_type = declared.cfn_type, declared.name_property

    def create(name: str, props: dict[str, Any], account: str, region: str) -> dict[str, Any]:
        try:
            return declared.create(name, props, account, region)
        except EngineError as exc:  # a stack reports AWS's error, as the API would
            raise AwsError(exc.code, exc.message, exc.status) from None

    def delete(name: str, account: str, region: str, state: dict[str, Any]) -> None:
        try:
            declared.delete(name, account, region, state)
        except EngineError as exc:
            raise AwsError(exc.code, exc.message, exc.status) from None

    class Resource(CloudFormationModel):
        def __init__(self, physical: str, account: str, region: str, state: dict[str, Any]):
            self.physical_resource_id = physical
            self.account, self.region, self.state = account, region, state

        @staticmethod
        def cloudformation_type() -> str:
            return cfn_type

        @staticmethod
        def cloudformation_name_type() -> str:
            return name_type

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            attrs = self.state.get("attrs", {})
            if attribute_name not in attrs:
                from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

                raise UnformattedGetAttTemplateException()
            return attrs[attribute_name]

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            props = cloudformation_json.get("Properties") or {}
            state = create(resource_name, props, account_id, region_name)
            return cls(state["physical"], account_id, region_name, state)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            delete(resource_name, account_id, region_name, {})

        def delete(self, account_id: str, region_name: str) -> None:
            delete(self.physical_resource_id, account_id, region_name, self.state)

    Resource.__name__ = Resource.__qualname__ = "Flovtrain" + cfn_type.replace("::", "")
    return Resource


def setup() -> None:
    """Register a model class per declared type once moto's stack engine is imported."""
    after_import("moto.cloudformation", _register_types)  # seconds to import: not at start
    after_import("moto.cloudformation", _record_resource_events)


def _register_types() -> None:
    from moto.cloudformation import parsing

    for cfn_type, declared in cfn_types.declared().items():
        if cfn_type not in _models and cfn_type not in parsing.get_model_map():
            _models[cfn_type] = _make_model(declared)
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


# -- per-resource stack events --------------------------------------------------------------
def _event(
    stack: Any,
    logical_id: str,
    cfn_type: str,
    status: str,
    physical: str | None = "",
    reason: str | None = None,
) -> Any:
    """An event like ``FakeStack._add_stack_event`` makes, but for one resource (not added yet)."""
    from moto.cloudformation.models import Event

    return Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical or "",
        resource_type=cfn_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )


def _notify(stack: Any, *events: Any) -> None:
    """Send events to the stack's SNS topics, as moto does for its stack events."""
    for event in events:
        event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)


def _physical(resource: Any) -> str:
    physical = getattr(resource, "physical_resource_id", None)
    return physical if isinstance(physical, str) else str(physical or "")


def _record_resource_events() -> None:
    """Wrap moto's create / update / delete of each stack resource to record its events."""
    from moto.cloudformation import parsing
    from moto.cloudformation.models import Stack

    if getattr(parsing, "_flovtrain_events", False):
        return
    create, update = parsing.parse_and_create_resource, parsing.parse_and_update_resource
    delete = parsing.ResourceMap._delete_resource
    resource_map = Stack._create_resource_map

    def create_resource_map(self: Any) -> Any:
        # the map knows its stack: delete_stack takes the stack out of the backend first
        mapping = resource_map(self)
        mapping.flovtrain_stack = self
        return mapping

    def recorded(verb: str, moto_step: Any) -> Any:
        """Wrap moto's create or update of one resource (``verb`` CREATE / UPDATE)."""

        def step(
            logical_id: str,
            resource_json: Any,
            resources_map: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            args = (logical_id, resource_json, resources_map, account_id, region_name)
            stack = getattr(resources_map, "flovtrain_stack", None)
            if stack is None:  # not a stack's resource map
                return moto_step(*args)
            cfn_type = (resource_json or {}).get("Type", "")
            # in the list before moto's step: resources this one refers to are created inside it
            started = _event(stack, logical_id, cfn_type, f"{verb}_IN_PROGRESS")
            stack.events.append(started)
            try:
                resource = moto_step(*args)
            except Exception as exc:
                reason = str(exc) or type(exc).__name__
                failed = _event(stack, logical_id, cfn_type, f"{verb}_FAILED", reason=reason)
                stack.events.append(failed)
                _notify(stack, started, failed)
                raise
            if resource is None:  # its condition is false, or moto skips the type: not created
                stack.events.remove(started)
                return resource
            done = _event(stack, logical_id, cfn_type, f"{verb}_COMPLETE", _physical(resource))
            stack.events.append(done)
            _notify(stack, started, done)
            return resource

        return step

    def delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        stack = getattr(self, "flovtrain_stack", None)
        logical_id = getattr(parsed_resource, "logical_resource_id", "")
        cfn_type = resource_json.get("Type", "")
        if stack is None:
            return delete(self, parsed_resource, resource_json)
        started = _event(
            stack, logical_id, cfn_type, "DELETE_IN_PROGRESS", _physical(parsed_resource)
        )
        # moto retries a failed delete (dependencies) in a later pass: only success is recorded
        delete(self, parsed_resource, resource_json)
        done = _event(stack, logical_id, cfn_type, "DELETE_COMPLETE", _physical(parsed_resource))
        stack.events.extend([started, done])
        _notify(stack, started, done)
        return None

    parsing.parse_and_create_resource = recorded("CREATE", create)
    parsing.parse_and_update_resource = recorded("UPDATE", update)
    parsing.ResourceMap._delete_resource = delete_resource
    Stack._create_resource_map = create_resource_map
    parsing._flovtrain_events = True


# -- a resource that fails rolls its stack back --------------------------------------------
def create_stack(call: Call) -> Any:
    """CreateStack as AWS answers it when a resource fails: the call succeeds, the stack rolls back.

    moto raises the resource's error out of CreateStack and leaves the stack
    ``CREATE_IN_PROGRESS``. AWS returns the StackId, records the resource's ``CREATE_FAILED``,
    deletes what it had created and ends in ``ROLLBACK_COMPLETE``, where describe_stack_events
    says why. A template that fails outside any resource is refused with a ValidationError
    (not moto's HTTP 500) and leaves no stack behind, as on AWS.
    """
    from moto.core.exceptions import ServiceException, _RESTError

    try:
        return call.moto()
    except Exception as exc:
        stack = _creating_stack(call.account_id, call.region, call.params.get("StackName", ""))
        if stack is not None and _failed_resources(stack):
            _roll_back(stack)
            return {"StackId": stack.stack_id}
        if stack is not None:
            _forget(call.account_id, call.region, stack)
        if isinstance(exc, (ServiceException, _RESTError, AwsError)):  # already an AWS error
            raise
        raise AwsError("ValidationError", f"Template format error: {exc}") from None


def _backend(account_id: str, region: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account_id][region]


def _creating_stack(account_id: str, region: str, name: str) -> Any:
    for stack in _backend(account_id, region).stacks.values():
        if stack.name == name and stack.status == "CREATE_IN_PROGRESS":
            return stack
    return None


def _forget(account_id: str, region: str, stack: Any) -> None:
    backend = _backend(account_id, region)
    backend.stacks.pop(stack.stack_id, None)
    for name, export in list(backend.exports.items()):
        if export.exporting_stack_id == stack.stack_id:
            del backend.exports[name]


def _failed_resources(stack: Any) -> list[str]:
    return [
        e.logical_resource_id
        for e in stack.events
        if e.resource_status == "CREATE_FAILED" and e.resource_type != "AWS::CloudFormation::Stack"
    ]


def _roll_back(stack: Any) -> None:
    reason = (
        f"The following resource(s) failed to create: [{', '.join(_failed_resources(stack))}]. "
        "Rollback requested by user."
    )
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack.status_reason = reason
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    try:
        stack.resource_map.delete()  # what was created goes (DELETE_* events per resource)
    except Exception as exc:
        stack.status = "ROLLBACK_FAILED"
        stack.status_reason = f"Rollback could not delete every resource: {exc}"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=stack.status_reason)
        return
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


PROVIDER = Provider(
    name="cloudformation",
    response_class="moto.cloudformation.responses.CloudFormationResponse",
    service="cloudformation",
    operations={"CreateStack": create_stack},
    setup=setup,
)
