"""Run a stack operation's resource steps in order; undo the done ones when one fails.

A :class:`Step` is one resource handler call (create, update or delete one resource) with
the call that reverses it. :func:`run` records ``<ACTION>_IN_PROGRESS`` then
``<ACTION>_COMPLETE`` (or ``<ACTION>_FAILED`` with the reason) per step through the
``record`` callback and stops at the first failure; :func:`undo` reverses done steps newest
first, as CloudFormation's rollback does.

Fault injection, for tests only and off by default: :func:`arm` makes the ``n``-th handler
call from now fail (once) before the handler runs, so a test can fail every step of an
operation in turn and check that nothing is left half done.

Examples
--------
>>> log = []
>>> made = []
>>> steps = [
...     Step("A", "T", "CREATE", lambda: made.append("A") or "a", lambda: made.remove("A")),
...     Step("B", "T", "CREATE", lambda: 1 / 0, None),
... ]
>>> done, failure = run(steps, lambda *event: log.append(event[:3]))
>>> [s.logical_id for s in done], type(failure.error).__name__
(['A'], 'ZeroDivisionError')
>>> undo(done, lambda *event: log.append(event[:3]))
[]
>>> made
[]
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: ``record(logical id, type, status, physical id, reason)``
Record = Callable[[str, str, str, str, "str | None"], None]

UNDO_ACTION = {"CREATE": "DELETE", "UPDATE": "UPDATE", "DELETE": "CREATE"}


class InjectedFault(RuntimeError):
    """The failure :func:`arm` injects into a handler call."""


@dataclass
class Step:
    """One handler call: ``do()`` returns the physical id; ``reverse()`` undoes it (or None)."""

    logical_id: str
    cfn_type: str
    action: str  # CREATE / UPDATE / DELETE
    do: Callable[[], Any]
    reverse: Callable[[], Any] | None
    physical: str = ""


@dataclass
class Failure:
    """The step that failed and why (AWS's resource status reason)."""

    step: Step
    error: BaseException

    @property
    def reason(self) -> str:
        return reason(self.error)


def reason(error: BaseException) -> str:
    """An error as a ResourceStatusReason: AWS error messages as such, others with their kind."""
    message = getattr(error, "message", None) or str(error)
    if isinstance(error, (KeyError, AttributeError, TypeError, ValueError, IndexError)):
        return f"Internal failure ({type(error).__name__}: {message})"
    return message or type(error).__name__


_armed: dict[str, int] = {}
_lock = threading.Lock()


def arm(n: int) -> None:
    """Make the ``n``-th handler call from now fail once (``n`` >= 1); ``0`` disarms."""
    with _lock:
        _armed.clear()
        if n > 0:
            _armed["left"] = n
        _armed["calls"] = 0


def calls() -> int:
    """Handler calls since the last :func:`arm` (to count an operation's steps)."""
    with _lock:
        return _armed.get("calls", 0)


def handler_call() -> None:
    """Count one handler call; raise :class:`InjectedFault` if it is the armed one."""
    with _lock:
        _armed["calls"] = _armed.get("calls", 0) + 1
        if "left" not in _armed:
            return
        _armed["left"] -= 1
        if _armed["left"] > 0:
            return
        del _armed["left"]
        at = _armed["calls"]
    raise InjectedFault(f"Injected fault at handler call {at}")


def run(steps: list[Step], record: Record) -> tuple[list[Step], Failure | None]:
    """Run ``steps`` in order until one fails; return the done ones and the failure (or None)."""
    done: list[Step] = []
    for step in steps:
        record(step.logical_id, step.cfn_type, f"{step.action}_IN_PROGRESS", step.physical, None)
        try:
            handler_call()
            result = step.do()
        except Exception as exc:
            failure = Failure(step, exc)
            record(
                step.logical_id,
                step.cfn_type,
                f"{step.action}_FAILED",
                step.physical,
                failure.reason,
            )
            return done, failure
        if isinstance(result, str) and result:
            step.physical = result
        record(step.logical_id, step.cfn_type, f"{step.action}_COMPLETE", step.physical, None)
        done.append(step)
    return done, None


def undo(done: list[Step], record: Record, attempts: int = 2) -> list[Failure]:
    """Reverse ``done`` newest first; a failing reverse is tried again once, then reported.

    Returns the reverses that failed every attempt (empty when everything was undone).
    """
    failed: list[Failure] = []
    for step in reversed(done):
        if step.reverse is None:
            continue
        action = UNDO_ACTION[step.action]
        record(step.logical_id, step.cfn_type, f"{action}_IN_PROGRESS", step.physical, None)
        error: BaseException | None = None
        for _ in range(attempts):
            try:
                step.reverse()
            except Exception as exc:  # AWS retries a rollback step before it gives up
                error = exc
                continue
            error = None
            break
        if error is None:
            record(step.logical_id, step.cfn_type, f"{action}_COMPLETE", step.physical, None)
        else:
            failure = Failure(step, error)
            record(
                step.logical_id, step.cfn_type, f"{action}_FAILED", step.physical, failure.reason
            )
            failed.append(failure)
    return failed
