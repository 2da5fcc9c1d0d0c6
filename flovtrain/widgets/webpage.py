"""The deployed page, shown inside the notebook (what "open the public IP in a browser" shows).

Live: the page in a sandboxed ``<iframe srcdoc>`` (no scripts run, nothing else is fetched).
Static (``FLOVTRAIN_STATIC_WIDGETS=1``): the page's visible text, HTML-escaped, so a stored
notebook compares what the page says.

Examples
--------
>>> from flovtrain.widgets.webpage import webpage
>>> webpage("http://127.20.0.1:8090/")            # doctest: +SKIP
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from flovtrain.widgets._static import static_widgets
from flovtrain.widgets.pipeline import StaticView


class _TextOnly(HTMLParser):
    """Collect the visible text: no style, script or head content."""

    HIDDEN = {"style", "script", "head", "noscript"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.title = ""
        self._hidden = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self.HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self._hidden and data.strip():
            self.parts.append(re.sub(r"\s+", " ", data.strip()))


def page_text(page: str) -> str:
    """Return the page's title and visible text, one block per line.

    Examples
    --------
    >>> print(page_text("<html><head><title>T</title><style>x{}</style></head>"
    ...                 "<body><h1>Hello</h1><p>world</p><script>evil()</script></body></html>"))
    [T]
    Hello
    world
    """
    parser = _TextOnly()
    parser.feed(page)
    head = [f"[{parser.title}]"] if parser.title else []
    return "\n".join(head + parser.parts)


def page_view(url: str, page: str, height: int = 260) -> StaticView:
    """Return the page as a :class:`StaticView`: text (compared) and a sandboxed iframe."""
    text = page_text(page)
    frame = (
        f'<iframe sandbox="" srcdoc="{html.escape(page, quote=True)}" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #ccc"></iframe>'
    )
    static = static_widgets()
    body = f"<pre>{html.escape(text)}</pre>" if static else frame
    return StaticView(f"{url}\n{text}", f"<div><small>{html.escape(url)}</small>{body}</div>")


def webpage(url: str, contains: str | None = None, timeout: float = 10, height: int = 260) -> Any:
    """Fetch ``url`` and show it in the notebook.

    Parameters
    ----------
    url : str
        E.g. the project's ``app_url``.
    contains : str, optional
        Wait (up to ``timeout``) until the page shows this text, e.g. after a deployment.
    height : int
        Pixels of the iframe (live mode).

    Returns
    -------
    StaticView
        ``repr`` is the visible text (what nbval compares); in JupyterLab the page itself,
        in a sandboxed iframe (static mode: the text as HTML).

    Raises
    ------
    ProjectTimeout
        The page did not answer (or never showed ``contains``) in time.
    """
    from flovtrain.project import fetch_page

    return page_view(url, fetch_page(url, timeout=timeout, contains=contains), height)
