"""Keep sandbox mode on this machine: refuse any socket connection that is not loopback.

Installed in the sandbox server process, by :func:`flovtrain.connect` in sandbox-mode kernels,
and by :mod:`flovtrain.sandbox.child_guard` in every Python process the sandbox starts. It uses
an audit hook (PEP 578), which sees every ``socket.connect`` in the process.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

try:
    from flovtrain.exceptions import NetworkGuardViolation
except ImportError:  # loaded by path in a child Python that cannot import flovtrain

    class NetworkGuardViolation(PermissionError):  # type: ignore[no-redef]
        """In sandbox mode something tried to connect to an address that is not loopback."""


_state: dict[str, Any] = {"installed": False, "active": False, "child": ""}

#: What to do instead, by where the guard runs (a kernel, or a process the sandbox started).
_KERNEL_ADVICE = (
    "To use real AWS, set FLOVTRAIN_BACKEND=aws and FLOVTRAIN_AWS_ACCOUNT=<your 12-digit "
    "account id> before starting the kernel."
)
_CHILD_ADVICE = (
    "This process was started by the offline sandbox (a build command, deploy hook, deployed "
    "app or SSM command), and nothing it starts may leave this machine: use the sandbox's "
    "services (AWS_ENDPOINT_URL) or addresses on 127.x.y.z instead."
)


def _advice() -> str:
    return _CHILD_ADVICE if _state["child"] else _KERNEL_ADVICE


def is_loopback(address: Any) -> bool:
    """Return True when a socket address (tuple, path or name) stays on this machine."""
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _local_name(host: Any) -> bool:
    """A lookup that sends no DNS query: IP literals (connect decides), localhost, our hostname."""
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in ("localhost", "ip6-localhost", "") or name.endswith(".localhost"):
        return True
    if name == socket.gethostname():
        return True
    try:
        ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return True


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _state["active"]:
        return
    if event == "socket.getaddrinfo":  # a DNS query would leave the machine before connect
        if not _local_name(args[0]):
            raise NetworkGuardViolation(
                f"flovtrain sandbox mode refused to look up {args[0]!r}: in sandbox mode nothing "
                f"leaves this machine, not even a DNS query. {_advice()}"
            )
        return
    if event != "socket.connect":
        return
    sock, address = args
    if getattr(sock, "family", None) == socket.AF_UNIX:
        return
    if not is_loopback(address):
        raise NetworkGuardViolation(
            f"flovtrain sandbox mode refused a connection to {address!r}: in sandbox mode nothing "
            f"leaves this machine. {_advice()}"
        )


def install(child: str = "") -> None:
    """Start refusing non-loopback connections in this process (idempotent).

    Parameters
    ----------
    child : str
        Non-empty in a process the sandbox started: the refusal then says so.

    Examples
    --------
    >>> install()  # doctest: +SKIP
    >>> socket.create_connection(("192.0.2.1", 80))  # doctest: +SKIP
    Traceback (most recent call last):
    NetworkGuardViolation: flovtrain sandbox mode refused a connection to ('192.0.2.1', 80) ...
    """
    _state["child"] = child or _state["child"]
    if not _state["installed"]:
        sys.addaudithook(_hook)  # audit hooks cannot be removed, hence the flag below
        _state["installed"] = True
    _state["active"] = True


def disable() -> None:
    """Stop refusing (the hook stays, inactive). Used when switching to real AWS."""
    _state["active"] = False


def active() -> bool:
    """Return whether the guard is refusing non-loopback connections."""
    return bool(_state["active"])
