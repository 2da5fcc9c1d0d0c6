"""CodeBuild provider: ``start_build`` really runs the buildspec on this machine.

moto 5.2.5 stores projects but runs nothing (its builds report invented phases). Here moto keeps
the projects and the build runner (:mod:`flovtrain.sandbox.engines.builds`) runs the builds:
real phases, statuses and durations, the log in CloudWatch Logs ``/aws/codebuild/<project>``,
artifacts zipped to S3. This module checks requests, keeps one runner per account and region,
and declares what CodeBuild adds elsewhere: CloudFormation's ``AWS::CodeBuild::Project`` and
CodePipeline's ``Build`` and ``Test`` actions.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.codebuild.models import codebuild_backends
from moto.codebuild.responses import CodeBuildResponse
from moto.core.base_backend import BackendDict

from flovtrain.sandbox.engines import builds as engine
from flovtrain.sandbox.engines import service_roles
from flovtrain.sandbox.engines.builds import BuildRunner, describe
from flovtrain.sandbox.engines.builds.build import utcnow as _now
from flovtrain.sandbox.engines.pipeline import (
    ActionFailed,
    input_artifact,
    store_output,
    wait_or_stop,
)
from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.providers._common import (
    constraint_failure,
    enum_constraint,
    pipeline_action,
    validation_error,
)
from flovtrain.sandbox.seam import AwsError, Call, Provider, engine_backends, existing

SOURCE_TYPES = {
    "BITBUCKET",
    "CODECOMMIT",
    "CODEPIPELINE",
    "GITHUB",
    "GITHUB_ENTERPRISE",
    "GITLAB",
    "GITLAB_SELF_MANAGED",
    "NO_SOURCE",
    "S3",
}
ARTIFACT_TYPES = {"CODEPIPELINE", "S3", "NO_ARTIFACTS"}


STATE: BackendDict = engine_backends("codebuild", BuildRunner)


def runner(account: str, region: str) -> BuildRunner:
    """Return the build runner of ``account`` in ``region``."""
    return STATE[account][region].engine


def _backend(account: str, region: str) -> Any:
    return codebuild_backends[account][region]


def _project(account: str, region: str, name: str) -> Any:
    backend = _backend(account, region)
    if name.startswith("arn:"):
        name = name.rsplit("/", 1)[-1]
    project = backend.codebuild_projects.get(name)
    if project is None:
        raise AwsError(
            "ResourceNotFoundException",
            f"Project cannot be found: arn:aws:codebuild:{region}:{account}:project/{name}",
        )
    return project


# -- projects -------------------------------------------------------------------------------
def _section(params: dict[str, Any], key: str, creating: bool) -> dict[str, Any] | None:
    """The block ``key`` to check: the one given, ``{}`` when creating without it, else None."""
    value = params.get(key)
    if value is None and not creating:
        return None
    return value or {}


def _validate_compute_type(environment: dict[str, Any]) -> None:
    """Refuse a ``computeType`` outside CodeBuild's enum, in AWS's validation words.

    Examples
    --------
    >>> _validate_compute_type({"computeType": "HUGE"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    flovtrain.sandbox.seam.AwsError: ...'HUGE' at 'environment.computeType' failed...
    """
    from moto.core.utils import get_service_model

    value = environment.get("computeType")
    allowed = get_service_model("codebuild").shape_for("ComputeType").enum
    if value is not None and value not in allowed:
        failure = constraint_failure(value, "environment.computeType", enum_constraint(allowed))
        raise validation_error("InvalidInputException", [failure])


def _validate_project(account: str, region: str, params: dict[str, Any], creating: bool) -> None:
    name = params.get("name") or ""
    if creating and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-_]{1,254}", name):
        raise AwsError(
            "InvalidInputException",
            f"Invalid project name {name!r}: 2-255 letters, digits, '-' or '_', "
            "starting with a letter or digit.",
        )
    source = _section(params, "source", creating)
    if source is not None:
        kind = source.get("type")
        if kind not in SOURCE_TYPES:
            raise AwsError(
                "InvalidInputException", f"Invalid type provided: Project source type {kind!r}"
            )
        if kind not in ("NO_SOURCE", "CODEPIPELINE") and not source.get("location"):
            raise AwsError(
                "InvalidInputException",
                f"Project source location is required for source type {kind}",
            )
        if kind == "NO_SOURCE" and not source.get("buildspec"):
            raise AwsError(
                "InvalidInputException",
                "A NO_SOURCE project needs an inline buildspec in source.buildspec",
            )
    artifacts = _section(params, "artifacts", creating)
    if artifacts is not None:
        if artifacts.get("type") not in ARTIFACT_TYPES:
            raise AwsError("InvalidInputException", "Invalid type provided: Artifact type")
        if artifacts["type"] == "S3" and not artifacts.get("location"):
            raise AwsError("InvalidInputException", "Artifacts location is required for type S3")
    role = params.get("serviceRole")
    if creating and not (role or "").startswith(f"arn:aws:iam::{account}:role/"):
        raise AwsError(
            "InvalidInputException",
            "Invalid service role: Service role account ID does not match caller's account",
        )
    environment = _section(params, "environment", creating)
    if environment is not None:
        if environment.get("type") not in {
            "WINDOWS_CONTAINER",
            "LINUX_CONTAINER",
            "LINUX_GPU_CONTAINER",
            "ARM_CONTAINER",
            "WINDOWS_SERVER_2019_CONTAINER",
            "LINUX_LAMBDA_CONTAINER",
            "ARM_LAMBDA_CONTAINER",
        }:
            raise AwsError(
                "InvalidInputException", f"Invalid type provided: {environment.get('type')}"
            )
        _validate_compute_type(environment)
    timeout = params.get("timeoutInMinutes")
    if timeout is not None and not 5 <= int(timeout) <= 2160:
        raise AwsError("InvalidInputException", "timeoutInMinutes must be between 5 and 2160")
    if role:  # checked last, as CodeBuild does once the request is well-formed
        _assumable(role)


def _assumable(role: str) -> None:
    """Refuse a service role CodeBuild cannot assume (missing, or its trust omits CodeBuild)."""
    try:
        service_roles.assume(role, "codebuild", "check")
    except service_roles.RoleNotAssumable as refused:
        raise AwsError("InvalidInputException", refused.message) from None


def create_project_internal(account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
    """Create a project from CreateProject's parameters (API shape); return its record.

    Raises
    ------
    AwsError
        InvalidInputException / ResourceAlreadyExistsException, as CodeBuild.
    """
    _validate_project(account, region, params, creating=True)
    backend = _backend(account, region)
    name = params["name"]
    if name in backend.codebuild_projects:
        raise AwsError(
            "ResourceAlreadyExistsException",
            f"Project already exists: arn:aws:codebuild:{region}:{account}:project/{name}",
        )
    meta = backend.create_project(
        project_name=name,
        description=params.get("description"),
        project_source=params["source"],
        artifacts=params["artifacts"],
        environment=params["environment"],
        service_role=params["serviceRole"],
        tags=params.get("tags") or [],
        cache=params.get("cache"),
        timeout=params.get("timeoutInMinutes") or engine.DEFAULT_TIMEOUT_MINUTES,
        queued_timeout=params.get("queuedTimeoutInMinutes") or 480,
        source_version=params.get("sourceVersion"),
        logs_config=params.get("logsConfig"),
        vpc_config=params.get("vpcConfig"),
    )
    meta["created"] = meta["lastModifiedDate"] = _now()
    return meta


def delete_project_internal(account: str, region: str, name: str) -> None:
    """Delete a project (its builds stay listed, as in CodeBuild)."""
    _backend(account, region).delete_project(name)


def start_build_internal(
    account: str,
    region: str,
    project: str,
    source_zip: bytes,
    source_version: str | None,
    env_overrides: dict[str, str] | None,
    initiator: str,
) -> str:
    """Start a build of ``project`` on a given source zip (CodePipeline's build action).

    Parameters
    ----------
    source_zip : bytes
        The input artifact (a zip); it becomes ``CODEBUILD_SRC_DIR``.
    source_version : str, optional
        Shown as ``sourceVersion``/``CODEBUILD_RESOLVED_SOURCE_VERSION`` (e.g. the commit id).
    env_overrides : dict, optional
        Plain-text variables that override the project's.
    initiator : str
        E.g. ``codepipeline/<pipeline name>``.

    Returns
    -------
    str
        The build id; poll or wait on :func:`runner`.
    """
    proj = _project(account, region, project)
    overrides = [
        {"name": k, "value": str(v), "type": "PLAINTEXT"} for k, v in (env_overrides or {}).items()
    ]
    _assumable(str(proj.project_metadata.get("serviceRole") or ""))
    build = runner(account, region).start(
        proj.project_metadata,
        source_version=source_version,
        env_overrides=overrides,
        initiator=initiator,
        overrides={},
        source_zip=source_zip,
    )
    if source_version:
        build.record["resolvedSourceVersion"] = source_version
    return build.id


# -- operations -----------------------------------------------------------------------------
def create_project(call: Call) -> dict[str, Any]:
    return {"project": create_project_internal(call.account_id, call.region, call.params)}


def update_project(call: Call) -> dict[str, Any]:
    params = call.params
    project = _project(call.account_id, call.region, params.get("name", ""))
    _validate_project(call.account_id, call.region, params, creating=False)
    meta = project.project_metadata
    for key, value in params.items():
        if key == "name" or value is None:
            continue
        meta[key] = value
    meta["lastModifiedDate"] = _now()
    return {"project": meta}


def start_build(call: Call) -> dict[str, Any]:
    params = call.params
    project = _project(call.account_id, call.region, params.get("projectName", ""))
    source = project.project_metadata.get("source") or {}
    if source.get("type") == "CODEPIPELINE" and not params.get("sourceTypeOverride"):
        raise AwsError(
            "InvalidInputException",
            "This project's source type is CODEPIPELINE: its builds are started by "
            "the pipeline. Start the pipeline (start_pipeline_execution) or pass "
            "sourceTypeOverride.",
        )
    timeout = params.get("timeoutInMinutesOverride")
    if timeout is not None and not 5 <= int(timeout) <= 2160:
        raise AwsError(
            "InvalidInputException", "timeoutInMinutesOverride must be between 5 and 2160"
        )
    _assumable(str(project.project_metadata.get("serviceRole") or ""))
    build = runner(call.account_id, call.region).start(
        project.project_metadata,
        source_version=params.get("sourceVersion"),
        env_overrides=params.get("environmentVariablesOverride") or [],
        initiator="root",
        overrides=params,
        source_zip=None,
    )
    return {"build": describe(build)}


def batch_get_builds(call: Call) -> dict[str, Any]:
    ids = call.params.get("ids") or []
    builds = runner(call.account_id, call.region)
    found, missing = [], []
    for build_id in ids:
        build = builds.find(build_id)
        if build is None:
            missing.append(build_id)
        else:
            found.append(describe(build))
    return {"builds": found, "buildsNotFound": missing}


def _page(ids: list[str], token: str | None) -> dict[str, Any]:
    start = int(token or 0)
    result: dict[str, Any] = {"ids": ids[start : start + 100]}
    if start + 100 < len(ids):
        result["nextToken"] = str(start + 100)
    return result


def list_builds(call: Call) -> dict[str, Any]:
    params = call.params
    ids = runner(call.account_id, call.region).ids(None, params.get("sortOrder"))
    return _page(ids, params.get("nextToken"))


def list_builds_for_project(call: Call) -> dict[str, Any]:
    params = call.params
    name = params.get("projectName", "")
    _project(call.account_id, call.region, name)
    ids = runner(call.account_id, call.region).ids(name, params.get("sortOrder"))
    return _page(ids, params.get("nextToken"))


def stop_build(call: Call) -> dict[str, Any]:
    build_id = call.params.get("id", "")
    build = runner(call.account_id, call.region).find(build_id)
    if build is None:
        raise AwsError("ResourceNotFoundException", f"Build {build_id} does not exist")
    engine.stop(build)
    build.done.wait(10)
    return {"build": describe(build)}


def batch_delete_builds(call: Call) -> dict[str, Any]:
    builds = runner(call.account_id, call.region)
    deleted, missing = [], []
    for build_id in call.params.get("ids") or []:
        build = builds.find(build_id)
        if build is None or not build.done.is_set():
            missing.append(
                {"id": build_id, "statusCode": "BUILD_IN_PROGRESS" if build else "BUILD_NOT_FOUND"}
            )
            continue
        builds.forget(build)
        deleted.append(build.id)
    return {"buildsDeleted": deleted, "buildsNotDeleted": missing}


# -- lifecycle ------------------------------------------------------------------------------
def _stop_all() -> None:
    for state in existing(STATE):
        state.engine.stop_all()


def _reset() -> None:
    """Stop every build and delete their folders; moto's reset then drops the runners."""
    _stop_all()
    engine.wipe()


# -- what CodeBuild adds to CloudFormation and CodePipeline ----------------------------------
def _stack_project(name: str, props: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    params = cfn_types.camel({k: v for k, v in props.items() if k != "Tags"})
    params["name"] = name
    params["tags"] = [{"key": t["Key"], "value": t["Value"]} for t in props.get("Tags") or []]
    if "timeoutInMinutes" in params:
        params["timeoutInMinutes"] = int(params["timeoutInMinutes"])
    meta = create_project_internal(account, region, params)
    return {"physical": name, "attrs": {"Arn": meta.get("arn")}}


def _delete_stack_project(name: str, account: str, region: str, state: dict[str, Any]) -> None:
    delete_project_internal(account, region, name)


cfn_types.declare("AWS::CodeBuild::Project", "Name", _stack_project, _delete_stack_project)


@pipeline_action("Build", "CodeBuild", label="CodeBuild")
@pipeline_action("Test", "CodeBuild", label="CodeBuild")
def _build_action(run: Any, act: Any) -> None:
    """Build the input artifact with project ``ProjectName``; its artifacts are the output."""
    cfg = act.action.get("configuration", {})
    project = cfg.get("ProjectName")
    loc, data = input_artifact(run, act)
    env = {}
    for var in json.loads(cfg.get("EnvironmentVariables") or "[]"):
        env[var["name"]] = var.get("value", "")
    try:
        build_id = start_build_internal(
            run.account_id,
            run.region,
            project,
            data,
            loc.get("revision") or None,
            env,
            f"codepipeline/{run.pipeline_name}",
        )
    except KeyError:
        raise ActionFailed("JobFailed", f"The build project {project} does not exist.") from None
    except AwsError as refused:  # the project's role: CodeBuild cannot assume it
        raise ActionFailed("JobFailed", f"Error calling startBuild: {refused.message}") from None
    act.external_id = build_id
    builds = runner(run.account_id, run.region)
    state: dict[str, Any] = {}

    def finished() -> bool:
        state["build"] = builds.get(build_id)
        return state["build"]["buildStatus"] != "IN_PROGRESS"

    if not wait_or_stop(run, finished):
        return
    build = state["build"]
    if build["buildStatus"] != "SUCCEEDED":
        failed = [
            p for p in build.get("phases", []) if p.get("phaseStatus") not in (None, "SUCCEEDED")
        ]
        detail = ""
        if failed:
            phase = failed[0]
            ctx = (phase.get("contexts") or [{}])[0]
            first = (ctx.get("message") or "").split("\n", 1)[0]  # AWS's sentence, no log tail
            detail = (
                f" Phase: {phase.get('phaseType')}, Code: {ctx.get('statusCode', '')}, "
                f"Message: {first}"
            )
        raise ActionFailed(
            "JobFailed", f"Build terminated with state: {build['buildStatus']}.{detail}"
        )
    if act.action.get("outputArtifacts"):
        zipped = builds.artifacts_zip(build_id)
        if zipped is None:
            raise ActionFailed(
                "JobFailed",
                f"The build {build_id} produced no artifacts: add an "
                "artifacts section (files) to the buildspec.",
            )
        store_output(run, act, zipped, loc.get("revision"))
    act.summary = f"Build {build_id} succeeded"


PROVIDER = Provider(
    name="codebuild",
    response_class=CodeBuildResponse,
    service="codebuild",
    operations={
        "CreateProject": create_project,
        "UpdateProject": update_project,
        "StartBuild": start_build,
        "BatchGetBuilds": batch_get_builds,
        "ListBuilds": list_builds,
        "ListBuildsForProject": list_builds_for_project,
        "StopBuild": stop_build,
        "BatchDeleteBuilds": batch_delete_builds,
    },
    reset=_reset,
    stop=_stop_all,
)
