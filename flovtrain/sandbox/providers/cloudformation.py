"""CloudFormation provider: the resource types moto silently skips are created for real.

moto's stack engine looks resource types up in ``CloudFormationModel.__subclasses__()``
(``moto/cloudformation/parsing.py: get_model_map``). :func:`setup` defines one model class per
type the providers declare (:mod:`flovtrain.sandbox.providers.cfn_types`: a stack's CodeCommit
repository, CodeBuild project, CodeDeploy application and deployment group, CodePipeline
pipeline, EC2 key pair, S3 bucket policy) and clears that cache, so stacks create them through
the provider of their service, list them in describe_stack_resources and remove them in
delete_stack.

CreateStack, UpdateStack, DeleteStack and ValidateTemplate are the sandbox's own: the template
is validated first (:mod:`flovtrain.sandbox.engines.stacks.validation`, AWS's messages), then
:mod:`flovtrain.sandbox.engines.stacks.operations` creates, updates or deletes resource by
resource as a transaction that ends complete or rolled back (``ROLLBACK_COMPLETE``,
``UPDATE_ROLLBACK_COMPLETE``, ``DELETE_FAILED`` then retry), with per-resource stack events as
AWS records them. moto 5.2.5 instead created lazily, deleted removed resources before creating
new ones, and left half-updated stacks reading ``CREATE_COMPLETE``.
"""

from __future__ import annotations

import os
from typing import Any

from flovtrain.sandbox.contract import DEBUG_VAR
from flovtrain.sandbox.engines.errors import EngineError
from flovtrain.sandbox.engines.stacks import operations, transaction, validation
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

    def update(
        name: str, props: dict[str, Any], account: str, region: str, state: dict[str, Any]
    ) -> dict[str, Any]:
        assert declared.update is not None
        try:
            return declared.update(name, props, account, region, state)
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
            physical = original_resource.physical_resource_id
            if declared.update is not None and new_resource_name == physical:
                # in place (a repository keeps its commits); a new name replaces it
                props = cloudformation_json.get("Properties") or {}
                state = update(physical, props, account_id, region_name, original_resource.state)
                return cls(state["physical"], account_id, region_name, state)
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
    """Register a model class per declared type once moto's stack engine is imported.

    With ``FLOVTRAIN_SANDBOX_DEBUG=1`` (tests only) it also serves ``cloudformation/fault``.
    """
    after_import("moto.cloudformation", _register_types)  # seconds to import: not at start
    if os.environ.get(DEBUG_VAR) == "1":
        PROVIDER.routes["fault"] = fault_route


def _register_types() -> None:
    from moto.cloudformation import parsing

    for cfn_type, declared in cfn_types.declared().items():
        if cfn_type not in _models and cfn_type not in parsing.get_model_map():
            _models[cfn_type] = _make_model(declared)
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


# -- the stack API ----------------------------------------------------------------------------
#: Stack statuses UpdateStack accepts (AWS refuses the others with a ValidationError).
UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}


def _backend(account_id: str, region: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account_id][region]


def _refused(exc: Exception) -> AwsError:
    """A parameter moto cannot resolve as AWS's ValidationError (before any resource exists)."""
    code = getattr(exc, "error_type", None) or getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    if code == "ParameterNotFound":  # an AWS::SSM::Parameter::Value<…> parameter's path
        name = message.split("Parameter ", 1)[-1].split(" ", 1)[0]
        message = f"Unable to fetch parameters [{name}] from parameter store for this account."
    return AwsError("ValidationError", message)


def _body(call: Call, previous: str | None = None) -> str:
    """The request's template: TemplateBody, TemplateURL (an S3 object) or the previous one."""
    params = call.params
    if params.get("UsePreviousTemplate") in (True, "true"):
        if params.get("TemplateBody") or params.get("TemplateURL"):
            raise AwsError(
                "ValidationError",
                "You cannot specify both usePreviousTemplate and Template Body/Template URL.",
            )
        if previous is not None:
            return previous
    if params.get("TemplateBody"):
        return str(params["TemplateBody"])
    if params.get("TemplateURL"):
        return call.response._get_stack_from_s3_url(params["TemplateURL"])
    raise AwsError("ValidationError", "Either Template URL or Template Body must be specified.")


