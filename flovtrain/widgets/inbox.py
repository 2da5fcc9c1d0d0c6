"""The sandbox's e-mail inbox as a widget: the messages SNS (and Budgets) sent."""

from __future__ import annotations

from typing import Any

from flovtrain.views import sns
from flovtrain.widgets._static import choose, live_panel, table_html, titled


def _render(endpoint: str | None) -> str:
    df = sns.inbox(endpoint)
    who = f" to {endpoint}" if endpoint else ""
    return table_html(df, f"No messages{who} yet.")


def inbox(endpoint: str | None = None) -> Any:
    """Show the e-mails the sandbox delivered (optionally only to ``endpoint``).

    Live: a panel with a Refresh button. Static (``FLOVTRAIN_STATIC_WIDGETS=1``): an HTML
    table of the inbox as it is now.

    Parameters
    ----------
    endpoint : str, optional
        Only messages to this e-mail address.

    Returns
    -------
    ipywidgets.VBox or IPython.display.HTML

    Examples
    --------
    >>> from flovtrain import widgets
    >>> widgets.inbox("aws1@flovtec.com")          # doctest: +SKIP
    """
    title = f"Inbox{' of ' + endpoint if endpoint else ''}"
    return choose(
        lambda: live_panel(title, lambda: _render(endpoint)),
        lambda: titled(title, _render(endpoint)),
    )
