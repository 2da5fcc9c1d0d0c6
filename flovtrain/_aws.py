"""The few helpers every client module shares: a client, paging, error codes, a served page.

One place for what the views, the chapter helpers (:mod:`flovtrain.project`,
:mod:`flovtrain.flovtec`), the checks and :mod:`flovtrain.cleanup` all need, so each exists once:

- :func:`client` — a boto3 client of the current connection (or of ``session``), made per call:
  no module keeps a client, so a new connection or a reset sandbox is always seen;
- :func:`paginate` — every item under one key of every page of a boto3 paginator;
- :func:`error_code` — the code of a botocore ``ClientError`` (``''`` for anything else);
- :func:`fetch` — the text of a web page an instance serves, asked again until it answers.

Examples
--------
>>> from flovtrain import _aws
>>> iam = _aws.client("iam")                                        # doctest: +SKIP
>>> [u["UserName"] for u in _aws.paginate(iam, "list_users", "Users")]  # doctest: +SKIP
['imre', 'john']
>>> _aws.fetch("http://127.20.0.1:8090/", contains="<h1>")[:15]    # doctest: +SKIP
'<!DOCTYPE html>'
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3

from flovtrain.exceptions import PageTimeout
from flovtrain.session import get_session

#: Seconds between two tries of :func:`fetch`.
POLL_SECONDS = 0.2


def client(service: str, session: boto3.Session | None = None, region: str | None = None) -> Any:
    """Return a boto3 client for ``service`` of ``session`` (default: the current connection).

    Parameters
    ----------
    service : str
        e.g. ``"codepipeline"``.
    session : boto3.Session, optional
        Default: the current connection (the sandbox unless you opted in to AWS).
    region : str, optional
        Default: the session's region.

    Examples
    --------
    >>> client("codecommit", region="eu-west-1").meta.region_name     # doctest: +SKIP
    'eu-west-1'
    """
    return get_session(session, region).client(service, region_name=region)


def paginate(client_: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Yield every item under ``key`` of every page of ``operation`` (a boto3 paginator).

    Parameters
    ----------
    client_ : botocore client
    operation : str
        A paginated operation, e.g. ``"list_users"``.
    key : str
        The list in each page, e.g. ``"Users"``; a page without it yields nothing.
    **kwargs
        The operation's parameters.

    Examples
    --------
    >>> iam = client("iam")                                            # doctest: +SKIP
    >>> next(paginate(iam, "list_users", "Users"))["UserName"]         # doctest: +SKIP
    'imre'
    """
    for page in client_.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def error_code(exc: BaseException) -> str:
    """Return the error code of a botocore ``ClientError`` (``''`` for any other exception).

    Examples
    --------
    >>> from botocore.exceptions import ClientError
    >>> error_code(ClientError({"Error": {"Code": "NoSuchEntity"}}, "GetUser"))
    'NoSuchEntity'
    >>> error_code(ValueError("no"))
    ''
    """
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def fetch(url: str, timeout: float = 5, contains: str | None = None) -> str:
    """Return the page at ``url``, asking again until it answers (and shows ``contains``).

    A sandbox instance answers on its loopback address (``http://127.20.0.x:8090/``); on AWS
    on its public IP. A new deployment may need a moment before it answers: hence the retries.

    Parameters
    ----------
    url : str
    timeout : float
        Seconds in all.
    contains : str, optional
        Wait until the page holds this text (e.g. the headline a push changed).

    Returns
    -------
    str
        The page's text.

    Raises
    ------
    PageTimeout
        No answer (or not the wanted text) within ``timeout`` seconds; says what was seen.
        A :class:`~flovtrain.exceptions.ProjectTimeout` too.

    Examples
    --------
    >>> fetch("http://127.20.0.1:8090/health")                        # doctest: +SKIP
    '{"status": "ok", "version": "1"}'
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http only
                text = response.read().decode("utf-8", "replace")
            if contains is None or contains in text:
                return text
            last = f"a page without {contains!r}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        if time.monotonic() > deadline:
            raise PageTimeout(
                f"{url} gave {last} for {timeout:.0f} s: is the app deployed "
                "(pipeline Succeeded) and the instance running?"
            )
        time.sleep(POLL_SECONDS)
