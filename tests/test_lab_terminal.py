"""``make lab``'s terminal: the venv first on PATH and the sandbox's variables, in a fresh bash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flovtrain.sandbox import control

REPO = Path(__file__).resolve().parents[1]
RC = REPO / "tools" / "lab_terminal.bashrc"


def _terminal(tmp_path: Path, commands: str, **extra: str) -> str:
    """An interactive bash as JupyterLab starts it, with a bare PATH (as after /etc/profile)."""
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "TERM": "dumb", **extra}
    out = subprocess.run(
        ["/bin/bash", "--init-file", str(RC), "-i"],
        input=commands + "\nexit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    return out.stdout + out.stderr


def test_venv_first_and_sandbox_variables(tmp_path):
    venv_bin = str(Path(sys.executable).parent)
    endpoint = control.status()["endpoint"]
    out = _terminal(
        tmp_path,
        "command -v flovtrain aws; echo ENDPOINT=$AWS_ENDPOINT_URL",
        FLOVTRAIN_VENV_BIN=venv_bin,
        FLOVTRAIN_HOME=os.environ["FLOVTRAIN_HOME"],
    )
    assert f"{venv_bin}/flovtrain" in out and f"{venv_bin}/aws" in out
    assert f"ENDPOINT={endpoint}" in out


def test_a_stopped_sandbox_says_how_to_start_it(tmp_path):
    out = _terminal(
        tmp_path,
        "echo ENDPOINT=${AWS_ENDPOINT_URL:-none}",
        FLOVTRAIN_VENV_BIN=str(Path(sys.executable).parent),
        FLOVTRAIN_HOME=str(tmp_path),
    )
    assert "the sandbox is not running: flovtrain sandbox start" in out
    assert "ENDPOINT=none" in out


def test_make_lab_gives_the_terminal_this_rc_file():
    makefile = (REPO / "Makefile").read_text()
    assert "'--init-file','$(abspath tools/lab_terminal.bashrc)'" in makefile
    assert 'FLOVTRAIN_VENV_BIN="$(abspath $(BIN))"' in makefile
