"""A learner's wrong paths and bad inputs: the sandbox refuses them as AWS does and survives.

One table of cases (:data:`CASES`). Each case makes one bad call against the session's
sandbox and must get AWS's error code *and* message (a regular expression searched in the
message); afterwards the sandbox must still answer ``/flovtrain-api/health`` and the resource
the module created before any bad call (one per service, :func:`world`) must still exist.

Every case gets one verdict (:func:`verdict`):

- ``clear``: AWS's code and message, sandbox up, nothing lost;
- ``confusing``: refused, but with another code or message;
- ``silent``: accepted where AWS refuses;
- ``crash``: an internal error (HTTP 5xx, ``InternalFailure``…) or the sandbox stopped answering;
- ``loss``: the resource made beforehand is gone.

Cases whose fix belongs to another part of the sandbox (IAM, Route 53, Athena) are
``xfail(strict=True)`` with the reason. ``FLOVTRAIN_FAULT_REPORT=<file>`` writes every case's
verdict there as JSON (the bad-input table of issue #11).

The vocabulary and the world are in :mod:`fault_world`; the cases in :mod:`fault_cases_platform`
and :mod:`fault_cases_devtools`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fault_cases_devtools import DEVTOOLS_CASES
from fault_cases_platform import PLATFORM_CASES
from fault_world import SURVIVORS, Case, build_world, verdict

CASES: list[Case] = PLATFORM_CASES + DEVTOOLS_CASES
_verdicts: dict[str, tuple[str, str]] = {}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Any]:
    """Clients plus one resource per service, made before any bad call."""
    return build_world(tmp_path_factory)


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def test_the_table_is_big_and_unique():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.keep for c in CASES} <= set(SURVIVORS)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_refused_as_aws_refuses(case: Case, world):
    outcome, got = verdict(case, world)
    _verdicts[case.id] = (outcome, got)
    assert outcome == "clear", f"{outcome}: {got}"


def test_everything_made_beforehand_survived(world):
    for name, check in SURVIVORS.items():
        assert check(world), name


def teardown_module() -> None:
    target = os.environ.get("FLOVTRAIN_FAULT_REPORT")
    if target:
        Path(target).write_text(
            json.dumps(
                {
                    "counts": Counter(outcome for outcome, _ in _verdicts.values()),
                    "verdicts": _verdicts,
                },
                indent=1,
            )
        )
