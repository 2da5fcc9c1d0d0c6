"""CodePipeline's structure checks: what CreatePipeline and UpdatePipeline refuse.

AWS checks a pipeline's declaration before it stores it (see "CodePipeline pipeline structure
reference", *Pipeline and stage structure requirements*): at least two stages, only source
actions in the first stage and nowhere else, unique stage, action and output artifact names,
action types that exist in the region, artifact counts each action type allows, and input
artifacts that an earlier action produces. :func:`validate` raises the first violation as AWS's
error (``InvalidStructureException``, ``InvalidStageDeclarationException`` or
``InvalidActionDeclarationException``) with AWS's wording.

Examples
--------
>>> validate({"name": "p", "stages": [{"name": "Source", "actions": []}]}, "eu-west-1")
Traceback (most recent call last):
...
flovtrain.sandbox.engines.pipeline.model.PipelineError: InvalidStructureException: Pipeline \
has only 1 stage(s). There should be a minimum of 2 stages in a pipeline
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flovtrain.sandbox.engines.pipeline.model import PipelineError

#: (owner, category, provider) -> ((min inputs, max inputs), (min outputs, max outputs)), the
#: action types AWS offers in every commercial region (action type reference, "Valid action
#: types and providers in CodePipeline").
ACTION_TYPES: dict[tuple[str, str, str], tuple[tuple[int, int], tuple[int, int]]] = {
    ("AWS", "Source", "S3"): ((0, 0), (1, 1)),
    ("AWS", "Source", "CodeCommit"): ((0, 0), (1, 1)),
    ("AWS", "Source", "ECR"): ((0, 0), (1, 1)),
    ("AWS", "Source", "CodeStarSourceConnection"): ((0, 0), (1, 1)),
    ("ThirdParty", "Source", "GitHub"): ((0, 0), (1, 1)),
    ("AWS", "Build", "CodeBuild"): ((1, 5), (0, 5)),
    ("AWS", "Build", "ECRBuildAndPublish"): ((0, 1), (0, 0)),
    ("AWS", "Test", "CodeBuild"): ((1, 5), (0, 5)),
    ("AWS", "Test", "DeviceFarm"): ((1, 1), (0, 0)),
    ("AWS", "Approval", "Manual"): ((0, 0), (0, 0)),
    ("AWS", "Deploy", "S3"): ((1, 1), (0, 0)),
    ("AWS", "Deploy", "CloudFormation"): ((0, 10), (0, 1)),
    ("AWS", "Deploy", "CloudFormationStackSet"): ((1, 10), (0, 0)),
    ("AWS", "Deploy", "CloudFormationStackInstances"): ((0, 10), (0, 0)),
    ("AWS", "Deploy", "CodeDeploy"): ((1, 1), (0, 0)),
    ("AWS", "Deploy", "CodeDeployToECS"): ((1, 5), (0, 0)),
    ("AWS", "Deploy", "ECS"): ((1, 1), (0, 0)),
    ("AWS", "Deploy", "ElasticBeanstalk"): ((1, 1), (0, 0)),
    ("AWS", "Deploy", "OpsWorks"): ((1, 1), (0, 0)),
    ("AWS", "Deploy", "ServiceCatalog"): ((1, 1), (0, 0)),
    ("AWS", "Deploy", "AppConfig"): ((1, 1), (0, 0)),
    ("AWS", "Deploy", "EC2"): ((1, 1), (0, 0)),
    ("AWS", "Deploy", "EKS"): ((1, 1), (0, 0)),
    ("AWS", "Invoke", "Lambda"): ((0, 5), (0, 5)),
    ("AWS", "Invoke", "StepFunctions"): ((0, 1), (0, 1)),
    ("AWS", "Compute", "Commands"): ((1, 10), (0, 1)),
}


def _fail(code: str, message: str) -> None:
    raise PipelineError(code, message)


def _named_once(
    items: Iterable[dict[str, Any]], code: str, kind: str, scope: str, where: str = ""
) -> Iterator[dict[str, Any]]:
    """Yield ``items`` in order; the first whose ``name`` came before fails with ``code`` and
    AWS's "``kind`` name X is already in use``where``. ``kind`` names must be unique within a
    ``scope``" (lazily: checks made between items keep AWS's order)."""
    seen: set[str] = set()
    for item in items:
        name = item.get("name", "")
        if name in seen:
            _fail(
                code,
                f"{kind} name {name} is already in use{where}. "
                f"{kind} names must be unique within a {scope}",
            )
        seen.add(name)
        yield item


def _type_of(action: dict[str, Any]) -> tuple[str, str, str, str]:
    type_id = action.get("actionTypeId") or {}
    return (
        str(type_id.get("owner", "")),
        str(type_id.get("category", "")),
        str(type_id.get("provider", "")),
        str(type_id.get("version", "")),
    )


