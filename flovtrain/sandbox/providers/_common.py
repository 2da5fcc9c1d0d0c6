"""Small helpers several providers (and the pipeline engine) share, inside the sandbox process."""

from __future__ import annotations

from typing import Any


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
    from moto.s3.models import s3_backends  # a big import: only when an object is read

    try:
        return s3_backends[account_id]["aws"].get_object(bucket, key)
    except Exception:  # MissingBucket, or a name S3 would refuse: the caller says "missing"
        return None
