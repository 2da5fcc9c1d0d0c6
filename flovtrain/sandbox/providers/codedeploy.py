"""CodeDeploy provider: deployments really run on the sandbox's EC2 instances.

moto stores applications, groups and deployments and leaves every deployment ``Created``.
Here ``create_deployment`` starts a background run: the S3 revision is unpacked on every
instance the group's ``ec2TagFilters`` / ``ec2TagSet`` match (one at a time), ``files`` are
copied under the instance root, and the AppSpec hooks run as real processes with
CodeDeploy's variables plus ``FLOVTRAIN_INSTANCE_ROOT`` / ``FLOVTRAIN_INSTANCE_ADDRESS``.
Apps a hook leaves running keep running (their process group belongs to the instance).
Status, lifecycle events, diagnostics (the script's output tail) and errorInformation are
what get_deployment & co. return.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flovtrain.sandbox.seam import AwsError, Call, Provider

LOG_TAIL_CHARS = 2048
AGENT_ROOT = "opt/codedeploy-agent/deployment-root"
CONFIGS = {
    "CodeDeployDefault.OneAtATime": {"type": "HOST_COUNT", "value": 1},
    "CodeDeployDefault.HalfAtATime": {"type": "FLEET_PERCENT", "value": 50},
    "CodeDeployDefault.AllAtOnce": {"type": "HOST_COUNT", "value": 0},
}
_CONFIG_IDS = {
    "CodeDeployDefault.OneAtATime": "f86e1a07-0b08-4e34-86ab-09e0c0a7a0c1",
    "CodeDeployDefault.HalfAtATime": "3b1d2a47-5c10-4c5b-9d8e-2a6f3f3b0c22",
    "CodeDeployDefault.AllAtOnce": "9e0d1f7c-6f04-4a5c-8b51-6f8d0d4a1e33",
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class InstanceRun:
    instance_id: str
    arn: str
    status: str = "Pending"
    last_updated: datetime = field(default_factory=_now)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Run:
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


_lock = threading.RLock()
_runs: dict[str, Run] = {}
_revisions: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
# (instance id, deployment group id) -> what the last successful deployment left there
_last_success: dict[tuple[str, str], dict[str, Any]] = {}


# -- S3, shared with the pipeline engine -------------------------------------------------------
def s3_read(account_id: str, bucket: str, key: str, version: str | None = None) -> bytes:
    """Read an object straight from moto's S3 (raises AwsError NoSuchBucket / NoSuchKey)."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    backend = s3_backends[account_id]["aws"]
    try:
        obj = backend.get_object(bucket, key, version_id=version)
    except MissingBucket:
        raise AwsError("NoSuchBucket", f"The specified bucket does not exist: {bucket}") from None
    if obj is None:
        raise AwsError("NoSuchKey", f"The specified key does not exist: s3://{bucket}/{key}")
    return bytes(obj.value)


def s3_write(account_id: str, bucket: str, key: str, body: bytes) -> dict[str, str]:
    """Write an object into moto's S3; return its eTag and versionId."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    backend = s3_backends[account_id]["aws"]
    try:
        obj = backend.put_object(bucket, key, body)
    except MissingBucket:
        raise AwsError("NoSuchBucket", f"The specified bucket does not exist: {bucket}") from None
    return {"eTag": obj.etag.strip('"'), "versionId": str(obj.version_id or "")}


# -- moto lookups --------------------------------------------------------------------------------
def _backend(account_id: str, region: str) -> Any:
    from moto.codedeploy.models import codedeploy_backends

    return codedeploy_backends[account_id][region]


def _ec2_instances(account_id: str, region: str) -> list[Any]:
    from moto.ec2.models import ec2_backends

    return list(ec2_backends[account_id][region].all_instances())


def _tag_match(tags: dict[str, str], flt: dict[str, Any]) -> bool:
    key, value, kind = flt.get("Key"), flt.get("Value"), flt.get("Type") or "KEY_AND_VALUE"
    if kind == "KEY_ONLY":
        return key in tags
    if kind == "VALUE_ONLY":
        return value in tags.values()
    return key in tags and tags[key] == value


def matching_instances(account_id: str, region: str, group: Any) -> list[Any]:
    """Running instances a deployment group's ec2TagFilters (OR) / ec2TagSet (AND of ORs) match."""
    filters = group.ec2_tag_filters or []
    tag_set = (group.ec2_tag_set or {}).get("ec2TagSetList") or []
    if not filters and not tag_set:
        return []
    found = []
    for instance in _ec2_instances(account_id, region):
        if instance._state.name != "running":
            continue
        tags = dict(instance.ec2_backend.tags.get(instance.id, {}))
        ok = True
        if filters and not any(_tag_match(tags, f) for f in filters):
            ok = False
        for group_filters in tag_set:
            if not any(_tag_match(tags, f) for f in group_filters):
                ok = False
        if ok:
            found.append(instance)
    return sorted(found, key=lambda i: i.id)


