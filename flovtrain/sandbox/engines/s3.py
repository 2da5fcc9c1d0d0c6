"""Objects read and written straight in moto's S3, inside the sandbox process.

The build runner, the deployment runner, the pipeline executor and the providers' resource
types move artifacts this way: no HTTP round trip, same objects a client sees.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines.errors import EngineError


class S3Error(EngineError):
    """``NoSuchBucket`` or ``NoSuchKey``, as S3 names them."""


def backend(account_id: str) -> Any:
    """Return moto's S3 backend of ``account_id`` (S3 is one backend per partition)."""
    from moto.s3.models import s3_backends  # a big import: only when an object is touched

    return s3_backends[account_id]["aws"]


def s3_object(account_id: str, bucket: str, key: str) -> Any | None:
    """Return moto's S3 object ``s3://bucket/key``, or None when the bucket or the key is missing.

    Parameters
    ----------
    account_id : str
        The account whose S3 holds the object.
    bucket, key : str
        Where the object is.

    Returns
    -------
    moto.s3.models.FakeKey or None
        The object (``.value`` is its body, ``.etag`` and ``.version_id`` its identity).

    Examples
    --------
    >>> obj = s3_object("123456789012", "artifacts", "app.zip")  # doctest: +SKIP
    >>> obj is None or isinstance(obj.value, bytes)  # doctest: +SKIP
    True
    """
    try:
        return backend(account_id).get_object(bucket, key)
    except Exception:  # MissingBucket, or a name S3 would refuse: the caller says "missing"
        return None


def read(account_id: str, bucket: str, key: str, version: str | None = None) -> bytes:
    """Return the body of ``s3://bucket/key`` (``version`` if given).

    Raises
    ------
    S3Error
        ``NoSuchBucket`` or ``NoSuchKey``.
    """
    from moto.s3.exceptions import MissingBucket

    try:
        obj = backend(account_id).get_object(bucket, key, version_id=version)
    except MissingBucket:
        raise S3Error("NoSuchBucket", f"The specified bucket does not exist: {bucket}") from None
    if obj is None:
        raise S3Error("NoSuchKey", f"The specified key does not exist: s3://{bucket}/{key}")
    return bytes(obj.value)


def write(account_id: str, bucket: str, key: str, body: bytes) -> dict[str, str]:
    """Write ``body`` to ``s3://bucket/key``; return its ``eTag`` and ``versionId``.

    Raises
    ------
    S3Error
        ``NoSuchBucket``.
    """
    from moto.s3.exceptions import MissingBucket

    try:
        obj = backend(account_id).put_object(bucket, key, body)
    except MissingBucket:
        raise S3Error("NoSuchBucket", f"The specified bucket does not exist: {bucket}") from None
    return {"eTag": obj.etag.strip('"'), "versionId": str(obj.version_id or "")}
