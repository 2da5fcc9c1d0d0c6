"""Lifecycle events of one instance: hook scripts run as real processes, with diagnostics."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flovtrain.sandbox.engines import instances, processes
from flovtrain.sandbox.engines.deploy import appspec

if TYPE_CHECKING:
    from flovtrain.sandbox.engines.deploy.runner import Run

LOG_TAIL_CHARS = 2048


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC (CodeDeploy's timestamps)."""
    return datetime.now(UTC)


def new_events() -> list[dict[str, Any]]:
    """Return an instance's lifecycle events, all ``Pending``, in the order they run."""
    return [{"lifecycleEventName": e, "status": "Pending"} for e in appspec.EVENTS]


def end_event(
    event: dict[str, Any], status: str, code: str, script: str, message: str, log: str
) -> None:
    """Close a lifecycle event with CodeDeploy's diagnostics block."""
    event.update(
        status=status,
        endTime=utcnow(),
        diagnostics={"errorCode": code, "scriptName": script, "message": message, "logTail": log},
    )


class EventFailed(Exception):
    """A lifecycle event failed: CodeDeploy's error code, message, script and log tail."""

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


def run_script(
    run: Run, record: Any, hook: Any, event: str, archive: Path, env: dict[str, str], logs: Path
) -> str:
    """Run one hook script on the instance ``record``; return its output tail.

    Raises
    ------
    EventFailed
        The script is missing, not executable, timed out, failed, or was stopped.
    """
    script = archive / hook.location.lstrip("/")
    if not script.is_file():
        raise EventFailed(
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
                kind="hook",
                name=f"{record.instance_id} {event} {hook.location}",
                cwd=str(archive),
                env=env,
                stdout=out,
                stderr=err,
            )
        except OSError as exc:
            raise EventFailed(
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
    else:  # the shell has exited and left an app running in its group
        processes.relabel(proc.pid, "app", f"{record.instance_id} app of {hook.location}")
    if record.terminated:
        raise EventFailed(
            "UnknownError",
            f"The instance {record.instance_id} was terminated while "
            f"{hook.location} ran (its stack was deleted or it was terminated).",
            hook.location,
            log,
        )
    if run.stop_requested.is_set():
        raise EventFailed(
            "UnknownError", "The deployment was stopped while the script ran.", hook.location, log
        )
    if timed_out:
        raise EventFailed(
            "ScriptTimedOut",
            f"Script at specified location: {hook.location} "
            f"failed to complete in {hook.timeout} seconds",
            hook.location,
            log,
        )
    if code != 0:
        user = hook.runas or "root"
        raise EventFailed(
            "ScriptFailed",
            f"Script at specified location: {hook.location} run as "
            f"user {user} failed with exit code {code}",
            hook.location,
            log,
        )
    return log
