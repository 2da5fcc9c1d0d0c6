"""The build runner: the builds of one account and region, each in a background thread.

A build runs on this machine: the source (a CodeCommit repository of the sandbox, an S3 zip, a
pipeline's input zip or nothing) is unpacked into a fresh folder under
``$FLOVTRAIN_HOME/codebuild``; every buildspec command runs in a child process with a scrubbed
environment (:mod:`.environment`). Phases, statuses and durations are real; the log goes to
CloudWatch Logs ``/aws/codebuild/<project>`` in CodeBuild's format; artifacts are zipped (and
uploaded to S3 when the project says so).

Sandbox-only knob: an environment variable ``FLOVTRAIN_TIMEOUT_SECONDS`` (project or
``environmentVariablesOverride``) sets the build time-out in seconds (tests need less than a
minute).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

from flovtrain import config
from flovtrain.sandbox.engines import processes, service_roles
from flovtrain.sandbox.engines.builds import buildspec as bspec
from flovtrain.sandbox.engines.builds.build import Build, PhaseFailed, utcnow
from flovtrain.sandbox.engines.builds.environment import (
    codebuild_env,
    resolve_env,
    scrub_environment,
)
from flovtrain.sandbox.engines.builds.record import new_build
from flovtrain.sandbox.engines.builds.steps import (
    download_source,
    load_buildspec,
    run_phase,
    upload_artifacts,
)


def workdir_root() -> Path:
    """Return the folder holding every build's source and state."""
    return config.home() / "codebuild"


def wipe() -> None:
    """Delete every build's folder (sandbox reset, once no build runs)."""
    shutil.rmtree(workdir_root(), ignore_errors=True)


