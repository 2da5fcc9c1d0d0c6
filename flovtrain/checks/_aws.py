"""Small boto3 helpers the chapter checks share (checks read AWS state only through boto3).

Paging and error codes are the library's own: :func:`flovtrain._aws.paginate`,
:func:`flovtrain._aws.error_code`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from flovtrain._aws import error_code, paginate
from flovtrain.checks._checklist import Failed

T = TypeVar("T")

# A check asks many small questions: fail fast instead of retrying a missing feature 3 times.
_CONFIG = Config(
    retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30
)


def client(session: boto3.Session, service: str, region: str | None = None) -> Any:
    """Return a client of ``session`` for ``service`` (optionally in another region)."""
    return session.client(service, region_name=region or session.region_name, config=_CONFIG)


def missing(exc: ClientError) -> bool:
    """True when AWS answered that the thing asked for does not exist."""
    return error_code(exc) in {
        "NoSuchEntity",
        "NotFound",
        "NotFoundException",
        "ResourceNotFoundException",
    }


def get_or_fail(call: Callable[..., T], why: str, **kwargs: Any) -> T:
    """Return ``call(**kwargs)``; when AWS answers it does not exist, fail the item with ``why``.

    Other AWS errors propagate (the checklist shows them as ``AWS said <code>``).
    """
    try:
        return call(**kwargs)
    except ClientError as exc:
        if missing(exc):
            raise Failed(why) from None
        raise


def topic_arn(sns: Any, name: str) -> str | None:
    """Return the ARN of the SNS topic called ``name`` in the client's region, or None."""
    arns = (t["TopicArn"] for t in paginate(sns, "list_topics", "Topics"))
    return next((arn for arn in arns if arn.rsplit(":", 1)[-1] == name), None)


def topic_lookup(sns: Any, name: str) -> Callable[[], str | None]:
    """Return a function giving :func:`topic_arn` of ``name``, asked once however often called
    (several items of a check need the topic)."""
    return cache(lambda: topic_arn(sns, name))
