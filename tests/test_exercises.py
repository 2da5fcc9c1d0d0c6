"""The exercise generator on small notebooks in a temporary project."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from provider_fixtures import run_flovtrain

from flovtrain.exceptions import ExerciseBuildError
from flovtrain.exercises import build, build_cli, make_exercise, project_root, strip_code

SOLVED = """import boto3
iam = boto3.client("iam")
def make_user(name):
    ### BEGIN SOLUTION
    iam.create_user(UserName=name)
    return name
    ### END SOLUTION
### BEGIN SOLUTION
make_user("imre")
### END SOLUTION
print("done")"""


def solution_notebook() -> nbformat.NotebookNode:
    code = new_code_cell(
        SOLVED,
        id="code-1",
        execution_count=7,
        outputs=[new_output("stream", name="stdout", text="done\n")],
        metadata={"tags": ["keep-me"], "scrolled": True, "collapsed": False},
    )
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Chapter 02", id="md-0"),
            code,
            new_markdown_cell(
                "Question: why a group?\n<!-- BEGIN SOLUTION -->\nBecause policies "
                "attach once.\n<!-- END SOLUTION -->\nNext.",
                id="md-2",
            ),
            new_markdown_cell("<!-- BEGIN SOLUTION -->\n## Worked answer", id="md-3"),
            new_code_cell("print('inside the worked answer')", id="code-4"),
            new_markdown_cell("more of the answer\n<!-- END SOLUTION -->", id="md-5"),
            new_code_cell("secret = 42", id="code-6", metadata={"tags": ["solution-only"]}),
            new_code_cell(
                "1 + 1",
                id="code-7",
                execution_count=3,
                outputs=[new_output("execute_result", data={"text/plain": "2"}, execution_count=3)],
            ),
        ]
    )
    nb.metadata = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python", "version": "3.11.7"},
        "widgets": {"state": {"x": 1}},
    }
    return nb


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook(), tmp_path / "solutions" / "02_iam.ipynb")
    one = new_notebook(
        cells=[new_code_cell("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION", id="a")]
    )
    nbformat.write(one, tmp_path / "solutions" / "01_account.ipynb")
    return tmp_path


def test_strip_code_keeps_indentation():
    assert (
        strip_code(SOLVED)
        == """import boto3
iam = boto3.client("iam")
def make_user(name):
    # YOUR CODE HERE
    raise NotImplementedError()
