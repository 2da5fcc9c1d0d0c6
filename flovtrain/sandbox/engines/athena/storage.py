"""S3 objects read in-process from moto's S3 backend: no HTTP, no second copy.

moto keeps each object in a ``SpooledTemporaryFile``: small ones in a ``BytesIO`` (we hand
Arrow a zero-copy view of its buffer), large ones rolled over to an anonymous temp file (we
memory-map it through ``/proc/self/fd``). Every read is counted in a :class:`ScanMeter`, which
also enforces the workgroup's byte limit and the user's stop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flovtrain.sandbox.engines.athena.errors import QueryCancelled, QueryError


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into bucket and prefix (no leading slash)."""
    if not url.startswith(("s3://", "s3a://", "s3n://")):
        raise QueryError(f"Location {url!r} is not an s3:// URL", 2, 1006)
    rest = url.split("://", 1)[1]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix


def backend(account_id: str, region: str) -> Any:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    return s3_backends[account_id][get_partition(region)]


def bucket_or_none(account_id: str, region: str, name: str) -> Any:
    from moto.s3.exceptions import MissingBucket

    try:
        return backend(account_id, region).get_bucket(name)
    except MissingBucket:
        return None
    except Exception:  # noqa: BLE001 - access denied by a lock and the like: treat as missing
        return None


def list_keys(account_id: str, region: str, bucket: str, prefix: str) -> list[tuple[str, Any]]:
    """Return ``(key, FakeKey)`` for the current versions under a prefix, sorted by key.

    Keys ending in ``/`` (folder markers), ``_$folder$`` and empty objects are skipped, as Athena
    skips them.
    """
    from moto.s3.models import FakeKey

    found = bucket_or_none(account_id, region, bucket)
    if found is None:
        return []
    store = found.keys
    out = []
    for name in list(store.keys()):
        if not name.startswith(prefix) or name.endswith("/") or name.endswith("_$folder$"):
            continue
        key = store.get(name)
        if isinstance(key, FakeKey) and key.size > 0:
            out.append((name, key))
    out.sort(key=lambda item: item[0])
    return out


class KeyIndex:
    """Sorted key names of buckets, listed once per query: a prefix is then a binary search.

    (Listing the bucket once per partition would be quadratic: 6,945 partitions x 6,945 keys.)
    """

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id, self.region = account_id, region
        self._names: dict[str, list[str]] = {}

    def under(self, bucket: str, prefix: str) -> list[tuple[str, Any]]:
        """Return ``(key, FakeKey)`` under ``prefix``, like :func:`list_keys`."""
        import bisect

        from moto.s3.models import FakeKey

        found = bucket_or_none(self.account_id, self.region, bucket)
        if found is None:
            return []
        if bucket not in self._names:
            self._names[bucket] = sorted(found.keys.keys())
        names = self._names[bucket]
        out = []
        for i in range(bisect.bisect_left(names, prefix), len(names)):
            name = names[i]
            if not name.startswith(prefix):
                break
            if name.endswith("/") or name.endswith("_$folder$"):
                continue
            key = found.keys.get(name)
            if isinstance(key, FakeKey) and key.size > 0:
                out.append((name, key))
        return out


def put_bytes(account_id: str, region: str, bucket: str, key: str, body: bytes) -> None:
    backend(account_id, region).put_object(bucket_name=bucket, key_name=key, value=body)


def delete_prefix(account_id: str, region: str, bucket: str, prefix: str) -> int:
    removed = 0
    for name, _ in list_keys(account_id, region, bucket, prefix):
        backend(account_id, region).delete_object(bucket, name)
        removed += 1
    return removed


def real_path(key: Any) -> str | None:
    """A path the process can open to read a moto key's bytes, when it has rolled over to a
    temp file (objects over ~5 MB do); None while it lives in memory."""
    spool = key._value_buffer
    inner = getattr(spool, "_file", None)
    if getattr(spool, "_rolled", False) and hasattr(inner, "fileno"):
        return f"/proc/self/fd/{inner.fileno()}"
    return None


def arrow_buffer(key: Any) -> Any:
    """Return a pyarrow Buffer over a moto key's bytes without copying them."""
    import pyarrow as pa

    spool = key._value_buffer
    inner = getattr(spool, "_file", None)
    if getattr(spool, "_rolled", False) and hasattr(inner, "fileno"):
        return pa.memory_map(f"/proc/self/fd/{inner.fileno()}").read_buffer()
    if inner is not None and hasattr(inner, "getbuffer"):
        return pa.py_buffer(inner.getbuffer())
    return pa.py_buffer(key.value)  # fallback: one copy


@dataclass
class ScanMeter:
    """Counts bytes read for one query; stops it on the byte limit or the user's stop."""

    limit: int | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    bytes_read: int = 0
    files_read: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, nbytes: int, new_file: bool = False) -> None:
        with self._lock:
            self.bytes_read += nbytes
            self.files_read += int(new_file)
            over = self.limit is not None and self.bytes_read > self.limit
        self.check()
        if over:
            raise QueryCancelled("Bytes scanned limit was exceeded")

    def check(self) -> None:
        if self.cancelled.is_set():
            raise QueryCancelled("Query was cancelled by user")


def put_chunks(account_id: str, region: str, bucket: str, key: str, chunks: Any) -> None:
    """Write an object from an iterable of byte chunks, never holding it whole in memory
    (moto spools a key's bytes to a temp file beyond a few MB)."""
    fake = backend(account_id, region).put_object(bucket_name=bucket, key_name=key, value=b"")
    size = 0
    for chunk in chunks:
        fake._value_buffer.write(chunk)
        size += len(chunk)
    fake.contentsize = size
    fake._etag = None  # computed again from the bytes now written
