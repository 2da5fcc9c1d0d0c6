"""The sandbox's layers stay apart: engines never import providers (nor the seam), no module
grows past the size one reader can hold, and provider state is reset with moto's."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import flovtrain.sandbox

SANDBOX = Path(flovtrain.sandbox.__file__).parent
ENGINES = SANDBOX / "engines"
MAX_LINES = 600
#: Modules allowed to stay longer (none: protocols.py, someone else's, is under the limit too).
LONG_ALLOWED: set[str] = set()


def module_name(path: Path) -> str:
    """``flovtrain/sandbox/engines/s3.py`` -> ``flovtrain.sandbox.engines.s3``."""
    name = ".".join(path.relative_to(SANDBOX.parent.parent).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, at any depth (function-level imports too), absolute."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(), module_name(path), path.name == "__init__.py")


def test_the_parser_sees_every_kind_of_import():
    source = (
        "import flovtrain.sandbox.providers.sns\n"
        "def f():\n    from flovtrain.sandbox import seam\n"
        "    from ..providers import codebuild\n"
    )
    found = imported_modules(source, "flovtrain.sandbox.engines.probe")
    assert {
        "flovtrain.sandbox.providers.sns",
        "flovtrain.sandbox.seam",
        "flovtrain.sandbox.providers.codebuild",
    } <= found


def test_engines_import_no_provider_and_not_the_seam():
    offenders = {
        str(path.relative_to(SANDBOX)): sorted(
            name
            for name in imports_of(path)
            if name.startswith(
                (
                    "flovtrain.sandbox.providers",
                    "flovtrain.sandbox.seam",
                    "flovtrain.sandbox.server",
                )
            )
        )
        for path in sorted(ENGINES.rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 20  # the walk found the engines


def test_no_sandbox_module_over_600_lines():
    long = {
        str(path.relative_to(SANDBOX)): n
        for path in sorted(SANDBOX.rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > MAX_LINES
        and str(path.relative_to(SANDBOX)) not in LONG_ALLOWED
    }
    assert long == {}


def test_the_sandbox_reset_drops_every_provider_backend(tmp_path):
    """Provider state lives in moto BackendDicts, so the sandbox's reset of moto drops it too."""
    code = """
from flovtrain.sandbox import server
from flovtrain.sandbox.providers import codebuild, sns
codebuild.runner("123456789012", "eu-west-1")
sns.deliver_email(account_id="123456789012", region="eu-west-1", endpoint="a@example.com",
                  subject="s", message="m", message_id="1")
assert dict(codebuild.STATE) and sns.inbox()
server._reset_moto()
print(dict(codebuild.STATE), sns.inbox())
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "FLOVTRAIN_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{} []"