# YOUR CODE HERE
raise NotImplementedError()
print("done")"""
    )


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without ### BEGIN SOLUTION at line 2"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
        ("## BEGIN SOLUTION\nx = 1\n## END SOLUTION", "looks like a solution marker"),
    ],
)
def test_bad_code_markers(source, message):
    nb = new_notebook(cells=[new_markdown_cell("intro"), new_code_cell(source)])
    with pytest.raises(ExerciseBuildError, match=message) as info:
        make_exercise(nb, "05_bad.ipynb")
    assert str(info.value).startswith("05_bad.ipynb, cell 1:")


@pytest.mark.parametrize(
    "cells, message",
    [
        (["<!-- END SOLUTION -->"], "cell 0: <!-- END SOLUTION --> without"),
        (["ok", "<!-- BEGIN SOLUTION -->\nx"], "cell 1: <!-- BEGIN SOLUTION --> is never closed"),
        (["<!-- BEGIN SOLUTION --> a <!-- BEGIN SOLUTION -->"], "cell 0: nested"),
    ],
)
def test_bad_markdown_markers(cells, message):
    nb = new_notebook(cells=[new_markdown_cell(c) for c in cells])
    with pytest.raises(ExerciseBuildError, match=message):
        make_exercise(nb, "07_md.ipynb")


def test_exercise_content(project):
    report = build(project)
    assert report.written == ["exercises/01_account.ipynb", "exercises/02_iam.ipynb"]
    assert report.ok
    nb = nbformat.read(project / "exercises" / "02_iam.ipynb", as_version=4)
    nbformat.validate(nb)
    assert [c.id for c in nb.cells] == ["md-0", "code-1", "md-2", "code-7"]
    assert nb.cells[1].source == strip_code(SOLVED)
    assert nb.cells[2].source == "Question: why a group?\n\nNext."
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert nb.cells[1].metadata == {"tags": ["keep-me"]}
    assert nb.metadata == {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
        "flovtrain": {"generated_from": "solutions/02_iam.ipynb"},
    }
    text = (project / "exercises" / "02_iam.ipynb").read_text()
    assert "Because policies" not in text and "secret = 42" not in text
    assert "inside the worked answer" not in text and text.endswith("}\n")
    # the solution itself is untouched
    assert "### BEGIN SOLUTION" in (project / "solutions" / "02_iam.ipynb").read_text()


def test_build_is_deterministic(project):
    build(project)
    first = {p.name: p.read_bytes() for p in (project / "exercises").iterdir()}
    for path in (project / "exercises").iterdir():
        path.unlink()
    again = build(project)
    assert again.written == sorted(again.written) and len(again.written) == 2
    assert {p.name: p.read_bytes() for p in (project / "exercises").iterdir()} == first
    third = build(project)
    assert third.written == [] and len(third.unchanged) == 2


def test_check_detects_stale_missing_and_extra(project, capsys, monkeypatch):
    report = build(project, check=True)
    assert not report.ok and report.missing == [
        "exercises/01_account.ipynb",
        "exercises/02_iam.ipynb",
    ]
    assert not (project / "exercises").exists()  # --check writes nothing
    build(project)
    assert build(project, check=True).ok
    stale = project / "exercises" / "01_account.ipynb"
    stale.write_text(stale.read_text().replace("x = 1", "x = 2"))
    (project / "exercises" / "02_iam.ipynb").unlink()
    (project / "exercises" / "09_orphan.ipynb").write_text("{}")
    (project / "exercises" / "notes.ipynb").write_text("{}")  # not a chapter: ignored
    report = build(project, check=True)
    assert (report.stale, report.missing, report.extra) == (
        ["exercises/01_account.ipynb"],
        ["exercises/02_iam.ipynb"],
        ["exercises/09_orphan.ipynb"],
    )
    monkeypatch.chdir(project / "solutions")  # the root is found from below too
    assert build_cli(check=True) == 1
    out = capsys.readouterr().out
    assert "stale:   exercises/01_account.ipynb" in out
    assert "missing: exercises/02_iam.ipynb" in out
    assert "extra:   exercises/09_orphan.ipynb" in out
    assert "make exercises" in out and "flovtrain exercises build" in out
    # building fixes stale and missing, keeps the unknown extra file and says so
    assert build_cli(check=False) == 1
    assert (project / "exercises" / "09_orphan.ipynb").exists()
    (project / "exercises" / "09_orphan.ipynb").unlink()
    assert build_cli(check=True) == 0


def test_bad_solution_writes_nothing(project):
    bad = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1")])
    nbformat.write(bad, project / "solutions" / "03_bad.ipynb")
    with pytest.raises(ExerciseBuildError, match=r"03_bad.ipynb, cell 0"):
        build(project)
    assert not (project / "exercises").exists()


def test_executed_exercise_is_backed_up_before_overwrite(project):
    build(project)
    path = project / "exercises" / "01_account.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = "x = 1\ny = 'my answer'"
    nb.cells[0].execution_count = 1
    nbformat.write(nb, path)
    report = build(project)
    assert report.backups == ["exercises/01_account.ipynb.bak"]
    assert "my answer" in (project / "exercises" / "01_account.ipynb.bak").read_text()
    assert "my answer" not in path.read_text()


def test_project_root_found_from_subfolder(project):
    assert project_root(project / "solutions") == project.resolve()


def test_cli_check_on_a_project(project):
    run = run_flovtrain("exercises", "build", "--check", cwd=project)
    assert run.returncode == 1 and "missing: exercises/01_account.ipynb" in run.stdout
    run = run_flovtrain("exercises", "build", cwd=project)
    assert run.returncode == 0 and "2 written" in run.stdout
    bad = new_notebook(cells=[new_code_cell("### END SOLUTION")])
    nbformat.write(bad, project / "solutions" / "04_bad.ipynb")
    run = run_flovtrain("exercises", "build", cwd=project)
    assert run.returncode == 2
    assert run.stderr.startswith("flovtrain: 04_bad.ipynb, cell 0:")
