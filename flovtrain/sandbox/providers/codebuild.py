"""CodeBuild provider: ``start_build`` really runs the buildspec on this machine.

moto 5.2.5 stores projects but runs nothing (its builds report invented phases). Here a build
runs in a background thread of the sandbox process: the source (CodeCommit repository of the
sandbox, an S3 zip, a CodePipeline input zip or nothing) is unpacked into a fresh folder under
``$FLOVTRAIN_HOME/codebuild``; every buildspec command runs in a child process (tracked by
:mod:`flovtrain.sandbox.processes`, so stopping the sandbox stops builds) with a scrubbed
environment: the host's variables and credentials never reach it, the sandbox's endpoint and
fake keys do (like a service role), plus CodeBuild's ``CODEBUILD_*`` variables. Phases,
statuses and durations are real; the log goes to CloudWatch Logs ``/aws/codebuild/<project>``
in CodeBuild's format; artifacts are zipped to S3. See :mod:`flovtrain.sandbox.buildspec` for
how the shell session is emulated.

Sandbox-only knob: an environment variable ``FLOVTRAIN_TIMEOUT_SECONDS`` (project or
``environmentVariablesOverride``) sets the build time-out in seconds (tests need less than a
minute).

Internal API (server process) for CodePipeline and CloudFormation providers:
:func:`start_build_internal`, :func:`get_build`, :func:`artifacts_zip`, :func:`wait`,
:func:`create_project_internal`, :func:`delete_project_internal`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.codebuild.models import codebuild_backends
from moto.codebuild.responses import CodeBuildResponse
from moto.moto_api._internal import mock_random

from flovtrain import config
from flovtrain.sandbox import buildspec as bspec
from flovtrain.sandbox import gitrepos, processes
from flovtrain.sandbox.providers._common import s3_object
from flovtrain.sandbox.seam import AwsError, Call, Provider

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
#: Host variables a build may see (everything else, credentials included, is dropped).
PASS_THROUGH = ("LANG", "LC_ALL", "TZ")
DEFAULT_TIMEOUT_MINUTES = 60
LOG_TAIL_LINES = 20


class Build:
    """One build: its batch_get_builds record plus what only the sandbox needs."""

    def __init__(self, account: str, region: str, record: dict[str, Any]) -> None:
        self.account = account
        self.region = region
        self.record = record
        self.lock = threading.RLock()
        self.done = threading.Event()
        self.proc: Any = None
        self.pgids: list[int] = []
        self.stop_reason: str | None = None  # "STOPPED" or "TIMED_OUT"
        self.artifact: bytes | None = None
        self.log_lines: list[str] = []
        self.pending: list[dict[str, Any]] = []
        self.last_flush = 0.0

    @property
    def id(self) -> str:
        return self.record["id"]


_builds: dict[tuple[str, str], dict[str, Build]] = {}
_numbers: dict[tuple[str, str, str], int] = {}
_store_lock = threading.RLock()


# -- small helpers --------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC)


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


def _find(account: str, region: str, build_id: str) -> Build | None:
    if build_id.startswith("arn:"):
        build_id = build_id.split(":build/", 1)[-1]
    with _store_lock:
        return _builds.get((account, region), {}).get(build_id)


def sandbox_env(account: str, region: str) -> dict[str, str]:
    """Return the variables that make AWS clients in a build talk to the sandbox."""
    return {
        "AWS_ENDPOINT_URL": gitrepos.sandbox_endpoint(),
        "AWS_ACCESS_KEY_ID": config.SANDBOX_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": config.SANDBOX_SECRET_ACCESS_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "NO_PROXY": "127.0.0.1,localhost",
        config.HOME_VAR: str(config.home()),
    }


def scrub_environment(host: dict[str, str], account: str, region: str) -> dict[str, str]:
    """Return the base environment of a build: nothing from ``host`` but locale settings.

    The host's ``AWS_*`` variables, tokens, profiles and everything else are dropped; the
    sandbox's endpoint and fake credentials are added, with a ``PATH`` that starts with the
    sandbox's virtual environment (``python``, ``pytest``, ``ruff`` work).
    """
    env = {k: host[k] for k in PASS_THROUGH if k in host}
    env.setdefault("LANG", "C.UTF-8")
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        [venv_bin, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    )
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    env.update(sandbox_env(account, region))
    return env


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d %H:%M:%S.%f")


# -- logs -----------------------------------------------------------------------------------
def _logs_backend(build: Build) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[build.account][build.region]


def _open_log(build: Build) -> None:
    logs = build.record["logs"]
    backend = _logs_backend(build)
    if logs["groupName"] not in backend.groups:
        backend.create_log_group(logs["groupName"], tags={})
    group = backend.groups[logs["groupName"]]
    if logs["streamName"] not in group.streams:
        backend.create_log_stream(logs["groupName"], logs["streamName"])


def _log(build: Build, message: str, container: bool = True, flush: bool = False) -> None:
    now = _now()
    text = f"[Container] {_timestamp(now)} {message}" if container else message
    with build.lock:
        build.log_lines.append(text)
        build.pending.append({"timestamp": int(now.timestamp() * 1000), "message": text})
        if flush or time.monotonic() - build.last_flush > 0.25:
            _flush(build)


def _flush(build: Build) -> None:
    with build.lock:
        if not build.pending:
            return
        events, build.pending = build.pending, []
        build.last_flush = time.monotonic()
        logs = build.record["logs"]
        try:
            _open_log(build)
            _logs_backend(build).put_log_events(logs["groupName"], logs["streamName"], events)
        except Exception as exc:  # logs are best effort (e.g. wiped by a reset)
            print(f"codebuild: could not write logs for {build.id}: {exc}", file=sys.stderr)


def _tail(build: Build, lines: int = LOG_TAIL_LINES) -> str:
    with build.lock:
        return "\n".join(build.log_lines[-lines:])


# -- phases ---------------------------------------------------------------------------------
def _begin(build: Build, phase: str) -> dict[str, Any]:
    entry = {"phaseType": phase, "startTime": _now()}
    with build.lock:
        build.record["phases"].append(entry)
        build.record["currentPhase"] = phase
    return entry


def _end(
    build: Build, entry: dict[str, Any], status: str, contexts: list[dict] | None = None
) -> None:
    end = _now()
    with build.lock:
        entry["phaseStatus"] = status
        entry["endTime"] = end
        entry["durationInSeconds"] = int(round((end - entry["startTime"]).total_seconds()))
        if contexts:
            entry["contexts"] = contexts
        elif status == "SUCCEEDED":
            entry["contexts"] = [{"statusCode": "", "message": ""}]


class _PhaseFailed(Exception):
    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# -- running commands -----------------------------------------------------------------------
def _deadline_left(build: Build, deadline: float) -> float:
    return deadline - time.monotonic()


def _run_command(
    build: Build, command: str, env: dict[str, str], state: Path, workdir: Path, deadline: float
) -> int:
    """Run one command in the build's shell session, streaming output to the log."""
    _log(build, f"Running command {command}")
    out_path = state / "output.log"
    with open(out_path, "wb") as out:
        proc = processes.spawn(
            bspec.command_args(state, command),
            cwd=str(workdir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    with build.lock:
        build.proc = proc
        build.pgids.append(proc.pid)
    position = 0
    partial = b""

    def pump() -> None:
        nonlocal position, partial
        with open(out_path, "rb") as handle:
            handle.seek(position)
            data = handle.read()
            position += len(data)
        data = partial + data
        *lines, partial = data.split(b"\n")
        for line in lines:
            _log(build, line.decode(errors="replace"), container=False)

    while True:
        try:
            proc.wait(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            pump()
            if build.stop_reason is None and _deadline_left(build, deadline) <= 0:
                build.stop_reason = "TIMED_OUT"
            if build.stop_reason:
                processes.stop(proc, timeout=1.0)
    pump()
    if partial:
        _log(build, partial.decode(errors="replace"), container=False)
    with build.lock:
        build.proc = None
    return proc.returncode


def _run_phase(
    build: Build,
    name: str,
    phase: bspec.Phase | None,
    env: dict[str, str],
    state: Path,
    workdir: Path,
    deadline: float,
) -> str:
    """Run a buildspec phase; return its status (SUCCEEDED, FAILED, TIMED_OUT, STOPPED)."""
    phase_type = name.upper()
    entry = _begin(build, phase_type)
    _log(build, f"Entering phase {phase_type}")
    status, contexts = "SUCCEEDED", None
    if phase is not None:
        failed_message = None
        for command in phase.commands:
            code = _run_command(build, command, env, state, workdir, deadline)
            if build.stop_reason:
                break
            if code != 0:
                failed_message = (
                    f"Error while executing command: {command}. Reason: exit status {code}"
                )
                _log(build, f"Command did not exit successfully {command} exit status {code}")
                break
        if phase.finally_ and not build.stop_reason:
            for command in phase.finally_:
                code = _run_command(build, command, env, state, workdir, deadline)
                if build.stop_reason:
                    break
                if code != 0 and failed_message is None:
                    failed_message = (
                        f"Error while executing command: {command}. Reason: exit status {code}"
                    )
                    break
        if build.stop_reason:
            status = build.stop_reason
            what = "Build timed out" if status == "TIMED_OUT" else "Build was stopped"
            contexts = [
                {
                    "statusCode": "BUILD_TIMED_OUT" if status == "TIMED_OUT" else "BUILD_STOPPED",
                    "message": f"{what}\n{_tail(build)}",
                }
            ]
        elif failed_message:
            status = "FAILED"
            contexts = [
                {
                    "statusCode": "COMMAND_EXECUTION_ERROR",
                    "message": f"{failed_message}\n{_tail(build)}",
                }
            ]
    _log(build, f"Phase complete: {phase_type} State: {status}")
    if contexts:
        _log(
            build,
            f"Phase context status code: {contexts[0]['statusCode']} Message: "
            f"{contexts[0]['message'].splitlines()[0]}",
        )
    _end(build, entry, status, contexts)
    _flush(build)
    return status


# -- source ---------------------------------------------------------------------------------
def _repo_name(location: str) -> str:
    return location.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]


def _download_source(build: Build, settings: dict[str, Any], src: Path) -> None:
    source = build.record["source"]
    kind = source.get("type", "NO_SOURCE")
    if kind == "CODEPIPELINE":
        if settings.get("source_zip") is None:
            raise _PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                "This project's source is CODEPIPELINE: start it from a pipeline.",
            )
        bspec.extract(settings["source_zip"], src)
    elif kind == "CODECOMMIT":
        name = _repo_name(source.get("location", ""))
        version = build.record.get("sourceVersion") or ""
        spec = version.removeprefix("refs/heads/") or None
        try:
            if spec is None:
                spec = gitrepos.default_branch(build.account, build.region, name) or "main"
            with gitrepos.locked(build.account, build.region, name) as repo:
                sha = gitrepos.resolve(repo, spec).decode()
            data = gitrepos.archive(build.account, build.region, name, sha)
        except gitrepos.GitRepoError as exc:
            raise _PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                f"CodeCommit repository {name}, version {spec}: {exc.message}",
            ) from None
        build.record["resolvedSourceVersion"] = sha
        bspec.extract(data, src)
    elif kind == "S3":
        location = source.get("location", "").removeprefix("arn:aws:s3:::")
        bucket, _, key = location.partition("/")
        obj = s3_object(build.account, bucket, key)
        if obj is None:
            raise _PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                f"NoSuchKey: the source s3://{bucket}/{key} does not exist.",
            )
        try:
            bspec.extract(obj.value, src)
        except zipfile.BadZipFile:
            raise _PhaseFailed(
                "CLIENT_ERROR", "CLIENT_ERROR", f"The source s3://{bucket}/{key} is not a zip file."
            ) from None
        build.record["resolvedSourceVersion"] = getattr(obj, "version_id", None) or obj.etag.strip(
            '"'
        )
    elif kind != "NO_SOURCE":
        raise _PhaseFailed(
            "CLIENT_ERROR",
            "CLIENT_ERROR",
            f"Source type {kind} needs the internet; the sandbox is offline. Use "
            "CODECOMMIT (the sandbox's git), S3 or NO_SOURCE.",
        )


