"""A small Athena query editor: SQL box, Run, results table, bytes scanned, cost, elapsed time.

Under ``FLOVTRAIN_STATIC_WIDGETS=1`` (nbval) it runs the initial SQL once and shows a static
HTML table with rows, bytes and cost (no timing, so stored outputs stay comparable).
"""

from __future__ import annotations

import html
import time
from typing import Any

from flovtrain import athena
from flovtrain.exceptions import AthenaQueryFailed
from flovtrain.widgets._static import choose, table_html


def _stats(df: Any) -> str:
    return athena.summary(df)


def query_editor(
    sql: str = "SELECT 1",
    database: str | None = None,
    workgroup: str = "primary",
    output_location: str | None = None,
    max_rows: int = 50,
    session: Any = None,
) -> Any:
    """Return a query editor (ipywidgets) or its static fallback.

    Examples
    --------
    >>> query_editor("SELECT count(*) FROM klines", database="marketdata",
    ...              output_location="s3://b/results/")          # doctest: +SKIP
    """

    def run(text: str) -> tuple[str, str]:
        try:
            df = athena.query(
                text,
                database=database,
                workgroup=workgroup,
                output_location=output_location,
                session=session,
            )
        except AthenaQueryFailed as exc:
            return f"<p style='color:#c62828'>{html.escape(str(exc))}</p>", ""
        return table_html(df.head(max_rows), "no rows"), _stats(df)

    def static() -> str:
        table, stats = run(sql)
        return f"<pre>{html.escape(sql)}</pre>{table}<p><b>{html.escape(stats)}</b></p>"

    def live() -> Any:
        import ipywidgets as w

        box = w.Textarea(value=sql, layout=w.Layout(width="100%", height="120px"))
        button = w.Button(description="Run", button_style="primary")
        status = w.HTML()
        out = w.HTML()

        def clicked(_: Any) -> None:
            status.value = "running…"
            started = time.perf_counter()
            table, stats = run(box.value)
            out.value = table
            status.value = f"<b>{html.escape(stats)}</b> · {time.perf_counter() - started:.2f} s"

        button.on_click(clicked)
        clicked(None)  # show the first query's answer at once, as the static form does
        return w.VBox([box, w.HBox([button, status]), out])

    return choose(live, static)
