"""CreateStack, UpdateStack and DeleteStack as transactions over a moto ``Stack``.

Each resource handler call is a :class:`~flovtrain.sandbox.engines.stacks.transaction.Step`.
What AWS does, and so what happens here:

- **create**: resources in dependency order; on a failure the stack rolls back (the created
  ones are deleted, newest first) and ends ``ROLLBACK_COMPLETE``; ``OnFailure=DO_NOTHING``
  (``DisableRollback``) keeps them and ends ``CREATE_FAILED``; ``OnFailure=DELETE`` rolls
  back and deletes the stack.
- **update**: new resources are created and changed ones updated first; only after both
  succeeded, ``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`` deletes the removed ones. A failure
  before that rolls back: ``UPDATE_ROLLBACK_IN_PROGRESS`` restores the updated resources,
  ``UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`` deletes the new ones,
  ``UPDATE_ROLLBACK_COMPLETE``; template, parameters and outputs stay the previous ones.
- **delete**: resources in reverse dependency order; a failure ends ``DELETE_FAILED`` with
  the resources not deleted still listed, and DeleteStack can be retried.

Examples
--------
>>> failed_reason("create", ["Repo"])
'The following resource(s) failed to create: [Repo]. '
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines.stacks import plan, resources, transaction
from flovtrain.sandbox.engines.stacks.transaction import Step

ROLLBACK_REQUESTED = "Rollback requested by user."


def failed_reason(verb: str, names: list[str]) -> str:
    """AWS's status reason naming the resources that failed (``verb``: create/update/delete)."""
    return f"The following resource(s) failed to {verb}: [{', '.join(names)}]. "


def _types(resource_map: Any) -> dict[str, str]:
    return {k: v.get("Type", "") for k, v in resource_map._resource_json_map.items()}


def _create_steps(stack: Any, resource_map: Any, names: list[str]) -> list[Step]:
    """A create step per resource of ``names`` that the template really creates."""
    steps = []
    kinds = _types(resource_map)
    for name in names:
        resource_json = resource_map._resource_json_map[name]
        if not resources.condition_holds(resource_map, resource_json):
            continue  # AWS skips it without an event
        if not resources.modelled(resource_json):
            continue  # moto models no such type: nothing to create (as before)
        steps.append(
            Step(
                name,
                kinds[name],
                "CREATE",
                lambda n=name: resources.create(stack, resource_map, n),
                lambda n=name: resources.delete(resource_map, n),
            )
        )
    return steps


def _delete_steps(resource_map: Any, names: list[str]) -> list[Step]:
    """A delete step per created resource of ``names`` (``DeletionPolicy: Retain`` kept)."""
    existing = resources.created(resource_map)
    kinds = _types(resource_map)
    steps = []
    for name in names:
        if name not in existing:
            continue
        if resource_map._resource_json_map[name].get("DeletionPolicy") == "Retain":
            continue
        steps.append(
            Step(
                name,
                kinds[name],
                "DELETE",
                lambda n=name: resources.delete(resource_map, n),
                None,
                resources.physical_id(existing[name]),
            )
        )
    return steps


# -- create ---------------------------------------------------------------------------------
def create(stack: Any, on_failure: str = "ROLLBACK") -> bool:
    """Create ``stack``'s resources (its ``resource_map`` is loaded); True if it succeeded.

    ``on_failure``: ``ROLLBACK`` (AWS's default), ``DO_NOTHING`` or ``DELETE``; in the last
    case the caller removes the stack once this returns False with ``DELETE_COMPLETE``.
    """
    record = resources.recorder(stack)
    resources.stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    resource_map = resources.strict(stack.resource_map)
    order = plan.creation_order(resource_map._resource_json_map)
    done, failure = transaction.run(_create_steps(stack, resource_map, order), record)
    if failure is None:
        try:
            _refresh_outputs(stack)
        except Exception as exc:  # an output that cannot be resolved fails the stack
            return _roll_back_create(stack, done, record, _template_error(exc), on_failure)
        stack.description = stack.template_dict.get("Description")
        resources.stack_event(stack, "CREATE_COMPLETE")
        return True
    reason = failed_reason("create", [failure.step.logical_id])
    return _roll_back_create(stack, done, record, reason, on_failure)


def _roll_back_create(
    stack: Any, done: list[Step], record: Any, reason: str, on_failure: str
) -> bool:
    stack.output_map = ResolvedOutputs({}, [])  # a stack that failed to create has none
    if on_failure == "DO_NOTHING":
        resources.stack_event(stack, "CREATE_FAILED", reason)
        return False
    if on_failure == "DELETE":
        return _undo_create(stack, done, record, "DELETE", reason)
    return _undo_create(stack, done, record, "ROLLBACK", reason + ROLLBACK_REQUESTED)


def _undo_create(stack: Any, done: list[Step], record: Any, phase: str, reason: str) -> bool:
    """Delete what a failed create made, as ``phase`` (DELETE or ROLLBACK) events: IN_PROGRESS
    with ``reason``, then COMPLETE, or FAILED naming what is left. Always False (not created)."""
    resources.stack_event(stack, f"{phase}_IN_PROGRESS", reason)
    left = transaction.undo(done, record)
    if left:
        resources.stack_event(stack, f"{phase}_FAILED", _undo_reason("delete", left))
    else:
        resources.stack_event(stack, f"{phase}_COMPLETE")
    return False


def _undo_reason(verb: str, left: list[transaction.Failure]) -> str:
    return failed_reason(verb, [f.step.logical_id for f in left]).rstrip()