# -- running a deployment ------------------------------------------------------------------------
def _new_events() -> list[dict[str, Any]]:
    from flovtrain.sandbox.appspec import EVENTS

    return [{"lifecycleEventName": e, "status": "Pending"} for e in EVENTS]


def _end_event(
    event: dict[str, Any], status: str, code: str, script: str, message: str, log: str
) -> None:
    """Close a lifecycle event with CodeDeploy's diagnostics block."""
    event.update(
        status=status,
        endTime=_now(),
        diagnostics={"errorCode": code, "scriptName": script, "message": message, "logTail": log},
    )


def _overview(run: Run, moto_deployment: Any) -> None:
    counts = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"), 0)
    for inst in run.instances.values():
        counts[inst.status] = counts.get(inst.status, 0) + 1
    moto_deployment.deployment_overview = counts


class _EventFailed(Exception):
    def __init__(self, code: str, message: str, script: str = "", log: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.script, self.log = code, message, script, log


def _tail(paths: list[tuple[str, Path]]) -> str:
    parts = []
    for label, path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        parts += [f"[{label}]{line}" for line in text.splitlines()]
    return "\n".join(parts)[-LOG_TAIL_CHARS:]


def _run_script(
    run: Run, record: Any, hook: Any, event: str, archive: Path, env: dict[str, str], logs: Path
) -> str:
    from flovtrain.sandbox import appspec, instances

    script = archive / hook.location.lstrip("/")
    if not script.is_file():
        raise _EventFailed(
            "ScriptMissing", f"Script does not exist at specified location: {script}", hook.location
        )
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"{event}-{script.name}"
    out_path, err_path = logs / f"{stem}.stdout", logs / f"{stem}.stderr"
    # files, not pipes: an app the hook leaves running in the background keeps its output
    # handles open, and the hook must still count as finished when its shell exits
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = instances.spawn(
                record,
                appspec.script_command(script),
                cwd=str(archive),
                env=env,
                stdout=out,
                stderr=err,
            )
        except OSError as exc:
            raise _EventFailed(
                "ScriptNotExecutable",
                f"Script at specified location: {hook.location} could not be run: {exc}",
                hook.location,
            ) from None
    run.current_pgid = proc.pid
    deadline = time.monotonic() + hook.timeout
    timed_out = False
    while proc.poll() is None:
        timed_out = time.monotonic() > deadline
        if run.stop_requested.is_set() or record.terminated or timed_out:
            instances.kill_group(proc.pid)  # may reap the shell: its exit code is then lost
            break
        time.sleep(0.02)
    run.current_pgid = None
    code = proc.wait()
    log = _tail([("stdout", out_path), ("stderr", err_path)])
    if proc.pid not in instances.running_groups(record):
        instances.forget_group(record, proc.pid)  # nothing of the hook is left running
    if record.terminated:
        raise _EventFailed(
            "UnknownError",
            f"The instance {record.instance_id} was terminated while "
            f"{hook.location} ran (its stack was deleted or it was terminated).",
            hook.location,
            log,
        )
    if run.stop_requested.is_set():
        raise _EventFailed(
            "UnknownError", "The deployment was stopped while the script ran.", hook.location, log
        )
    if timed_out:
        raise _EventFailed(
            "ScriptTimedOut",
            f"Script at specified location: {hook.location} "
            f"failed to complete in {hook.timeout} seconds",
            hook.location,
            log,
        )
    if code != 0:
        user = hook.runas or "root"
        raise _EventFailed(
            "ScriptFailed",
            f"Script at specified location: {hook.location} run as "
            f"user {user} failed with exit code {code}",
            hook.location,
            log,
        )
    return log


def _run_instance(run: Run, inst: InstanceRun, bundle: Any, moto_deployment: Any) -> None:
    from flovtrain.sandbox import appspec, instances

    record = instances.get(inst.instance_id)
    deployment_root = record.root / AGENT_ROOT / run.group_id / run.deployment_id
    archive = deployment_root / "deployment-archive"
    logs = deployment_root / "logs"
    previous = _last_success.get((inst.instance_id, run.group_id))
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
    state: dict[str, Any] = {}

    def hooks(event: str, spec: Any, where: Path) -> str:
        logs_out = []
        for hook in (spec.hooks.get(event) or []) if spec else []:
            env["LIFECYCLE_EVENT"] = event
            logs_out.append(_run_script(run, record, hook, event, where, env, logs))
        return "\n".join(x for x in logs_out if x)[-LOG_TAIL_CHARS:]

    def download() -> str:
        data = bundle()
        if archive.exists():
            shutil.rmtree(archive)
        appspec.extract(data, run.revision.get("s3Location", {}).get("bundleType"), archive)
        try:
            state["spec"] = appspec.load(appspec.find(archive))
        except appspec.AppSpecError as exc:
            raise _EventFailed("UnknownError", str(exc)) from None
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
            raise _EventFailed("UnknownError", str(exc)) from None
        return ""

    def application_stop() -> str:
        if not previous:
            return ""
        try:
            return hooks("ApplicationStop", previous["spec"], Path(previous["archive"]))
        except _EventFailed:
            if run.ignore_stop_failures:
                return ""
            raise

    steps = {
        "ApplicationStop": application_stop,
        "DownloadBundle": download,
        "Install": install,
    }
    inst.status = "InProgress"
    _overview(run, moto_deployment)
    failed = False
    for event in inst.events:
        name = event["lifecycleEventName"]
        if failed or run.stop_requested.is_set():
            event["status"] = "Skipped"
            continue
        event.update(status="InProgress", startTime=_now())
        inst.last_updated = _now()
        try:
            if record.terminated:
                raise _EventFailed(
                    "UnknownError",
                    f"The instance {inst.instance_id} was terminated "
                    "before the deployment reached it.",
                )
            step = steps.get(name) or (lambda n=name: hooks(n, state.get("spec"), archive))
            log = step()
            _end_event(event, "Succeeded", "Success", "", "Succeeded", log)
        except _EventFailed as exc:
            failed = True
            _end_event(event, "Failed", exc.code, exc.script, exc.message, exc.log)
            run.error = run.error or {
                "code": "INVALID_REVISION"
                if exc.code == "UnknownError" and name == "DownloadBundle"
                else "SCRIPT_FAILED"
                if exc.code.startswith("Script")
                else "HEALTH_CONSTRAINTS",
                "message": f"{name} failed on instance {inst.instance_id}: {exc.message}"
                + (f"\n{exc.log}" if exc.log else ""),
            }
        except AwsError as exc:
            failed = True
            _end_event(event, "Failed", "UnknownError", "", exc.message, "")
            run.error = run.error or {"code": "REVISION_MISSING", "message": exc.message}
        except Exception as exc:  # a bug of ours must not leave the deployment InProgress
            failed = True
            _end_event(event, "Failed", "UnknownError", "", repr(exc), "")
            run.error = run.error or {"code": "INTERNAL_ERROR", "message": repr(exc)}
        inst.last_updated = _now()
    inst.status = (
        "Failed" if failed else ("Skipped" if run.stop_requested.is_set() else "Succeeded")
    )
    inst.last_updated = _now()
    if not failed and not run.stop_requested.is_set():
        _last_success[(inst.instance_id, run.group_id)] = {
            "spec": state.get("spec"),
            "archive": str(archive),
            "files": [str(p) for p in state.get("files", [])],
            "deployment_id": run.deployment_id,
        }
    _overview(run, moto_deployment)


def _execute(run: Run) -> None:
    from moto.core.utils import utcnow

    deployment = _backend(run.account_id, run.region).deployments[run.deployment_id]
    try:
        deployment.status = "InProgress"
        deployment.start_time = utcnow()
        cache: dict[str, bytes] = {}

        def bundle() -> bytes:
            if "data" not in cache:
                loc = run.revision["s3Location"]
                cache["data"] = s3_read(
                    run.account_id, loc["bucket"], loc["key"], loc.get("version")
                )
            return cache["data"]

        instances = matching_instances(run.account_id, run.region, deployment.deployment_group)
        from flovtrain.sandbox import instances as sandbox_instances

        instances = [i for i in instances if sandbox_instances.get(i.id) is not None]
        if not instances:
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
        for instance in instances:
            run.instances[instance.id] = InstanceRun(
                instance.id, arn + instance.id, events=_new_events()
            )
        _overview(run, deployment)
        for inst in run.instances.values():
            if run.error or run.stop_requested.is_set():
                inst.status = "Skipped"
                for event in inst.events:
                    event["status"] = "Skipped"
                continue
            _run_instance(run, inst, bundle, deployment)
        if run.stop_requested.is_set():
            deployment.status = "Stopped"
            run.error = run.error or {
                "code": "MANUAL_STOP",
                "message": "The deployment was stopped by a user.",
            }
        else:
            deployment.status = "Failed" if run.error else "Succeeded"
    except Exception as exc:  # never leave it InProgress
        run.error = run.error or {"code": "INTERNAL_ERROR", "message": repr(exc)}
        deployment.status = "Failed"
    finally:
        _overview(run, deployment)
        deployment.complete_time = utcnow()
        run.done.set()


def wait(deployment_id: str, timeout: float = 60.0) -> bool:
    """Block until a deployment this process runs has finished (for the pipeline engine)."""
    run = _runs.get(deployment_id)
    return run.done.wait(timeout) if run else True


def run_of(deployment_id: str) -> Run | None:
    return _runs.get(deployment_id)


# -- operations ------------------------------------------------------------------------------
def _deployment_id(source: Any = None) -> str:
    from moto.moto_api._internal import mock_random

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "d-" + "".join((source or mock_random).choice(alphabet) for _ in range(9))


def _check_revision(revision: dict[str, Any] | None) -> None:
    if not revision:
        raise AwsError("RevisionRequiredException", "The revision ID was not specified.")
    kind = revision.get("revisionType")
    if kind == "GitHub":
        raise AwsError(
            "InvalidRevisionException",
            "GitHub revisions cannot be deployed in the offline flovtrain sandbox. "
            "Upload the bundle to S3 (`aws deploy push`) and deploy revisionType S3.",
        )
    if kind in ("String", "AppSpecContent"):
        raise AwsError(
            "InvalidRevisionException",
            f"A {kind} revision is for AWS Lambda or Amazon ECS deployments; EC2 "
            "deployments need an S3 revision (a zip with appspec.yml).",
        )
    loc = revision.get("s3Location") or {}
    if kind != "S3" or not loc.get("bucket") or not loc.get("key"):
        raise AwsError(
            "InvalidRevisionException",
            "The revision must be revisionType S3 with s3Location.bucket and key.",
        )


def _remember_revision(
    account: str,
    region: str,
    app: str,
    revision: dict[str, Any],
    description: str | None = None,
    group: str | None = None,
) -> None:
    now = _now()
    with _lock:
        entries = _revisions.setdefault((account, region, app), [])
        for entry in entries:
            if entry["revisionLocation"] == revision:
                break
        else:
            entry = {
                "revisionLocation": revision,
                "description": description or "",
                "deploymentGroups": [],
                "registerTime": now,
            }
            entries.append(entry)
        if description:
            entry["description"] = description
        if group:
            if group not in entry["deploymentGroups"]:
                entry["deploymentGroups"].append(group)
            entry.setdefault("firstUsedTime", now)
            entry["lastUsedTime"] = now


def create_deployment_internal(
    account_id: str,
    region: str,
    application: str,
    group: str,
    revision: dict[str, Any],
    description: str | None = None,
    ignore_stop_failures: bool = False,
    id_source: Any = None,
) -> str:
    """Create and start a deployment (CodePipeline's deploy action and ``create_deployment``).

    ``id_source`` (a ``random.Random``) names deployments made off the request thread, so
    they do not consume moto's seeded generator at unpredictable moments.
    """
    _check_revision(revision)
    backend = _backend(account_id, region)
    backend.get_deployment_group(application, group)  # AWS's errors for unknown app / group
    for active in list(_runs.values()):
        if (active.account_id, active.region, active.application, active.group) == (
            account_id,
            region,
            application,
            group,
        ) and not active.done.is_set():
            raise AwsError(
                "DeploymentLimitExceededException",
                f"The Deployment Group '{group}' already has an active Deployment "
                f"'{active.deployment_id}'",
            )
    old_id = backend.create_deployment(
        application,
        group,
        revision,
        description=description,
        ignore_application_stop_failures=ignore_stop_failures,
    )
    new_id = _deployment_id(id_source)
    deployment = backend.deployments.pop(old_id)
    deployment.deployment_id = new_id
    backend.deployments[new_id] = deployment
    run = Run(
        account_id,
        region,
        new_id,
        application,
        group,
        deployment.deployment_group.deployment_group_id,
        revision,
        ignore_stop_failures=ignore_stop_failures,
    )
    with _lock:
        _runs[new_id] = run
    _remember_revision(account_id, region, application, revision, group=group)
    threading.Thread(target=_execute, args=(run,), name=f"codedeploy-{new_id}", daemon=True).start()
    return new_id


def create_deployment(call: Call) -> dict[str, Any]:
    params = call.params
    if not params.get("deploymentGroupName"):
        raise AwsError("DeploymentGroupNameRequiredException", "Deployment group name is required.")
    return {
        "deploymentId": create_deployment_internal(
            call.account_id,
            call.region,
            params["applicationName"],
            params["deploymentGroupName"],
            params.get("revision"),
            params.get("description"),
            bool(params.get("ignoreApplicationStopFailures")),
        )
    }


def _with_error(info: dict[str, Any]) -> dict[str, Any]:
    run = _runs.get(info.get("deploymentId", ""))
    if run and run.error:
        info["errorInformation"] = dict(run.error)
    else:
        info.pop("errorInformation", None)
    for key in ("previousRevision", "rollbackInfo", "relatedDeployments"):
        if not info.get(key):
            info.pop(key, None)
    return info


def get_deployment(call: Call) -> dict[str, Any]:
    result = call.moto().result
    _with_error(result["deploymentInfo"])
    return result


def batch_get_deployments(call: Call) -> dict[str, Any]:
    result = call.moto().result
    for info in result["deploymentsInfo"]:
        _with_error(info)
    return result


def _run_or_error(call: Call, deployment_id: str) -> Run:
    _backend(call.account_id, call.region).get_deployment(deployment_id)  # AWS's error if unknown
    run = _runs.get(deployment_id)
    if run is None:
        raise AwsError(
            "DeploymentDoesNotExistException",
            f"The deployment {deployment_id} does not exist with the user or AWS account.",
        )
    return run


def _summary(run: Run, inst: InstanceRun) -> dict[str, Any]:
    return {
        "deploymentId": run.deployment_id,
        "instanceId": inst.arn,
        "status": inst.status,
        "lastUpdatedAt": inst.last_updated,
        "lifecycleEvents": [dict(e) for e in inst.events],
        "instanceType": "Blue",
    }


def list_deployment_instances(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    wanted = call.params.get("instanceStatusFilter")
    return {
        "instancesList": [
            i.instance_id for i in run.instances.values() if not wanted or i.status in wanted
        ]
    }


def _instance(call: Call, run: Run, instance_id: str) -> InstanceRun:
    inst = run.instances.get(instance_id.rsplit("/", 1)[-1])
    if inst is None:
        raise AwsError(
            "InstanceDoesNotExistException",
            f"The instance {instance_id} was not part of deployment {run.deployment_id}.",
        )
    return inst


def get_deployment_instance(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    return {"instanceSummary": _summary(run, _instance(call, run, call.params["instanceId"]))}


def batch_get_deployment_instances(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    found, error = [], ""
    for iid in call.params.get("instanceIds") or []:
        inst = run.instances.get(iid.rsplit("/", 1)[-1])
        if inst:
            found.append(_summary(run, inst))
        else:
            error = f"Instance {iid} is not part of deployment {run.deployment_id}."
    return (
        {"instancesSummary": found, "errorMessage": error} if error else {"instancesSummary": found}
    )


def _target(run: Run, inst: InstanceRun) -> dict[str, Any]:
    return {
        "deploymentTargetType": "InstanceTarget",
        "instanceTarget": {
            "deploymentId": run.deployment_id,
            "targetId": inst.instance_id,
            "targetArn": inst.arn,
            "status": inst.status,
            "lastUpdatedAt": inst.last_updated,
            "lifecycleEvents": [dict(e) for e in inst.events],
        },
    }


def list_deployment_targets(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    return {"targetIds": list(run.instances)}


def batch_get_deployment_targets(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    return {
        "deploymentTargets": [
            _target(run, _instance(call, run, t)) for t in call.params.get("targetIds") or []
        ]
    }


def get_deployment_target(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    return {"deploymentTarget": _target(run, _instance(call, run, call.params["targetId"]))}


def stop_deployment(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    if run.done.is_set():
        raise AwsError(
            "DeploymentAlreadyCompletedException",
            f"The deployment {run.deployment_id} has already completed.",
        )
    run.stop_requested.set()
    return {
        "status": "Pending",
        "statusMessage": "Stopping Pending. Stopping to schedule "
        "commands in the deployment instances",
    }


def register_application_revision(call: Call) -> dict[str, Any]:
    params = call.params
    _backend(call.account_id, call.region).get_application(params["applicationName"])
    _check_revision(params.get("revision"))
    _remember_revision(
        call.account_id,
        call.region,
        params["applicationName"],
        params["revision"],
        params.get("description"),
    )
    return {}


def _app_revisions(call: Call, app: str) -> list[dict[str, Any]]:
    _backend(call.account_id, call.region).get_application(app)
    return _revisions.get((call.account_id, call.region, app), [])


def list_application_revisions(call: Call) -> dict[str, Any]:
    params = call.params
    entries = list(_app_revisions(call, params["applicationName"]))
    bucket, prefix = params.get("s3Bucket"), params.get("s3KeyPrefix")
    if bucket:
        entries = [
            e
            for e in entries
            if e["revisionLocation"].get("s3Location", {}).get("bucket") == bucket
            and e["revisionLocation"]["s3Location"].get("key", "").startswith(prefix or "")
        ]
    deployed = params.get("deployed")
    if deployed == "include":
        entries = [e for e in entries if e["deploymentGroups"]]
    elif deployed == "exclude":
        entries = [e for e in entries if not e["deploymentGroups"]]
    sort_by = {
        "registerTime": "registerTime",
        "firstUsedTime": "firstUsedTime",
        "lastUsedTime": "lastUsedTime",
    }.get(params.get("sortBy") or "")
    if sort_by:
        epoch = datetime.fromtimestamp(0, UTC)
        entries.sort(
            key=lambda e: e.get(sort_by) or epoch, reverse=params.get("sortOrder") == "descending"
        )
    return {"revisions": [e["revisionLocation"] for e in entries]}


def _info(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "revisionLocation"}


def get_application_revision(call: Call) -> dict[str, Any]:
    params = call.params
    for entry in _app_revisions(call, params["applicationName"]):
        if entry["revisionLocation"] == params["revision"]:
            return {
                "applicationName": params["applicationName"],
                "revision": entry["revisionLocation"],
                "revisionInfo": _info(entry),
            }
    raise AwsError(
        "RevisionDoesNotExistException",
        "The named revision does not exist with the IAM user or AWS account.",
    )


def batch_get_application_revisions(call: Call) -> dict[str, Any]:
    params = call.params
    entries = _app_revisions(call, params["applicationName"])
    out = []
    for wanted in params.get("revisions") or []:
        for entry in entries:
            if entry["revisionLocation"] == wanted:
                out.append({"revisionLocation": wanted, "genericRevisionInfo": _info(entry)})
    return {"applicationName": params["applicationName"], "revisions": out}


def list_deployment_configs(call: Call) -> dict[str, Any]:
    return {"deploymentConfigsList": sorted(CONFIGS)}


def get_deployment_config(call: Call) -> dict[str, Any]:
    name = call.params["deploymentConfigName"]
    if name not in CONFIGS:
        raise AwsError(
            "DeploymentConfigDoesNotExistException",
            f"The deployment configuration {name} does not exist with the user or AWS account.",
        )
    return {
        "deploymentConfigInfo": {
            "deploymentConfigId": _CONFIG_IDS[name],
            "deploymentConfigName": name,
            "minimumHealthyHosts": CONFIGS[name],
            "createTime": datetime(2014, 11, 12, tzinfo=UTC),
            "computePlatform": "Server",
        }
    }


def delete_application(call: Call) -> dict[str, Any]:
    delete_application_internal(call.account_id, call.region, call.params["applicationName"])
    return {}


def delete_application_internal(account_id: str, region: str, name: str) -> None:
    """Delete an application and its groups (AWS: no error when it does not exist)."""
    backend = _backend(account_id, region)
    backend.applications.pop(name, None)
    backend.deployment_groups.pop(name, None)
    with _lock:
        _revisions.pop((account_id, region, name), None)


def delete_deployment_group(call: Call) -> dict[str, Any]:
    backend = _backend(call.account_id, call.region)
    backend.get_application(call.params["applicationName"])
    backend.deployment_groups.get(call.params["applicationName"], {}).pop(
        call.params["deploymentGroupName"], None
    )
    return {"hooksNotCleanedUp": []}


def get_deployment_group(call: Call) -> dict[str, Any]:
    result = call.moto().result
    info = result["deploymentGroupInfo"]
    runs = [
        r
        for r in _runs.values()
        if (r.account_id, r.region, r.application, r.group)
        == (call.account_id, call.region, info["applicationName"], info["deploymentGroupName"])
    ]
    backend = _backend(call.account_id, call.region)

    def brief(run: Run) -> dict[str, Any]:
        d = backend.deployments.get(run.deployment_id)
        return {
            "deploymentId": run.deployment_id,
            "status": d.status if d else "Failed",
            "endTime": d.complete_time if d else None,
            "createTime": d.create_time if d else None,
        }

    for key in ("lastSuccessfulDeployment", "lastAttemptedDeployment", "targetRevision"):
        info.pop(key, None)
    if runs:
        info["lastAttemptedDeployment"] = brief(runs[-1])
        info["targetRevision"] = runs[-1].revision
        ok = [
            r
            for r in runs
            if backend.deployments.get(r.deployment_id) is not None
            and backend.deployments[r.deployment_id].status == "Succeeded"
        ]
        if ok:
            info["lastSuccessfulDeployment"] = brief(ok[-1])
    for key in ("alarmConfiguration", "loadBalancerInfo", "blueGreenDeploymentConfiguration"):
        if not info.get(key):
            info.pop(key, None)
    return result


def reset() -> None:
    for run in list(_runs.values()):
        run.stop_requested.set()
    with _lock:
        _runs.clear()
        _revisions.clear()
        _last_success.clear()


def stop() -> None:
    for run in list(_runs.values()):
        run.stop_requested.set()


PROVIDER = Provider(
    name="codedeploy",
    response_class="moto.codedeploy.responses.CodeDeployResponse",
    service="codedeploy",
    operations={
        "CreateDeployment": create_deployment,
        "GetDeployment": get_deployment,
        "BatchGetDeployments": batch_get_deployments,
        "ListDeploymentInstances": list_deployment_instances,
        "GetDeploymentInstance": get_deployment_instance,
        "BatchGetDeploymentInstances": batch_get_deployment_instances,
        "ListDeploymentTargets": list_deployment_targets,
        "BatchGetDeploymentTargets": batch_get_deployment_targets,
        "GetDeploymentTarget": get_deployment_target,
        "StopDeployment": stop_deployment,
        "RegisterApplicationRevision": register_application_revision,
        "ListApplicationRevisions": list_application_revisions,
        "GetApplicationRevision": get_application_revision,
        "BatchGetApplicationRevisions": batch_get_application_revisions,
        "ListDeploymentConfigs": list_deployment_configs,
        "GetDeploymentConfig": get_deployment_config,
        "DeleteApplication": delete_application,
        "DeleteDeploymentGroup": delete_deployment_group,
        "GetDeploymentGroup": get_deployment_group,
    },
    reset=reset,
    stop=stop,
)
