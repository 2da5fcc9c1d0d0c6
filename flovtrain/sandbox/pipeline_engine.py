"""The CodePipeline engine: executions run stage by stage in background threads.

Actions it runs: CodeCommit and S3 sources, CodeBuild builds, CodeDeploy deployments and
Manual approvals. Artifacts travel through the pipeline's S3 artifact store as zips under
``<pipeline>/<artifact>/<id>``, as on AWS. One execution of a pipeline runs at a time; a
newer waiting execution supersedes older waiting ones (CodePipeline's SUPERSEDED mode).
A push to a branch a CodeCommit source watches starts an execution (AWS's change detection).

Runs inside the sandbox process; :mod:`flovtrain.sandbox.providers.codepipeline` maps the
API onto it.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flovtrain.sandbox.seam import AwsError

log = logging.getLogger(__name__)
POLL = 0.05
ACTION_TIMEOUT = 3600.0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ActionRun:
    stage: str
    name: str
    action: dict[str, Any]
    action_execution_id: str
    status: str = "InProgress"
    start: datetime = field(default_factory=_now)
    last_update: datetime = field(default_factory=_now)
    summary: str | None = None
    external_id: str | None = None
    error: dict[str, str] | None = None
    token: str | None = None
    approval: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    updated_by: str = "arn:aws:iam::123456789012:role/codepipeline"

    def finish(
        self, status: str, summary: str | None = None, error: dict[str, str] | None = None
    ) -> None:
        self.status, self.last_update = status, _now()
        if summary is not None:
            self.summary = summary
        self.error = error


@dataclass
class Execution:
    account_id: str
    region: str
    pipeline_name: str
    pipeline: dict[str, Any]
    execution_id: str
    trigger: dict[str, str]
    pinned: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, branch) -> commit
    status: str = "InProgress"
    status_summary: str | None = None
    start: datetime = field(default_factory=_now)
    last_update: datetime = field(default_factory=_now)
    stages: dict[str, str] = field(default_factory=dict)  # stage -> status
    actions: list[ActionRun] = field(default_factory=list)
    artifacts: dict[str, dict[str, str]] = field(default_factory=dict)
    source_revisions: list[dict[str, Any]] = field(default_factory=list)
    stop_mode: str | None = None
    stop_reason: str | None = None
    resume_at: int = 0
    retry_mode: str = "ALL_ACTIONS"
    rng: random.Random = field(default_factory=random.Random)
    wake: threading.Event = field(default_factory=threading.Event)

    def latest(self, stage: str, action: str) -> ActionRun | None:
        for run in reversed(self.actions):
            if run.stage == stage and run.name == action:
                return run
        return None


@dataclass
class PipelineRuntime:
    """What the engine keeps per pipeline besides moto's definition."""

    executions: dict[str, Execution] = field(default_factory=dict)  # chronological
    queue: list[Execution] = field(default_factory=list)
    transitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # inbound per stage
    worker: threading.Thread | None = None
    current: Execution | None = None


_lock = threading.RLock()
_pipelines: dict[tuple[str, str, str], PipelineRuntime] = {}
_stopping = threading.Event()
_listening = False


# -- lookups ----------------------------------------------------------------------------------
def _moto_pipeline(account_id: str, region: str, name: str) -> dict[str, Any]:
    from moto.codepipeline.models import codepipeline_backends

    backend = codepipeline_backends[account_id][region]
    if name not in backend.pipelines:
        raise AwsError(
            "PipelineNotFoundException",
            f"Account '{account_id}' does not have a pipeline with name '{name}'",
        )
    return backend.pipelines[name].pipeline


def runtime(account_id: str, region: str, name: str) -> PipelineRuntime:
    with _lock:
        return _pipelines.setdefault((account_id, region, name), PipelineRuntime())


def execution(account_id: str, region: str, name: str, execution_id: str) -> Execution:
    _moto_pipeline(account_id, region, name)
    found = runtime(account_id, region, name).executions.get(execution_id)
    if found is None:
        raise AwsError(
            "PipelineExecutionNotFoundException",
            f"Account '{account_id}' does not have an execution with id "
            f"'{execution_id}' for pipeline '{name}'",
        )
    return found