def _template_error(exc: Exception) -> str:
    text = transaction.reason(exc)
    return text if text.startswith("Template error") else f"Template error: {text}"


class ResolvedOutputs(dict):
    """A stack's outputs resolved once, when its operation completed (moto resolved them at
    every describe_stacks: a half-deleted stack then failed to describe)."""

    def __init__(self, outputs: dict[str, Any], exports: list[Any]) -> None:
        super().__init__(outputs)
        self.exports = exports


def _refresh_outputs(stack: Any) -> None:
    """Resolve every output of the stack's template now (a bad one fails the operation)."""
    output_map = stack._create_output_map()
    resolved = {key: output_map[key] for key in list(output_map)}
    stack.output_map = ResolvedOutputs(resolved, output_map.exports)


# -- update ---------------------------------------------------------------------------------
def load_map(stack: Any, template: dict[str, Any], parameters: dict[str, Any]) -> Any:
    """moto's ``ResourceMap`` for ``template`` with ``parameters``, loaded (nothing created).

    Raises moto's errors for parameters it cannot resolve (e.g. an SSM parameter type).
    """
    from moto.cloudformation.parsing import ResourceMap

    resource_map = ResourceMap(
        stack.stack_id,
        stack.name,
        parameters,
        stack.tags,
        region_name=stack.region_name,
        account_id=stack.account_id,
        template=template,
        cross_stack_resources=stack.cross_stack_resources,
    )
    resources.strict(resource_map)
    resource_map.load()
    return resource_map


def update(stack: Any, new_map: Any, template_body: str, parameters: dict[str, Any]) -> bool:
    """Update ``stack`` to the loaded ``new_map`` (its template, ``parameters``); True if done.

    Raises ``ValueError("No updates are to be performed.")`` before anything starts when the
    template and parameters are those the stack has.
    """
    old_map = stack.resource_map
    changes = plan.diff(
        {"Resources": old_map._resource_json_map},
        {"Resources": new_map._resource_json_map},
        dict(old_map.resolved_parameters),
        dict(new_map.resolved_parameters),
    )
    unchanged_template = stack.template_dict == new_map._template
    if not changes and unchanged_template:
        raise ValueError("No updates are to be performed.")
    record = resources.recorder(stack)
    resources.stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
    existing = resources.created(old_map)
    for name, resource in existing.items():  # what stays is shared by both maps
        if name not in changes.remove and name not in changes.modify:
            new_map._parsed_resources[name] = resource
    kinds = _types(new_map)
    steps: list[Step] = []
    for name in plan.creation_order(new_map._resource_json_map):  # what they refer to first
        if name in changes.add or (name in changes.modify and name not in existing):
            steps += _create_steps(stack, new_map, [name])
        elif name in changes.modify:
            current = existing[name]
            steps.append(
                Step(
                    name,
                    kinds[name],
                    "UPDATE",
                    lambda n=name, c=current: resources.update(stack, new_map, n, c),
                    lambda n=name: resources.update(
                        stack, old_map, n, new_map._parsed_resources.get(n)
                    ),
                    resources.physical_id(current),
                )
            )
    done, failure = transaction.run(steps, record)
    if failure is None:
        previous = (stack.resource_map, stack.output_map, stack.template, stack.template_dict)
        try:
            stack.resource_map = new_map
            stack.template, stack.template_dict = template_body, new_map._template
            _refresh_outputs(stack)
        except Exception as exc:
            stack.resource_map, stack.output_map, stack.template, stack.template_dict = previous
            return _roll_back_update(stack, done, record, _template_error(exc))
        stack.parameters = parameters
        stack.description = new_map._template.get("Description")
        resources.stack_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        _clean_up(old_map, changes.remove, record)
        resources.stack_event(stack, "UPDATE_COMPLETE")
        return True
    verb = "update" if failure.step.action == "UPDATE" else "create"
    return _roll_back_update(stack, done, record, failed_reason(verb, [failure.step.logical_id]))


def _clean_up(old_map: Any, names: list[str], record: Any) -> None:
    """Delete the removed resources; one that fails is tried once more, then left (as AWS)."""
    for step in _delete_steps(old_map, names):
        _, failure = transaction.run([step], record)
        if failure is not None:
            transaction.run([step], record)


def _roll_back_update(stack: Any, done: list[Step], record: Any, reason: str) -> bool:
    resources.stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    updated = [s for s in done if s.action == "UPDATE"]
    new = [s for s in done if s.action == "CREATE"]
    left = transaction.undo(updated, record)
    resources.stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    left += transaction.undo(new, record)
    if left:
        resources.stack_event(stack, "UPDATE_ROLLBACK_FAILED", _undo_reason("update", left))
        return False
    resources.stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
    return False


# -- delete ---------------------------------------------------------------------------------
def delete(stack: Any) -> bool:
    """Delete ``stack``'s resources, dependents first; True when all are gone.

    A failure leaves ``DELETE_FAILED``, the resources not deleted still in the stack.
    """
    record = resources.recorder(stack)
    resources.stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    resource_map = stack.resource_map
    order = list(reversed(plan.creation_order(resource_map._resource_json_map)))
    _, failure = transaction.run(_delete_steps(resource_map, order), record)
    if failure is not None:
        resources.stack_event(
            stack, "DELETE_FAILED", failed_reason("delete", [failure.step.logical_id]).rstrip()
        )
        return False
    resources.stack_event(stack, "DELETE_COMPLETE")
    return True
