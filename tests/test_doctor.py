"""``flovtrain doctor``: exit 0 only when all is well, and each problem says what to do."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flovtrain import doctor
from flovtrain.sandbox import control


@pytest.fixture(autouse=True)
def enough_disk(monkeypatch):
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 0)  # CI machines differ; one test sets it


def _run(capsys) -> tuple[int, str]:
    code = doctor.main()
    return code, capsys.readouterr().out


def test_all_well_on_this_install_with_the_sandbox_running(capsys):
    assert control.status()["running"]
    code, out = _run(capsys)
    assert code == 0, out
    for item in ("moto", "boto3", "botocore", "aws cli", "protocols", "git", "sandbox home"):
        assert f"✓ {item}" in out
    assert "5.2.5" in out and "all well" in out


def test_the_command_line_prints_the_same():
    out = subprocess.run(
        [sys.executable, "-m", "flovtrain.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "✓ protocols" in out.stdout, out.stdout + out.stderr


def test_a_version_off_the_lock_fails_with_the_fix(capsys, monkeypatch):
    real = doctor._version
    monkeypatch.setattr(doctor, "_version", lambda p: "1.0.0" if p == "boto3" else real(p))
    code, out = _run(capsys)
    assert code == 1
    assert "✗ boto3                  1.0.0 (the lock says" in out
    assert "→ make install" in out


def test_a_protocol_the_sandbox_does_not_serve_fails(capsys, monkeypatch):
    status = control.status()
    narrowed = {**status, "protocols": {**status["protocols"], "athena": ["smithy-rpc-v2-cbor"]}}
    monkeypatch.setattr(control, "status", lambda: narrowed)
    code, out = _run(capsys)
    assert code == 1
    assert "✗ protocols" in out
    assert "athena: the installed botocore" in out and "Fix: make install" in out


def test_a_stopped_sandbox_fails_with_how_to_start(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FLOVTRAIN_HOME", str(tmp_path))
    code, out = _run(capsys)
    assert code == 1
    assert "✗ sandbox" in out and "→ flovtrain sandbox start" in out


def test_too_little_disk_fails(capsys, monkeypatch):
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 1 << 60)
    code, out = _run(capsys)
    assert code == 1
    assert "✗ free disk" in out
