"""The deployment runner: the CodeDeploy deployments of one account and region.

moto stores applications, groups and deployments and leaves every deployment ``Created``.
Here a deployment runs in a background thread: the S3 revision is unpacked on every instance
the group's ``ec2TagFilters`` / ``ec2TagSet`` match (one at a time; each downloads it as its
instance profile's role, see :mod:`.credentials`), ``files`` are copied under
the instance root, and the AppSpec hooks run as real processes with CodeDeploy's variables plus
``FLOVTRAIN_INSTANCE_ROOT`` / ``FLOVTRAIN_INSTANCE_ADDRESS``. Apps a hook leaves running keep
running (their process group belongs to the instance). Status, lifecycle events, diagnostics
(the script's output tail) and the error go into moto's deployment and :class:`Run`.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines import instances, s3
from flovtrain.sandbox.engines.deploy import appspec, credentials
from flovtrain.sandbox.engines.deploy.hooks import (
    LOG_TAIL_CHARS,
    EventFailed,
    end_event,
    new_events,
    run_script,
    utcnow,
)
from flovtrain.sandbox.engines.deploy.targets import matching_instances
from flovtrain.sandbox.engines.errors import EngineError

AGENT_ROOT = "opt/codedeploy-agent/deployment-root"


@dataclass
class InstanceRun:
    """One instance's part of a deployment: its status and lifecycle events."""

    instance_id: str
    arn: str
    status: str = "Pending"
    last_updated: datetime = field(default_factory=utcnow)
    events: list[dict[str, Any]] = field(default_factory=list)
    #: ``Blue`` (in place, or the original environment) or ``Green`` (the replacement)
    instance_type: str = "Blue"


@dataclass
class Run:
    """One deployment as the runner runs it (moto keeps the deployment's record)."""

    account_id: str
    region: str
    deployment_id: str
    application: str
    group: str
    group_id: str
    revision: dict[str, Any]
    ignore_stop_failures: bool = False
    instances: dict[str, InstanceRun] = field(default_factory=dict)
    error: dict[str, str] | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    current_pgid: int | None = None
    target_instances: dict[str, Any] | None = None  # blue/green: the replacement environment
    #: ContinueDeployment sets these (READY_WAIT, TERMINATION_WAIT)
    continue_ready: threading.Event = field(default_factory=threading.Event)
    continue_termination: threading.Event = field(default_factory=threading.Event)
    waiting_for: str | None = None  # READY_WAIT | TERMINATION_WAIT while the run waits


class DeploymentRunner:
    """The deployments of one account and region, and what each instance was last given.

    Parameters
    ----------
    account, region : str
        Where the deployments run (moto's CodeDeploy, EC2 and S3 of that account).

    Examples
    --------
    >>> runner = DeploymentRunner("123456789012", "eu-west-1")  # doctest: +SKIP
    >>> run = runner.start(Run("123456789012", "eu-west-1", "d-ABC", "app", "grp", gid, rev))
    ...     # doctest: +SKIP
    >>> run.done.wait(60)  # doctest: +SKIP
    True
    """

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.lock = threading.RLock()
        self.runs: dict[str, Run] = {}
        # (instance id, deployment group id) -> what the last successful deployment left there
        self.last_success: dict[tuple[str, str], dict[str, Any]] = {}

    def start(self, run: Run) -> Run:
        """Run the deployment ``run`` (already recorded in moto) in a background thread."""
        with self.lock:
            self.runs[run.deployment_id] = run
        threading.Thread(
            target=_execute, args=(self, run), name=f"codedeploy-{run.deployment_id}", daemon=True
        ).start()
        return run

    def get(self, deployment_id: str) -> Run | None:
        """Return the run of a deployment, or None when this runner never ran it."""
        return self.runs.get(deployment_id)

    def of_group(self, application: str, group: str) -> list[Run]:
        """Return the runs of one deployment group, oldest first."""
        runs = list(self.runs.values())
        return [r for r in runs if (r.application, r.group) == (application, group)]

    def stop_all(self) -> None:
        """Ask every deployment to stop (each skips what it has not started)."""
        for run in list(self.runs.values()):
            run.stop_requested.set()


def _moto_backend(account_id: str, region: str) -> Any:
    from moto.codedeploy.models import codedeploy_backends

    return codedeploy_backends[account_id][region]


def _overview(run: Run, moto_deployment: Any) -> None:
    counts = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"), 0)
    for inst in run.instances.values():
        counts[inst.status] = counts.get(inst.status, 0) + 1
    moto_deployment.deployment_overview = counts


