"""The registry of resource kinds, and one scan of an account (clients and shared lists made once).

A kind is declared once, in the module of its service, with :func:`declare` (which makes a
:class:`Kind` and :func:`register`s it):

- ``list(scan, region)`` — the candidates, from the service's list call (a service the account
  or region does not offer lists nothing);
- ``describe(scan, region, item)`` — one candidate: the plan row(s) if it is the workbook's,
  None if not. It may ask AWS about the item; an item that vanished meanwhile is skipped, any
  other error on it is reported as a :class:`CleanupWarning` and the other items go on;
- ``delete(scan, row)`` — remove what one row names;
- ``order`` — removal order: lower first (dependencies before what they depend on).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from flovtrain._aws import error_code, paginate
from flovtrain.cleanup._names import UNAVAILABLE, gone, ours, why

COLUMNS = ["chapter", "service", "region", "kind", "name", "id", "removal", "billable", "keep"]
GLOBAL = "global"


class CleanupWarning(UserWarning):
    """One resource could not be read while planning: it is left out, the others are listed."""


# -- one look at an account ------------------------------------------------------------------
class Scan:
    """The session and regions of one plan or run, with clients and shared answers made once.

    Kinds ask it for clients (:meth:`client`), for the rows of another kind (:meth:`rows`, e.g.
    the subscriptions of the topics found) and for the resources the planned stacks own
    (:meth:`owned`: their stack removes them, so they get no row of their own).
    """

    def __init__(self, session: boto3.Session, regions: tuple[str, ...]) -> None:
        self.session = session
        self.regions = regions
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._shared: dict[Any, Any] = {}
        #: (kind, region, name) -> why, of every candidate that could not be read.
        self.unreadable: dict[tuple[str, str, str], str] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        """A client of ``service`` in ``region`` (None or ``global``: the session's region)."""
        where = None if region in (None, GLOBAL) else region
        if (service, where) not in self._clients:
            self._clients[service, where] = self.session.client(service, region_name=where)
        return self._clients[service, where]

    def shared(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` once per scan for ``key``; later calls return the same answer."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def account(self) -> str:
        """The account id of the session."""
        return self.shared("account", lambda: self.client("sts").get_caller_identity()["Account"])

    def rows(self, kind: str, region: str) -> list[dict[str, Any]]:
        """The plan rows of ``kind`` in ``region`` (``global`` for a global kind), found once."""
        return self.shared(("rows", kind, region), lambda: list(_find(KINDS[kind], self, region)))

    def owned(self, region: str | None = None) -> set[str]:
        """Physical ids of what the planned stacks of ``region`` (None: of every region) own."""
        regions = self.regions if region is None else (region,)
        return self.shared(
            ("owned", regions),
            lambda: {
                r.get("PhysicalResourceId", "")
                for where in regions
                for stack in self.rows("cloudformation stack", where)
                for r in self.stack_resources(where, stack["id"])
            },
        )

    def stack_resources(self, region: str, stack: str) -> list[dict[str, Any]]:
        """What ``stack`` (name or id) holds: ``describe_stack_resources``, asked once."""
        return self.shared(
            ("stack resources", region, stack),
            lambda: self.client("cloudformation", region).describe_stack_resources(StackName=stack)[
                "StackResources"
            ],
        )


# -- the registry ----------------------------------------------------------------------------
Found = dict[str, Any] | list[dict[str, Any]] | None


@dataclass(frozen=True)
class Kind:
    """One kind of resource the workbook creates: how to find it and how to remove it.

    Attributes
    ----------
    name : str
        The plan's ``kind`` (``"<service> <what>"``, e.g. ``"sqs queue"``).
    service : str
        The plan's ``service``.
    order : int
        Removal order: kinds with a lower number go first.
    list : callable
        ``list(scan, region)`` yields the candidates (raw dicts or names).
    describe : callable
        ``describe(scan, region, item)`` returns the row (or rows) of a candidate that is the
        workbook's — at least ``chapter``, ``name`` and ``id`` — or None.
    delete : callable
        ``delete(scan, row)`` removes what the row names (raises ``ClientError`` when AWS
        refuses; an answer that it is not there counts as "already gone").
    removal : str
        How it is removed, for the plan's ``removal`` column (a row may say more).
    billable : bool
        Whether it costs money while it exists.
    regional : bool
        Listed in each region (True) or once for the account (False, region ``global``).
    prepare : callable, optional
        ``prepare(scan, row)``, done for every row of the kind before any row is removed (a
        bucket is emptied first, so that the stack that owns it can delete it).
    """

    name: str
    service: str
    order: int
    list: Callable[[Scan, str], Iterable[Any]]
    describe: Callable[[Scan, str, Any], Found]
    delete: Callable[[Scan, dict[str, Any]], None]
    removal: str
    billable: bool = False
    regional: bool = True
    prepare: Callable[[Scan, dict[str, Any]], None] | None = None


#: Every kind, by name.
KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add ``kind`` to :data:`KINDS` (a module of :mod:`flovtrain.cleanup` calls it on import)."""
    if kind.name in KINDS:
        raise ValueError(f"cleanup kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def ordered() -> list[Kind]:
    """Every kind, in removal order."""
    return sorted(KINDS.values(), key=lambda k: (k.order, k.name))


def _find(kind: Kind, scan: Scan, region: str) -> Iterator[dict[str, Any]]:
    """The rows of ``kind`` in ``region``: one candidate at a time, each on its own."""
    defaults = {
        "service": kind.service,
        "region": region,
        "kind": kind.name,
        "removal": kind.removal,
        "billable": kind.billable,
        "keep": False,
    }
    try:
        for item in kind.list(scan, region):
            try:
                found = kind.describe(scan, region, item)
            except (ClientError, BotoCoreError) as exc:
                if not (isinstance(exc, ClientError) and gone(exc)):  # gone: it vanished
                    _unreadable(kind, scan, region, item, exc)
                continue
            for row in [found] if isinstance(found, dict) else found or []:
                merged = {**defaults, **row}
                yield {column: merged.get(column) for column in COLUMNS}
    except ClientError as exc:
        if not (gone(exc) or error_code(exc) in UNAVAILABLE):
            raise


def _unreadable(kind: Kind, scan: Scan, region: str, item: Any, exc: Exception) -> None:
    """Note and report a candidate that could not be read; the other candidates go on."""
    label = _label(item)
    reason = why(exc) if isinstance(exc, ClientError) else str(exc)
    scan.unreadable[kind.name, region, label] = reason
    warnings.warn(
        f"cleanup: could not read {kind.name} {label} in {region} ({reason}); it is "
        "not in the plan: run the plan again, or remove it by hand",
        CleanupWarning,
        stacklevel=3,
    )


def _label(item: Any) -> str:
    """A candidate's name for a message: a string as it is, a dict by its first name-like key."""
    if isinstance(item, dict):
        return next(
            (
                value
                for key, value in item.items()
                if isinstance(value, str) and key.lower().endswith(("name", "arn", "url", "id"))
            ),
            "?",
        )
    return str(item)


# -- declaring a kind in few words -----------------------------------------------------------
def listed(
    service: str, operation: str, key: str, **kwargs: Any
) -> Callable[[Scan, str], Iterable[Any]]:
    """A ``list`` that pages ``operation`` of ``service`` and yields the items under ``key``
    (one call for an operation botocore has no paginator for)."""

    def list_(scan: Scan, region: str) -> Iterable[Any]:
        client = scan.client(service, region)
        if not client.can_paginate(operation):
            return getattr(client, operation)(**kwargs).get(key, [])
        return paginate(client, operation, key, **kwargs)

    return list_


def rows_of(kind: str) -> Callable[[Scan, str], list[dict[str, Any]]]:
    """A ``list`` whose candidates are the rows found of another ``kind`` (e.g. the topics, for
    their subscriptions)."""

    def list_(scan: Scan, region: str) -> list[dict[str, Any]]:
        return scan.rows(kind, region)

    return list_


def plan_row(chapter: str, name: str, id_: str | None = None) -> dict[str, Any]:
    """What a ``describe`` returns for one of ours: its ``chapter``, ``name`` and ``id`` (default:
    the name); the kind fills in the other columns.

    Examples
    --------
    >>> plan_row("09", "flovtrain-orders")
    {'chapter': '09', 'name': 'flovtrain-orders', 'id': 'flovtrain-orders'}
    """
    return {"chapter": chapter, "name": name, "id": name if id_ is None else id_}


def named_ours(
    chapter: str,
    name: Callable[[Any], str] = str,
    id_: Callable[[Any], str] | None = None,
    unless_owned: bool = True,
) -> Callable[[Scan, str, Any], Found]:
    """A ``describe``: the item is ours when its ``name(item)`` has our prefix (and, with
    ``unless_owned``, no planned stack owns it); the row's id is ``id_(item)`` (default: the
    name)."""

    def describe(scan: Scan, region: str, item: Any) -> Found:
        found = name(item)
        if not ours(found) or unless_owned and found in scan.owned(region):
            return None
        return plan_row(chapter, found, id_(item) if id_ else None)

    return describe


def call_with_id(
    service: str, operation: str, parameter: str, column: str = "id", **fixed: Any
) -> Callable[[Scan, dict[str, Any]], None]:
    """A ``delete`` that is one call taking the row's id (or another ``column``) and the
    ``fixed`` parameters, e.g. ``delete_queue(QueueUrl=id)``."""

    def delete(scan: Scan, row: dict[str, Any]) -> None:
        client = scan.client(service, row["region"])
        getattr(client, operation)(**{parameter: row[column]}, **fixed)

    return delete


#: Services whose kinds are listed once for the account (region ``global``), not per region.
ACCOUNT_WIDE = frozenset({"budgets", "iam", "route53", "s3"})

Listing = tuple[str, str] | Callable[[Scan, str], Iterable[Any]]
Deleting = tuple[str, str] | Callable[[Scan, dict[str, Any]], None]


def declare(
    name: str,
    order: int,
    listing: Listing,
    describe: Callable[[Scan, str, Any], Found],
    deleting: Deleting,
    removal: str = "",
    **options: Any,
) -> Kind:
    """Register and return the :class:`Kind` ``name``, its service the first word of the name.

    Parameters
    ----------
    name : str
        ``"<service> <what>"``, e.g. ``"sqs queue"``.
    order : int
        Removal order: lower first.
    listing : (str, str) or callable
        ``(operation, items key)``: the service's list call, paged where botocore can
        (:func:`listed`); or a ``list`` of its own.
    describe : callable
        The kind's ``describe`` (e.g. :func:`named_ours`).
    deleting : (str, str) or callable
        ``(operation, parameter)``: one call taking the row's id (:func:`call_with_id`); or a
        ``delete`` of its own.
    removal : str
        The plan's ``removal`` text; default: the name of the ``deleting`` operation.
    **options
        The other fields of :class:`Kind` (``billable``, ``prepare``; ``regional`` defaults to
        False for a service of :data:`ACCOUNT_WIDE`).

    Returns
    -------
    Kind
        The kind, now in :data:`KINDS`.

    Raises
    ------
    ValueError
        The name is registered already, or ``removal`` is missing for a ``delete`` of its own.

    Examples
    --------
    >>> QUEUE = declare(  # doctest: +SKIP
    ...     "sqs queue",
    ...     160,
    ...     ("list_queues", "QueueUrls"),
    ...     named_ours("09"),
    ...     ("delete_queue", "QueueUrl"),
    ... )
    >>> QUEUE.removal  # doctest: +SKIP
    'delete_queue'
    """
    service = name.split(" ", 1)[0]
    options.setdefault("regional", service not in ACCOUNT_WIDE)
    if isinstance(listing, tuple):
        listing = listed(service, *listing)
    if isinstance(deleting, tuple):
        removal = removal or deleting[0]
        deleting = call_with_id(service, *deleting)
    if not removal:
        raise ValueError(f"cleanup kind {name!r}: say how it is removed (removal=...)")
    return register(Kind(name, service, order, listing, describe, deleting, removal, **options))
