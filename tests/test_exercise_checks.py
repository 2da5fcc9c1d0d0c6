"""Each chapter's check fails on the untouched exercise and passes after its solution.

Parametrized over every chapter that has a check or a solution notebook; a chapter without
both (yet) is skipped with the reason. Also: exercises/ must be what the generator writes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import boto3
import nbformat
import pytest
from nbclient import NotebookClient

from flovtrain.catchup import catch_up, run_notebook
from flovtrain.checks import chapters as checked_chapters
from flovtrain.checks import check
from flovtrain.exercises import build
from flovtrain.sandbox import control

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"^(\d{2})_.+\.ipynb$")


def _by_chapter(folder: Path) -> dict[str, Path]:
    return {m.group(1): p for p in sorted(folder.glob("*.ipynb")) if (m := NAME.match(p.name))}


SOLUTIONS = _by_chapter(ROOT / "solutions")
EXERCISES = _by_chapter(ROOT / "exercises")
CHAPTERS = sorted(set(SOLUTIONS) | set(checked_chapters()))


def run_exercise(path: Path) -> None:
    """Execute an exercise as a student who changed nothing: the stub cells raise."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()


def session() -> boto3.Session:
    return boto3.Session(region_name="eu-west-1")


def test_exercises_are_not_stale():
    run = subprocess.run(
        [sys.executable, "-m", "flovtrain", "exercises", "build", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert build(ROOT, check=True).ok


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_check_fails_on_exercise_and_passes_after_solution(chapter):
    if chapter not in SOLUTIONS:
        pytest.skip(f"no solutions/{chapter}_*.ipynb yet")
    if chapter not in checked_chapters():
        pytest.skip(f"no flovtrain/checks/ch{chapter}.py yet")
    exercise = EXERCISES.get(chapter)
    assert exercise is not None, f"exercises/{chapter}_*.ipynb is missing: run make exercises"

    control.reset()
    run_exercise(exercise)
    untouched = check(chapter, session=session())
    assert not untouched.passed, f"the untouched exercise already passes:\n{untouched}"

    control.reset()
    catch_up(chapter, root=ROOT, progress=False)
    run_exercise(exercise)
    caught_up = check(chapter, session=session())
    assert not caught_up.passed, f"exercise passes after catch-up alone:\n{caught_up}"

    control.reset()
    catch_up(chapter, root=ROOT, progress=False)
    run_notebook(SOLUTIONS[chapter])
    solved = check(chapter, session=session())
    assert solved.passed, f"the solution does not pass its check:\n{solved}"