def hook_environment(run: Run, record: Any) -> dict[str, str]:
    """The variables a hook script gets: the instance's plus CodeDeploy's.

    Examples
    --------
    >>> hook_environment(run, instances.get("i-0abc"))["DEPLOYMENT_GROUP_NAME"]  # doctest: +SKIP
    'PROD'
    """
    env = instances.environment(record)
    env.update(
        DEPLOYMENT_ID=run.deployment_id,
        APPLICATION_NAME=run.application,
        DEPLOYMENT_GROUP_NAME=run.group,
        DEPLOYMENT_GROUP_ID=run.group_id,
    )
    if run.revision.get("revisionType") == "S3":
        env["BUNDLE_BUCKET"] = run.revision["s3Location"].get("bucket", "")
        env["BUNDLE_KEY"] = run.revision["s3Location"].get("key", "")
    return env


#: A step of one lifecycle event; it gets the function that runs that event's AppSpec hooks.
ExtraStep = Callable[[Callable[[str], str]], str]


def error_for(event: str, exc: EventFailed, instance_id: str) -> dict[str, str]:
    """The deployment's ``errorInformation`` for a failed lifecycle event.

    Examples
    --------
    >>> error_for("ValidateService", EventFailed("ScriptFailed", "exit code 3"), "i-1")["code"]
    'SCRIPT_FAILED'
    """
    code = (
        "INVALID_REVISION"
        if exc.code == "UnknownError" and event == "DownloadBundle"
        else "SCRIPT_FAILED"
        if exc.code.startswith("Script")
        else "HEALTH_CONSTRAINTS"
    )
    return {
        "code": code,
        "message": f"{event} failed on instance {instance_id}: {exc.message}"
        + (f"\n{exc.log}" if exc.log else ""),
    }


def _run_instance(
    runner: DeploymentRunner,
    run: Run,
    inst: InstanceRun,
    bundle: Any,
    moto_deployment: Any,
    extra_steps: dict[str, ExtraStep] | None = None,
) -> None:
    """Run the instance's lifecycle events in order (``extra_steps``: blue/green's traffic)."""
    record = instances.get(inst.instance_id)
    deployment_root = record.root / AGENT_ROOT / run.group_id / run.deployment_id
    archive = deployment_root / "deployment-archive"
    logs = deployment_root / "logs"
    previous = runner.last_success.get((inst.instance_id, run.group_id))
    env = hook_environment(run, record)
    state: dict[str, Any] = {}

    def hooks(event: str, spec: Any, where: Path) -> str:
        logs_out = []
        for hook in (spec.hooks.get(event) or []) if spec else []:
            env["LIFECYCLE_EVENT"] = event
            logs_out.append(run_script(run, record, hook, event, where, env, logs))
        return "\n".join(x for x in logs_out if x)[-LOG_TAIL_CHARS:]

    def download() -> str:
        data = credentials.read_revision(run, inst.instance_id, bundle)  # as the agent's role
        if archive.exists():
            shutil.rmtree(archive)
        appspec.extract(data, run.revision.get("s3Location", {}).get("bundleType"), archive)
        try:
            state["spec"] = appspec.load(appspec.find(archive))
        except appspec.AppSpecError as exc:
            raise EventFailed("UnknownError", str(exc)) from None
        return ""

    def install() -> str:
        if previous:  # like the agent: remove what the last deployment installed, then copy
            for path in previous.get("files", []):
                Path(path).unlink(missing_ok=True)
        mapper = lambda dest: instances.map_path(record, dest)  # noqa: E731
        try:
            state["files"] = appspec.install_files(state["spec"], archive, mapper)
            appspec.apply_permissions(state["spec"], mapper)
        except appspec.AppSpecError as exc:
            raise EventFailed("UnknownError", str(exc)) from None
        return ""

    def application_stop() -> str:
        if not previous:
            return ""
        try:
            return hooks("ApplicationStop", previous["spec"], Path(previous["archive"]))
        except EventFailed:
            if run.ignore_stop_failures:
                return ""
            raise

    steps: dict[str, Callable[[], str]] = {
        "ApplicationStop": application_stop,
        "DownloadBundle": download,
        "Install": install,
    }
    for name, extra in (extra_steps or {}).items():
        steps[name] = lambda extra=extra: extra(
            lambda event: hooks(event, state.get("spec"), archive)
        )
    inst.status = "InProgress"
    _overview(run, moto_deployment)
    failed = False
    for event in inst.events:
        name = event["lifecycleEventName"]
        if failed or run.stop_requested.is_set():
            event["status"] = "Skipped"
            continue
        event.update(status="InProgress", startTime=utcnow())
        inst.last_updated = utcnow()
        try:
            if record.terminated:
                raise EventFailed(
                    "UnknownError",
                    f"The instance {inst.instance_id} was terminated "
                    "before the deployment reached it.",
                )
            step = steps.get(name) or (lambda n=name: hooks(n, state.get("spec"), archive))
            log = step()
            end_event(event, "Succeeded", "Success", "", "Succeeded", log)
        except EventFailed as exc:
            failed = True
            end_event(event, "Failed", exc.code, exc.script, exc.message, exc.log)
            run.error = run.error or error_for(name, exc, inst.instance_id)
        except EngineError as exc:  # the revision is not in S3
            failed = True
            end_event(event, "Failed", "UnknownError", "", exc.message, "")
            run.error = run.error or {"code": "REVISION_MISSING", "message": exc.message}
        except Exception as exc:  # a bug of ours must not leave the deployment InProgress
            failed = True
            end_event(event, "Failed", "UnknownError", "", repr(exc), "")
            run.error = run.error or {"code": "INTERNAL_ERROR", "message": repr(exc)}
        inst.last_updated = utcnow()
    inst.status = (
        "Failed" if failed else ("Skipped" if run.stop_requested.is_set() else "Succeeded")
    )
    inst.last_updated = utcnow()
    if not failed and not run.stop_requested.is_set():
        runner.last_success[(inst.instance_id, run.group_id)] = {
            "spec": state.get("spec"),
            "archive": str(archive),
            "files": [str(p) for p in state.get("files", [])],
            "deployment_id": run.deployment_id,
        }
    _overview(run, moto_deployment)


