"""Chapter checks: does the account hold what chapter NN builds?

Every check reads AWS state only through boto3, so work done in a notebook, with the AWS CLI in
the terminal, or by hand in a console all counts. A check never crashes on a missing resource:
each failing row says what is missing and how to fix it.

Adding a chapter is one module: ``flovtrain/checks/chNN.py`` with a ``TITLE`` string and a
``collect(cl: Checklist, session: boto3.Session) -> None`` function that calls ``cl.add(...)``
per item. It is discovered by its file name; nothing else needs editing.

Examples
--------
>>> import flovtrain
>>> flovtrain.check("02")          # doctest: +SKIP
Chapter 02 · IAM users, group and password policy: 11/11 passed
  ✓ user imre exists
  ...
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

import boto3

from flovtrain.checks._checklist import Checklist, Failed, Item
from flovtrain.exceptions import UnknownChapter

__all__ = ["Checklist", "Item", "Failed", "check", "chapters", "normalize_chapter", "run_cli"]

_MODULE = re.compile(r"^ch(\d{2})$")


def chapters() -> list[str]:
    """Return the two-digit ids of every chapter that has a check, sorted."""
    found = (_MODULE.match(m.name) for m in pkgutil.iter_modules(__path__))
    return sorted(m.group(1) for m in found if m)


def normalize_chapter(chapter: str | int) -> str:
    """Return ``chapter`` as a two-digit id: ``2``, ``"2"``, ``"02"`` -> ``"02"``.

    Raises
    ------
    UnknownChapter
        When ``chapter`` is not a number.
    """
    text = str(chapter).strip()
    if isinstance(chapter, bool) or not text.isdigit():
        raise UnknownChapter(f"{chapter!r} is not a chapter number: use e.g. 2 or 02.")
    return f"{int(text):02d}"


def chapter_among(chapter: str | int, valid: list[str], missing: str, listed: str) -> str:
    """Return ``chapter`` as a two-digit id that is one of ``valid``.

    Raises
    ------
    UnknownChapter
        ``chapter`` is not a number, or not in ``valid``: the message starts with ``missing``
        (which may name ``{chapter}``) and lists ``valid`` as ``listed``, e.g. "chapters: 01, 02".
    """
    names = ", ".join(valid) or "none"
    try:
        number = normalize_chapter(chapter)
    except UnknownChapter as exc:
        raise UnknownChapter(f"{exc} {listed[:1].upper()}{listed[1:]}: {names}") from None
    if number not in valid:
        raise UnknownChapter(f"{missing.format(chapter=chapter)}; {listed}: {names}")
    return number


def _module(chapter: str | int) -> ModuleType:
    number = chapter_among(
        chapter, chapters(), "there is no check for chapter {chapter}", "chapters with checks"
    )
    return importlib.import_module(f"{__name__}.ch{number}")


def check(chapter: str | int, session: boto3.Session | None = None) -> Checklist:
    """Check that the account holds the state chapter ``chapter`` builds.

    Parameters
    ----------
    chapter : str or int
        ``2``, ``"2"`` or ``"02"``.
    session : boto3.Session, optional
        Default: the current connection's session (the sandbox unless you opted in to AWS).

    Returns
    -------
    Checklist
        One row per item; ``.passed`` is True when all pass. Displays as a ✓/✗ table.

    Raises
    ------
    UnknownChapter
        No check exists for that chapter (the message lists those that do).

    Examples
    --------
    >>> import flovtrain
    >>> result = flovtrain.check(2)        # doctest: +SKIP
    >>> result.passed, result.to_frame().columns.tolist()   # doctest: +SKIP
    (False, ['item', 'passed', 'why', 'hint'])
    """
    module = _module(chapter)
    from flovtrain.session import get_session

    session = get_session(session)
    checklist = Checklist(normalize_chapter(chapter), module.TITLE)
    module.collect(checklist, session)
    return checklist


def run_cli(chapter: str | int) -> int:
    """``flovtrain check NN``: print the checklist; exit code 0 when every item passes, else 1."""
    result = check(chapter)
    print(result)
    return 0 if result.passed else 1
