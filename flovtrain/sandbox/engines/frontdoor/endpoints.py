"""One list of what the sandbox serves, for ``sandbox status --json`` and ``views.endpoints()``.

Each running front door registers itself when it starts listening and unregisters when it
stops. Ports AWS serves below 1024 (22, 80, 443) are served at ``aws_port + 10000`` unless
the process may bind the real one (see :func:`local_port`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass

KINDS = ("dns", "ssh", "elb", "rds")
#: Added to an AWS port below 1024 when this process may not bind it.
PRIVILEGED_OFFSET = 10000


@dataclass(frozen=True)
class Endpoint:
    """One served front door: where it listens here and the port AWS would use."""

    kind: str
    name: str
    address: str
    port: int
    aws_port: int


_lock = threading.Lock()
_endpoints: dict[tuple[str, str], Endpoint] = {}


def _unprivileged_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 1024


def local_port(aws_port: int) -> int:
    """Return the port to listen on for ``aws_port``: itself, or ``aws_port + 10000`` if privileged.

    Examples
    --------
    >>> local_port(8090)
    8090
    """
    if aws_port >= 1024 or os.geteuid() == 0 or aws_port >= _unprivileged_start():
        return aws_port
    return aws_port + PRIVILEGED_OFFSET


def register(kind: str, name: str, address: str, port: int, aws_port: int) -> Endpoint:
    """Record a front door that now listens on ``address:port``."""
    if kind not in KINDS:
        raise ValueError(f"unknown endpoint kind {kind!r}; one of {', '.join(KINDS)}")
    endpoint = Endpoint(kind, name, address, int(port), int(aws_port))
    with _lock:
        _endpoints[(kind, name)] = endpoint
    return endpoint


def unregister(kind: str, name: str) -> None:
    """Forget a front door that stopped listening (no error if it was never registered)."""
    with _lock:
        _endpoints.pop((kind, name), None)


def all_endpoints() -> list[dict[str, object]]:
    """Return every registered front door as a dict, sorted by kind then name."""
    with _lock:
        items = sorted(_endpoints.values(), key=lambda e: (e.kind, e.name))
    return [asdict(e) for e in items]


def clear() -> None:
    """Forget every endpoint (a reset or stop has ended their servers)."""
    with _lock:
        _endpoints.clear()