def artifact_bucket(pipeline: dict[str, Any], region: str) -> str:
    stores = pipeline.get("artifactStores") or {}
    store = stores.get(region) or pipeline.get("artifactStore") or next(iter(stores.values()), None)
    if not store or not store.get("location"):
        raise AwsError(
            "InvalidStructureException",
            "The pipeline has no artifactStore (or artifactStores entry for "
            f"{region}): add an S3 bucket to keep its artifacts in.",
        )
    return store["location"]


# -- starting executions ----------------------------------------------------------------------
def start(
    account_id: str,
    region: str,
    name: str,
    trigger_type: str = "StartPipelineExecution",
    detail: str = "",
    pinned: dict[tuple[str, str], str] | None = None,
    execution_id: str | None = None,
) -> Execution:
    """Queue a new execution of a pipeline and return it (it runs in the background)."""
    pipeline = json.loads(json.dumps(_moto_pipeline(account_id, region, name)))
    if execution_id is None:
        from moto.moto_api._internal import mock_random

        execution_id = str(mock_random.uuid4())
    run = Execution(
        account_id,
        region,
        name,
        pipeline,
        execution_id,
        {"triggerType": trigger_type, "triggerDetail": detail},
        dict(pinned or {}),
    )
    run.rng.seed(execution_id)
    rt = runtime(account_id, region, name)
    with _lock:
        rt.executions[execution_id] = run
        rt.queue.append(run)
        _ensure_worker(account_id, region, name, rt)
    return run


def _ensure_worker(account_id: str, region: str, name: str, rt: PipelineRuntime) -> None:
    if rt.worker is None or not rt.worker.is_alive():
        rt.worker = threading.Thread(
            target=_work, args=(account_id, region, name, rt), name=f"pipeline-{name}", daemon=True
        )
        rt.worker.start()


def _work(account_id: str, region: str, name: str, rt: PipelineRuntime) -> None:
    while not _stopping.is_set():
        with _lock:
            if not rt.queue:
                rt.worker = None
                return
            run = rt.queue.pop()  # newest first; older waiting ones are superseded
            for older in rt.queue:
                if older.status == "InProgress" and older.resume_at == 0:
                    older.status, older.last_update = "Superseded", _now()
                    older.status_summary = f"Superseded by execution {run.execution_id}"
            rt.queue.clear()
            rt.current = run
        try:
            _execute(run, rt)
        except Exception as exc:  # never leave an execution InProgress
            log.exception("pipeline %s execution %s crashed", name, run.execution_id)
            run.status, run.status_summary = "Failed", f"Internal error: {exc!r}"
        finally:
            run.last_update = _now()
            with _lock:
                rt.current = None


# -- running ------------------------------------------------------------------------------------
class _ActionFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _transition_open(rt: PipelineRuntime, stage: str) -> bool:
    state = rt.transitions.get(stage)
    return state is None or state.get("enabled", True)


def _execute(run: Execution, rt: PipelineRuntime) -> None:
    stages = run.pipeline["stages"]
    start_index = run.resume_at
    run.status = "InProgress"
    for index, stage in enumerate(stages):
        if index < start_index:
            continue
        sname = stage["name"]
        # a disabled inbound transition holds the execution before the stage (AWS shows it
        # InProgress, waiting), until it is enabled or the execution is stopped
        while index > 0 and not _transition_open(rt, sname):
            if run.stop_mode or _stopping.is_set():
                break
            run.wake.wait(POLL)
            run.wake.clear()
        if run.stop_mode or _stopping.is_set():
            run.status = "Stopped"
            return
        run.stages[sname] = "InProgress"
        failed = _run_stage(run, stage, retry=index == start_index and start_index > 0)
        if run.stop_mode:
            run.stages[sname] = "Stopped"
            run.status = "Stopped"
            run.status_summary = run.stop_reason
            return
        if failed:
            run.stages[sname] = "Failed"
            run.status = "Failed"
            run.status_summary = failed
            return
        run.stages[sname] = "Succeeded"
        run.last_update = _now()
    run.status = "Succeeded"
    run.status_summary = None


