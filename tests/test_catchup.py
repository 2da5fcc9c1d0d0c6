"""Catch-up on small notebooks in a temporary project, against the session sandbox."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from provider_fixtures import run_flovtrain

import flovtrain
from flovtrain.catchup import catch_up, plan
from flovtrain.exceptions import CatchUpFailed, UnknownChapter
from flovtrain.sandbox import control

CREATE_USER = """import boto3
iam = boto3.client("iam")
if "catchup-imre" not in [u["UserName"] for u in iam.list_users()["Users"]]:
    iam.create_user(UserName="catchup-imre")"""

CREATE_GROUP = """import boto3, pathlib
iam = boto3.client("iam")
if "catchup-admins" not in [g["GroupName"] for g in iam.list_groups()["Groups"]]:
    iam.create_group(GroupName="catchup-admins")
iam.add_user_to_group(GroupName="catchup-admins", UserName="catchup-imre")
pathlib.Path("ran-here.txt").write_text("02")"""


def write(path: Path, *sources: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [new_markdown_cell(f"# {path.stem}")] + [new_code_cell(s) for s in sources]
    nbformat.write(new_notebook(cells=cells), path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    control.reset()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    write(tmp_path / "solutions" / "01_users.ipynb", CREATE_USER)
    write(tmp_path / "solutions" / "02_groups.ipynb", CREATE_GROUP)
    write(tmp_path / "solutions" / "03_later.ipynb", "raise RuntimeError('must not run')")
    write(tmp_path / "notebooks" / "04_next.ipynb", "pass")  # a chapter without a solution
    return tmp_path


def snapshot() -> dict:
    iam = boto3.client("iam", region_name="eu-west-1")
    users = sorted(u["UserName"] for u in iam.list_users()["Users"])
    groups = {
        g["GroupName"]: sorted(
            u["UserName"] for u in iam.get_group(GroupName=g["GroupName"])["Users"]
        )
        for g in iam.list_groups()["Groups"]
    }
    return {"users": users, "groups": groups}


def test_plan_runs_only_earlier_solutions(project):
    assert [p.name for p in plan("03", project)] == ["01_users.ipynb", "02_groups.ipynb"]
    assert [p.name for p in plan(4, project)] == [
        "01_users.ipynb",
        "02_groups.ipynb",
        "03_later.ipynb",
    ]
    assert plan("1", project) == []
    with pytest.raises(UnknownChapter, match=r"no chapter 99.*01, 02, 03, 04"):
        plan("99", project)
    with pytest.raises(UnknownChapter, match="not a chapter number"):
        plan("abc", project)


def test_catch_up_reaches_state_and_is_idempotent(project, capsys):
    assert snapshot() == {"users": [], "groups": {}}
    done = catch_up("03", root=project)
    assert done == ["solutions/01_users.ipynb", "solutions/02_groups.ipynb"]
    state = snapshot()
    assert state == {"users": ["catchup-imre"], "groups": {"catchup-admins": ["catchup-imre"]}}
    progress = capsys.readouterr().err
    assert "catch-up" in progress and "2/2" in progress
    # the kernel ran in solutions/ and the solution files were not modified
    assert (project / "solutions" / "ran-here.txt").read_text() == "02"
    assert "outputs" in (project / "solutions" / "01_users.ipynb").read_text()
    assert '"execution_count": null' in (project / "solutions" / "01_users.ipynb").read_text()
    catch_up(3, root=project, progress=False)
    assert snapshot() == state
    assert capsys.readouterr().err == ""


def test_failure_names_notebook_cell_and_error(project):
    write(
        project / "solutions" / "02_groups.ipynb",
        "x = 1",
        "import boto3\nboto3.client('iam').get_user(UserName='nobody')",
    )
    with pytest.raises(CatchUpFailed) as info:
        catch_up("03", root=project, progress=False)
    message = str(info.value)
    assert "solutions/02_groups.ipynb, cell 2" in message
    assert "NoSuchEntityException" in message and "nobody" in message
    assert snapshot()["users"] == ["catchup-imre"]  # chapter 01 did run


def test_timeout_is_reported(project):
    write(project / "solutions" / "01_users.ipynb", "import time\ntime.sleep(30)")
    with pytest.raises(CatchUpFailed, match=r"01_users.ipynb, cell 1 .*longer than 2 s"):
        catch_up("02", root=project, timeout=2, progress=False)


def test_session_credentials_reach_the_kernel(project):
    write(
        project / "solutions" / "01_users.ipynb",
        "import os\nassert os.environ['AWS_DEFAULT_REGION'] == 'us-east-2', "
        "os.environ['AWS_DEFAULT_REGION']",
    )
    catch_up("02", session=boto3.Session(region_name="us-east-2"), root=project, progress=False)
    with pytest.raises(CatchUpFailed, match="AssertionError: eu-west-1"):
        catch_up("02", session=boto3.Session(region_name="eu-west-1"), root=project, progress=False)


def test_lazy_export():
    assert flovtrain.catch_up is catch_up


def test_cli(project):
    def run(*args: str) -> subprocess.CompletedProcess:
        return run_flovtrain(*args, cwd=project, timeout=300)

    ok = run("catch-up", "02")
    assert ok.returncode == 0, ok.stderr
    assert "catch-up" in ok.stderr and "1/1" in ok.stderr  # the progress bar
    assert "IPKernelApp" not in ok.stderr  # kernel chatter goes to the log in FLOVTRAIN_HOME
    assert snapshot()["users"] == ["catchup-imre"]
    unknown = run("catch-up", "99")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("flovtrain: there is no chapter 99")
    failed = run("catch-up", "04")
    assert failed.returncode == 2
    assert "03_later.ipynb, cell 1" in failed.stderr and "must not run" in failed.stderr


CHAPTER_01 = """import boto3, pathlib
iam = boto3.client("iam")
if not iam.list_account_aliases()["AccountAliases"]:
    iam.create_account_alias(AccountAlias="catchup-alias")
if not iam.list_virtual_mfa_devices()["VirtualMFADevices"]:
    iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
runs = pathlib.Path("runs-01.txt")
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")"""


def test_second_catch_up_skips_chapters_whose_check_passes(project, capsys):
    write(project / "solutions" / "01_users.ipynb", CREATE_USER, CHAPTER_01)
    assert catch_up("03", root=project, progress=False) == [
        "solutions/01_users.ipynb",
        "solutions/02_groups.ipynb",  # check 02 (imre, john, system-admins) does not pass
    ]
    assert (project / "solutions" / "runs-01.txt").read_text() == "x"
    capsys.readouterr()
    assert catch_up("03", root=project, progress=False) == ["solutions/02_groups.ipynb"]
    assert (project / "solutions" / "runs-01.txt").read_text() == "x"  # not run again
    assert "01_users.ipynb: skipped, check 01 already passes" in capsys.readouterr().err
    # --redo runs it anyway
    catch_up("02", root=project, progress=False, redo=True)
    assert (project / "solutions" / "runs-01.txt").read_text() == "xx"