def _checked(call: Call, body: str, previous: dict[str, Any] | None = None) -> tuple:
    """Parse and validate ``body`` and the request's parameters: (template, values)."""
    given, keep = {}, set()
    for item in call.params.get("Parameters") or []:
        key = item.get("ParameterKey", "")
        if item.get("UsePreviousValue") in (True, "true"):
            if item.get("ParameterValue"):
                raise AwsError(
                    "ValidationError",
                    f"Invalid input for parameter key {key}. Cannot specify usePreviousValue "
                    "as true and non empty value for a parameter",
                )
            keep.add(key)
        else:
            given[key] = item.get("ParameterValue", "")
    try:
        template = validation.parse(body)
        validation.check(template, call.region)
        kept = {k: v for k, v in (previous or {}).items() if k in keep}
        values = validation.parameter_values(template, given, kept)
    except validation.TemplateError as exc:
        raise AwsError("ValidationError", str(exc)) from None
    return template, values


def create_stack(call: Call) -> dict[str, Any]:
    """CreateStack: validate, then create resource by resource; a failure rolls back (AWS)."""
    from moto.cloudformation.models import Stack
    from moto.cloudformation.utils import generate_stack_id

    params = call.params
    name = params.get("StackName", "")
    backend = _backend(call.account_id, call.region)
    if any(s.name == name for s in backend.stacks.values()):
        raise AwsError("AlreadyExistsException", f"Stack [{name}] already exists")
    body = _body(call)
    _, values = _checked(call, body)
    try:
        stack = Stack(
            stack_id=generate_stack_id(name, call.region, call.account_id),
            name=name,
            template=body,
            parameters=values,
            account_id=call.account_id,
            region_name=call.region,
            notification_arns=params.get("NotificationARNs") or [],
            tags={t["Key"]: t["Value"] for t in params.get("Tags") or []},
            role_arn=params.get("RoleARN"),
            cross_stack_resources=backend.exports,
            enable_termination_protection=params.get("EnableTerminationProtection"),
            timeout_in_mins=params.get("TimeoutInMinutes"),
            stack_policy_body=params.get("StackPolicyBody"),
        )
    except Exception as exc:  # parameters moto cannot resolve (an SSM path that is missing)
        raise _refused(exc) from None
    on_failure = params.get("OnFailure") or "ROLLBACK"
    if params.get("DisableRollback") in (True, "true"):
        on_failure = "DO_NOTHING"
    stack.disable_rollback = on_failure == "DO_NOTHING"
    backend.stacks[stack.stack_id] = stack
    if operations.create(stack, on_failure):
        _export(backend, stack)
    elif stack.status == "DELETE_COMPLETE":
        backend.deleted_stacks[stack.stack_id] = backend.stacks.pop(stack.stack_id)
    return {"StackId": stack.stack_id}


def _export(backend: Any, stack: Any) -> None:
    for name, export in list(backend.exports.items()):
        if export.exporting_stack_id == stack.stack_id:
            del backend.exports[name]
    for export in stack.exports:
        backend.exports[export.name] = export


def update_stack(call: Call) -> dict[str, Any]:
    """UpdateStack: validate, add and change, then clean up; any failure rolls back (AWS)."""
    backend = _backend(call.account_id, call.region)
    stack = backend.get_stack(call.params.get("StackName", ""))
    if stack.status not in UPDATABLE:
        raise AwsError(
            "ValidationError",
            f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.",
        )
    body = _body(call, previous=stack.template)
    _, values = _checked(call, body, previous=stack.parameters)  # as given: SSM paths, not ids
    try:
        new_map = operations.load_map(stack, stack.parse_template(body), values)
    except Exception as exc:
        raise _refused(exc) from None
    tags = {t["Key"]: t["Value"] for t in call.params.get("Tags") or []}
    try:
        done = operations.update(stack, new_map, body, values)
    except ValueError as exc:  # nothing changed: nothing started
        raise AwsError("ValidationError", str(exc)) from None
    if done:
        _export(backend, stack)
        if tags:
            stack.tags = tags
        if call.params.get("RoleARN"):
            stack.role_arn = call.params["RoleARN"]
    return {"StackId": stack.stack_id}


