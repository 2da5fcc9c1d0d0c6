"""Inline challenges: short tasks inside a chapter, whose answers are checked against AWS.

A chapter's challenges live in ``flovtrain/challenges/chNN.py`` as a ``CHALLENGES`` list of
:class:`Challenge`; modules are discovered by their file name, so adding a chapter's challenges is
one new module (nothing else needs editing). A check reads the account's real state with boto3 and
returns None when the answer is right, else the reason why it is not; it never raises for a wrong
answer, so a notebook keeps running.

Examples
--------
>>> import flovtrain
>>> flovtrain.challenge("04.1", 14)          # doctest: +SKIP
✓ Challenge 04.1 · How many resources does the stack have?: right
>>> flovtrain.challenge("04.1")              # doctest: +SKIP
✗ Challenge 04.1 · How many resources does the stack have?: not answered yet · hint: ...
"""

from __future__ import annotations

import html
import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from flovtrain.checks._checklist import FAIL_MARK, PASS_MARK
from flovtrain.exceptions import FlovtrainError

__all__ = ["Challenge", "Result", "UnknownChallenge", "challenge", "challenges", "evaluate"]

_MODULE = re.compile(r"^ch(\d{2})$")
NOT_ANSWERED = "not answered yet"


class UnknownChallenge(FlovtrainError, KeyError):
    """No challenge has that id (the message lists those that exist)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Challenge:
    """One inline challenge.

    Attributes
    ----------
    id : str
        ``"NN.k"``: chapter and number, as in the notebook's heading.
    title : str
        The question, short.
    check : callable
        ``check(answer, session) -> str | None``: None when ``answer`` is right, else why not.
        Never called with ``answer=None``.
    hint : str
        Where to look; shown while the answer is missing or wrong.
    """

    id: str
    title: str
    check: Callable[[object, boto3.Session], str | None]
    hint: str


@dataclass(frozen=True)
class Result:
    """The verdict on one answer: one ✓/✗ line (plain text and HTML).

    Examples
    --------
    >>> print(Result("04.1", "Count the resources", False, "not answered yet", "describe them"))
    ✗ Challenge 04.1 · Count the resources: not answered yet · hint: describe them
    >>> print(Result("04.1", "Count the resources", True))
    ✓ Challenge 04.1 · Count the resources: right
    """

    id: str
    title: str
    passed: bool
    why: str = ""
    hint: str = ""

    def __str__(self) -> str:
        head = f"{PASS_MARK if self.passed else FAIL_MARK} Challenge {self.id} · {self.title}"
        if self.passed:
            return f"{head}: right"
        return f"{head}: {self.why}" + (f" · hint: {self.hint}" if self.hint else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = "#2e7d32" if self.passed else "#c62828"
        mark = PASS_MARK if self.passed else FAIL_MARK
        text = "right" if self.passed else esc(self.why)
        hint = "" if self.passed or not self.hint else f" <em>Hint: {esc(self.hint)}</em>"
        return (
            f'<p><span style="color:{colour};font-weight:bold">{mark} Challenge {esc(self.id)}'
            f"</span> · {esc(self.title)}: {text}{hint}</p>"
        )


def _modules() -> list[str]:
    found = (_MODULE.match(m.name) for m in pkgutil.iter_modules(__path__))
    return sorted(m.group(0) for m in found if m)


def challenges() -> dict[str, Challenge]:
    """Return every challenge by id, in chapter order.

    Examples
    --------
    >>> "04.1" in challenges()
    True
    """
    found: dict[str, Challenge] = {}
    for name in _modules():
        for item in importlib.import_module(f"{__name__}.{name}").CHALLENGES:
            found[item.id] = item
    return found


def evaluate(item: Challenge, answer: object, session: boto3.Session | None) -> Result:
    """Return the verdict on ``answer``; AWS errors and odd answers become a ✗ with the reason.

    ``session`` may be None only when ``answer`` is None (nothing to ask AWS then).
    """
    if answer is None:
        return Result(item.id, item.title, False, NOT_ANSWERED, item.hint)
    try:
        why = item.check(answer, session)  # type: ignore[arg-type]  # set when answered
    except ClientError as exc:
        error = exc.response.get("Error", {})
        why = f"AWS said {error.get('Code', '?')}: {error.get('Message', '') or exc}"
    except BotoCoreError as exc:
        why = f"could not ask AWS: {exc}"
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        why = f"could not read the answer {answer!r} ({type(exc).__name__}: {exc})"
    return Result(item.id, item.title, not why, why or "", "" if not why else item.hint)


def challenge(
    challenge_id: str, answer: object = None, session: boto3.Session | None = None
) -> Result:
    """Check ``answer`` to challenge ``challenge_id`` against the account's state.

    Parameters
    ----------
    challenge_id : str
        ``"NN.k"``, as in the challenge's heading.
    answer : object, optional
        Your answer; None (the default) means not answered yet.
    session : boto3.Session, optional
        Default: the current connection's session (the sandbox unless you opted in to AWS).

    Returns
    -------
    Result
        ``.passed``, ``.why``; displays as one ✓/✗ line. A wrong answer never raises.

    Raises
    ------
    UnknownChallenge
        No challenge has that id.

    Examples
    --------
    >>> import flovtrain
    >>> flovtrain.challenge("00.1", "123456789012").passed      # doctest: +SKIP
    True
    """
    known = challenges()
    item = known.get(str(challenge_id).strip())
    if item is None:
        raise UnknownChallenge(
            f"there is no challenge {challenge_id!r}; challenges: {', '.join(known) or 'none'}"
        )
    if answer is None:
        return evaluate(item, None, None)  # no AWS call needed
    from flovtrain.session import get_session

    return evaluate(item, answer, get_session(session))