def skip(inst: InstanceRun) -> None:
    """Mark an instance the deployment never reached ``Skipped``, with all its events."""
    inst.status = "Skipped"
    for event in inst.events:
        event["status"] = "Skipped"


def finish(run: Run, deployment: Any) -> None:
    """Set the deployment's final status: Stopped, Failed or Succeeded."""
    if run.stop_requested.is_set():
        deployment.status = "Stopped"
        run.error = run.error or {
            "code": "MANUAL_STOP",
            "message": "The deployment was stopped by a user.",
        }
    else:
        deployment.status = "Failed" if run.error else "Succeeded"


def _execute(runner: DeploymentRunner, run: Run) -> None:
    from moto.core.utils import utcnow as moto_utcnow  # as moto stamps its own deployments

    deployment = _moto_backend(run.account_id, run.region).deployments[run.deployment_id]
    try:
        deployment.status = "InProgress"
        deployment.start_time = moto_utcnow()
        cache: dict[str, bytes] = {}

        def bundle() -> bytes:
            if "data" not in cache:
                loc = run.revision["s3Location"]
                cache["data"] = s3.read(
                    run.account_id, loc["bucket"], loc["key"], loc.get("version")
                )
            return cache["data"]

        group = deployment.deployment_group
        if (group.deployment_style or {}).get("deploymentType") == "BLUE_GREEN":
            from flovtrain.sandbox.engines.deploy import bluegreen

            bluegreen.execute(runner, run, deployment, bundle)
            return
        targets = matching_instances(run.account_id, run.region, group)
        targets = [i for i in targets if instances.get(i.id) is not None]
        if not targets:
            run.error = {
                "code": "NO_INSTANCES",
                "message": (
                    "The deployment failed because no instances were found for your deployment "
                    "group. Check your deployment group settings to make sure the tags for your "
                    "Amazon EC2 instances or Auto Scaling groups correctly identify the "
                    "instances you want to deploy to, and then try again."
                ),
            }
        arn = f"arn:aws:ec2:{run.region}:{run.account_id}:instance/"
        for instance in targets:
            run.instances[instance.id] = InstanceRun(
                instance.id, arn + instance.id, events=new_events()
            )
        _overview(run, deployment)
        for inst in run.instances.values():
            if run.error or run.stop_requested.is_set():
                skip(inst)
                continue
            _run_instance(runner, run, inst, bundle, deployment)
        finish(run, deployment)
    except Exception as exc:  # never leave it InProgress
        run.error = run.error or {"code": "INTERNAL_ERROR", "message": repr(exc)}
        deployment.status = "Failed"
    finally:
        _overview(run, deployment)
        deployment.complete_time = moto_utcnow()
        run.done.set()
