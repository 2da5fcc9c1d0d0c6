"""The sandbox gives freed heap back (issue #11): with glibc's thresholds fixed, memory a worker
thread freed does not stay resident; with glibc's adaptive ones it does, which is what kept
~20 MB per large Athena result in the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: A worker thread frees a 16 MB block (glibc then raises its mmap threshold to 16 MB and its
#: trim threshold to 32 MB), then 6 x 4 MB from its own arena; prints the MB still resident.
PROBE = """
import sys, threading
from flovtrain.sandbox.engines import memory

def rss():
    with open("/proc/self/status") as status:
        return int(next(l for l in status if l.startswith("VmRSS")).split()[1]) * 1024

if sys.argv[1] == "fixed":
    assert memory.fix_malloc_thresholds()

def work():
    big = bytearray(16 << 20)
    del big
    blocks = [bytearray(4 << 20) for _ in range(6)]
    del blocks

before = rss()
worker = threading.Thread(target=work)
worker.start()
worker.join()
memory.release_freed()
print((rss() - before) >> 20)
"""


def _retained_mb(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_memory_a_thread_freed_goes_back_once_thresholds_are_fixed():
    adaptive = _retained_mb("adaptive")
    if adaptive < 16:
        pytest.skip(f"this C library does not keep freed arena memory ({adaptive} MB kept)")
    assert _retained_mb("fixed") <= 2, f"adaptive thresholds kept {adaptive} MB"


@pytest.mark.parametrize("imported_first", [False, True])
def test_arrow_allocates_with_malloc_in_the_sandbox(imported_first):
    """Arrow's default pool (mimalloc) keeps freed buffers; the sandbox switches it to malloc,
    whether pyarrow is imported before or after the switch."""
    before = "import pyarrow as pa\nprint(pa.default_memory_pool().backend_name)\n"
    code = (before if imported_first else "print('-')\n") + (
        "from flovtrain.sandbox.engines import memory\n"
        "memory.arrow_on_malloc()\n"
        "import pyarrow as pa\n"
        "print(pa.default_memory_pool().backend_name)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert out[1] == "system"
    if imported_first:
        assert out[0] != "system"  # it was another pool: the switch changed it
