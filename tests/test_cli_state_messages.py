"""Clear state messages: bad ports, stopped vs never started, a replaced sandbox is announced,
a closed pipe ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import flovtrain
from flovtrain import config
from flovtrain.exceptions import InvalidSandboxPort
from flovtrain.sandbox import control

CLI = [sys.executable, "-m", "flovtrain.cli"]


@pytest.mark.parametrize("value", ["abc", "70000", "-1", "80.5"])
def test_bad_ports_are_refused_with_what_to_do(value, monkeypatch):
    monkeypatch.setenv(config.PORT_VAR, value)
    with pytest.raises(InvalidSandboxPort, match="is not a port: use a whole number from 1024"):
        config.sandbox_port()
    out = subprocess.run(
        [*CLI, "sandbox", "start", "--port", value],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "is not a port" in out.stderr and "Traceback" not in out.stderr


def test_good_ports_pass(monkeypatch):
    monkeypatch.delenv(config.PORT_VAR, raising=False)
    assert config.sandbox_port() == 0
    assert config.sandbox_port("4566") == 4566


@pytest.fixture()
def own_home(tmp_path, monkeypatch):
    """A home of its own; the session's sandbox env is restored afterwards."""
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", config.HOME_VAR)}
    monkeypatch.setenv(config.HOME_VAR, str(tmp_path))
    yield tmp_path
    control.stop()
    for key, value in saved.items():
        os.environ[key] = value  # connect() rewrote them
    flovtrain.connect(quiet=True)


def test_status_tells_never_started_from_stopped(own_home):
    assert control.status()["reason"] == f"never started in {own_home}"
    endpoint = control.start()["endpoint"]
    control.stop()
    reason = control.status()["reason"]
    assert reason.startswith("stopped at ") and endpoint in reason


def test_a_new_empty_sandbox_is_announced_with_the_eval_line(own_home, capsys):
    first = control.start()
    assert first["started_now"] and first["previous"] is None  # first start: nothing to say
    control.stop()
    flovtrain.connect(quiet=True)
    err = capsys.readouterr().err
    assert "the sandbox was not running (stopped at" in err
    assert "EMPTY sandbox" in err and "flovtrain catch-up NN" in err
    assert 'eval "$(flovtrain sandbox env)"' in err
    flovtrain.connect(quiet=True)  # running now: nothing to announce
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.Popen(
        [*CLI, "sandbox", "status", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the reader is gone, as with `| head -0`
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert proc.returncode == 141
