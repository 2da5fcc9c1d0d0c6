"""The steps of a build: commands in CodeBuild's shell session, source, buildspec, artifacts.

See :mod:`.buildspec` for how the shell session is emulated. Commands run as tracked child
processes (:mod:`flovtrain.sandbox.engines.processes`), so stopping the sandbox stops builds.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines import gitstore, processes, service_roles
from flovtrain.sandbox.engines import s3 as sandbox_s3
from flovtrain.sandbox.engines.builds import buildspec as bspec
from flovtrain.sandbox.engines.builds import logstore
from flovtrain.sandbox.engines.builds.build import Build, PhaseFailed

#: How much command output is read into memory at once.
READ_CHUNK = 1 << 20


def _deadline_left(build: Build, deadline: float) -> float:
    return deadline - time.monotonic()


def run_command(
    build: Build, command: str, env: dict[str, str], state: Path, workdir: Path, deadline: float
) -> int:
    """Run one command in the build's shell session, streaming output to the log.

    The output goes to a file under the sandbox home and is read back a chunk at a time, so a
    command printing 100 MB never sits in memory; a line longer than CloudWatch Logs takes
    becomes several events (:func:`.logstore.split_message`).
    """
    build.log(f"Running command {command}")
    out_path = state / "output.log"
    with open(out_path, "wb") as out:
        proc = processes.spawn(
            bspec.command_args(state, command),
            kind="build",
            name=build.id,
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

    def emit(line: bytes) -> None:
        build.log(line.decode(errors="replace"), container=False)

    def pump() -> None:
        nonlocal position, partial
        with open(out_path, "rb") as handle:
            handle.seek(position)
            while data := handle.read(READ_CHUNK):
                position += len(data)
                *lines, partial = (partial + data).split(b"\n")
                for line in lines:
                    emit(line)
                while len(partial) > logstore.MAX_MESSAGE_BYTES:  # one endless line
                    piece = logstore.split_message(partial.decode(errors="replace"))[0]
                    emit(piece.encode())
                    partial = partial[len(piece.encode()) :]

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
        emit(partial)
    with build.lock:
        build.proc = None
    return proc.returncode


def run_phase(
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
    entry = build.begin_phase(phase_type)
    build.log(f"Entering phase {phase_type}")
    status, contexts = "SUCCEEDED", None
    if phase is not None:
        failed_message = None
        for command in phase.commands:
            code = run_command(build, command, env, state, workdir, deadline)
            if build.stop_reason:
                break
            if code != 0:
                failed_message = (
                    f"Error while executing command: {command}. Reason: exit status {code}"
                )
                build.log(f"Command did not exit successfully {command} exit status {code}")
                break
        if phase.finally_ and not build.stop_reason:
            for command in phase.finally_:
                code = run_command(build, command, env, state, workdir, deadline)
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
                    "message": f"{what}\n{build.tail()}",
                }
            ]
        elif failed_message:
            status = "FAILED"
            contexts = [
                {
                    "statusCode": "COMMAND_EXECUTION_ERROR",
                    "message": f"{failed_message}\n{build.tail()}",
                }
            ]
    build.log(f"Phase complete: {phase_type} State: {status}")
    if contexts:
        build.log(
            f"Phase context status code: {contexts[0]['statusCode']} Message: "
            f"{contexts[0]['message'].splitlines()[0]}",
        )
    build.end_phase(entry, status, contexts)
    build.flush_log()
    return status


# -- source ---------------------------------------------------------------------------------
def _repo_name(location: str) -> str:
    return location.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]


def download_source(build: Build, settings: dict[str, Any], src: Path) -> None:
    source = build.record["source"]
    kind = source.get("type", "NO_SOURCE")
    if kind == "CODEPIPELINE":
        if settings.get("source_zip") is None:
            raise PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                "This project's source is CODEPIPELINE: start it from a pipeline.",
            )
        bspec.extract(settings["source_zip"], src)
    elif kind == "CODECOMMIT":
        name = _repo_name(source.get("location", ""))
        version = build.record.get("sourceVersion") or ""
        spec = version.removeprefix("refs/heads/") or None
        repo_arn = f"arn:aws:codecommit:{build.region}:{build.account}:{name}"
        if service_roles.denial(build.session, "codecommit:GitPull", repo_arn):
            raise PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                "authorization failed for primary source and source version "
                f"{version or 'the default branch'}",
            )
        try:
            if spec is None:
                spec = gitstore.default_branch(build.account, build.region, name) or "main"
            with gitstore.locked(build.account, build.region, name) as repo:
                sha = gitstore.resolve(repo, spec).decode()
            data = gitstore.archive(build.account, build.region, name, sha)
        except gitstore.GitRepoError as exc:
            raise PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                f"CodeCommit repository {name}, version {spec}: {exc.message}",
            ) from None
        build.record["resolvedSourceVersion"] = sha
        bspec.extract(data, src)
    elif kind == "S3":
        location = source.get("location", "").removeprefix("arn:aws:s3:::")
        bucket, _, key = location.partition("/")
        if service_roles.denial(build.session, "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}"):
            raise PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                f"AccessDenied: Access Denied for primary source and source version "
                f"arn:aws:s3:::{bucket}/{key}",
            )
        obj = sandbox_s3.s3_object(build.account, bucket, key)
        if obj is None:
            raise PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                f"NoSuchKey: the source s3://{bucket}/{key} does not exist.",
            )
        try:
            bspec.extract(obj.value, src)
        except zipfile.BadZipFile:
            raise PhaseFailed(
                "CLIENT_ERROR", "CLIENT_ERROR", f"The source s3://{bucket}/{key} is not a zip file."
            ) from None
        build.record["resolvedSourceVersion"] = getattr(obj, "version_id", None) or obj.etag.strip(
            '"'
        )
    elif kind != "NO_SOURCE":
        raise PhaseFailed(
            "CLIENT_ERROR",
            "CLIENT_ERROR",
            f"Source type {kind} needs the internet; the sandbox is offline. Use "
            "CODECOMMIT (the sandbox's git), S3 or NO_SOURCE.",
        )


def load_buildspec(build: Build, settings: dict[str, Any], src: Path) -> bspec.BuildSpec:
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
def upload_artifacts(build: Build, spec: bspec.BuildSpec, src: Path) -> None:
    target = build.record.get("_artifacts_target") or {"type": "NO_ARTIFACTS"}
    if spec.artifacts is None:
        if target.get("type") in ("S3", "CODEPIPELINE") and target.get("type") != "NO_ARTIFACTS":
            if target.get("type") == "S3":
                raise PhaseFailed(
                    "CLIENT_ERROR",
                    "CLIENT_ERROR",
                    "no matching artifact paths found: the buildspec has no "
                    "artifacts section but the project uploads artifacts to S3.",
                )
        return
    files = bspec.collect(spec.artifacts, src)
    if not files:
        raise PhaseFailed(
            "CLIENT_ERROR",
            "CLIENT_ERROR",
            "no matching artifact paths found: none of "
            f"{', '.join(spec.artifacts.files)} matched a file under "
            f"{spec.artifacts.base_directory or 'the source folder'}.",
        )
    build.log(f"Expanding base directory path: {spec.artifacts.base_directory or '.'}")
    build.log(f"Found {len(files)} file(s)")
    data = bspec.zip_files(files)
    build.artifact = data
    if target.get("type") != "S3":
        return
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
    where = f"{prefix}/{name}" if prefix else name
    denied = service_roles.denial(build.session, "s3:PutObject", f"arn:aws:s3:::{bucket}/{where}")
    if denied:
        raise PhaseFailed("CLIENT_ERROR", "CLIENT_ERROR", f"AccessDenied: {denied}")
    backend = sandbox_s3.backend(build.account)
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
        raise PhaseFailed(
            "CLIENT_ERROR",
            "CLIENT_ERROR",
            f"Could not upload the artifacts to bucket {bucket!r}: {type(exc).__name__}: {exc}",
        ) from None
    build.record["artifacts"] = {
        "location": location,
        "sha256sum": hashlib.sha256(data).hexdigest(),
        "md5sum": hashlib.md5(data).hexdigest(),
    }  # noqa: S324 (AWS field)
    build.log(f"Uploading artifacts to {location}")
