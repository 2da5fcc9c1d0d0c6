"""The network guard for the processes the sandbox starts (builds, hooks, apps, SSM commands).

:func:`child_env` gives a child's environment two guards:

- Python children import ``site/sitecustomize.py`` (first on ``PYTHONPATH``), which installs
  :mod:`flovtrain.sandbox.netguard`: a connection off loopback raises its clear refusal.
- Other programs that honour proxy variables (curl, wget, git, pip, npm ...) get
  ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` pointing at :class:`RefusingProxy` in the sandbox
  process: it answers ``403`` with the same explanation for anything off loopback and relays
  requests to loopback (the sandbox on 127.0.0.1, instances on 127.20.x.y) for tools whose
  ``NO_PROXY`` matching knows no address ranges (Python's urllib).

``unshare -n`` is not used: a new network namespace has a loopback of its own, so the child
could reach neither the sandbox nor the instances' apps.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import socketserver
import threading
from pathlib import Path
from urllib.parse import urlsplit

#: The folder put first on children's ``PYTHONPATH`` (it holds ``sitecustomize.py`` only).
SITE_DIR = Path(__file__).parent / "site"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
#: Loopback stays direct (curl and requests understand the range; urllib goes via the relay).
NO_PROXY = "localhost,127.0.0.1,::1,127.0.0.0/8,.localhost"
HEAD_LIMIT = 65536

_proxy: dict[str, RefusingProxy] = {}
_lock = threading.Lock()


def refusal(what: str) -> str:
    """Return the message a child gets for ``what`` (e.g. ``GET http://192.0.2.1/``).

    Examples
    --------
    >>> refusal("CONNECT 192.0.2.1:443").startswith("flovtrain sandbox mode refused CONNECT")
    True
    """
    return (
        f"flovtrain sandbox mode refused {what}: in sandbox mode nothing leaves this machine. "
        "This process was started by the offline sandbox (a build command, deploy hook, "
        "deployed app or SSM command): use the sandbox's services (AWS_ENDPOINT_URL) or "
        "addresses on 127.x.y.z instead.\n"
    )


def _loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < HEAD_LIMIT:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        target = rest.rsplit(" ", 1)[0]
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            path = ""
        else:
            parts = urlsplit(target)
            host, port = parts.hostname or "", str(parts.port or 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not host or not _loopback(host):
            body = refusal(f"{method} {target}").encode()
            self.request.sendall(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"X-Flovtrain-Guard: refused\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            return
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except (OSError, ValueError) as exc:
            self.request.sendall(f"HTTP/1.1 502 Bad Gateway\r\n\r\n{exc}\n".encode())
            return
        upstream.settimeout(None)
        if method == "CONNECT":
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            head = head.split(b"\r\n\r\n", 1)[1]
        else:  # origin-form request line for the app behind us
            version = rest.rsplit(" ", 1)[-1]
            head = f"{method} {path} {version}".encode() + head[len(line) :]
        upstream.sendall(head)
        back = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
        back.start()
        _pipe(self.request, upstream)
        back.join()
        upstream.close()


class RefusingProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy on 127.0.0.1 that refuses everything but loopback destinations."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def proxy_url() -> str:
    """Return the refusing proxy's URL, starting it in this process on first use."""
    with _lock:
        if "proxy" not in _proxy:
            server = RefusingProxy()
            threading.Thread(
                target=server.serve_forever, name="refusing-proxy", daemon=True
            ).start()
            _proxy["proxy"] = server
        return _proxy["proxy"].url


def child_env(env: dict[str, str]) -> dict[str, str]:
    """Return ``env`` with the guard for a child process added.

    ``PYTHONPATH`` keeps its entries after :data:`SITE_DIR`; the proxy variables and
    ``NO_PROXY`` are replaced (an inherited ``NO_PROXY`` could let a host through).

    Examples
    --------
    >>> env = child_env({"PYTHONPATH": "/opt/lib"})
    >>> env["PYTHONPATH"].split(":")[1]
    '/opt/lib'
    >>> env["HTTPS_PROXY"].startswith("http://127.0.0.1:")
    True
    """
    env = dict(env)
    site = str(SITE_DIR)
    kept = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != site]
    env["PYTHONPATH"] = os.pathsep.join([site, *kept])
    url = proxy_url()
    for name in PROXY_VARS:
        env[name] = env[name.lower()] = url
    env["NO_PROXY"] = env["no_proxy"] = NO_PROXY
    env["FLOVTRAIN_CHILD_GUARD"] = "1"
    return env
