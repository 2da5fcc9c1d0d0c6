"""The build-log viewer: a CodeBuild build's log from CloudWatch Logs, with the phase table.

Live: a dropdown of the project's builds (newest first) and the selected build's phases and log.
Static (``FLOVTRAIN_STATIC_WIDGETS=1``): one build's phases and log as HTML; its text form is
the log itself.

Examples
--------
>>> from flovtrain.widgets.buildlog import build_log_view
>>> build_log_view(project="flovtrain-webapp")        # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import boto3

from flovtrain.views import devtools
from flovtrain.widgets._static import static_widgets, table_html
from flovtrain.widgets.pipeline import StaticView

PHASE_COLOURS = {
    "SUCCEEDED": "#2e7d32",
    "FAILED": "#c62828",
    "IN_PROGRESS": "#1565c0",
    "FAULT": "#c62828",
    "TIMED_OUT": "#c62828",
    "STOPPED": "#6d4c41",
}


def _log_html(build_id: str, log: str, phases: Any, tail: int | None) -> str:
    lines = log.splitlines()
    if tail:
        lines = lines[-tail:]
    coloured = []
    for line in lines:
        style = ""
        if "State: FAILED" in line or "did not exit successfully" in line:
            style = "color:#ff8a80;font-weight:bold"
        elif "State: SUCCEEDED" in line:
            style = "color:#b9f6ca"
        coloured.append(
            f'<span style="{style}">{html.escape(line)}</span>' if style else html.escape(line)
        )
    table = table_html(phases[["phase", "status", "message"]], "no phases yet")
    return (
        f"<div><b>Build {html.escape(build_id)}</b>{table}"
        '<pre style="background:#1e1e1e;color:#ddd;padding:8px;max-height:400px;'
        f'overflow:auto">{chr(10).join(coloured)}</pre></div>'
    )


def _latest(project: str, session: boto3.Session | None, region: str | None) -> str:
    found = devtools.builds(project, session=session, region=region)
    if found.empty:
        raise LookupError(f"project {project} has no builds yet: start one or push a commit")
    return str(found.build_id.iloc[0])


def build_log_view(
    build_id: str | None = None,
    project: str | None = None,
    tail: int | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Any:
    """Show a build's phases and log.

    Parameters
    ----------
    build_id : str, optional
        ``project:uuid``. Default: the newest build of ``project``.
    project : str, optional
        The CodeBuild project (needed when ``build_id`` is not given; the live view lists
        its builds).
    tail : int, optional
        Show only the last ``tail`` lines.

    Returns
    -------
    ipywidgets.VBox or StaticView
    """
    if build_id is None and project is None:
        raise ValueError("give build_id='<project>:<id>' or project='<project name>'")
    if build_id is None:
        build_id = _latest(project, session, region)  # type: ignore[arg-type]

    def render(bid: str) -> tuple[str, str]:
        log = devtools.build_log(bid, session=session, region=region)
        phases = devtools.build_phases(bid, session=session, region=region)
        text = "\n".join(log.splitlines()[-tail:] if tail else log.splitlines())
        return text, _log_html(bid, log, phases, tail)

    if static_widgets() or project is None:
        text, body = render(build_id)
        return StaticView(text, body)
    import ipywidgets as widgets

    ids = list(devtools.builds(project, session=session, region=region).build_id)
    chooser = widgets.Dropdown(
        options=ids, value=build_id if build_id in ids else ids[0], description="Build"
    )
    pane = widgets.HTML()

    def show(_: Any = None) -> None:
        pane.value = render(chooser.value)[1]

    chooser.observe(show, names="value")
    show()
    return widgets.VBox([chooser, pane])
