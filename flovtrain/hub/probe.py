"""``python -m flovtrain.hub.probe``: one attendee's progress as JSON, for the progress view.

Run with the attendee's ``FLOVTRAIN_HOME`` (:func:`flovtrain.hub.room.flovtrain` style): it
asks that home's sandbox for its status and, when it runs, every chapter's check, in a process
of its own, so no state of one attendee can leak into another's row. A sandbox that is not
running is reported, never started: the instructor sees what the attendee has.

Examples
--------
>>> import subprocess, sys
>>> subprocess.run([sys.executable, "-m", "flovtrain.hub.probe"])    # doctest: +SKIP
{"sandbox": {"running": true, ...}, "chapters": {"01": {"passed": 4, "total": 4, ...}}}
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _chapter(number: str) -> dict[str, Any]:
    from flovtrain.checks import check

    try:
        result = check(number)
    except Exception as exc:  # one broken chapter check must not blank the whole row
        return {"passed": 0, "total": 0, "error": f"{type(exc).__name__}: {exc}"[:300]}
    failed = [{"item": i.item, "why": i.why, "hint": i.hint} for i in result.failed]
    return {"passed": len(result) - len(failed), "total": len(result), "failed": failed}


def probe() -> dict[str, Any]:
    """Return ``{"sandbox": status, "chapters": {NN: {passed, total, failed}}}`` for this home.

    Examples
    --------
    >>> probe()["sandbox"]["running"]        # doctest: +SKIP
    True
    """
    from flovtrain.checks import chapters
    from flovtrain.sandbox import control

    status = control.status()
    out: dict[str, Any] = {"sandbox": {k: status.get(k) for k in ("running", "reason", "pid")}}
    if not status["running"]:
        return {**out, "chapters": {}}
    os.environ.update(control.client_env())  # the checks' boto3 session: this home's sandbox
    return {**out, "chapters": {number: _chapter(number) for number in chapters()}}


if __name__ == "__main__":
    json.dump(probe(), sys.stdout)