def _run_stage(run: Execution, stage: dict[str, Any], retry: bool) -> str | None:
    """Run a stage's actions in runOrder; return the failure summary or None."""
    actions = sorted(stage["actions"], key=lambda a: a.get("runOrder", 1))
    for action in actions:
        previous = run.latest(stage["name"], action["name"])
        if (
            retry
            and run.retry_mode == "FAILED_ACTIONS"
            and previous
            and previous.status == "Succeeded"
        ):
            continue
        act = ActionRun(
            stage["name"],
            action["name"],
            action,
            str(uuid.UUID(int=run.rng.getrandbits(128), version=4)),
        )
        run.actions.append(act)
        run.last_update = _now()
        try:
            _run_action(run, act)
            if act.status == "InProgress":
                act.finish("Succeeded")
        except _ActionFailed as exc:
            act.finish("Failed", error={"code": exc.code, "message": exc.message})
        except AwsError as exc:
            act.finish(
                "Failed", error={"code": "JobFailed", "message": f"{exc.code}: {exc.message}"}
            )
        except Exception as exc:
            log.exception("action %s failed", action["name"])
            act.finish("Failed", error={"code": "JobFailed", "message": repr(exc)})
        run.last_update = _now()
        if run.stop_mode == "Abandon" and act.status == "InProgress":
            act.finish("Abandoned")
        if run.stop_mode:
            return None
        if act.status == "Failed":
            return f"Action {action['name']} in stage {stage['name']} failed: " + (
                act.error or {}
            ).get("message", "")
    return None