def _load_buildspec(build: Build, settings: dict[str, Any], src: Path) -> bspec.BuildSpec:
    text = settings.get("buildspec") or build.record["source"].get("buildspec") or ""
    if "\n" in text.strip() or text.strip().startswith("version"):
        return bspec.parse(text, "the inline buildspec")
    rel = text.strip() or "buildspec.yml"
    path = src / rel
    if not path.is_file():
        raise bspec.BuildspecError(
            f"YAML_FILE_ERROR Message: stat {path}: no such file or directory. Add {rel} at the "
            "root of the source (or set the project's source.buildspec)."
        )
    return bspec.parse(path.read_text(errors="replace"), rel)


# -- artifacts ------------------------------------------------------------------------------
def _upload_artifacts(build: Build, spec: bspec.BuildSpec, src: Path) -> None:
    target = build.record.get("_artifacts_target") or {"type": "NO_ARTIFACTS"}
    if spec.artifacts is None:
        if target.get("type") in ("S3", "CODEPIPELINE") and target.get("type") != "NO_ARTIFACTS":
            if target.get("type") == "S3":
                raise _PhaseFailed(
                    "CLIENT_ERROR",
                    "CLIENT_ERROR",
                    "no matching artifact paths found: the buildspec has no "
                    "artifacts section but the project uploads artifacts to S3.",
                )
        return
    files = bspec.collect(spec.artifacts, src)
    if not files:
        raise _PhaseFailed(
            "CLIENT_ERROR",
            "CLIENT_ERROR",
            "no matching artifact paths found: none of "
            f"{', '.join(spec.artifacts.files)} matched a file under "
            f"{spec.artifacts.base_directory or 'the source folder'}.",
        )
    _log(build, f"Expanding base directory path: {spec.artifacts.base_directory or '.'}")
    _log(build, f"Found {len(files)} file(s)")
    data = bspec.zip_files(files)
    build.artifact = data
    if target.get("type") != "S3":
        return
    from moto.s3.models import s3_backends

    bucket = target.get("location", "").removeprefix("arn:aws:s3:::")
    name = target.get("name") or spec.artifacts.name or build.record["projectName"]
    if target.get("overrideArtifactName") and spec.artifacts.name:
        name = spec.artifacts.name
    parts = [
        p
        for p in (
            target.get("path"),
            build.id.split(":", 1)[1] if target.get("namespaceType") == "BUILD_ID" else None,
        )
        if p
    ]
    prefix = "/".join(p.strip("/") for p in parts)
    backend = s3_backends[build.account]["aws"]
    try:
        if target.get("packaging") == "ZIP" or target.get("packaging") is None:
            key = f"{prefix}/{name}" if prefix else name
            backend.put_object(bucket, key, data)
            location = f"arn:aws:s3:::{bucket}/{key}"
        else:
            base = f"{prefix}/{name}" if prefix else name
            for path, rel in files:
                backend.put_object(bucket, f"{base}/{rel}", path.read_bytes())
            location = f"arn:aws:s3:::{bucket}/{base}"
    except Exception as exc:
        raise _PhaseFailed(
            "CLIENT_ERROR",
            "CLIENT_ERROR",
            f"Could not upload the artifacts to bucket {bucket!r}: {type(exc).__name__}: {exc}",
        ) from None
    import hashlib

    build.record["artifacts"] = {
        "location": location,
        "sha256sum": hashlib.sha256(data).hexdigest(),
        "md5sum": hashlib.md5(data).hexdigest(),
    }  # noqa: S324 (AWS field)
    _log(build, f"Uploading artifacts to {location}")


