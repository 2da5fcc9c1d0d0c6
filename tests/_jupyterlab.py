"""Drive a real JupyterLab in headless Chromium (Python Playwright + Debian's /usr/bin/chromium).

Used by tests/test_browser.py. Nothing is downloaded: ``playwright install`` is never needed,
the server binds 127.0.0.1 with a token, and every Jupyter/Lab folder lives in a temp dir so no
earlier session's tabs or settings leak in.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def tree_url(self, relpath: str) -> str:
        return f"{self.url}/lab/tree/{relpath}?token={self.token}"


def _settings(folder: Path) -> None:
    """No news, no update checks (they would try the internet)."""
    extension = folder / "@jupyterlab" / "apputils-extension"
    notification = extension / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))


@contextlib.contextmanager
def jupyterlab(
    root: Path, scratch: Path, env: dict[str, str], timeout: float = 60.0
) -> Iterator[Lab]:
    """Run ``jupyter lab`` on a free loopback port with ``root`` as its folder; stop it after."""
    for name in ("config", "runtime", "settings", "workspaces", "data"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    _settings(scratch / "settings")
    env = {
        **env,
        "JUPYTER_CONFIG_DIR": str(scratch / "config"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(scratch / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "workspaces"),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    port, token = free_port(), secrets.token_hex(16)
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = scratch / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    lab = Lab(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n{log.read_text()}")
            try:
                with _opener.open(f"{lab.url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not answer:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield lab
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its kernels
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A Playwright page in Debian's headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


_KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session
                 && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && w.context.isReady;
}"""

_ALL_DONE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return cells.every(c => c.model.executionCount !== null
                          && !(c.promptNode && c.promptNode.textContent.includes('*')));
}"""

_OUTPUTS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const found = [];
  w.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const out = outputs.get(i).toJSON();
      found.push({cell: index, type: out.output_type, name: out.name || null,
                  ename: out.ename || null, evalue: out.evalue || null,
                  text: typeof out.text === 'string' ? out.text
                        : (Array.isArray(out.text) ? out.text.join('') : null),
                  mimes: Object.keys(out.data || {})});
    }
  });
  return {cells: w.content.widgets.filter(c => c.model.type === 'code').length, outputs: found};
}"""


def run_all(page: Any, lab: Lab, relpath: str, timeout: float = 50.0) -> dict[str, Any]:
    """Open ``relpath``, wait for an idle kernel, run every cell, wait until all ran.

    Returns the outputs (type, stream name, error name, mime types) per code cell.
    """
    timeout_ms = timeout * 1000
    page.goto(lab.tree_url(relpath), wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_function(_KERNEL_IDLE, timeout=timeout_ms, polling=200)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_timeout(500)  # let the first cell go busy
    page.wait_for_function(_ALL_DONE, timeout=timeout_ms, polling=250)
    page.wait_for_timeout(500)  # widgets and images attach after the kernel's last message
    return page.evaluate(_OUTPUTS)