def delete_stack(call: Call) -> dict[str, Any]:
    """DeleteStack: dependents first; a failure leaves DELETE_FAILED and can be retried."""
    backend = _backend(call.account_id, call.region)
    wanted = call.params.get("StackName", "")
    stack = backend.stacks.get(wanted) or next(
        (s for s in backend.stacks.values() if s.name == wanted), None
    )
    if stack is None:  # AWS answers a delete of a stack that is gone with success
        return {}
    if stack.enable_termination_protection:
        raise AwsError(
            "ValidationError",
            f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled",
        )
    for logical_id in call.params.get("RetainResources") or []:
        if stack.status == "DELETE_FAILED":  # AWS: only on a retry, to skip what failed
            stack.resource_map._parsed_resources.pop(logical_id, None)
    if operations.delete(stack):
        backend.stacks.pop(stack.stack_id, None)
        backend.deleted_stacks[stack.stack_id] = stack
        for name, export in list(backend.exports.items()):
            if export.exporting_stack_id == stack.stack_id:
                del backend.exports[name]
    return {}


def execute_change_set(call: Call) -> dict[str, Any]:
    """ExecuteChangeSet through the same transactions as CreateStack and UpdateStack."""
    backend = _backend(call.account_id, call.region)
    wanted, stack_name = call.params.get("ChangeSetName", ""), call.params.get("StackName")
    change_set = backend.change_sets.get(wanted) or next(
        (
            cs
            for cs in backend.change_sets.values()
            if cs.change_set_name == wanted and stack_name in (None, cs.stack_name, cs.stack_id)
        ),
        None,
    )
    if change_set is None:
        raise AwsError("ChangeSetNotFound", f"ChangeSet [{wanted}] does not exist")
    stack = change_set.stack
    try:
        values = validation.parameter_values(change_set.template_dict, change_set.parameters)
        new_map = operations.load_map(stack, change_set.template_dict, values)
    except Exception as exc:
        raise _refused(exc) from None
    change_set.execution_status = "EXECUTE_COMPLETE"
    if change_set.change_set_type == "CREATE":
        stack.template, stack.template_dict = change_set.template, change_set.template_dict
        stack.parameters, stack.resource_map = values, new_map
        if operations.create(stack):
            _export(backend, stack)
        return {}
    try:
        done = operations.update(stack, new_map, change_set.template, values)
    except ValueError as exc:
        raise AwsError("ValidationError", str(exc)) from None
    if done:
        _export(backend, stack)
    return {}


def validate_template(call: Call) -> dict[str, Any]:
    """ValidateTemplate: the same checks as CreateStack, AWS's answer (parameters, description,
    the capabilities IAM resources need)."""
    try:
        template = validation.parse(_body(call))
        validation.check(template, call.region)
    except validation.TemplateError as exc:
        raise AwsError("ValidationError", str(exc)) from None
    parameters = []
    for key, spec in (template.get("Parameters") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        item: dict[str, Any] = {"ParameterKey": key, "NoEcho": bool(spec.get("NoEcho", False))}
        if "Default" in spec:
            item["DefaultValue"] = str(spec["Default"])
        if "Description" in spec:
            item["Description"] = spec["Description"]
        parameters.append(item)
    result: dict[str, Any] = {"Parameters": parameters}
    if "Description" in template:
        result["Description"] = template["Description"]
    iam = sorted(
        {r["Type"] for r in template["Resources"].values() if r["Type"].startswith("AWS::IAM::")}
    )
    if iam:
        named = any(
            set(r.get("Properties") or {}) & {"RoleName", "UserName", "GroupName", "PolicyName"}
            and r["Type"] != "AWS::IAM::Policy"
            for r in template["Resources"].values()
            if r["Type"].startswith("AWS::IAM::")
        )
        result["Capabilities"] = ["CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM"]
        result["CapabilitiesReason"] = (
            f"The following resource(s) require capabilities: [{', '.join(iam)}]"
        )
    return result


# -- fault injection (tests only) -------------------------------------------------------------
def fault_route(request: Any) -> Any:
    """``POST ?at=N`` fails the N-th stack resource handler call from now (``0`` disarms);
    ``GET`` answers how many handler calls ran since. Served only with the debug variable."""
    import json

    from werkzeug.wrappers import Response

    if request.method == "POST":
        transaction.arm(int(request.args.get("at", "0")))
    return Response(json.dumps({"calls": transaction.calls()}), mimetype="application/json")


PROVIDER = Provider(
    name="cloudformation",
    response_class="moto.cloudformation.responses.CloudFormationResponse",
    service="cloudformation",
    operations={
        "CreateStack": create_stack,
        "UpdateStack": update_stack,
        "DeleteStack": delete_stack,
        "ValidateTemplate": validate_template,
        "ExecuteChangeSet": execute_change_set,
    },
    setup=setup,
)
