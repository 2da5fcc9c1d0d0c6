"""The static/live switch every widget helper goes through.

Under nbval (and wherever ``FLOVTRAIN_STATIC_WIDGETS=1``) a widget helper returns plain HTML
that a stored notebook can compare; otherwise it returns a live ipywidgets object.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any

import pandas as pd

STATIC_VAR = "FLOVTRAIN_STATIC_WIDGETS"


def static_widgets() -> bool:
    """Return whether widget helpers must render their static fallback."""
    return os.environ.get(STATIC_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def choose(live: Callable[[], Any], static: Callable[[], str]) -> Any:
    """Return ``live()`` (an ipywidget) or, in static mode, ``IPython.display.HTML(static())``."""
    if static_widgets():
        from IPython.display import HTML

        return HTML(static())
    return live()


def table_html(df: pd.DataFrame, empty: str) -> str:
    """Return ``df`` as a compact HTML table, or ``empty`` as a paragraph when it has no rows."""
    if df.empty:
        return f"<p><i>{html.escape(empty)}</i></p>"
    return df.to_html(index=False, border=0, classes="flovtrain-table", na_rep="", escape=True)


def titled(title: str, body: str) -> str:
    """Return ``body`` under a small bold title."""
    return f"<div><b>{html.escape(title)}</b>{body}</div>"


def live_panel(title: str, render: Callable[[], str], button: str = "Refresh") -> Any:
    """Return a VBox: a title, a refresh button and an HTML pane that ``render()`` fills.

    Errors while rendering appear in the pane (the button stays usable).
    """
    import ipywidgets as widgets

    pane = widgets.HTML()
    refresh = widgets.Button(
        description=button, icon="refresh", layout=widgets.Layout(width="auto")
    )

    def update(_: Any = None) -> None:
        try:
            pane.value = render()
        except Exception as exc:  # shown to the learner, not swallowed
            pane.value = f"<pre style='color:#c62828'>{html.escape(repr(exc))}</pre>"

    refresh.on_click(update)
    update()
    return widgets.VBox(
        [widgets.HBox([widgets.HTML(f"<b>{html.escape(title)}</b>"), refresh]), pane]
    )