# -- the build thread -----------------------------------------------------------------------
def _resolve_env(build: Build, settings: dict[str, Any], spec: bspec.BuildSpec) -> dict[str, str]:
    """Buildspec < project < start_build override (CodeBuild's precedence)."""
    env: dict[str, str] = {}
    env.update(spec.variables)
    from moto.ssm.models import ssm_backends

    ssm = ssm_backends[build.account][build.region]
    for name, parameter in spec.parameter_store.items():
        found = ssm.get_parameter(parameter)
        if found is None:
            raise _PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                f"Parameter Store parameter {parameter!r} (for {name}) does not exist.",
            )
        env[name] = found.value
    for item in settings.get("env_vars", []):
        value = str(item.get("value", ""))
        if item.get("type") == "PARAMETER_STORE":
            found = ssm.get_parameter(value)
            if found is None:
                raise _PhaseFailed(
                    "CLIENT_ERROR",
                    "CLIENT_ERROR",
                    f"Parameter Store parameter {value!r} does not exist.",
                )
            value = found.value
        env[item["name"]] = value
    return env


def _codebuild_env(build: Build, src: Path) -> dict[str, str]:
    record = build.record
    return {
        "CODEBUILD_BUILD_ID": record["id"],
        "CODEBUILD_BUILD_ARN": record["arn"],
        "CODEBUILD_BUILD_NUMBER": str(record["buildNumber"]),
        "CODEBUILD_BUILD_IMAGE": record["environment"].get("image", ""),
        "CODEBUILD_INITIATOR": record["initiator"],
        "CODEBUILD_KMS_KEY_ID": record.get("encryptionKey", ""),
        "CODEBUILD_LOG_PATH": record["logs"]["streamName"],
        "CODEBUILD_SRC_DIR": str(src),
        "CODEBUILD_SOURCE_VERSION": record.get("sourceVersion") or "",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": record.get("resolvedSourceVersion") or "",
        "CODEBUILD_SOURCE_REPO_URL": record["source"].get("location", ""),
        "CODEBUILD_START_TIME": str(int(record["startTime"].timestamp() * 1000)),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "HOME": str(src.parent / "home"),
    }