class BuildRunner:
    """The builds of one account and region.

    Parameters
    ----------
    account, region : str
        Where the builds run (logs, S3, Parameter Store and git of that account and region).

    Examples
    --------
    >>> runner = BuildRunner("123456789012", "eu-west-1")  # doctest: +SKIP
    >>> build = runner.start(project_meta)  # doctest: +SKIP
    >>> runner.wait(build.id, timeout=60)["buildStatus"]  # doctest: +SKIP
    'SUCCEEDED'
    """

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.builds: dict[str, Build] = {}
        self.numbers: dict[str, int] = {}  # project -> its last build number
        self.lock = threading.RLock()

    def start(
        self,
        meta: dict[str, Any],
        *,
        source_version: str | None = None,
        env_overrides: list[dict[str, Any]] | None = None,
        initiator: str = "root",
        overrides: dict[str, Any] | None = None,
        source_zip: bytes | None = None,
    ) -> Build:
        """Start a build of the project ``meta`` in a background thread and return it.

        The parameters are :func:`~.record.new_build`'s.

        Raises
        ------
        BuildError
            ``FLOVTRAIN_TIMEOUT_SECONDS`` is not a number.
        RoleNotAssumable
            The project's service role does not exist or does not trust CodeBuild.
        """
        role = str(meta.get("serviceRole") or "")
        service_roles.assume(role, "codebuild", "check")  # refuse before a build exists
        with self.lock:
            number = self.numbers[meta["name"]] = self.numbers.get(meta["name"], 0) + 1
        build, settings = new_build(
            self.account,
            self.region,
            meta,
            number,
            source_version=source_version,
            env_overrides=list(env_overrides or []),
            initiator=initiator,
            overrides=overrides or {},
            source_zip=source_zip,
        )
        # CodeBuild's session of the service role: the build's commands sign with its keys
        session_name = "AWSCodeBuild-" + build.id.split(":", 1)[1]
        build.credentials = service_roles.issue_credentials(
            role, "codebuild", session_name, self.region
        )
        build.session = service_roles.principal_of(build.credentials)
        with self.lock:
            self.builds[build.id] = build
        build.log_path = Path(settings["workdir"]) / "cloudwatch-log.jsonl"
        build.open_log()
        threading.Thread(
            target=_run, args=(build, settings), name=f"codebuild {build.id}", daemon=True
        ).start()
        return build

    def find(self, build_id: str) -> Build | None:
        """Return the build with that id or ARN, or None."""
        if build_id.startswith("arn:"):
            build_id = build_id.split(":build/", 1)[-1]
        with self.lock:
            return self.builds.get(build_id)

    def get(self, build_id: str) -> dict[str, Any]:
        """Return the build as ``batch_get_builds`` shows it.

        Raises
        ------
        KeyError
            No such build.
        """
        return describe(self._existing(build_id))

    def wait(self, build_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Block until the build completes (or ``timeout`` seconds); return :meth:`get`."""
        build = self._existing(build_id)
        build.done.wait(timeout)
        return describe(build)

    def _existing(self, build_id: str) -> Build:
        build = self.find(build_id)
        if build is None:
            raise KeyError(f"no build {build_id} in {self.account}/{self.region}")
        return build

    def artifacts_zip(self, build_id: str) -> bytes | None:
        """Return the zip of the build's artifacts (None if it made none or is not finished)."""
        build = self.find(build_id)
        return build.artifact if build is not None and build.done.is_set() else None

    def ids(self, project: str | None, order: str | None) -> list[str]:
        """Return the ids of ``project``'s builds (or all), newest first unless ``ASCENDING``."""
        with self.lock:
            builds = list(self.builds.values())
        builds = [b for b in builds if project is None or b.record["projectName"] == project]
        builds.sort(
            key=lambda b: (b.record["startTime"], b.record["buildNumber"]),
            reverse=order != "ASCENDING",
        )
        return [b.id for b in builds]

    def forget(self, build: Build) -> None:
        """Drop a build from the list (``batch_delete_builds``)."""
        with self.lock:
            self.builds.pop(build.id, None)

    def stop_all(self) -> None:
        """Stop every running build and wait (5 s each at most) until it has finished."""
        with self.lock:
            running = [b for b in self.builds.values() if not b.done.is_set()]
        for build in running:
            stop(build)
        for build in running:
            build.done.wait(5)


def describe(build: Build) -> dict[str, Any]:
    """Return the build's record as ``batch_get_builds`` shows it (a copy)."""
    with build.lock:
        record = {k: v for k, v in build.record.items() if not k.startswith("_")}
        record["phases"] = [dict(p) for p in build.record["phases"]]
        return record


def stop(build: Build, reason: str = "STOPPED") -> None:
    """Stop a running build: its current command ends, the build ends as ``reason``."""
    with build.lock:
        if build.done.is_set():
            return
        if build.stop_reason is None:
            build.stop_reason = reason
        proc = build.proc
    if proc is not None:
        processes.stop(proc, timeout=1.0)


# -- the build thread -----------------------------------------------------------------------
def _finish(build: Build, status: str) -> None:
    entry = build.begin_phase("FINALIZING")
    build.log("Entering phase FINALIZING")
    for pgid in build.pgids:  # background processes commands left behind
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        processes.forget(pgid)  # out of the supervision record once it has ended
    build.log("Phase complete: FINALIZING State: SUCCEEDED")
    build.end_phase(entry, "SUCCEEDED")
    with build.lock:
        build.record["phases"].append({"phaseType": "COMPLETED", "startTime": utcnow()})
        build.record["currentPhase"] = "COMPLETED"
        build.record["buildStatus"] = status
        build.record["endTime"] = utcnow()
        build.record["buildComplete"] = True
    build.flush_log()
    build.done.set()


def _log_stream_denied(build: Build) -> str | None:
    """CodeBuild's message when the service role may not create the build's log stream."""
    logs = build.record["logs"]
    stream = (
        f"arn:aws:logs:{build.region}:{build.account}:log-group:{logs['groupName']}"
        f":log-stream:{logs['streamName']}"
    )
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        denied = service_roles.denial(build.session, action, stream)
        if denied:
            return (
                f"Service role {build.record['serviceRole']} does not allow AWS CodeBuild to "
                "create Amazon CloudWatch Logs log streams for build "
                f"{build.record['arn']}. Error message: {denied}"
            )
    return None


def _run(build: Build, settings: dict[str, Any]) -> None:
    try:
        _run_inner(build, settings)
    except Exception as exc:  # a bug must not leave the build IN_PROGRESS forever
        build.log(f"Sandbox error: {type(exc).__name__}: {exc}")
        with build.lock:
            open_phases = [p for p in build.record["phases"] if "phaseStatus" not in p]
        for entry in open_phases:
            build.end_phase(entry, "FAULT", [{"statusCode": "SANDBOX_ERROR", "message": str(exc)}])
        if not build.done.is_set():
            _finish(build, "FAULT")


def _run_inner(build: Build, settings: dict[str, Any]) -> None:
    started = time.monotonic()
    timeout = settings["timeout_seconds"]
    deadline = started + timeout
    workdir = Path(settings["workdir"])
    src, state = workdir / "src", workdir / "state"
    queued = build.record["phases"][-1]
    build.end_phase(queued, "SUCCEEDED")
    entry = build.begin_phase("PROVISIONING")
    build.log("Waiting for agent ping")
    refused = _log_stream_denied(build)
    if refused:
        build.log("Phase complete: PROVISIONING State: CLIENT_ERROR")
        build.end_phase(
            entry, "CLIENT_ERROR", [{"statusCode": "ACCESS_DENIED", "message": refused}]
        )
        return _finish(build, "FAILED")
    build.log("Waiting for DOWNLOAD_SOURCE")
    if build.stop_reason:
        build.end_phase(entry, "STOPPED")
        return _finish(build, "STOPPED")
    build.end_phase(entry, "SUCCEEDED")

    entry = build.begin_phase("DOWNLOAD_SOURCE")
    try:
        src.mkdir(parents=True, exist_ok=True)
        (workdir / "home").mkdir(exist_ok=True)
        download_source(build, settings, src)
        spec = load_buildspec(build, settings, src)
        build.log("Phase is DOWNLOAD_SOURCE")
        build.log(f"CODEBUILD_SRC_DIR={src}")
        build.log("Processing environment variables")
        variables = resolve_env(build, settings, spec)
    except (bspec.BuildspecError, PhaseFailed) as exc:
        code = "YAML_FILE_ERROR" if isinstance(exc, bspec.BuildspecError) else exc.code
        message = str(exc) if isinstance(exc, bspec.BuildspecError) else exc.message
        if isinstance(exc, bspec.BuildspecError) and not message.startswith("YAML_FILE_ERROR"):
            message = f"YAML_FILE_ERROR Message: {message}"
        build.log("Phase complete: DOWNLOAD_SOURCE State: CLIENT_ERROR")
        build.log(f"Phase context status code: {code} Message: {message}")
        build.end_phase(entry, "CLIENT_ERROR", [{"statusCode": code, "message": message}])
        return _finish(build, "FAILED")
    build.log("Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED")
    build.end_phase(entry, "SUCCEEDED")

    env = scrub_environment(dict(os.environ), build.account, build.region)
    if build.credentials is not None:  # the service role's session, not the sandbox's root
        env["AWS_ACCESS_KEY_ID"] = build.credentials.access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = build.credentials.secret_access_key
        env["AWS_SESSION_TOKEN"] = build.credentials.session_token
    env.update(codebuild_env(build, src))
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
        status = run_phase(build, name, spec.phases.get(name), env, state, src, deadline)
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
        entry = build.begin_phase("UPLOAD_ARTIFACTS")
        build.log("Entering phase UPLOAD_ARTIFACTS")
        try:
            upload_artifacts(build, spec, src)
            build.log("Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED")
            build.end_phase(entry, "SUCCEEDED")
        except PhaseFailed as exc:
            build.log(f"Phase complete: UPLOAD_ARTIFACTS State: {exc.status}")
            build.log(f"Phase context status code: {exc.code} Message: {exc.message}")
            build.end_phase(entry, exc.status, [{"statusCode": exc.code, "message": exc.message}])
            final = "FAILED"
    if spec.exported_variables:
        exported = bspec.session_env(state)
        build.record["exportedEnvironmentVariables"] = [
            {"name": n, "value": exported.get(n, env.get(n, ""))} for n in spec.exported_variables
        ]
    _finish(build, final)
