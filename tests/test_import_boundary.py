"""What clients import (``flovtrain``, control, session, recovery, the CLI) never imports the
sandbox process's code (server, providers, moto) nor changes the environment."""

from __future__ import annotations

import json
import subprocess
import sys

CLIENT_MODULES = [
    "flovtrain",
    "flovtrain.sandbox.control",
    "flovtrain.sandbox.recovery",
    "flovtrain.session",
    "flovtrain.cli",
    "flovtrain.doctor",
]
SERVER_SIDE = (
    "flovtrain.sandbox.server",
    "flovtrain.sandbox.providers",
    "flovtrain.sandbox.seam",
    "flovtrain.sandbox.engines",
    "moto",
)

PROBE = """
import json, os, sys
before = dict(os.environ)
for name in {modules!r}:
    __import__(name)
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
loaded = sorted(m for m in sys.modules if m.startswith({server_side!r}))
print(json.dumps({{"changed": changed, "loaded": loaded}}))
"""


def probe(modules: list[str]) -> dict:
    code = PROBE.format(modules=modules, server_side=SERVER_SIDE)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout)


def test_client_imports_stay_client_side():
    found = probe(CLIENT_MODULES)
    assert found == {"changed": [], "loaded": []}


def test_the_probe_sees_server_imports():
    """The check can fail: importing the server is seen (moto comes with it)."""
    found = probe(["flovtrain.sandbox.server", "flovtrain.sandbox.seam"])
    assert "flovtrain.sandbox.server" in found["loaded"]
    assert "moto" in found["loaded"]