def _finish(build: Build, status: str) -> None:
    entry = _begin(build, "FINALIZING")
    _log(build, "Entering phase FINALIZING")
    for pgid in build.pgids:  # background processes commands left behind
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    _log(build, "Phase complete: FINALIZING State: SUCCEEDED")
    _end(build, entry, "SUCCEEDED")
    with build.lock:
        build.record["phases"].append({"phaseType": "COMPLETED", "startTime": _now()})
        build.record["currentPhase"] = "COMPLETED"
        build.record["buildStatus"] = status
        build.record["endTime"] = _now()
        build.record["buildComplete"] = True
    _flush(build)
    build.done.set()


def _run(build: Build, settings: dict[str, Any]) -> None:
    try:
        _run_inner(build, settings)
    except Exception as exc:  # a bug must not leave the build IN_PROGRESS forever
        _log(build, f"Sandbox error: {type(exc).__name__}: {exc}")
        with build.lock:
            open_phases = [p for p in build.record["phases"] if "phaseStatus" not in p]
        for entry in open_phases:
            _end(build, entry, "FAULT", [{"statusCode": "SANDBOX_ERROR", "message": str(exc)}])
        if not build.done.is_set():
            _finish(build, "FAULT")


def _run_inner(build: Build, settings: dict[str, Any]) -> None:
    started = time.monotonic()
    timeout = settings["timeout_seconds"]
    deadline = started + timeout
    workdir = Path(settings["workdir"])
    src, state = workdir / "src", workdir / "state"
    queued = build.record["phases"][-1]
    _end(build, queued, "SUCCEEDED")
    entry = _begin(build, "PROVISIONING")
    _log(build, "Waiting for agent ping")
    _log(build, "Waiting for DOWNLOAD_SOURCE")
    if build.stop_reason:
        _end(build, entry, "STOPPED")
        return _finish(build, "STOPPED")
    _end(build, entry, "SUCCEEDED")

    entry = _begin(build, "DOWNLOAD_SOURCE")
    try:
        src.mkdir(parents=True, exist_ok=True)
        (workdir / "home").mkdir(exist_ok=True)
        _download_source(build, settings, src)
        spec = _load_buildspec(build, settings, src)
        _log(build, "Phase is DOWNLOAD_SOURCE")
        _log(build, f"CODEBUILD_SRC_DIR={src}")
        _log(build, "Processing environment variables")
        variables = _resolve_env(build, settings, spec)
    except (bspec.BuildspecError, _PhaseFailed) as exc:
        code = "YAML_FILE_ERROR" if isinstance(exc, bspec.BuildspecError) else exc.code
        message = str(exc) if isinstance(exc, bspec.BuildspecError) else exc.message
        if isinstance(exc, bspec.BuildspecError) and not message.startswith("YAML_FILE_ERROR"):
            message = f"YAML_FILE_ERROR Message: {message}"
        _log(build, "Phase complete: DOWNLOAD_SOURCE State: CLIENT_ERROR")
        _log(build, f"Phase context status code: {code} Message: {message}")
        _end(build, entry, "CLIENT_ERROR", [{"statusCode": code, "message": message}])
        return _finish(build, "FAILED")
    _log(build, "Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED")
    _end(build, entry, "SUCCEEDED")

    env = scrub_environment(dict(os.environ), build.account, build.region)
    env.update(_codebuild_env(build, src))
    env.update(variables)
    bspec.prepare_state(state, env, src)

    succeeding = True
    final = "SUCCEEDED"
    for name in bspec.PHASES:
        if build.stop_reason:
            break
        # INSTALL/PRE_BUILD failures skip to FINALIZING; after BUILD, POST_BUILD still runs.
        if not succeeding and name in ("pre_build", "build"):
            continue
        status = _run_phase(build, name, spec.phases.get(name), env, state, src, deadline)
        if status != "SUCCEEDED":
            phase = spec.phases.get(name)
            final = status if status in ("TIMED_OUT", "STOPPED") else "FAILED"
            (state / "succeeding").write_text("0")
            if status == "FAILED" and phase is not None and phase.on_failure == "CONTINUE":
                continue
            succeeding = False
            if name in ("install", "pre_build"):
                break
    if build.stop_reason:
        final = build.stop_reason
        return _finish(build, final)

    if succeeding or final == "FAILED":
        entry = _begin(build, "UPLOAD_ARTIFACTS")
        _log(build, "Entering phase UPLOAD_ARTIFACTS")
        try:
            _upload_artifacts(build, spec, src)
            _log(build, "Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED")
            _end(build, entry, "SUCCEEDED")
        except _PhaseFailed as exc:
            _log(build, f"Phase complete: UPLOAD_ARTIFACTS State: {exc.status}")
            _log(build, f"Phase context status code: {exc.code} Message: {exc.message}")
            _end(build, entry, exc.status, [{"statusCode": exc.code, "message": exc.message}])
            final = "FAILED"
    if spec.exported_variables:
        exported = bspec.session_env(state)
        build.record["exportedEnvironmentVariables"] = [
            {"name": n, "value": exported.get(n, env.get(n, ""))} for n in spec.exported_variables
        ]
    _finish(build, final)