def _check_action_type(action: dict[str, Any], region: str) -> None:
    owner, category, provider, version = _type_of(action)
    name = action.get("name", "")
    counts = ACTION_TYPES.get((owner, category, provider))
    if counts is None or version != "1":
        _fail(
            "InvalidActionDeclarationException",
            f"ActionType (Category: '{category}', Provider: '{provider}', Owner: '{owner}', "
            f"Version: '{version}') in action '{name}' is not available in region "
            f"'{region.upper().replace('-', '_')}'",
        )
    for key, (low, high), kind in (
        ("inputArtifacts", counts[0], "input"),
        ("outputArtifacts", counts[1], "output"),
    ):
        n = len(action.get(key) or [])
        if n < low:
            _fail(
                "InvalidActionDeclarationException",
                f"Action {name} declares {n} {kind} artifacts which is less than the "
                f"minimum count ({low})",
            )
        if n > high:
            _fail(
                "InvalidActionDeclarationException",
                f"Action {name} declares {n} {kind} artifacts which is greater than the "
                f"maximum count ({high})",
            )


def _check_stages(stages: list[dict[str, Any]]) -> None:
    if len(stages) < 2:
        _fail(
            "InvalidStructureException",
            f"Pipeline has only {len(stages)} stage(s). "
            "There should be a minimum of 2 stages in a pipeline",
        )
    for stage in _named_once(stages, "InvalidStageDeclarationException", "Stage", "pipeline"):
        if not stage.get("actions"):
            _fail(
                "InvalidStageDeclarationException",
                f"Stage {stage.get('name', '')} must contain at least one action",
            )
    first = [_type_of(a)[1] for a in stages[0]["actions"]]
    if "Source" not in first:
        _fail(
            "InvalidStructureException",
            "The first stage of a pipeline must contain at least one source action",
        )
    if any(c != "Source" for c in first):
        _fail(
            "InvalidStructureException",
            "The first stage of a pipeline must contain only source actions",
        )
    for stage in stages[1:]:
        if any(_type_of(a)[1] == "Source" for a in stage["actions"]):
            _fail(
                "InvalidStructureException",
                "Source actions can only be included in the first stage of the pipeline",
            )


def _check_artifacts(stages: list[dict[str, Any]]) -> None:
    produced: set[str] = set()
    for stage in stages:
        # actions with a lower runOrder run first: their outputs feed later actions of the stage
        ordered = sorted(stage["actions"], key=lambda a: int(a.get("runOrder") or 1))
        in_stage = f" in stage {stage.get('name', '')}"
        code = "InvalidActionDeclarationException"
        ordered = list(_named_once(ordered, code, "Action", "stage", in_stage))
        for run_order in sorted({int(a.get("runOrder") or 1) for a in ordered}):
            batch = [a for a in ordered if int(a.get("runOrder") or 1) == run_order]
            for action in batch:
                for artifact in action.get("inputArtifacts") or []:
                    if artifact.get("name") not in produced:
                        _fail(
                            "InvalidStructureException",
                            f"Input artifact {artifact.get('name')} of action "
                            f"{action.get('name')} in stage {stage.get('name')} does not match "
                            "the output artifact of an action earlier in the pipeline",
                        )
            for action in batch:
                for artifact in action.get("outputArtifacts") or []:
                    if artifact.get("name") in produced:
                        _fail(
                            "InvalidStructureException",
                            f"Output artifact name {artifact.get('name')} is already in use. "
                            "Every output artifact in the pipeline must have a unique name",
                        )
                    produced.add(artifact.get("name"))


def validate(pipeline: dict[str, Any], region: str) -> None:
    """Check ``pipeline`` (CreatePipeline's ``pipeline`` member) as AWS does before storing it.

    Parameters
    ----------
    pipeline : dict
        The pipeline declaration (``name``, ``stages`` ...), as the API takes it.
    region : str
        The pipeline's region, named in "not available in region" messages.

    Raises
    ------
    PipelineError
        ``InvalidStructureException``, ``InvalidStageDeclarationException`` or
        ``InvalidActionDeclarationException`` with AWS's message.

    Examples
    --------
    >>> source = {"name": "S", "actionTypeId": {"category": "Source", "owner": "AWS",
    ...     "provider": "S3", "version": "1"}, "outputArtifacts": [{"name": "src"}]}
    >>> build = {"name": "B", "actionTypeId": {"category": "Build", "owner": "AWS",
    ...     "provider": "CodeBuild", "version": "1"}, "inputArtifacts": [{"name": "src"}]}
    >>> validate({"stages": [{"name": "Source", "actions": [source]},
    ...                      {"name": "Build", "actions": [build]}]}, "eu-west-1")
    """
    stages = pipeline.get("stages") or []
    _check_stages(stages)
    for stage in stages:
        for action in stage["actions"]:
            _check_action_type(action, region)
    _check_artifacts(stages)
