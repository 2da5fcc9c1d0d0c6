"""Supervision: every process the sandbox starts, in its own group, recorded on disk.

Build commands, deploy hooks, the apps hooks leave running, SSM commands and servers all start
through :func:`spawn`: each runs in a process group of its own (``start_new_session``), gets
the network guard for children (:func:`flovtrain.sandbox.child_guard.child_env`) and is
recorded in ``<FLOVTRAIN_HOME>/supervised/<supervisor pid>.json`` with its pid, group, start
time (``/proc/<pid>/stat``), kind and name. The file is rewritten atomically on every change.

A sandbox killed with ``kill -9`` cannot end its children; the next start calls
:func:`end_leftovers` before anything else, which ends what a dead supervisor recorded. A
process counts as ours only when its start time matches the record (pid reused: left alone),
or, for a group whose first process has exited (an app a hook's shell left behind), when it
carries the supervisor's token in its environment and started after the record was made.
One file per supervising process, so a test process and the sandbox sharing a home never
overwrite each other's record.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: Folder under the sandbox home holding one record per supervising process.
RECORD_DIR = "supervised"
#: Environment variable every supervised process inherits: the supervisor's token.
TOKEN_VAR = "FLOVTRAIN_SUPERVISED"
KINDS = ("build", "hook", "app", "ssm", "server")
#: What a reset ends: everything but the long-lived servers other engines run.
RESET_KINDS = ("build", "hook", "app", "ssm")


@dataclass
class Entry:
    """One supervised process group, as recorded."""

    pid: int
    pgid: int
    start_time: int  # clock ticks since boot, field 22 of /proc/<pid>/stat
    kind: str
    name: str
    started: float  # wall clock, for people reading the file


_lock = threading.RLock()
_entries: dict[int, Entry] = {}  # pgid -> entry
_popens: dict[int, subprocess.Popen] = {}  # pgid -> our Popen, reaped when it ends
_me: dict[str, Any] = {}  # this supervisor: token, record path


# -- /proc ----------------------------------------------------------------------------------
def _stat(pid: int) -> list[bytes] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state is [0], pgrp [2])."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """Return when ``pid`` started (clock ticks since boot), None when it does not exist.

    Examples
    --------
    >>> start_time(os.getpid()) > 0
    True
    """
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _members(pgid: int) -> list[int]:
    """Pids of the group's processes that are not zombies."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
                found.append(int(entry))
    return found


def group_alive(pgid: int) -> bool:
    """True while the group has a process that is not a zombie.

    Orphans a hook left behind are re-parented to PID 1, which may reap them late; a group
    of zombies only must count as ended, or every stop would wait for the SIGKILL time-out.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return bool(_members(pgid))
    except OSError:
        return True


def _wait_group(pgid: int, timeout: float) -> bool:
    """Wait until the group has ended; False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-pgid, os.WNOHANG)  # reap our own children
        if not group_alive(pgid):
            return True
        time.sleep(0.02)
    return False


