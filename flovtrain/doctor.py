"""``flovtrain doctor``: what an instructor checks the morning of a workshop.

Versions (flovtrain, moto, boto3/botocore, the AWS CLI and *its* botocore) against the lock,
wire-protocol compatibility of every service the workbook uses, git, chromium (tests only), the
sandbox's home, port and health, and free disk. Every line says what to do when it is not well.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

#: Below this much free space in the sandbox's home a workshop day will run out (market data,
#: build folders, results).
MIN_FREE_BYTES = 2 * 1024**3


@dataclass
class Finding:
    """One line of the report: ``ok`` False fails the doctor, ``None`` is information only."""

    item: str
    value: str
    ok: bool | None
    fix: str = ""

    def line(self) -> str:
        mark = {True: "✓", False: "✗", None: "·"}[self.ok]
        text = f"{mark} {self.item:<22} {self.value}"
        return text + (f"\n  → {self.fix}" if self.fix and self.ok is False else "")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _versions(lock: dict[str, str | None]) -> list[Finding]:
    findings = []
    for package in ("flovtrain", "moto", "boto3", "botocore", "awscli"):
        have = _version(package)
        want = lock.get(package)
        if have is None:
            findings.append(Finding(package, "not installed", False, "make install"))
        elif want and have != want:
            findings.append(
                Finding(
                    package,
                    f"{have} (the lock says {want})",
                    False,
                    "make install (installs exactly what requirements.lock pins)",
                )
            )
        else:
            findings.append(Finding(package, have, True))
    return findings


def _aws_cli() -> Finding:
    from flovtrain.sandbox.protocols import aws_cli_botocore

    aws = Path(sys.executable).with_name("aws")
    command = str(aws) if aws.exists() else shutil.which("aws")
    if command is None:
        return Finding("aws cli", "not found", False, "make install (the venv has the AWS CLI)")
    try:
        out = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding("aws cli", f"does not run: {exc}", False, "make install")
    text = (out.stdout + out.stderr).strip()
    if out.returncode != 0 or not text:
        return Finding("aws cli", text or "no output", False, "make install")
    bundled = aws_cli_botocore()
    note = f" · bundles botocore {bundled[0]}" if bundled else ""
    return Finding("aws cli", text.splitlines()[0].split(" Python/")[0] + note, True)


def _protocols(served: dict[str, Any] | None) -> Finding:
    import botocore

    from flovtrain.sandbox import protocols

    table = (
        {service: frozenset(names) for service, names in served.items()}
        if served
        else protocols.SERVED
    )
    problems = protocols.explain_mismatches(table)
    if problems:
        return Finding("protocols", f"{len(problems)} mismatch(es)", False, "\n  → ".join(problems))
    cli = protocols.aws_cli_botocore()
    clients = f"botocore {botocore.__version__}" + (f" and the CLI's {cli[0]}" if cli else "")
    return Finding("protocols", f"{len(table)} services understood ({clients})", True)


def _program(name: str, path: str, args: list[str], required: bool, fix: str) -> Finding:
    command = path if Path(path).exists() else shutil.which(name)
    if command is None:
        return Finding(name, "not found", False if required else None, fix)
    try:
        out = subprocess.run([command, *args], capture_output=True, text=True, timeout=60)
        value = (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError) as exc:
        return Finding(name, f"does not run: {exc}", False if required else None, fix)
    return Finding(name, value, True)


def _sandbox() -> tuple[list[Finding], dict[str, Any] | None]:
    from flovtrain import config
    from flovtrain.sandbox import control

    home = config.home()
    findings = [Finding("sandbox home", str(home), True)]
    state = control.status()
    if state["running"]:
        findings.append(
            Finding(
                "sandbox",
                f"running at {state['endpoint']} (pid {state['pid']}, port "
                f"{state['port']}, {len(state.get('providers', []))} providers)",
                True,
            )
        )
    else:
        findings.append(
            Finding(
                "sandbox",
                f"not running ({state.get('reason', 'never started')})",
                False,
                "flovtrain sandbox start (or make lab)",
            )
        )
    free = shutil.disk_usage(home).free
    findings.append(
        Finding(
            "free disk",
            f"{free / 1024**3:.1f} GiB in {home}",
            free >= MIN_FREE_BYTES,
            f"free at least {MIN_FREE_BYTES // 1024**3} GiB (market data, builds, results)",
        )
    )
    return findings, state.get("protocols") if state["running"] else None


def diagnose() -> list[Finding]:
    """Every finding, in report order.

    Examples
    --------
    >>> from flovtrain.doctor import diagnose
    >>> all(f.ok is not False for f in diagnose())  # doctest: +SKIP
    True
    """
    from flovtrain.sandbox.protocols import locked_version

    lock = {p: locked_version(p) for p in ("moto", "boto3", "botocore", "awscli")}
    findings = _versions(lock)
    findings.append(_aws_cli())
    sandbox, served = _sandbox()
    findings.append(_protocols(served))
    findings.append(
        _program(
            "git",
            "/usr/bin/git",
            ["--version"],
            True,
            "install git (the chapters push to CodeCommit with it)",
        )
    )
    findings.append(
        _program(
            "chromium",
            "/usr/bin/chromium",
            ["--version"],
            False,
            "only the browser test needs it: apt-get install chromium",
        )
    )
    return findings + sandbox


def main() -> int:
    """Print the report; exit 0 only when every required item is well."""
    findings = diagnose()
    for finding in findings:
        print(finding.line())
    bad = [f for f in findings if f.ok is False]
    print(f"\n{'all well' if not bad else f'{len(bad)} problem(s): see the → lines above'}")
    return 1 if bad else 0