def _artifact_key(run: Execution, artifact: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    suffix = "".join(run.rng.choice(alphabet) for _ in range(7))
    return f"{run.pipeline_name[:20]}/{artifact[:20]}/{suffix}"


def _store(run: Execution, act: ActionRun, data: bytes, revision: str | None = None) -> None:
    from flovtrain.sandbox.providers.codedeploy import s3_write

    bucket = artifact_bucket(run.pipeline, run.region)
    for out in act.action.get("outputArtifacts") or []:
        key = _artifact_key(run, out["name"])
        s3_write(run.account_id, bucket, key, data)
        run.artifacts[out["name"]] = {"bucket": bucket, "key": key, "revision": revision or ""}
        act.outputs.append({"name": out["name"], "s3location": {"bucket": bucket, "key": key}})


def _input(run: Execution, act: ActionRun) -> tuple[dict[str, str], bytes]:
    from flovtrain.sandbox.providers.codedeploy import s3_read

    names = [a["name"] for a in act.action.get("inputArtifacts") or []]
    if not names:
        raise _ActionFailed(
            "ConfigurationError", f"Action {act.name} needs an input artifact (inputArtifacts)."
        )
    primary = act.action.get("configuration", {}).get("PrimarySource") or names[0]
    for name in names:
        if name not in run.artifacts:
            raise _ActionFailed(
                "ConfigurationError",
                f"Input artifact {name} of action {act.name} was not produced by "
                "an earlier action of this execution.",
            )
        loc = run.artifacts[name]
        act.inputs.append(
            {"name": name, "s3location": {"bucket": loc["bucket"], "key": loc["key"]}}
        )
    loc = run.artifacts[primary]
    return loc, s3_read(run.account_id, loc["bucket"], loc["key"])


def _run_action(run: Execution, act: ActionRun) -> None:
    type_id = act.action.get("actionTypeId", {})
    key = (type_id.get("category"), type_id.get("owner"), type_id.get("provider"))
    runner = {
        ("Source", "AWS", "CodeCommit"): _codecommit_source,
        ("Source", "AWS", "S3"): _s3_source,
        ("Build", "AWS", "CodeBuild"): _codebuild,
        ("Test", "AWS", "CodeBuild"): _codebuild,
        ("Deploy", "AWS", "CodeDeploy"): _codedeploy,
        ("Approval", "AWS", "Manual"): _approval,
    }.get(key)
    if runner is None:
        raise _ActionFailed(
            "JobFailed",
            f"The flovtrain sandbox does not run {'/'.join(map(str, key))} actions "
            "(it runs CodeCommit and S3 sources, CodeBuild, CodeDeploy and Manual "
            "approval).",
        )
    runner(run, act)


def _codecommit_source(run: Execution, act: ActionRun) -> None:
    from flovtrain.sandbox import gitrepos

    cfg = act.action.get("configuration", {})
    repo, branch = cfg.get("RepositoryName"), cfg.get("BranchName")
    commit = run.pinned.get((repo, branch)) or gitrepos.head(
        run.account_id, run.region, repo, branch
    )
    if not commit:
        raise _ActionFailed(
            "JobFailed",
            f"The branch {branch} in repository {repo} does not exist (or the "
            "repository is empty). Push a commit to it and release the change.",
        )
    data = gitrepos.archive(run.account_id, run.region, repo, commit)
    message = ""
    try:
        from flovtrain.sandbox.gitrepos import locked

        with locked(run.account_id, run.region, repo) as git:
            message = git[commit.encode()].message.decode(errors="replace").strip()
    except Exception:  # the message is a nicety
        message = ""
    act.external_id, act.summary = commit, message
    act.variables = {
        "CommitId": commit,
        "BranchName": branch,
        "RepositoryName": repo,
        "CommitMessage": message,
    }
    _store(run, act, data, commit)
    run.source_revisions.append(
        {"actionName": act.name, "revisionId": commit, "revisionSummary": message}
    )


def _s3_source(run: Execution, act: ActionRun) -> None:
    from flovtrain.sandbox.providers._common import s3_object

    cfg = act.action.get("configuration", {})
    bucket, key = cfg.get("S3Bucket"), cfg.get("S3ObjectKey")
    obj = s3_object(run.account_id, bucket, key)
    if obj is None:
        raise _ActionFailed(
            "JobFailed",
            f"The object s3://{bucket}/{key} does not exist (or its "
            "bucket does not). Upload it, then release the change.",
        )
    version = (
        str(obj.version_id) if obj.version_id and obj.version_id != "null" else obj.etag.strip('"')
    )
    act.external_id, act.summary = version, f"s3://{bucket}/{key}"
    act.variables = {"ObjectKey": key, "ETag": obj.etag.strip('"'), "VersionId": version}
    _store(run, act, bytes(obj.value), version)
    run.source_revisions.append(
        {"actionName": act.name, "revisionId": version, "revisionSummary": f"s3://{bucket}/{key}"}
    )


def _wait_or_stop(run: Execution, done: Any, on_abandon: Any = None) -> bool:
    deadline = time.monotonic() + ACTION_TIMEOUT
    while not done():
        if run.stop_mode == "Abandon" or _stopping.is_set():
            if on_abandon:
                on_abandon()
            return False
        if time.monotonic() > deadline:
            raise _ActionFailed("JobFailed", "The action did not finish within an hour.")
        time.sleep(POLL)
    return True


def _codebuild(run: Execution, act: ActionRun) -> None:
    from flovtrain.sandbox.providers import codebuild

    cfg = act.action.get("configuration", {})
    project = cfg.get("ProjectName")
    loc, data = _input(run, act)
    env = {}
    for var in json.loads(cfg.get("EnvironmentVariables") or "[]"):
        env[var["name"]] = var.get("value", "")
    try:
        build_id = codebuild.start_build_internal(
            run.account_id,
            run.region,
            project,
            data,
            loc.get("revision") or None,
            env,
            f"codepipeline/{run.pipeline_name}",
        )
    except KeyError:
        raise _ActionFailed("JobFailed", f"The build project {project} does not exist.") from None
    act.external_id = build_id
    state: dict[str, Any] = {}

    def finished() -> bool:
        state["build"] = codebuild.get_build(run.account_id, run.region, build_id)
        return state["build"]["buildStatus"] != "IN_PROGRESS"

    if not _wait_or_stop(run, finished):
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
            detail = (
                f" Phase: {phase.get('phaseType')}, Code: {ctx.get('statusCode', '')}, "
                f"Message: {ctx.get('message', '')}"
            )
        raise _ActionFailed(
            "JobFailed", f"Build terminated with state: {build['buildStatus']}.{detail}"
        )
    if act.action.get("outputArtifacts"):
        zipped = codebuild.artifacts_zip(run.account_id, run.region, build_id)
        if zipped is None:
            raise _ActionFailed(
                "JobFailed",
                f"The build {build_id} produced no artifacts: add an "
                "artifacts section (files) to the buildspec.",
            )
        _store(run, act, zipped, loc.get("revision"))
    act.summary = f"Build {build_id} succeeded"


def _codedeploy(run: Execution, act: ActionRun) -> None:
    from flovtrain.sandbox.providers import codedeploy

    cfg = act.action.get("configuration", {})
    loc, _ = _input(run, act)
    revision = {
        "revisionType": "S3",
        "s3Location": {"bucket": loc["bucket"], "key": loc["key"], "bundleType": "zip"},
    }
    deployment_id = codedeploy.create_deployment_internal(
        run.account_id,
        run.region,
        cfg.get("ApplicationName"),
        cfg.get("DeploymentGroupName"),
        revision,
        description=f"Deployed by CodePipeline {run.pipeline_name} execution {run.execution_id}",
        id_source=run.rng,
    )
    act.external_id = deployment_id
    deployment_run = codedeploy.run_of(deployment_id)
    if not _wait_or_stop(run, deployment_run.done.is_set):
        return
    backend = codedeploy._backend(run.account_id, run.region)
    status = backend.deployments[deployment_id].status
    if status != "Succeeded":
        err = deployment_run.error or {}
        raise _ActionFailed(
            "JobFailed",
            f"Deployment {deployment_id} {status.lower()}: "
            f"{err.get('code', '')} {err.get('message', '')}".strip(),
        )
    act.summary = f"Deployment {deployment_id} succeeded"


def _approval(run: Execution, act: ActionRun) -> None:
    act.token = str(uuid.UUID(int=run.rng.getrandbits(128), version=4))
    if not _wait_or_stop(run, lambda: act.approval is not None):
        return
    result = act.approval["result"]
    if result["status"] == "Approved":
        act.finish("Succeeded", result.get("summary") or "Approved")
    else:
        act.summary = result.get("summary") or "Rejected"
        raise _ActionFailed("JobFailed", f"Rejected: {act.summary}")


# -- API helpers --------------------------------------------------------------------------------
def put_approval(
    account_id: str,
    region: str,
    name: str,
    stage: str,
    action: str,
    result: dict[str, str],
    token: str,
) -> datetime:
    pipeline = _moto_pipeline(account_id, region, name)
    _declared_action(pipeline, stage, action)
    rt = runtime(account_id, region, name)
    waiting, seen = None, False
    for run in reversed(list(rt.executions.values())):
        act = run.latest(stage, action)
        if act is None:
            continue
        if act.token == token:
            seen = True
        if act.status == "InProgress" and act.token and act.approval is None:
            waiting = act
        break
    if waiting is not None and waiting.token == token:
        waiting.approval = {"result": result, "at": _now()}
        return waiting.approval["at"]
    if seen or (
        waiting is None and any(a.token == token for r in rt.executions.values() for a in r.actions)
    ):
        raise AwsError(
            "ApprovalAlreadyCompletedException",
            f"The approval action {action} in stage {stage} has already been approved "
            "or rejected, or is no longer waiting.",
        )
    raise AwsError(
        "InvalidApprovalTokenException",
        f"The approval token is not valid for action {action} in stage {stage}"
        + ("" if waiting else ": the action is not waiting for an approval")
        + ".",
    )


def _declared_action(pipeline: dict[str, Any], stage: str, action: str | None = None) -> None:
    for s in pipeline["stages"]:
        if s["name"] == stage:
            if action is None or any(a["name"] == action for a in s["actions"]):
                return
            raise AwsError(
                "ActionNotFoundException", f"Action {action} does not exist in stage {stage}"
            )
    raise AwsError("StageNotFoundException", f"Stage {stage} does not exist in the pipeline")


def retry_stage(
    account_id: str, region: str, name: str, stage: str, execution_id: str, mode: str
) -> None:
    pipeline = _moto_pipeline(account_id, region, name)
    _declared_action(pipeline, stage)
    run = execution(account_id, region, name, execution_id)
    rt = runtime(account_id, region, name)
    later = [
        r
        for r in rt.executions.values()
        if r.stages.get(stage) and r is not run and r.start > run.start
    ]
    if later:
        raise AwsError(
            "NotLatestPipelineExecutionException",
            f"Execution {execution_id} is not the latest execution of stage {stage}.",
        )
    status = run.stages.get(stage)
    if status not in ("Failed", "Stopped") or run.status not in ("Failed", "Stopped"):
        raise AwsError(
            "StageNotRetryableException",
            f"Stage {stage} of pipeline {name} cannot be retried: its latest execution "
            f"is {status or 'not started'}. Only a Failed or Stopped stage can be "
            "retried.",
        )
    index = [s["name"] for s in run.pipeline["stages"]].index(stage)
    with _lock:
        run.resume_at, run.retry_mode = index, mode
        run.status, run.stop_mode, run.stop_reason = "InProgress", None, None
        run.stages[stage] = "InProgress"
        rt.queue.append(run)
        _ensure_worker(account_id, region, name, rt)


def stop(
    account_id: str, region: str, name: str, execution_id: str, abandon: bool, reason: str | None
) -> None:
    run = execution(account_id, region, name, execution_id)
    if run.status == "Stopping" and not abandon:
        raise AwsError(
            "DuplicatedStopRequestException", f"Execution {execution_id} is already stopping."
        )
    if run.status not in ("InProgress", "Stopping"):
        raise AwsError(
            "PipelineExecutionNotStoppableException",
            f"Unable to stop pipeline execution {execution_id}: it is {run.status}.",
        )
    run.stop_reason = reason
    rt = runtime(account_id, region, name)
    with _lock:
        if run in rt.queue:  # never started: nothing to wait for
            rt.queue.remove(run)
            run.status = "Stopped"
            return
    run.stop_mode = "Abandon" if abandon else "StopAndWait"
    if abandon:
        for act in run.actions:
            if act.status == "InProgress":
                act.finish("Abandoned")
        run.status = "Stopped"
    else:
        run.status = "Stopping"
    run.wake.set()


def set_transition(
    account_id: str,
    region: str,
    name: str,
    stage: str,
    kind: str,
    enabled: bool,
    reason: str | None,
) -> None:
    pipeline = _moto_pipeline(account_id, region, name)
    _declared_action(pipeline, stage)
    names = [s["name"] for s in pipeline["stages"]]
    target = (
        stage
        if kind == "Inbound"
        else (names[names.index(stage) + 1] if names.index(stage) + 1 < len(names) else None)
    )
    if target is None:
        raise AwsError(
            "ValidationException",
            f"Stage {stage} is the last stage: it has no outbound transition.",
        )
    rt = runtime(account_id, region, name)
    rt.transitions[target] = {
        "enabled": enabled,
        "disabledReason": None if enabled else reason,
        "lastChangedBy": f"arn:aws:iam::{account_id}:root",
        "lastChangedAt": _now(),
    }
    with _lock:
        if rt.current:
            rt.current.wake.set()


def forget(account_id: str, region: str, name: str) -> None:
    """Drop a deleted pipeline's executions (a running one is abandoned)."""
    with _lock:
        rt = _pipelines.pop((account_id, region, name), None)
    if rt:
        for run in rt.executions.values():
            if run.status in ("InProgress", "Stopping"):
                run.stop_mode = "Abandon"
                run.status = "Stopped"
                run.status_summary = "The pipeline was deleted."


# -- change detection ---------------------------------------------------------------------------
def on_push(
    account_id: str, region: str, repo: str, branch: str, old: str | None, new: str
) -> None:
    """gitrepos push listener: start every pipeline whose CodeCommit source watches the branch."""
    from moto.codepipeline.models import codepipeline_backends

    try:
        backend = codepipeline_backends[account_id][region]
    except KeyError:
        return
    for name, model in list(backend.pipelines.items()):
        for stage in model.pipeline["stages"][:1]:
            for action in stage["actions"]:
                type_id = action.get("actionTypeId", {})
                cfg = action.get("configuration", {})
                if (
                    type_id.get("provider") == "CodeCommit"
                    and cfg.get("RepositoryName") == repo
                    and cfg.get("BranchName") == branch
                ):
                    # deterministic id from the commit: a push made by a notebook gives the
                    # same execution id on every run
                    repeat = _times_pinned(account_id, region, name, new)
                    execution_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{new}/{repeat}"))
                    start(
                        account_id,
                        region,
                        name,
                        "CloudWatchEvent",
                        f"arn:aws:events:{region}:{account_id}:rule/codepipeline-{repo}-{branch}",
                        {(repo, branch): new},
                        execution_id=execution_id,
                    )
                    break


def _times_pinned(account_id: str, region: str, name: str, commit: str) -> int:
    rt = _pipelines.get((account_id, region, name))
    return sum(commit in r.pinned.values() for r in rt.executions.values()) if rt else 0


def listen() -> None:
    """Register the push listener (once per process)."""
    global _listening
    from flovtrain.sandbox import gitrepos

    if not _listening:
        gitrepos.on_push(on_push)
        _listening = True


def reset() -> None:
    """Abandon every execution and forget all pipelines' runtime state."""
    with _lock:
        keys = list(_pipelines)
    for key in keys:
        forget(*key)


def shutdown() -> None:
    _stopping.set()
    reset()