# -- starting builds ------------------------------------------------------------------------
def _new_build(
    account: str,
    region: str,
    project: Any,
    *,
    source_version: str | None,
    env_overrides: list[dict[str, Any]],
    initiator: str,
    overrides: dict[str, Any],
    source_zip: bytes | None,
) -> Build:
    meta = project.project_metadata
    name = meta["name"]
    with _store_lock:
        key = (account, region, name)
        _numbers[key] = _numbers.get(key, 0) + 1
        number = _numbers[key]
    build_uuid = str(mock_random.uuid4())
    build_id = f"{name}:{build_uuid}"
    source = dict(meta.get("source") or {"type": "NO_SOURCE"})
    if overrides.get("sourceTypeOverride"):
        source["type"] = overrides["sourceTypeOverride"]
    if overrides.get("sourceLocationOverride"):
        source["location"] = overrides["sourceLocationOverride"]
    if source_zip is not None:
        source["type"] = "CODEPIPELINE"
    artifacts_target = dict(
        overrides.get("artifactsOverride") or meta.get("artifacts") or {"type": "NO_ARTIFACTS"}
    )
    logs_config = overrides.get("logsConfigOverride") or meta.get("logsConfig") or {}
    cw = logs_config.get("cloudWatchLogs") or {}
    group = cw.get("groupName") or f"/aws/codebuild/{name}"
    stream = f"{cw['streamName']}/{build_uuid}" if cw.get("streamName") else build_uuid
    environment = dict(meta.get("environment") or {})
    env_vars = list(environment.get("environmentVariables") or [])
    names = {v["name"] for v in env_overrides}
    env_vars = [v for v in env_vars if v["name"] not in names] + list(env_overrides)
    timeout_minutes = (
        overrides.get("timeoutInMinutesOverride")
        or meta.get("timeoutInMinutes")
        or DEFAULT_TIMEOUT_MINUTES
    )
    timeout_seconds = float(timeout_minutes) * 60
    for var in env_vars:
        if var["name"] == "FLOVTRAIN_TIMEOUT_SECONDS":
            try:
                timeout_seconds = float(var["value"])
            except (TypeError, ValueError):
                raise AwsError(
                    "InvalidInputException",
                    "FLOVTRAIN_TIMEOUT_SECONDS must be a number of seconds.",
                ) from None
    now = _now()
    deep_link = (
        f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:"
        f"log-groups/log-group/{group.replace('/', '$252F')}/log-events/{stream}"
    )
    record: dict[str, Any] = {
        "id": build_id,
        "arn": f"arn:aws:codebuild:{region}:{account}:build/{build_id}",
        "buildNumber": number,
        "startTime": now,
        "currentPhase": "QUEUED",
        "buildStatus": "IN_PROGRESS",
        "sourceVersion": source_version or meta.get("sourceVersion") or "",
        "projectName": name,
        "phases": [
            {
                "phaseType": "SUBMITTED",
                "phaseStatus": "SUCCEEDED",
                "startTime": now,
                "endTime": now,
                "durationInSeconds": 0,
            },
            {"phaseType": "QUEUED", "startTime": now},
        ],
        "source": {
            **source,
            **(
                {"buildspec": overrides["buildspecOverride"]}
                if overrides.get("buildspecOverride")
                else {}
            ),
        },
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": {"location": ""},
        "secondaryArtifacts": [],
        "cache": meta.get("cache") or {"type": "NO_CACHE"},
        "environment": {**environment, "environmentVariables": env_vars},
        "serviceRole": meta.get("serviceRole", ""),
        "logs": {
            "groupName": group,
            "streamName": stream,
            "deepLink": deep_link,
            "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account}:log-group:{group}:"
            f"log-stream:{stream}",
            "cloudWatchLogs": {"status": "ENABLED", "groupName": group, "streamName": stream},
            "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
        },
        "timeoutInMinutes": int(timeout_minutes),
        "queuedTimeoutInMinutes": meta.get("queuedTimeoutInMinutes") or 480,
        "buildComplete": False,
        "initiator": initiator,
        "encryptionKey": meta.get("encryptionKey", ""),
    }
    if not record["sourceVersion"]:
        del record["sourceVersion"]
    build = Build(account, region, record)
    record["_artifacts_target"] = artifacts_target
    workdir = config.home() / "codebuild" / account / region / name / build_uuid
    settings = {
        "timeout_seconds": timeout_seconds,
        "workdir": str(workdir),
        "source_zip": source_zip,
        "env_vars": env_vars,
        "buildspec": overrides.get("buildspecOverride"),
    }
    with _store_lock:
        _builds.setdefault((account, region), {})[build_id] = build
    _open_log(build)
    threading.Thread(
        target=_run, args=(build, settings), name=f"codebuild {build_id}", daemon=True
    ).start()
    return build


