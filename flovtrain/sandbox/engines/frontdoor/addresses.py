"""Loopback addresses leased machine-wide: EC2 instances, load balancers, DB instances.

Instances get ``127.20.x.y``, load balancers ``127.21.x.y``, DB instances ``127.22.x.y``: Linux
routes all of 127/8 to ``lo``, so each listens on its own address and two of them may both serve
port 80. A lock file per address in one shared folder keeps two sandboxes on one machine apart;
addresses are handed out in order, so a re-seeded sandbox gets the same.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOCK_DIR_NAME = "flovtrain-loopback"


class LoopbackPool:
    """Hands out loopback addresses from ``first`` upwards, one lease per address.

    ``reuse`` hands a released address out again (every lease scans from ``first``); without it
    addresses go out in order until :meth:`reset`. ``what`` names the holder in the error raised
    when the range is exhausted.

    Examples
    --------
    >>> pool = LoopbackPool((127, 21, 0, 1))
    >>> address = pool.lease()                     # doctest: +SKIP
    >>> address                                    # doctest: +SKIP
    '127.21.0.1'
    >>> pool.release(address)                      # doctest: +SKIP
    """

    #: Addresses one pool may hand out (a /16 less its .0 and .255).
    SIZE = 65000

    def __init__(
        self, first: tuple[int, int, int, int], *, reuse: bool = False, what: str = "a front door"
    ) -> None:
        self.first = first
        self.reuse = reuse
        self.what = what
        self._lock = threading.Lock()
        self._leases: dict[str, Any] = {}
        self._next = 0

    def _address(self, index: int) -> str:
        _, b, c, d = self.first
        value = (b << 16) + (c << 8) + d + index
        return f"127.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"

    def _take(self, address: str) -> bool:
        handle = _try_lock(address)
        if handle is None:
            return False
        self._leases[address] = handle
        return True

    def lease(
        self, preferred: str | None = None, accept: Callable[[str], bool] | None = None
    ) -> str:
        """Return a free address, locked for this process until :meth:`release`.

        ``preferred`` is tried first (the address a resource had before a restart); ``accept``
        may turn down an address the lock alone would allow (e.g. one somebody listens on).
        """
        with self._lock:
            if preferred and preferred not in self._leases and self._take(preferred):
                return preferred
            if self.reuse:
                self._next = 0
            while self._next < self.SIZE:
                address = self._address(self._next)
                self._next += 1
                if int(address.rsplit(".", 1)[1]) in (0, 255) or address in self._leases:
                    continue  # some tools read .0 and .255 as network/broadcast
                if address == "127.0.0.1" or (accept is not None and not accept(address)):
                    continue  # the sandbox's own address, or turned down by the caller
                if self._take(address):
                    return address
        raise RuntimeError(f"no free loopback address for {self.what}")

    def release(self, address: str) -> None:
        """Give ``address`` back (its lock file stays, unlocked; no error if it was not leased)."""
        with self._lock:
            handle = self._leases.pop(address, None)
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()

    def reset(self) -> None:
        """Release every address and start again from the first (a sandbox reset)."""
        with self._lock:
            leases, self._leases = self._leases, {}
            self._next = 0
        for handle in leases.values():
            with contextlib.suppress(OSError):
                handle.close()


def _try_lock(address: str) -> Any:
    lock_dir = Path(tempfile.gettempdir()) / LOCK_DIR_NAME
    lock_dir.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(lock_dir, 0o1777)
    handle = open(lock_dir / f"{address}.lock", "a+")  # noqa: SIM115 - the flock lives with it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle
