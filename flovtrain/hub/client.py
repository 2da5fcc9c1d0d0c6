"""Drive a hub the way a room does: sign in with the form, start servers, run code in kernels.

Used by ``tests/test_hub.py`` and ``tools/bench_room.py``. Sign-in goes through the login form
(the workshop code is checked there); servers and kernels are driven with an admin API token
(``FLOVTRAIN_HUB_API_TOKEN``) through JupyterHub's REST API and the Jupyter server API.

Examples
--------
>>> hub = Hub("http://127.0.0.1:8000", token)                       # doctest: +SKIP
>>> sign_in("http://127.0.0.1:8000", "anna", "otter-42", "pw-anna")   # doctest: +SKIP
True
>>> hub.start("anna"); kernel = hub.kernel("anna", "solutions")       # doctest: +SKIP
>>> kernel.run("1 + 1")                                               # doctest: +SKIP
{'status': 'ok', 'seconds': 0.01, 'output': '2'}
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import websocket


def sign_in(url: str, name: str, code: str, password: str) -> bool:
    """Sign in through the hub's login form; True when the hub let ``name`` in."""
    web = requests.Session()
    web.get(f"{url}/hub/login", timeout=30)
    form = {
        "username": name,
        "code": code,
        "password": password,
        "_xsrf": web.cookies.get("_xsrf", ""),
    }
    answer = web.post(f"{url}/hub/login", data=form, allow_redirects=False, timeout=60)
    return answer.status_code == 302 and "/hub/login" not in answer.headers.get("Location", "")


class Hub:
    """JupyterHub's REST API with an admin token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"
        self.token = token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}/hub/api/{path}", timeout=60, **kwargs)

    def start(self, name: str, timeout: float = 180) -> None:
        """Start ``name``'s server (their sandbox with it) and wait until it is ready."""
        answer = self.api("POST", f"users/{name}/server")
        if answer.status_code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"starting {name}'s server: {answer.status_code} {answer.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.api("GET", f"users/{name}").json().get("servers", {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise TimeoutError(f"{name}'s server was not ready within {timeout:.0f} s")

    def stop(self, name: str) -> None:
        self.api("DELETE", f"users/{name}/server")

    def progress(self) -> dict[str, Any]:
        """The progress service's JSON."""
        answer = self.http.get(f"{self.url}/services/progress/api/progress", timeout=60)
        answer.raise_for_status()
        return answer.json()

    def kernel(self, name: str, folder: str = "") -> Kernel:
        """A new python3 kernel in ``name``'s server, working in ``folder`` of their home."""
        path = f"{folder}/bench.ipynb" if folder else "bench.ipynb"
        body = {"path": path, "type": "notebook", "name": "", "kernel": {"name": "python3"}}
        answer = self.http.post(f"{self.url}/user/{name}/api/sessions", json=body, timeout=120)
        answer.raise_for_status()
        kernel_id = answer.json()["kernel"]["id"]
        ws_url = (
            self.url.replace("http", "ws", 1) + f"/user/{name}/api/kernels/{kernel_id}/channels"
        )
        return Kernel(ws_url, self.token, kernel_id)


class Kernel:
    """One kernel's channels over a websocket: run a cell, wait for its reply."""

    def __init__(self, ws_url: str, token: str, kernel_id: str) -> None:
        self.id = kernel_id
        self.ws = websocket.create_connection(
            ws_url, header=[f"Authorization: token {token}"], timeout=600
        )
        self.session = uuid.uuid4().hex

    def run(self, code: str, timeout: float = 600) -> dict[str, Any]:
        """Execute ``code``; return status (ok/error), seconds to the reply, text output, error."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "username": "bench",
            "session": self.session,
            "msg_type": "execute_request",
            "version": "5.3",
        }
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        began = time.monotonic()
        self.ws.send(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "metadata": {},
                    "content": content,
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        status, output, error, idle, reply = "", [], "", False, False
        while not (idle and reply):
            if time.monotonic() - began > timeout:
                return {"status": "timeout", "seconds": timeout, "output": "", "error": "timeout"}
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "execute_reply":
                status, reply = msg["content"]["status"], True
                if status == "error":
                    error = f"{msg['content'].get('ename')}: {msg['content'].get('evalue')}"
            elif kind == "stream":
                output.append(msg["content"]["text"])
            elif kind == "execute_result":
                output.append(msg["content"]["data"].get("text/plain", ""))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        seconds = time.monotonic() - began
        return {"status": status, "seconds": seconds, "output": "".join(output), "error": error}

    def close(self) -> None:
        self.ws.close()


def free_base_port() -> int:
    """A port P with P, P+1, P+2 (proxy, proxy API, progress) and P+81 (hub API) all free."""
    import socket

    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base > 60000:
            continue
        try:
            for port in (base, base + 1, base + 2, base + 81):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no four free ports for a hub")


def launch(folder: Path, code: str, token: str, **extra: str) -> tuple[Any, str]:
    """Start ``deploy/jupyterhub/jupyterhub_config.py`` for room ``folder`` on free ports.

    Returns the hub's process and URL once it answers; its log is ``folder/hub.log``.
    """
    import os
    import signal
    import subprocess
    import sys

    base = free_base_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLOVTRAIN_"))}
    env.update(
        FLOVTRAIN_ROOM=str(folder),
        FLOVTRAIN_HUB_PORT=str(base),
        FLOVTRAIN_WORKSHOP_CODE=code,
        FLOVTRAIN_HUB_API_TOKEN=token,
        **extra,
    )
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    config = Path(__file__).resolve().parents[2] / "deploy" / "jupyterhub" / "jupyterhub_config.py"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "hub.log", "ab") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # started from a background shell the hub would inherit an ignored SIGINT, and its
            # managed services would then ignore the SIGINT it stops them with
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    url = f"http://127.0.0.1:{base}"
    hub = Hub(url, token)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the hub exited with {proc.returncode}: see {folder / 'hub.log'}")
        try:
            if hub.api("GET", "").status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise TimeoutError(f"the hub did not answer within 90 s: see {folder / 'hub.log'}")


def shut_down(proc: Any, folder: Path, names: list[str], token: str, url: str) -> None:
    """Stop ``names``' servers (and sandboxes), the hub, then the proxy it leaves running."""
    import contextlib
    import os
    import signal
    import subprocess

    hub = Hub(url, token)
    with contextlib.suppress(requests.RequestException, ValueError):  # e.g. a signed-in instructor
        names = sorted(set(names) | {u["name"] for u in hub.api("GET", "users").json()})
    for name in names:
        with contextlib.suppress(requests.RequestException):
            hub.stop(name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
        (folder / n / ".flovtrain" / "sandbox.json").exists() for n in names
    ):
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    with contextlib.suppress(OSError, ValueError):  # the config keeps it across hub restarts
        os.kill(int((folder / ".hub" / "proxy.pid").read_text()), signal.SIGTERM)