def _public(build: Build) -> dict[str, Any]:
    with build.lock:
        record = {k: v for k, v in build.record.items() if not k.startswith("_")}
        record["phases"] = [dict(p) for p in build.record["phases"]]
        return record


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
        The build id; poll :func:`get_build` or block on :func:`wait`.
    """
    proj = _project(account, region, project)
    overrides = [
        {"name": k, "value": str(v), "type": "PLAINTEXT"} for k, v in (env_overrides or {}).items()
    ]
    build = _new_build(
        account,
        region,
        proj,
        source_version=source_version,
        env_overrides=overrides,
        initiator=initiator,
        overrides={},
        source_zip=source_zip,
    )
    if source_version:
        build.record["resolvedSourceVersion"] = source_version
    return build.id


def get_build(account: str, region: str, build_id: str) -> dict[str, Any]:
    """Return the build as ``batch_get_builds`` shows it (KeyError if unknown)."""
    build = _find(account, region, build_id)
    if build is None:
        raise KeyError(f"no build {build_id} in {account}/{region}")
    return _public(build)


def artifacts_zip(account: str, region: str, build_id: str) -> bytes | None:
    """Return the zip of the build's artifacts (None if it made none or is not finished)."""
    build = _find(account, region, build_id)
    return build.artifact if build is not None and build.done.is_set() else None


