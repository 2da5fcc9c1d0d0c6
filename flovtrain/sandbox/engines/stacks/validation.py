"""Template checks CloudFormation makes before it creates anything, with AWS's messages.

The template is read with cfn-lint's decoder (YAML with the short-form tags, or JSON; errors
with line and column) and resource types are checked against cfn-lint's bundled resource
schemas for the region. Only what AWS refuses at the API is refused here: syntax, unknown
types, references to nothing, circular dependencies, missing parameter values. cfn-lint's
style rules and warnings are not applied (the chapters' templates pass as they do on AWS).

Examples
--------
>>> check(parse("Resources: {T: {Type: AWS::SNS::Topic}}"), "eu-west-1")
>>> try:
...     check(parse("Resources: {T: {Type: AWS::Foo::Bar}}"), "eu-west-1")
... except TemplateError as exc:
...     print(exc)
Template format error: Unrecognized resource types: [AWS::Foo::Bar]
"""

from __future__ import annotations

import json
from typing import Any

from flovtrain.sandbox.engines.stacks import plan

FORMAT = "Template format error: "
_SECTIONS = {
    "AWSTemplateFormatVersion",
    "Conditions",
    "Description",
    "Mappings",
    "Metadata",
    "Outputs",
    "Parameters",
    "Resources",
    "Rules",
    "Transform",
}


class TemplateError(Exception):
    """A template AWS refuses with a ``ValidationError``; ``str()`` is AWS's message."""


def parse(body: str) -> dict[str, Any]:
    """The template ``body`` (YAML or JSON) as a dict, or :class:`TemplateError` like AWS's.

    Examples
    --------
    >>> parse('{"Resources": {}}')
    {'Resources': {}}
    >>> try:
    ...     parse("Resources:\\n  A: [\\n")
    ... except TemplateError as exc:
    ...     print(exc)
    Template format error: YAML not well-formed. (line 3, column 1)
    """
    from cfnlint.decode import decode_str

    if body.lstrip().startswith("{"):  # JSON, where the JSON parser knows the position
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            raise TemplateError(
                f"{FORMAT}JSON not well-formed. (line {exc.lineno}, column {exc.colno})"
            ) from None
    template, errors = decode_str(body)
    if errors:
        first = min(errors, key=lambda e: (e.linenumber, e.columnnumber))
        raise TemplateError(
            f"{FORMAT}YAML not well-formed. (line {first.linenumber}, column {first.columnnumber})"
        )
    if not isinstance(template, dict):
        raise TemplateError(f"{FORMAT}template is not a JSON object or a YAML mapping")
    return _plain(template)


def _plain(value: Any) -> Any:
    """cfn-lint's node types (with line marks) as plain dicts, lists and strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def check(template: dict[str, Any], region: str) -> None:
    """Raise :class:`TemplateError` for what AWS refuses in ``template`` before creating.

    In AWS's order: sections, resource types, references, circular dependencies.
    """
    unknown = sorted(set(template) - _SECTIONS)
    if unknown:
        raise TemplateError(f"{FORMAT}Invalid template property or properties {unknown}")
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError(f"{FORMAT}At least one Resources member must be defined.")
    for name, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateError(
                f"Template error: resource {name} has no Type or its definition is not an object"
            )
    _check_types(resources, region)
    _check_references(template)
    found = plan.cycles(plan.dependencies(resources))
    if found:
        names = sorted({n for group in found for n in group})
        raise TemplateError(f"Circular dependency between resources: [{', '.join(names)}]")


def _check_types(resources: dict[str, Any], region: str) -> None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    unknown = []
    for resource in resources.values():
        kind = resource["Type"]
        if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            continue
        try:
            PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, kind)
        except ResourceNotFoundError:
            if kind not in unknown:
                unknown.append(kind)
    if unknown:
        raise TemplateError(f"{FORMAT}Unrecognized resource types: [{', '.join(unknown)}]")


def _check_references(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    known = set(resources) | set(template.get("Parameters") or {}) | plan.PSEUDO
    for block in ("Resources", "Outputs"):
        section = template.get(block) or {}
        missing: list[str] = []
        for item in section.values():
            named = plan.references(item)
            if block == "Resources":
                named |= set(plan.depends_on(item))
            missing += sorted(n for n in named - known if n not in missing)
        if missing:
            raise TemplateError(
                f"{FORMAT}Unresolved resource dependencies [{', '.join(missing)}] in the "
                f"{block} block of the template"
            )


def parameter_values(
    template: dict[str, Any], given: dict[str, Any], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The stack's parameter values: ``given``, else the previous value, else the Default.

    Raises :class:`TemplateError` (``Parameters: [X] must have values``) for a parameter with
    neither, and for values of parameters the template does not declare.

    Examples
    --------
    >>> t = {"Parameters": {"A": {"Type": "String"}, "B": {"Type": "String", "Default": "b"}}}
    >>> parameter_values(t, {"A": "a"})
    {'A': 'a', 'B': 'b'}
    >>> try:
    ...     parameter_values(t, {})
    ... except TemplateError as exc:
    ...     print(exc)
    Parameters: [A] must have values
    """
    declared = template.get("Parameters") or {}
    extra = [k for k in given if k not in declared]
    if extra:
        raise TemplateError(f"Parameters: [{', '.join(extra)}] do not exist in the template")
    values: dict[str, Any] = {}
    missing = []
    for name, spec in declared.items():
        if name in given:
            values[name] = given[name]
        elif previous and name in previous:
            values[name] = previous[name]
        elif isinstance(spec, dict) and "Default" in spec:
            values[name] = str(spec["Default"])
        else:
            missing.append(name)
    if missing:
        raise TemplateError(f"Parameters: [{', '.join(missing)}] must have values")
    return values
