"""The pipeline view: stages coloured by status, updating while an execution runs.

Live (JupyterLab): an ipywidgets panel that polls ``get_pipeline_state`` in a background
thread and redraws while anything is in progress, with buttons to *Release change*
(``start_pipeline_execution``), *Retry failed stage* (``retry_stage_execution``) and
*Approve* / *Reject* a waiting manual approval (``put_approval_result``).
Static (``FLOVTRAIN_STATIC_WIDGETS=1``, under nbval): the same picture as HTML, and a
text form (stage, action, status) that a stored notebook compares.

Examples
--------
>>> from flovtrain.widgets.pipeline import pipeline_view
>>> pipeline_view("flovtrain-webapp-pipeline")        # doctest: +SKIP
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3

from flovtrain.session import get_session
from flovtrain.widgets._static import static_widgets

#: The console's colours: blue in progress, green succeeded, red failed, grey not run.
STATUS_COLOURS = {
    "InProgress": "#1565c0",
    "Succeeded": "#2e7d32",
    "Failed": "#c62828",
    "Stopped": "#6d4c41",
    "Stopping": "#6d4c41",
    "Abandoned": "#757575",
    "Superseded": "#757575",
    None: "#9e9e9e",
}
ACTIVE = {"InProgress", "Stopping"}


class StaticView:
    """A rendered view: ``_repr_html_`` for the eye, ``repr`` (compared by nbval) as text."""

    def __init__(self, text: str, html_: str) -> None:
        self.text = text
        self.html = html_

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html


def _state(pipeline: str, session: boto3.Session | None, region: str | None) -> dict[str, Any]:
    cp = get_session(session, region).client("codepipeline", region_name=region)
    return cp.get_pipeline_state(name=pipeline)


@dataclass(frozen=True)
class Viewed:
    """The execution a view shows: its id and status, and the ids of executions newer than it.

    ``get_pipeline_state`` gives each stage's *latest* run, which may belong to another
    execution: after a failed Build, Deploy still shows the previous execution's success. A
    stage run by another execution than the viewed one is marked as such.
    """

    execution_id: str
    status: str
    newer: frozenset[str] = frozenset()

    def stale(self, stage_execution: str | None) -> str:
        """Return "" when the stage belongs to this execution, else where it comes from."""
        if not stage_execution or stage_execution == self.execution_id:
            return ""
        later = stage_execution in self.newer
        return "from a later execution" if later else "from an earlier execution"


def viewed_execution(
    pipeline: str,
    execution_id: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Viewed | None:
    """Return the execution to show: ``execution_id``, else the newest; None before any run.

    Raises
    ------
    ValueError
        ``execution_id`` is not one of the pipeline's executions (the message lists the newest).

    Examples
    --------
    >>> viewed_execution("flovtrain-webapp-pipeline").status   # doctest: +SKIP
    'Failed'
    """
    from flovtrain.views.codepipeline import newest_executions

    history = newest_executions(pipeline, get_session(session, region), region)
    ids = [e["pipelineExecutionId"] for e in history]
    if not history:
        return None
    if execution_id is None:
        return Viewed(ids[0], history[0].get("status", ""))
    if execution_id not in ids:
        raise ValueError(
            f"{execution_id} is not an execution of {pipeline}; the newest: {', '.join(ids[:3])}"
        )
    index = ids.index(execution_id)
    return Viewed(execution_id, history[index].get("status", ""), frozenset(ids[:index]))


def stages(state: dict[str, Any], viewed: Viewed | None = None) -> list[dict[str, Any]]:
    """Reduce ``get_pipeline_state`` to stages: name, status, execution id and their actions.

    With ``viewed``, each stage's ``stale`` says whether it shows another execution's run.
    """
    out = []
    for stage in state.get("stageStates", []):
        latest = stage.get("latestExecution") or {}
        actions = []
        for action in stage.get("actionStates", []):
            run = action.get("latestExecution") or {}
            actions.append(
                {
                    "name": action["actionName"],
                    "status": run.get("status"),
                    "summary": (run.get("summary") or "").strip(),
                    "error": (run.get("errorDetails") or {}).get("message", ""),
                    "token": run.get("token"),
                }
            )
        out.append(
            {
                "name": stage["stageName"],
                "status": latest.get("status"),
                "execution_id": latest.get("pipelineExecutionId"),
                "stale": viewed.stale(latest.get("pipelineExecutionId")) if viewed else "",
                "actions": actions,
            }
        )
    return out


def state_text(pipeline: str, state: dict[str, Any], viewed: Viewed | None = None) -> str:
    """The text form: one line per stage and action (no ids, no times: it is compared).

    With ``viewed``, the first line names that execution's status and stages another execution
    ran say so.
    """
    lines = [f"pipeline {pipeline}" + (f" · execution {viewed.status}" if viewed else "")]
    for stage in stages(state, viewed):
        stale = f" ({stage['stale']})" if stage["stale"] else ""
        lines.append(f"  {stage['name']}: {stage['status'] or 'not run'}{stale}")
        for action in stage["actions"]:
            # the first line says what failed; the rest is a log tail with times in it
            detail = f" ({action['error'].splitlines()[0]})" if action["error"] else ""
            lines.append(f"    - {action['name']}: {action['status'] or 'not run'}{detail}")
    return "\n".join(lines)


def state_html(pipeline: str, state: dict[str, Any], viewed: Viewed | None = None) -> str:
    """The picture: one coloured box per stage, its actions inside, arrows between stages.

    With ``viewed``, a frame in that execution's colour (a failed one stays red) and stages
    another execution ran faded, dashed and labelled.
    """
    esc = html.escape
    boxes = []
    for stage in stages(state, viewed):
        colour = STATUS_COLOURS.get(stage["status"], "#9e9e9e")
        rows = []
        for action in stage["actions"]:
            a_colour = STATUS_COLOURS.get(action["status"], "#9e9e9e")
            note = action["error"] or action["summary"]
            rows.append(
                f'<div style="margin-top:4px;padding:3px 6px;background:white;color:#222;'
                f'border-left:5px solid {a_colour};border-radius:3px">'
                f'<b>{esc(action["name"])}</b><br><span style="color:{a_colour}">'
                f"{esc(action['status'] or 'not run')}</span>"
                + (f'<br><small style="color:#555">{esc(note[:120])}</small>' if note else "")
                + "</div>"
            )
        stale = stage["stale"]
        look = "opacity:0.5;border:2px dashed #424242;" if stale else ""
        boxes.append(
            f'<div class="flovtrain-stage" data-status="{esc(str(stage["status"]))}" '
            f'data-stale="{"true" if stale else "false"}" '
            f'style="display:inline-block;vertical-align:top;width:210px;padding:6px;{look}'
            f'border-radius:6px;background:{colour};color:white">'
            f"<b>{esc(stage['name'])}</b> · {esc(stage['status'] or 'not run')}"
            + (f"<br><small><i>{esc(stale)}</i></small>" if stale else "")
            + f"{''.join(rows)}</div>"
        )
    arrow = '<span style="display:inline-block;padding:0 6px;font-size:20px">&#10140;</span>'
    if viewed is None:
        head, frame = f"<b>Pipeline {esc(pipeline)}</b>", ""
    else:
        shown = STATUS_COLOURS.get(viewed.status, "#9e9e9e")
        head = (
            f"<b>Pipeline {esc(pipeline)}</b> · execution "
            f'<b style="color:{shown}">{esc(viewed.status)}</b>'
        )
        frame = f' style="border:3px solid {shown};border-radius:8px;padding:6px"'
    status = esc(viewed.status) if viewed else ""
    return (
        f'<div class="flovtrain-pipeline" data-execution-status="{status}"{frame}>'
        f"<p>{head}</p>{arrow.join(boxes)}</div>"
    )


def waiting_approval(state: dict[str, Any]) -> tuple[str, str, str] | None:
    """Return (stage, action, token) of a manual approval waiting for an answer, if any."""
    for stage in stages(state):
        for action in stage["actions"]:
            if action["status"] == "InProgress" and action["token"]:
                return stage["name"], action["name"], action["token"]
    return None


def failed_stage(state: dict[str, Any]) -> tuple[str, str] | None:
    """Return (stage, execution id) of the first failed stage, if any."""
    for stage in stages(state):
        if stage["status"] == "Failed" and stage["execution_id"]:
            return stage["name"], stage["execution_id"]
    return None


def static_view(
    pipeline: str,
    session: boto3.Session | None = None,
    region: str | None = None,
    execution_id: str | None = None,
) -> StaticView:
    """Return the pipeline's current state as a :class:`StaticView` (text + HTML) of
    ``execution_id`` (default: the newest execution)."""
    viewed = viewed_execution(pipeline, execution_id, session, region)
    state = _state(pipeline, session, region)
    return StaticView(state_text(pipeline, state, viewed), state_html(pipeline, state, viewed))


def pipeline_view(
    pipeline: str,
    session: boto3.Session | None = None,
    region: str | None = None,
    interval: float = 0.5,
    timeout: float = 300,
    execution_id: str | None = None,
) -> Any:
    """Show the pipeline; live, it keeps updating while an execution runs.

    The view shows one execution: ``execution_id``, or else the newest (live: the newest at each
    redraw). Its status heads the view in its colour; stages whose latest run belongs to another
    execution are faded and say so.

    Parameters
    ----------
    pipeline : str
        The pipeline's name.
    execution_id : str, optional
        The execution to show (default: the newest).
    interval : float
        Seconds between polls while live.
    timeout : float
        Stop polling after this long (the Refresh button still works).

    Returns
    -------
    ipywidgets.VBox or StaticView
        Static under ``FLOVTRAIN_STATIC_WIDGETS=1``.

    Examples
    --------
    >>> pipeline_view("flovtrain-webapp-pipeline")        # doctest: +SKIP
    """
    if static_widgets():
        return static_view(pipeline, session, region, execution_id)
    return _live(pipeline, get_session(session, region), region, interval, timeout, execution_id)


def _live(
    pipeline: str,
    session: boto3.Session,
    region: str | None,
    interval: float,
    timeout: float,
    execution_id: str | None,
) -> Any:
    import ipywidgets as widgets

    cp = session.client("codepipeline", region_name=region)
    pane = widgets.HTML()
    message = widgets.HTML()
    buttons = {
        "refresh": widgets.Button(description="Refresh", icon="refresh"),
        "release": widgets.Button(
            description="Release change", icon="play", button_style="primary"
        ),
        "retry": widgets.Button(
            description="Retry failed stage", icon="redo", button_style="warning"
        ),
        "approve": widgets.Button(description="Approve", icon="check", button_style="success"),
        "reject": widgets.Button(description="Reject", icon="times", button_style="danger"),
    }
    current: dict[str, Any] = {}

    def redraw() -> dict[str, Any]:
        viewed = viewed_execution(pipeline, execution_id, session, region)
        state = cp.get_pipeline_state(name=pipeline)
        current["state"] = state
        pane.value = state_html(pipeline, state, viewed)
        buttons["retry"].disabled = failed_stage(state) is None
        buttons["approve"].disabled = buttons["reject"].disabled = waiting_approval(state) is None
        return state

    def busy(state: dict[str, Any]) -> bool:
        return any(
            s["status"] in ACTIVE or any(a["status"] in ACTIVE for a in s["actions"])
            for s in stages(state)
        )

    def follow() -> None:
        # poll while something runs (and a moment after a button press, for it to start)
        deadline = time.monotonic() + timeout
        grace = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                state = redraw()
            except Exception as exc:  # shown, not swallowed
                message.value = f"<span style='color:#c62828'>{html.escape(str(exc))}</span>"
                return
            if not busy(state) and time.monotonic() > grace:
                return
            time.sleep(interval)

    def start_following() -> None:
        threading.Thread(target=follow, daemon=True).start()

    def act(label: str, fn: Any) -> Any:
        def handler(_: Any) -> None:
            try:
                result = fn()
                message.value = html.escape(f"{label}: {result}")
            except Exception as exc:
                message.value = (
                    f"<span style='color:#c62828'>{html.escape(label)}: "
                    f"{html.escape(str(exc))}</span>"
                )
            start_following()

        return handler

    def release() -> str:
        return cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]

    def retry() -> str:
        found = failed_stage(current.get("state") or redraw())
        if found is None:
            return "no failed stage"
        stage, execution = found
        return cp.retry_stage_execution(
            pipelineName=pipeline,
            stageName=stage,
            pipelineExecutionId=execution,
            retryMode="FAILED_ACTIONS",
        )["pipelineExecutionId"]

    def answer(status: str) -> Any:
        def run() -> str:
            found = waiting_approval(current.get("state") or redraw())
            if found is None:
                return "nothing waits for approval"
            stage, action, token = found
            cp.put_approval_result(
                pipelineName=pipeline,
                stageName=stage,
                actionName=action,
                result={"summary": f"{status} in the notebook", "status": status},
                token=token,
            )
            return f"{stage}/{action} {status}"

        return run

    buttons["refresh"].on_click(act("refreshed", lambda: "ok"))
    buttons["release"].on_click(act("release change", release))
    buttons["retry"].on_click(act("retry", retry))
    buttons["approve"].on_click(act("approval", answer("Approved")))
    buttons["reject"].on_click(act("approval", answer("Rejected")))
    redraw()
    start_following()
    view = widgets.VBox([widgets.HBox(list(buttons.values())), pane, message])
    view.add_class("flovtrain-pipeline-view")  # a stable hook for the browser test and CSS
    return view