def wait(account: str, region: str, build_id: str, timeout: float | None = None) -> dict[str, Any]:
    """Block until the build completes (or ``timeout`` seconds) and return :func:`get_build`."""
    build = _find(account, region, build_id)
    if build is None:
        raise KeyError(f"no build {build_id} in {account}/{region}")
    build.done.wait(timeout)
    return _public(build)


def stop_build_internal(account: str, region: str, build_id: str) -> dict[str, Any]:
    """Stop a running build (its processes are ended); return the build."""
    build = _find(account, region, build_id)
    if build is None:
        raise KeyError(f"no build {build_id}")
    _stop(build)
    build.done.wait(10)
    return _public(build)


def _stop(build: Build, reason: str = "STOPPED") -> None:
    with build.lock:
        if build.done.is_set():
            return
        if build.stop_reason is None:
            build.stop_reason = reason
        proc = build.proc
    if proc is not None:
        processes.stop(proc, timeout=1.0)


# -- projects -------------------------------------------------------------------------------
def _section(params: dict[str, Any], key: str, creating: bool) -> dict[str, Any] | None:
    """The block ``key`` to check: the one given, ``{}`` when creating without it, else None."""
    value = params.get(key)
    if value is None and not creating:
        return None
    return value or {}


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
    timeout = params.get("timeoutInMinutes")
    if timeout is not None and not 5 <= int(timeout) <= 2160:
        raise AwsError("InvalidInputException", "timeoutInMinutes must be between 5 and 2160")


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
        timeout=params.get("timeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES,
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
    build = _new_build(
        call.account_id,
        call.region,
        project,
        source_version=params.get("sourceVersion"),
        env_overrides=params.get("environmentVariablesOverride") or [],
        initiator="root",
        overrides=params,
        source_zip=None,
    )
    return {"build": _public(build)}


def batch_get_builds(call: Call) -> dict[str, Any]:
    ids = call.params.get("ids") or []
    found, missing = [], []
    for build_id in ids:
        build = _find(call.account_id, call.region, build_id)
        if build is None:
            missing.append(build_id)
        else:
            found.append(_public(build))
    return {"builds": found, "buildsNotFound": missing}


def _ids(account: str, region: str, project: str | None, order: str | None) -> list[str]:
    with _store_lock:
        builds = list(_builds.get((account, region), {}).values())
    builds = [b for b in builds if project is None or b.record["projectName"] == project]
    builds.sort(
        key=lambda b: (b.record["startTime"], b.record["buildNumber"]), reverse=order != "ASCENDING"
    )
    return [b.id for b in builds]


def _page(ids: list[str], token: str | None) -> dict[str, Any]:
    start = int(token or 0)
    result: dict[str, Any] = {"ids": ids[start : start + 100]}
    if start + 100 < len(ids):
        result["nextToken"] = str(start + 100)
    return result


def list_builds(call: Call) -> dict[str, Any]:
    params = call.params
    return _page(
        _ids(call.account_id, call.region, None, params.get("sortOrder")), params.get("nextToken")
    )


def list_builds_for_project(call: Call) -> dict[str, Any]:
    params = call.params
    name = params.get("projectName", "")
    _project(call.account_id, call.region, name)
    return _page(
        _ids(call.account_id, call.region, name, params.get("sortOrder")), params.get("nextToken")
    )


def stop_build(call: Call) -> dict[str, Any]:
    build_id = call.params.get("id", "")
    build = _find(call.account_id, call.region, build_id)
    if build is None:
        raise AwsError("ResourceNotFoundException", f"Build {build_id} does not exist")
    _stop(build)
    build.done.wait(10)
    return {"build": _public(build)}


def batch_delete_builds(call: Call) -> dict[str, Any]:
    deleted, missing = [], []
    for build_id in call.params.get("ids") or []:
        build = _find(call.account_id, call.region, build_id)
        if build is None or not build.done.is_set():
            missing.append(
                {"id": build_id, "statusCode": "BUILD_IN_PROGRESS" if build else "BUILD_NOT_FOUND"}
            )
            continue
        with _store_lock:
            _builds[(call.account_id, call.region)].pop(build.id, None)
        deleted.append(build.id)
    return {"buildsDeleted": deleted, "buildsNotDeleted": missing}


# -- lifecycle ------------------------------------------------------------------------------
def _stop_all() -> None:
    with _store_lock:
        running = [b for per in _builds.values() for b in per.values() if not b.done.is_set()]
    for build in running:
        _stop(build)
    for build in running:
        build.done.wait(5)


def _reset() -> None:
    _stop_all()
    with _store_lock:
        _builds.clear()
        _numbers.clear()
    shutil.rmtree(config.home() / "codebuild", ignore_errors=True)


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