def kill_group(pgid: int, timeout: float = 2.0) -> None:
    """SIGTERM a process group, SIGKILL what is left after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        if _wait_group(pgid, timeout):
            break
    _reap(pgid)


# -- the record -----------------------------------------------------------------------------
def record_dir(home: Path | None = None) -> Path:
    """Return the folder of supervision records under the sandbox home."""
    if home is None:
        from flovtrain import config

        home = config.home()
    return Path(home) / RECORD_DIR


def token() -> str:
    """Return this supervisor's token (put in every child's environment)."""
    with _lock:
        if not _me:
            _me["token"] = secrets.token_hex(8)
        return str(_me["token"])


def _write() -> None:
    """Rewrite this supervisor's record atomically (called with ``_lock`` held)."""
    token()
    path = record_dir() / f"{os.getpid()}.json"  # the sandbox's home never changes; a test's may
    if not _entries:  # nothing running: no record (a clean stop leaves no file behind)
        path.unlink(missing_ok=True)
        return
    payload = {
        "supervisor": {"pid": os.getpid(), "start_time": start_time(os.getpid())},
        "boot_id": _boot_id(),
        "token": _me["token"],
        "processes": [asdict(e) for e in _entries.values()],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(path)


def recorded() -> list[Entry]:
    """Return this supervisor's entries (groups it still counts as running)."""
    with _lock:
        return list(_entries.values())


# -- spawning and stopping ------------------------------------------------------------------
def spawn(
    args: list[str] | str, kind: str = "build", name: str = "", **kwargs: Any
) -> subprocess.Popen:
    """Start a supervised process: own process group, guarded, recorded under the home.

    Parameters
    ----------
    args : list of str or str
        As for :class:`subprocess.Popen`.
    kind : str
        One of :data:`KINDS` (``server`` survives a sandbox reset, the others do not).
    name : str
        What it is, for people reading the record (a build id, a hook, a command id).
    **kwargs
        Passed to :class:`subprocess.Popen`; ``start_new_session`` is forced on, and ``env``
        (default: this process's) gets the guard for children and the supervisor's token.

    Examples
    --------
    >>> proc = spawn(["sleep", "60"], kind="server", name="example")
    >>> proc.pid in [e.pgid for e in recorded()]
    True
    >>> stop(proc)
    """
    from flovtrain.sandbox import child_guard

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    env = dict(kwargs.get("env") or os.environ)
    env = child_guard.child_env(env)
    env[TOKEN_VAR] = token()
    kwargs["env"] = env
    kwargs["start_new_session"] = True
    with _lock:  # spawn and record together: a crash in between cannot lose a child
        proc = subprocess.Popen(args, **kwargs)
        started = start_time(proc.pid) or 0
        _entries[proc.pid] = Entry(proc.pid, proc.pid, started, kind, name, time.time())
        _popens[proc.pid] = proc
        _prune()
        _write()
    return proc


def relabel(pgid: int, kind: str, name: str | None = None) -> None:
    """Change a group's kind (a hook's shell has exited and left an ``app`` running)."""
    with _lock:
        entry = _entries.get(pgid)
        if entry is not None:
            entry.kind = kind
            entry.name = entry.name if name is None else name
            _write()


def _prune() -> None:
    """Drop entries whose group has ended (called with ``_lock`` held)."""
    for pgid in [g for g in _entries if not group_alive(g)]:
        _entries.pop(pgid, None)
        proc = _popens.pop(pgid, None)
        if proc is not None:
            proc.poll()


def _reap(pgid: int) -> None:
    with _lock:
        proc = _popens.get(pgid)
        if proc is not None:
            proc.poll()
        if not group_alive(pgid):
            _entries.pop(pgid, None)
            _popens.pop(pgid, None)
            if _me:
                _write()


def forget(pgid: int) -> None:
    """Stop recording a group once it has ended (a no-op while it still runs)."""
    _reap(pgid)


def stop(proc: subprocess.Popen, timeout: float = 3.0) -> None:
    """Stop a spawned process and its group: SIGTERM, then SIGKILL after ``timeout``."""
    kill_group(proc.pid, timeout)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    _reap(proc.pid)


def stop_all(kinds: tuple[str, ...] = KINDS) -> int:
    """End every recorded group of ``kinds`` still running; return how many there were."""
    with _lock:
        alive = [g for g, e in _entries.items() if e.kind in kinds and group_alive(g)]
    threads = [threading.Thread(target=kill_group, args=(g,)) for g in alive]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with _lock:
        for pgid in [g for g, e in _entries.items() if e.kind in kinds]:
            _entries.pop(pgid, None)
            proc = _popens.pop(pgid, None)
            if proc is not None:
                proc.poll()
        if _me:
            _write()
    return len(alive)


def running() -> list[int]:
    """Return the process groups this supervisor started that still run."""
    with _lock:
        return [g for g in _entries if group_alive(g)]


# -- leftovers of a crashed supervisor --------------------------------------------------------
def _ours(entry: dict[str, Any], token_value: str) -> list[int]:
    """The live pids of a recorded group that are really the ones recorded."""
    pgid, leader_start = int(entry["pgid"]), int(entry["start_time"])
    now = start_time(int(entry["pid"]))
    if now is not None and now != leader_start:
        return []  # the pid was reused by somebody else's process
    found = []
    for pid in _members(pgid):
        if pid == entry["pid"]:
            found.append(pid)
            continue
        started = start_time(pid)
        if started is None or started < leader_start:
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"{TOKEN_VAR}={token_value}".encode() in environ:
            found.append(pid)
    return found


def _end(pids: list[int], timeout: float = 2.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = [p for p in pids if (_stat(p) or [b"Z"])[0] != b"Z"]
            if not pids:
                return
            time.sleep(0.02)


def end_leftovers(home: Path | None = None) -> list[dict[str, Any]]:
    """End what supervisors that no longer run recorded; clear their records.

    Called first thing when the sandbox starts (and by ``sandbox stop`` after a kill). Records
    of a supervisor still running (the same pid and start time) are left alone, as are
    processes that are not the recorded ones (see the module docstring).

    Returns
    -------
    list of dict
        The entries whose processes were ended.

    Examples
    --------
    >>> end_leftovers()  # doctest: +SKIP
    [{'pid': 4242, 'pgid': 4242, 'start_time': 81234, 'kind': 'app', 'name': ...}]
    """
    ended: list[dict[str, Any]] = []
    folder = record_dir(home)
    if not folder.is_dir():
        return ended
    boot = _boot_id()
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            supervisor = record["supervisor"]
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a torn or foreign file: nothing to trust in it
            continue
        fields = _stat(int(supervisor["pid"]))
        # a killed supervisor its parent has not reaped yet is a zombie: dead, not running
        alive = (
            fields is not None
            and fields[0] != b"Z"
            and start_time(int(supervisor["pid"])) == supervisor.get("start_time")
        )
        if record.get("boot_id") == boot and alive:
            continue  # a supervisor still running (this one, or a test process) owns it
        if record.get("boot_id") == boot:
            for entry in record.get("processes", []):
                pids = _ours(entry, str(record.get("token", "")))
                if pids:
                    _end(pids)
                    ended.append(entry)
        path.unlink(missing_ok=True)
        for tmp in folder.glob(f"{int(supervisor['pid'])}.*.tmp"):  # a write cut short
            tmp.unlink(missing_ok=True)
    return ended
