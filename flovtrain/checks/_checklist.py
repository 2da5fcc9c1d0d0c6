"""The result of a chapter check: rows of (item, passed, why it failed, hint).

Its text form is deterministic (it is stored in notebook outputs that nbval compares), its
HTML form is a small table with a green ✓ or a red ✗ per row.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

COLUMNS = ["item", "passed", "why", "hint"]
PASS_MARK = "✓"
FAIL_MARK = "✗"


@dataclass(frozen=True)
class Item:
    """One checked fact.

    Attributes
    ----------
    item : str
        What should be true, e.g. ``user john exists``.
    passed : bool
        Whether it is.
    why : str
        Why it is not (empty when it passed).
    hint : str
        How to make it true (shown only when it failed).
    """

    item: str
    passed: bool
    why: str = ""
    hint: str = ""


class Failed(Exception):
    """Raised inside an item function: the item fails with this message as its reason.

    ``hint``, when given, replaces the item's own hint (the fix depends on what failed).
    """

    def __init__(self, why: str, hint: str = "") -> None:
        super().__init__(why)
        self.hint = hint


@dataclass
class Checklist:
    """The items of one chapter's check.

    Examples
    --------
    >>> cl = Checklist("02", "IAM", [Item("user imre exists", True)])
    >>> cl.passed
    True
    >>> print(cl)
    Chapter 02 · IAM: 1/1 passed
      ✓ user imre exists
    """

    chapter: str
    title: str
    items: list[Item] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when there is at least one item and every item passed."""
        return bool(self.items) and all(i.passed for i in self.items)

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if not i.passed]

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, name: str | int) -> Item:
        """Return an item by position or by its exact text."""
        if isinstance(name, int):
            return self.items[name]
        for item in self.items:
            if item.item == name:
                return item
        raise KeyError(f"no item {name!r}; items: {[i.item for i in self.items]}")

    def add(self, item: str, test: Callable[[], str | None], hint: str = "") -> Item:
        """Run ``test`` and append its row.

        ``test`` returns None (or "") when the item holds, or a reason string when it does not;
        it may also raise :class:`Failed`. AWS errors (missing resources, access denied, no
        connection) become a failing row with the error text, so a check never crashes on
        missing resources.
        """
        try:
            why = test() or ""
        except Failed as exc:
            why, hint = str(exc), exc.hint or hint
        except ClientError as exc:
            error = exc.response.get("Error", {})
            why = f"AWS said {error.get('Code', '?')}: {error.get('Message', '') or exc}"
        except BotoCoreError as exc:
            why = f"could not ask AWS: {exc}"
        row = Item(item, not why, why, "" if not why else hint)
        self.items.append(row)
        return row

    def summary(self) -> str:
        ok = sum(i.passed for i in self.items)
        return f"Chapter {self.chapter} · {self.title}: {ok}/{len(self.items)} passed"

    def first_cause(self, item: Item) -> Item | None:
        """Return the earlier failed item with the same reason as ``item``, if any.

        Items that fail for one cause (a missing user fails its group, password and key rows
        too) are shown as one line each after the first, which keeps the reason and the fix.

        Examples
        --------
        >>> a, b = Item("user john exists", False, "no user john"), Item("john in group", False,
        ...                                                              "no user john")
        >>> Checklist("02", "IAM", [a, b]).first_cause(b) is a
        True
        """
        if item.passed:
            return None
        for earlier in self.items:
            if earlier is item:
                return None
            if not earlier.passed and earlier.why == item.why:
                return earlier
        return None

    def __str__(self) -> str:
        lines = [self.summary()]
        for i in self.items:
            lines.append(f"  {PASS_MARK if i.passed else FAIL_MARK} {i.item}")
            if i.passed:
                continue
            first = self.first_cause(i)
            if first is not None:
                lines[-1] += f" (same cause as: {first.item})"
                continue
            lines.append(f"      why: {i.why}")
            if i.hint:
                lines.append(f"      fix: {i.hint}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = []
        for i in self.items:
            mark = (
                f'<span style="color:#2e7d32;font-weight:bold">{PASS_MARK}</span>'
                if i.passed
                else f'<span style="color:#c62828;font-weight:bold">{FAIL_MARK}</span>'
            )
            first = self.first_cause(i)
            why, hint = (i.why, i.hint) if first is None else (f"same cause as: {first.item}", "")
            rows.append(
                f'<tr><td style="text-align:center">{mark}</td><td style="text-align:left">'
                f'{esc(i.item)}</td><td style="text-align:left">{esc(why)}</td>'
                f'<td style="text-align:left">{esc(hint)}</td></tr>'
            )
        colour = "#2e7d32" if self.passed else "#c62828"
        return (
            f'<div><p style="color:{colour};font-weight:bold">{esc(self.summary())}</p>'
            '<table><thead><tr><th></th><th style="text-align:left">item</th>'
            '<th style="text-align:left">why it failed</th><th style="text-align:left">hint</th>'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the rows as a DataFrame with columns item, passed, why, hint."""
        return pd.DataFrame(
            [(i.item, i.passed, i.why, i.hint) for i in self.items], columns=COLUMNS
        ).astype({"passed": bool})
