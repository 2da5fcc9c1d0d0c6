"""Give freed heap back to the OS, so the sandbox's memory stays bounded (issue #11).

glibc's malloc raises its mmap threshold (up to 32 MiB) each time a large block it had mapped
is freed, and its trim threshold to twice that. After one big Athena result or build log, every
allocation under that size (HTTP bodies, result pages, log chunks) comes from the arenas of the
threads that made it, and each thread arena keeps up to 64 MiB of freed memory on its top,
which ``malloc_trim`` does not release (it trims only the main arena's top). Measured in the
sandbox: RSS +16-20 MB per 100 k-row ``SELECT *`` with the adaptive thresholds, +1-2 MB with
fixed ones, and 145 MB given back at once when they were fixed in a sandbox already grown.

Examples
--------
>>> from flovtrain.sandbox.engines import memory
>>> memory.fix_malloc_thresholds()  # doctest: +SKIP
True
>>> memory.release_freed()  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from typing import Any

#: Blocks of this size or more are mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 256 * 1024
#: Free memory above this on top of an arena is returned to the OS at once.
TRIM_THRESHOLD = 1024 * 1024
# mallopt's parameter numbers (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    """libc, looked up once (``find_library`` runs ``ldconfig -p`` each time it is called)."""
    import ctypes
    import ctypes.util

    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def fix_malloc_thresholds(
    mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD
) -> bool:
    """Set glibc's mmap and trim thresholds once for the process (fixed values also turn off
    their adaptive growth); return False where there is no glibc (nothing to do there).

    Parameters
    ----------
    mmap_threshold : int
        Bytes from which an allocation gets its own mapping, unmapped on free.
    trim_threshold : int
        Free bytes on an arena's top beyond which glibc hands them back.

    Examples
    --------
    >>> fix_malloc_thresholds()  # doctest: +SKIP
    True
    """
    try:
        mallopt = _libc().mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )


def arrow_on_malloc() -> None:
    """Make Arrow allocate with malloc (whose thresholds :func:`fix_malloc_thresholds` fixed)
    instead of its bundled mimalloc, which keeps the pages of freed buffers for reuse.

    Measured at 10 M klines: after one ``SELECT * ... LIMIT 100000`` over the CSV table (which
    reads the whole table once) the sandbox kept ~950 MB more with mimalloc, and the RSS of
    later queries swung by that much as mimalloc released or reused it; with malloc, buffers of
    256 KiB or more are unmapped when freed. Set through the environment before pyarrow makes
    its default pool (children inherit it, harmlessly); on the pool itself once it exists.

    Examples
    --------
    >>> arrow_on_malloc()  # doctest: +SKIP
    """
    import os
    import sys

    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())


def release_freed() -> None:
    """Hand back the free pages inside the arenas (holes between live blocks) after a large
    piece of work; a no-op where there is no glibc.

    Examples
    --------
    >>> release_freed()  # doctest: +SKIP
    """
    try:
        _libc().malloc_trim(0)
    except (OSError, AttributeError):
        pass
