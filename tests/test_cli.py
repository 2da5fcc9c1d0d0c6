"""The `flovtrain` command: sandbox status/env, usage errors, unknown chapters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flovtrain import cli, config
from flovtrain.sandbox import control

FLOVTRAIN = Path(sys.executable).parent / "flovtrain"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed console script, as a learner would in a terminal."""
    return subprocess.run(
        [str(FLOVTRAIN), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or dict(os.environ),
    )


def test_status_of_the_running_sandbox():
    done = run("sandbox", "status")
    assert done.returncode == 0, done.stderr
    info = control.status()
    assert done.stdout.startswith(f"running at {info['endpoint']} (pid {info['pid']}, providers: ")
    assert f"home {config.home()}" in done.stdout
    for name in info["providers"]:
        assert name in done.stdout


def test_status_json(capsys):
    assert cli.main(["sandbox", "status", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["running"] is True
    assert info["endpoint"] == control.endpoint()
    assert info["host"] == "127.0.0.1"


def test_status_when_not_running(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(config.HOME_VAR, str(tmp_path))
    assert cli.main(["sandbox", "status"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("not running") and "flovtrain sandbox start" in out


def test_env_lines(capsys):
    assert cli.main(["sandbox", "env", "--region", "us-east-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"export AWS_ENDPOINT_URL={control.endpoint()}" in lines
    assert "export AWS_DEFAULT_REGION=us-east-1" in lines
    assert "export AWS_REGION=us-east-1" in lines
    assert f"export AWS_ACCESS_KEY_ID={config.SANDBOX_ACCESS_KEY_ID}" in lines
    assert f"export {config.HOME_VAR}={config.home()}" in lines
    assert "unset AWS_PROFILE AWS_SESSION_TOKEN" in lines
    assert all(line.startswith(("export ", "unset ")) for line in lines)


def test_env_without_a_sandbox_says_how_to_start_it(tmp_path):
    env = {**os.environ, config.HOME_VAR: str(tmp_path)}
    done = run("sandbox", "env", env=env)
    assert done.returncode == 2
    assert done.stdout == ""  # nothing half-useful for eval to pick up
    assert "not running" in done.stderr and "flovtrain sandbox start" in done.stderr


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["bogus"], "invalid choice: 'bogus'"),
        (["sandbox", "explode"], "invalid choice: 'explode'"),
        (["sandbox"], "required"),
        (["sandbox", "simulate-charges", "lots"], "invalid float value"),
    ],
)
def test_usage_errors(argv, fragment):
    done = run(*argv)
    assert done.returncode == 2
    assert "usage: flovtrain" in done.stderr
    assert fragment in done.stderr


def test_check_unknown_chapter_lists_the_chapters():
    checks = pytest.importorskip("flovtrain.checks")
    done = run("check", "99")
    assert done.returncode == 2
    known = checks.chapters()
    assert known, "no chapter has a check"
    assert "99" in done.stderr
    assert ", ".join(known) in done.stderr
    assert done.stderr.startswith("flovtrain: ")
