"""One asyncio event loop, in a daemon thread, for the front doors written with asyncio.

SSH (asyncssh) and the embedded MySQL server (mysql-mimic) are asyncio servers, while the
sandbox answers AWS requests in werkzeug's threads: :func:`run` hands a coroutine to the loop
and waits for its result. The loop starts on first use, never at import time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """Return the front doors' event loop, starting its thread on first use.

    Examples
    --------
    >>> loop().is_running()
    True
    """
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new = asyncio.new_event_loop()
            started = threading.Event()

            def forever() -> None:
                asyncio.set_event_loop(new)
                new.call_soon(started.set)
                new.run_forever()

            threading.Thread(target=forever, name="frontdoor-loop", daemon=True).start()
            started.wait(5.0)
            _loop = new
        return _loop


def run(coroutine: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
    """Run ``coroutine`` on the loop from any other thread and return its result.

    Examples
    --------
    >>> import asyncio
    >>> run(asyncio.sleep(0, result=7))
    7
    """
    return asyncio.run_coroutine_threadsafe(coroutine, loop()).result(timeout)
