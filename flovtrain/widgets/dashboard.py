"""A project dashboard like CodeStar's: app URL, latest commit, pipeline, resources.

CodeStar's dashboard put one project's moving parts on one page. This one shows, for the stack
:func:`flovtrain.project.create_project` made: the app's URL, the repository's clone URL and its
latest commit, the pipeline's stages coloured by status, and the resources the stack created.
Live it has a Refresh button; static (under nbval) it is HTML, with a text form that lists
the same facts without ids or times.

Examples
--------
>>> from flovtrain.widgets.dashboard import project_dashboard
>>> project_dashboard()                         # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import boto3

from flovtrain.project import DEFAULT_PROJECT, get_project
from flovtrain.session import get_session
from flovtrain.views import devtools
from flovtrain.widgets._static import live_panel, static_widgets, table_html
from flovtrain.widgets.pipeline import StaticView, state_html, state_text


def _facts(project_id: str, session: boto3.Session | None, region: str | None) -> dict[str, Any]:
    session = get_session(session, region)
    project = get_project(project_id, session, region)
    cp = session.client("codepipeline", region_name=region)
    commits = devtools.commits(project.repository_name, limit=1, session=session, region=region)
    return {
        "project": project,
        "commit": commits.iloc[0].to_dict() if len(commits) else None,
        "state": cp.get_pipeline_state(name=project.pipeline_name),
        "resources": devtools.stack_resources(project.stack_name, session=session, region=region),
    }


def dashboard_text(facts: dict[str, Any]) -> str:
    """The compared text form: no ids, no times."""
    p, commit = facts["project"], facts["commit"]
    resources = facts["resources"]
    lines = [
        f"Project {p.project_id} ({p.region})",
        f"  app: {p.app_url}",
        f"  repository: {p.repository_name}",
        f"  latest commit: {commit['message']} ({commit['author']})"
        if commit
        else "  latest commit: none",
        state_text(p.pipeline_name, facts["state"]).replace("\n", "\n  ").join(["  ", ""]),
        f"  resources: {len(resources)} "
        f"({(resources.status == 'CREATE_COMPLETE').sum()} CREATE_COMPLETE)",
    ]
    lines += [f"    {r.logical_id}: {r.type}" for r in resources.itertuples()]
    return "\n".join(lines)


def dashboard_html(facts: dict[str, Any]) -> str:
    esc = html.escape
    p, commit = facts["project"], facts["commit"]
    # commit ids depend on the commit's time: the static form (compared by nbval) leaves them out
    short = (
        ""
        if static_widgets() or not commit
        else f"<code>{esc(str(commit['commit_id'])[:7])}</code> "
    )
    commit_html = (
        f"{short}{esc(str(commit['message']))} <i>by {esc(str(commit['author']))}</i>"
        if commit
        else "<i>none</i>"
    )
    tiles = (
        '<table style="margin-bottom:6px"><tbody>'
        f'<tr><th style="text-align:left">Application</th><td style="text-align:left">'
        f'<a href="{esc(p.app_url)}" target="_blank">{esc(p.app_url)}</a></td></tr>'
        f'<tr><th style="text-align:left">Repository</th><td style="text-align:left">'
        f"{esc(p.repository_name)} · <code>{esc(p.clone_url)}</code></td></tr>"
        f'<tr><th style="text-align:left">Latest commit</th><td style="text-align:left">'
        f"{commit_html}</td></tr></tbody></table>"
    )
    resources = facts["resources"][["logical_id", "type", "status"]]
    return (
        f'<div class="flovtrain-dashboard" style="border:1px solid #ddd;padding:8px;'
        f'border-radius:6px"><h3 style="margin-top:0">Project {esc(p.project_id)} '
        f'<small style="color:#777">{esc(p.region)}</small></h3>{tiles}'
        f"{state_html(p.pipeline_name, facts['state'])}"
        f"<details><summary>Project resources ({len(resources)})</summary>"
        f"{table_html(resources, 'no resources')}</details></div>"
    )


def project_dashboard(
    project_id: str = DEFAULT_PROJECT,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Any:
    """Show the project's dashboard.

    Returns
    -------
    ipywidgets.VBox or StaticView
        Static under ``FLOVTRAIN_STATIC_WIDGETS=1``.

    Raises
    ------
    ProjectNotFound
        The project does not exist yet (run chapter 04 / ``create_project()``).
    """
    if static_widgets():
        facts = _facts(project_id, session, region)
        return StaticView(dashboard_text(facts), dashboard_html(facts))
    get_project(project_id, session, region)  # a clear error now rather than inside the panel
    return live_panel(
        f"CodeStar-style dashboard · {project_id}",
        lambda: dashboard_html(_facts(project_id, session, region)),
    )
