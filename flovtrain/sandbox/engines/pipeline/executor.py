"""The pipeline executor: the CodePipeline executions of one account and region.

Executions run stage by stage in a background thread per pipeline; each action runs through the
runner registered for its type (:mod:`.actions`). Artifacts travel through the pipeline's S3
artifact store as zips under ``<pipeline>/<artifact>/<id>``, as on AWS. One execution of a
pipeline runs at a time; a newer waiting execution supersedes older waiting ones
(CodePipeline's SUPERSEDED mode). :meth:`PipelineExecutor.on_push` starts the pipelines whose
CodeCommit source watches a branch (AWS's change detection).

Pipeline definitions are moto's; what runs is kept here.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import datetime
from typing import Any

from flovtrain.sandbox.engines import service_roles
from flovtrain.sandbox.engines.errors import EngineError
from flovtrain.sandbox.engines.pipeline import actions
from flovtrain.sandbox.engines.pipeline.actions import ActionFailed
from flovtrain.sandbox.engines.pipeline.model import (
    POLL,
    ActionRun,
    Execution,
    PipelineError,
    PipelineRuntime,
    stopping,
    utcnow,
)

log = logging.getLogger(__name__)


class PipelineExecutor:
    """The executions of the pipelines of one account and region.

    Parameters
    ----------
    account_id, region : str
        Whose pipelines (moto's CodePipeline definitions of that account and region).

    Examples
    --------
    >>> executor = PipelineExecutor("123456789012", "eu-west-1")  # doctest: +SKIP
    >>> run = executor.start("demo")  # doctest: +SKIP
    >>> executor.execution("demo", run.execution_id).status  # doctest: +SKIP
    'InProgress'
    """

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.lock = threading.RLock()
        self.pipelines: dict[str, PipelineRuntime] = {}

    # -- lookups ------------------------------------------------------------------------------
    def definition(self, name: str) -> dict[str, Any]:
        """Return moto's definition of pipeline ``name``.

        Raises
        ------
        PipelineError
            ``PipelineNotFoundException``.
        """
        from moto.codepipeline.models import codepipeline_backends

        backend = codepipeline_backends[self.account_id][self.region]
        if name not in backend.pipelines:
            raise PipelineError(
                "PipelineNotFoundException",
                f"Account '{self.account_id}' does not have a pipeline with name '{name}'",
            )
        return backend.pipelines[name].pipeline

    def runtime(self, name: str) -> PipelineRuntime:
        """Return what the executor keeps for pipeline ``name`` (created on first use)."""
        with self.lock:
            return self.pipelines.setdefault(name, PipelineRuntime())

    def execution(self, name: str, execution_id: str) -> Execution:
        """Return one execution of pipeline ``name``.

        Raises
        ------
        PipelineError
            ``PipelineNotFoundException`` or ``PipelineExecutionNotFoundException``.
        """
        self.definition(name)
        found = self.runtime(name).executions.get(execution_id)
        if found is None:
            raise PipelineError(
                "PipelineExecutionNotFoundException",
                f"Account '{self.account_id}' does not have an execution with id "
                f"'{execution_id}' for pipeline '{name}'",
            )
        return found

    # -- starting executions --------------------------------------------------------------------
    def start(
        self,
        name: str,
        trigger_type: str = "StartPipelineExecution",
        detail: str = "",
        pinned: dict[tuple[str, str], str] | None = None,
        execution_id: str | None = None,
    ) -> Execution:
        """Queue a new execution of pipeline ``name`` and return it (it runs in the background).

        Parameters
        ----------
        trigger_type, detail : str
            The execution's ``trigger`` (``triggerType``, ``triggerDetail``).
        pinned : dict, optional
            ``(repository, branch) -> commit`` a CodeCommit source takes instead of the tip.
        execution_id : str, optional
            The id (default: one from moto's seeded generator).
        """
        pipeline = json.loads(json.dumps(self.definition(name)))
        if execution_id is None:
            from moto.moto_api._internal import mock_random

            execution_id = str(mock_random.uuid4())
        run = Execution(
            self.account_id,
            self.region,
            name,
            pipeline,
            execution_id,
            {"triggerType": trigger_type, "triggerDetail": detail},
            dict(pinned or {}),
        )
        run.rng.seed(execution_id)
        rt = self.runtime(name)
        with self.lock:
            rt.executions[execution_id] = run
            rt.queue.append(run)
            self._ensure_worker(name, rt)
        return run

    def _ensure_worker(self, name: str, rt: PipelineRuntime) -> None:
        if rt.worker is None or not rt.worker.is_alive():
            rt.worker = threading.Thread(
                target=self._work, args=(name, rt), name=f"pipeline-{name}", daemon=True
            )
            rt.worker.start()

    def _work(self, name: str, rt: PipelineRuntime) -> None:
        while not stopping.is_set():
            with self.lock:
                if not rt.queue:
                    rt.worker = None
                    return
                run = rt.queue.pop()  # newest first; older waiting ones are superseded
                for older in rt.queue:
                    if older.status == "InProgress" and older.resume_at == 0:
                        older.status, older.last_update = "Superseded", utcnow()
                        older.status_summary = f"Superseded by execution {run.execution_id}"
                rt.queue.clear()
                rt.current = run
            try:
                _execute(run, rt)
            except Exception as exc:  # never leave an execution InProgress
                log.exception("pipeline %s execution %s crashed", name, run.execution_id)
                run.status, run.status_summary = "Failed", f"Internal error: {exc!r}"
            finally:
                run.last_update = utcnow()
                with self.lock:
                    rt.current = None

    # -- what the API changes ---------------------------------------------------------------------
    def put_approval(
        self, name: str, stage: str, action: str, result: dict[str, str], token: str
    ) -> datetime:
        """Answer a Manual approval waiting in ``stage``/``action``; return when it was answered.

        Raises
        ------
        PipelineError
            ``ApprovalAlreadyCompletedException`` or ``InvalidApprovalTokenException``
            (and the lookups' errors).
        """
        pipeline = self.definition(name)
        _declared_action(pipeline, stage, action)
        rt = self.runtime(name)
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
            waiting.approval = {"result": result, "at": utcnow()}
            return waiting.approval["at"]
        if seen or (
            waiting is None
            and any(a.token == token for r in rt.executions.values() for a in r.actions)
        ):
            raise PipelineError(
                "ApprovalAlreadyCompletedException",
                f"The approval action {action} in stage {stage} has already been approved "
                "or rejected, or is no longer waiting.",
            )
        raise PipelineError(
            "InvalidApprovalTokenException",
            f"The approval token is not valid for action {action} in stage {stage}"
            + ("" if waiting else ": the action is not waiting for an approval")
            + ".",
        )

    def retry_stage(self, name: str, stage: str, execution_id: str, mode: str) -> None:
        """Run a Failed or Stopped stage of the latest execution again (``mode``: which actions).

        Raises
        ------
        PipelineError
            ``NotLatestPipelineExecutionException``, ``StageNotRetryableException``.
        """
        pipeline = self.definition(name)
        _declared_action(pipeline, stage)
        run = self.execution(name, execution_id)
        rt = self.runtime(name)
        later = [
            r
            for r in rt.executions.values()
            if r.stages.get(stage) and r is not run and r.start > run.start
        ]
        if later:
            raise PipelineError(
                "NotLatestPipelineExecutionException",
                f"Execution {execution_id} is not the latest execution of stage {stage}.",
            )
        status = run.stages.get(stage)
        if status not in ("Failed", "Stopped") or run.status not in ("Failed", "Stopped"):
            raise PipelineError(
                "StageNotRetryableException",
                f"Stage {stage} of pipeline {name} cannot be retried: its latest execution "
                f"is {status or 'not started'}. Only a Failed or Stopped stage can be "
                "retried.",
            )
        index = [s["name"] for s in run.pipeline["stages"]].index(stage)
        with self.lock:
            run.resume_at, run.retry_mode = index, mode
            run.status, run.stop_mode, run.stop_reason = "InProgress", None, None
            run.stages[stage] = "InProgress"
            rt.queue.append(run)
            self._ensure_worker(name, rt)

    def stop(self, name: str, execution_id: str, abandon: bool, reason: str | None) -> None:
        """Stop an execution: let running actions finish, or abandon them.

        Raises
        ------
        PipelineError
            ``DuplicatedStopRequestException``, ``PipelineExecutionNotStoppableException``.
        """
        run = self.execution(name, execution_id)
        if run.status == "Stopping" and not abandon:
            raise PipelineError(
                "DuplicatedStopRequestException", f"Execution {execution_id} is already stopping."
            )
        if run.status not in ("InProgress", "Stopping"):
            raise PipelineError(
                "PipelineExecutionNotStoppableException",
                f"Unable to stop pipeline execution {execution_id}: it is {run.status}.",
            )
        run.stop_reason = reason
        rt = self.runtime(name)
        with self.lock:
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
        self, name: str, stage: str, kind: str, enabled: bool, reason: str | None
    ) -> None:
        """Enable or disable the ``Inbound`` or ``Outbound`` transition of ``stage``.

        Raises
        ------
        PipelineError
            ``ValidationException`` for the outbound transition of the last stage.
        """
        pipeline = self.definition(name)
        _declared_action(pipeline, stage)
        names = [s["name"] for s in pipeline["stages"]]
        target = (
            stage
            if kind == "Inbound"
            else (names[names.index(stage) + 1] if names.index(stage) + 1 < len(names) else None)
        )
        if target is None:
            raise PipelineError(
                "ValidationException",
                f"Stage {stage} is the last stage: it has no outbound transition.",
            )
        rt = self.runtime(name)
        rt.transitions[target] = _transition_state(self.account_id, enabled, reason)
        with self.lock:
            if rt.current:
                rt.current.wake.set()

    def hold_before(self, name: str, stage: str, reason: str | None) -> None:
        """Disable the inbound transition of ``stage`` before the pipeline exists or runs.

        CloudFormation's ``DisableInboundStageTransitions``: recorded before the first
        execution starts, so it holds that execution too.
        """
        self.runtime(name).transitions[stage] = _transition_state(self.account_id, False, reason)

    def forget(self, name: str) -> None:
        """Drop a deleted pipeline's executions (a running one is abandoned)."""
        with self.lock:
            rt = self.pipelines.pop(name, None)
        if rt:
            for run in rt.executions.values():
                if run.status in ("InProgress", "Stopping"):
                    run.stop_mode = "Abandon"
                    run.status = "Stopped"
                    run.status_summary = "The pipeline was deleted."

    def forget_all(self) -> None:
        """Abandon every execution and forget every pipeline's runtime state (reset)."""
        with self.lock:
            names = list(self.pipelines)
        for name in names:
            self.forget(name)

    # -- change detection ---------------------------------------------------------------------
    def on_push(self, repo: str, branch: str, new: str) -> None:
        """Start every pipeline whose first-stage CodeCommit source watches ``repo``/``branch``."""
        from moto.codepipeline.models import codepipeline_backends

        try:
            backend = codepipeline_backends[self.account_id][self.region]
        except KeyError:  # a region moto does not serve
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
                        repeat = self._times_pinned(name, new)
                        execution_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{new}/{repeat}"))
                        self.start(
                            name,
                            "CloudWatchEvent",
                            f"arn:aws:events:{self.region}:{self.account_id}:rule/"
                            f"codepipeline-{repo}-{branch}",
                            {(repo, branch): new},
                            execution_id=execution_id,
                        )
                        break

    def _times_pinned(self, name: str, commit: str) -> int:
        rt = self.pipelines.get(name)
        return sum(commit in r.pinned.values() for r in rt.executions.values()) if rt else 0


def shutdown() -> None:
    """Make every execution and waiting action of this process stop (the sandbox stops)."""
    stopping.set()


def _transition_state(account_id: str, enabled: bool, reason: str | None) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "disabledReason": None if enabled else reason,
        "lastChangedBy": f"arn:aws:iam::{account_id}:root",
        "lastChangedAt": utcnow(),
    }


def _declared_action(pipeline: dict[str, Any], stage: str, action: str | None = None) -> None:
    for s in pipeline["stages"]:
        if s["name"] == stage:
            if action is None or any(a["name"] == action for a in s["actions"]):
                return
            raise PipelineError(
                "ActionNotFoundException", f"Action {action} does not exist in stage {stage}"
            )
    raise PipelineError("StageNotFoundException", f"Stage {stage} does not exist in the pipeline")


# -- the pipeline's role ------------------------------------------------------------------------
def _service_calls(run: Execution, action: dict[str, Any]) -> list[tuple[str, str]]:
    """What CodePipeline calls with the role to run ``action`` (as its service-role policy)."""
    type_id, cfg = action.get("actionTypeId", {}), action.get("configuration", {})
    where = f"{run.region}:{run.account_id}"
    provider = type_id.get("provider")
    if provider == "CodeBuild":
        project = f"arn:aws:codebuild:{where}:project/{cfg.get('ProjectName', '')}"
        return [("codebuild:StartBuild", project), ("codebuild:BatchGetBuilds", project)]
    if provider == "CodeDeploy":
        app = cfg.get("ApplicationName", "")
        group = f"arn:aws:codedeploy:{where}:deploymentgroup:{app}/"
        return [
            ("codedeploy:CreateDeployment", group + cfg.get("DeploymentGroupName", "")),
            (
                "codedeploy:RegisterApplicationRevision",
                f"arn:aws:codedeploy:{where}:application:{app}",
            ),
        ]
    if provider == "CodeCommit":
        repo = f"arn:aws:codecommit:{where}:{cfg.get('RepositoryName', '')}"
        return [("codecommit:GetBranch", repo), ("codecommit:UploadArchive", repo)]
    return []


def _as_pipeline_role(run: Execution, act: ActionRun) -> None:
    """Assume the pipeline's role and check what the action calls with it.

    Raises
    ------
    ActionFailed
        ``JobFailed`` when CodePipeline cannot assume the role, ``PermissionError`` when the
        role may not make a call the action needs.
    """
    try:  # a fresh session per action: the role's policies as they are now
        run.session = service_roles.assume(
            str(run.pipeline.get("roleArn") or ""), "codepipeline", act.action_execution_id
        )
    except service_roles.RoleNotAssumable as refused:
        raise ActionFailed("JobFailed", refused.message) from None
    for action, resource in _service_calls(run, act.action):
        actions.insufficient_permissions(run, action, resource)


# -- running ------------------------------------------------------------------------------------
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
            if run.stop_mode or stopping.is_set():
                break
            run.wake.wait(POLL)
            run.wake.clear()
        if run.stop_mode or stopping.is_set():
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
        run.last_update = utcnow()
    run.status = "Succeeded"
    run.status_summary = None


def _run_stage(run: Execution, stage: dict[str, Any], retry: bool) -> str | None:
    """Run a stage's actions in runOrder; return the failure summary or None."""
    stage_actions = sorted(stage["actions"], key=lambda a: a.get("runOrder", 1))
    for action in stage_actions:
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
        run.last_update = utcnow()
        try:
            runner = actions.lookup(act.action.get("actionTypeId", {}))
            _as_pipeline_role(run, act)
            runner(run, act)
            if act.status == "InProgress":
                act.finish("Succeeded")
        except ActionFailed as exc:
            act.finish("Failed", error={"code": exc.code, "message": exc.message})
        except EngineError as exc:
            act.finish(
                "Failed", error={"code": "JobFailed", "message": f"{exc.code}: {exc.message}"}
            )
        except Exception as exc:
            log.exception("action %s failed", action["name"])
            act.finish("Failed", error={"code": "JobFailed", "message": repr(exc)})
        run.last_update = utcnow()
        if run.stop_mode == "Abandon" and act.status == "InProgress":
            act.finish("Abandoned")
        if run.stop_mode:
            return None
        if act.status == "Failed":
            return f"Action {action['name']} in stage {stage['name']} failed: " + (
                act.error or {}
            ).get("message", "")
    return None
