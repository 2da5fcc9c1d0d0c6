"""Processes the sandbox starts (build commands, deployed apps): tracked so stop ends them all."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any

_children: list[subprocess.Popen] = []
_lock = threading.Lock()


def spawn(args: list[str] | str, **kwargs: Any) -> subprocess.Popen:
    """Start a process in its own process group and remember it.

    Parameters
    ----------
    args : list of str or str
        As for :class:`subprocess.Popen`.
    **kwargs
        Passed to :class:`subprocess.Popen` (``start_new_session`` is forced on so the
        whole group can be stopped).

    Examples
    --------
    >>> proc = spawn(["sleep", "60"])
    >>> stop(proc)
    """
    kwargs["start_new_session"] = True
    proc = subprocess.Popen(args, **kwargs)
    with _lock:
        _children[:] = [p for p in _children if p.poll() is None]
        _children.append(proc)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 3.0) -> None:
    """Stop a spawned process and its group: SIGTERM, then SIGKILL after ``timeout``."""
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def stop_all() -> int:
    """Stop every process still running that the sandbox started; return how many."""
    with _lock:
        running = [p for p in _children if p.poll() is None]
        _children.clear()
    for proc in running:
        stop(proc)
    return len(running)


def running() -> list[int]:
    """Return the pids of spawned processes still running."""
    with _lock:
        return [p.pid for p in _children if p.poll() is None]
