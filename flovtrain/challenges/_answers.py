"""Read a learner's answer leniently: a number typed as text, a list given as one string, etc."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import boto3
from botocore.config import Config

from flovtrain._aws import paginate

__all__ = ["client", "names", "number", "paginate", "text", "unexpected"]

# A challenge asks one small question: fail fast instead of retrying.
_CONFIG = Config(retries={"total_max_attempts": 2, "mode": "standard"}, read_timeout=30)


def client(session: boto3.Session, service: str, region: str | None = None) -> Any:
    """Return a client of ``session`` for ``service`` (optionally in another region)."""
    return session.client(service, region_name=region or session.region_name, config=_CONFIG)


def text(answer: object) -> str:
    """The answer as stripped text.

    Examples
    --------
    >>> text("  eu-west-1 ")
    'eu-west-1'
    """
    return str(answer).strip()


def number(answer: object) -> float | None:
    """The answer as a number, or None when it is not one (``"14"`` and ``14.0`` are 14).

    Examples
    --------
    >>> number("14"), number(3), number("three")
    (14.0, 3.0, None)
    """
    if isinstance(answer, bool):
        return None
    try:
        return float(str(answer).strip().replace("_", "").replace(",", ""))
    except ValueError:
        return None


def names(answer: object) -> set[str]:
    """The answer as a set of names: a list, set, Series, or one string split at commas/spaces.

    Examples
    --------
    >>> sorted(names("cloud9, codecommit")), sorted(names(["b", "a"]))
    (['cloud9', 'codecommit'], ['a', 'b'])
    """
    if isinstance(answer, str):
        return {part for part in re.split(r"[,\s]+", answer.strip()) if part}
    if isinstance(answer, Iterable):
        return {str(item).strip() for item in answer if str(item).strip()}
    return {text(answer)}


def unexpected(answer: object) -> str:
    """A short, quoted form of the answer for a reason text."""
    shown = repr(answer)
    return shown if len(shown) <= 80 else shown[:77] + "..."
