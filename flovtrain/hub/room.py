"""An attendee's corner of the room: a home folder, a workbook copy and a sandbox of their own.

Stdlib only (no JupyterHub): the spawner, the progress service and the load test share it.
Every sandbox command runs as a child process with that attendee's ``FLOVTRAIN_HOME``, so two
attendees never share a process, an environment variable or a state file.

Examples
--------
>>> from pathlib import Path
>>> from flovtrain.hub import room
>>> home = room.attendee_home(Path("/srv/room"), "anna")
>>> str(home), str(room.sandbox_home(home))
('/srv/room/anna', '/srv/room/anna/.flovtrain')
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from flovtrain import config

#: The folder holding one home per attendee (``make hub`` sets it; default ``~/flovtrain-room``).
ROOM_VAR = "FLOVTRAIN_ROOM"
#: What each attendee gets a copy of; the instructor may leave out ``solutions``.
DEFAULT_WORKBOOK = ("notebooks", "exercises", "solutions")
#: Attendee names JupyterHub may hand us (it lowercases them): safe as a folder name.
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


def room_folder(value: str | os.PathLike | None = None) -> Path:
    """The room folder: ``value``, else ``$FLOVTRAIN_ROOM``, else ``~/flovtrain-room``."""
    raw = value or os.environ.get(ROOM_VAR) or Path.home() / "flovtrain-room"
    return Path(raw).expanduser().resolve()


def attendee_home(room: Path, name: str) -> Path:
    """Return attendee ``name``'s home in ``room``.

    Raises
    ------
    ValueError
        ``name`` is not a plain folder name (the authenticator never lets one through).
    """
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not an attendee name: use letters, digits, . _ or -")
    return room / name


def sandbox_home(home: Path) -> Path:
    """The attendee's ``FLOVTRAIN_HOME`` (sandbox state, credentials) inside their home."""
    return home / ".flovtrain"


def attendees(room: Path) -> list[str]:
    """Names of everyone who ever had a server in ``room``, sorted."""
    if not room.is_dir():
        return []
    return sorted(p.name for p in room.iterdir() if p.is_dir() and NAME.match(p.name))


def copy_workbook(source: Path, home: Path, parts: tuple[str, ...] = DEFAULT_WORKBOOK) -> int:
    """Copy the workbook's ``parts`` from ``source`` into ``home``; return how many files.

    A file the attendee already has is never overwritten (a restarted server finds their
    notebooks as they left them). ``pyproject.toml`` comes along so ``flovtrain catch-up`` run in
    the attendee's home uses their own ``solutions/`` copy, not the shared project's.

    Examples
    --------
    >>> copy_workbook(Path("/work/main"), Path("/srv/room/anna"))   # doctest: +SKIP
    31
    """
    copied = 0
    home.mkdir(parents=True, exist_ok=True)
    files = [source / "pyproject.toml"]
    for part in parts:
        folder = source / part
        if not folder.is_dir():
            raise FileNotFoundError(f"the workbook has no {part}/ in {source}")
        files += [
            p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts
        ]
    for path in files:
        target = home / path.relative_to(source)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied += 1
    return copied


def attendee_env(home: Path) -> dict[str, str]:
    """This process's environment for a command of attendee ``home``: own home, no AWS_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JUPYTERHUB_"))}
    env[config.HOME_VAR] = str(sandbox_home(home))
    env.pop(config.PORT_VAR, None)  # a room's sandboxes each take a free port
    return env


def flovtrain(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``flovtrain ARGS`` for attendee ``home`` (own process, own ``FLOVTRAIN_HOME``)."""
    return subprocess.run(
        [sys.executable, "-m", "flovtrain", *args],
        env=attendee_env(home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_sandbox(home: Path) -> dict[str, str]:
    """Start attendee ``home``'s sandbox (idempotent); return the variables pointing at it.

    Raises
    ------
    RuntimeError
        The sandbox did not start; the message carries flovtrain's own explanation.
    """
    started = flovtrain(home, "sandbox", "start")
    exports = flovtrain(home, "sandbox", "env") if started.returncode == 0 else started
    if exports.returncode != 0:
        raise RuntimeError(
            f"the sandbox of {home.name} did not start: {exports.stderr.strip()[-800:]}"
        )
    env = {}
    for line in exports.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export ") :].partition("=")
            env[name] = value
    return env


def stop_sandbox(home: Path) -> bool:
    """Stop attendee ``home``'s sandbox; return whether one was running."""
    return flovtrain(home, "sandbox", "stop", timeout=60).stdout.strip() == "stopped"


def sandbox_status(home: Path) -> dict:
    """``flovtrain sandbox status --json`` of attendee ``home`` (``running`` False if none)."""
    done = flovtrain(home, "sandbox", "status", "--json", timeout=30)
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"running": False, "reason": done.stderr.strip()[-300:] or "no answer"}
