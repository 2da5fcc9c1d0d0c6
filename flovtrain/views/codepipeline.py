"""CodePipeline as tables, and the two ways to wait for a pipeline.

Tables: the execution history, the pipeline's current state (stages and actions), the action
runs of an execution. Every ``<things>(...)`` returns fixed columns (an empty result keeps
them); every ``iter_<things>(...)`` yields boto3's dicts.

Waiting means one of two things, and each has its own function:

- :func:`wait_for_execution_to_finish` — until an execution (a given one, the newest, or the
  next one after ``newer_than``, e.g. the one a ``git push`` starts) has *finished*; returns
  ``get_pipeline_execution``'s dict. A manual approval keeps it waiting (chapters 04-06:
  ``project.wait_for_pipeline``).
- :func:`wait_for_approval_or_finish` — until the execution has finished *or waits for a manual
  approval*; returns a status text such as ``"Succeeded"`` or ``"waiting for approval in UAT"``
  (chapter 07: ``flovtec.wait_for_pipeline``).

Examples
--------
>>> from flovtrain.views import codepipeline
>>> codepipeline.pipeline_state("flovtrain-webapp-pipeline")[["stage", "status"]]  # doctest: +SKIP
>>> codepipeline.wait_for_execution_to_finish("flovtrain-webapp-pipeline")  # doctest: +SKIP
{'pipelineExecutionId': '...', 'status': 'Succeeded', ...}
>>> codepipeline.wait_for_approval_or_finish("flovtec-webapp")    # doctest: +SKIP
'waiting for approval in UAT'
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain._aws import client, paginate
from flovtrain.exceptions import PipelineTimeout
from flovtrain.views._frames import frame, newest_first, to_utc_column

EXECUTION_COLUMNS = [
    "execution_id",
    "status",
    "trigger",
    "source_commit",
    "source_message",
    "started",
    "updated",
]
STATE_COLUMNS = ["stage", "action", "status", "summary", "execution_id", "last_change", "error"]
ACTION_EXECUTION_COLUMNS = [
    "execution_id",
    "stage",
    "action",
    "status",
    "started",
    "ended",
    "external_id",
    "summary",
]
#: The statuses of an execution that has finished.
EXECUTION_DONE = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")
#: Seconds between two looks while waiting.
POLL_SECONDS = 0.2


# -- executions -----------------------------------------------------------------------------
def iter_pipeline_executions(
    pipeline: str, session: boto3.Session | None = None, region: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``list_pipeline_executions`` summaries (newest first, as AWS returns them).

    Examples
    --------
    >>> next(iter_pipeline_executions("flovtrain-webapp-pipeline"))["status"]  # doctest: +SKIP
    'Succeeded'
    """
    yield from paginate(
        client("codepipeline", session, region),
        "list_pipeline_executions",
        "pipelineExecutionSummaries",
        pipelineName=pipeline,
    )


def newest_executions(
    pipeline: str, session: boto3.Session | None = None, region: str | None = None
) -> list[dict[str, Any]]:
    """Return the pipeline's execution summaries, newest (latest start) first.

    Examples
    --------
    >>> newest_executions("flovtrain-webapp-pipeline")[0]["pipelineExecutionId"]  # doctest: +SKIP
    'a1b2c3d4-...'
    """
    found = list(iter_pipeline_executions(pipeline, session, region))
    return sorted(found, key=lambda e: e.get("startTime") or 0, reverse=True)


def pipeline_executions(
    pipeline: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the pipeline's execution history, newest first: status, trigger and source commit.

    Examples
    --------
    >>> pipeline_executions("flovtrain-webapp-pipeline")[["status", "trigger"]]  # doctest: +SKIP
    """
    rows = []
    for e in iter_pipeline_executions(pipeline, session, region):
        source = (e.get("sourceRevisions") or [{}])[0]
        rows.append(
            {
                "execution_id": e["pipelineExecutionId"],
                "status": e.get("status"),
                "trigger": (e.get("trigger") or {}).get("triggerType"),
                "source_commit": source.get("revisionId"),
                "source_message": (source.get("revisionSummary") or "").strip(),
                "started": e.get("startTime"),
                "updated": e.get("lastUpdateTime"),
            }
        )
    return newest_first(rows, EXECUTION_COLUMNS, "started", "started", "updated")


# -- state ----------------------------------------------------------------------------------
def iter_action_states(
    pipeline: str, session: boto3.Session | None = None, region: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield one dict per action of ``get_pipeline_state``, in pipeline order.

    Keys: ``stage``, ``action``, ``latest`` (the action's ``latestExecution``, or ``{}``),
    ``stage_latest`` (the stage's ``latestExecution``, or ``{}``) and ``execution_id`` (the
    pipeline execution that last reached the stage, or None).

    Examples
    --------
    >>> [(a["stage"], a["latest"].get("status")) for a in iter_action_states("p")]  # doctest: +SKIP
    [('Source', 'Succeeded'), ('Build', 'InProgress')]
    """
    cp = client("codepipeline", session, region)
    for stage in cp.get_pipeline_state(name=pipeline).get("stageStates", []):
        stage_latest = stage.get("latestExecution") or {}
        for action in stage.get("actionStates", []):
            yield {
                "stage": stage["stageName"],
                "action": action["actionName"],
                "latest": action.get("latestExecution") or {},
                "stage_latest": stage_latest,
                "execution_id": stage_latest.get("pipelineExecutionId"),
            }


def pipeline_state(
    pipeline: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the pipeline's stages and actions with their latest status (the pipeline page).

    In pipeline order.

    Examples
    --------
    >>> pipeline_state("flovtrain-webapp-pipeline")[["stage", "action", "status"]]  # doctest: +SKIP
    """
    rows = [
        {
            "stage": a["stage"],
            "action": a["action"],
            "status": a["latest"].get("status") or a["stage_latest"].get("status"),
            "summary": (a["latest"].get("summary") or "").strip(),
            "execution_id": a["execution_id"],
            "last_change": a["latest"].get("lastStatusChange"),
            "error": (a["latest"].get("errorDetails") or {}).get("message"),
        }
        for a in iter_action_states(pipeline, session, region)
    ]
    return to_utc_column(frame(rows, STATE_COLUMNS), "last_change")


def iter_action_executions(
    pipeline: str,
    execution_id: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield ``list_action_executions`` details of one execution (default: of all).

    Examples
    --------
    >>> runs = iter_action_executions("flovtrain-webapp-pipeline")      # doctest: +SKIP
    >>> [a["actionName"] for a in runs]                               # doctest: +SKIP
    ['ApplicationSource', 'PackageAndTest', 'Deploy']
    """
    kwargs: dict[str, Any] = {"pipelineName": pipeline}
    if execution_id:
        kwargs["filter"] = {"pipelineExecutionId": execution_id}
    yield from paginate(
        client("codepipeline", session, region),
        "list_action_executions",
        "actionExecutionDetails",
        **kwargs,
    )


def action_executions(
    pipeline: str,
    execution_id: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Return the action runs of one execution (default: all), in the order they started.

    Examples
    --------
    >>> action_executions("flovtrain-webapp-pipeline")[["stage", "status"]]  # doctest: +SKIP
    """
    rows = []
    for a in iter_action_executions(pipeline, execution_id, session, region):
        out = (a.get("output") or {}).get("executionResult") or {}
        rows.append(
            {
                "execution_id": a.get("pipelineExecutionId"),
                "stage": a.get("stageName"),
                "action": a.get("actionName"),
                "status": a.get("status"),
                "started": a.get("startTime"),
                "ended": a.get("lastUpdateTime"),
                "external_id": out.get("externalExecutionId"),
                "summary": (out.get("externalExecutionSummary") or "").strip(),
            }
        )
    return to_utc_column(
        frame(rows, ACTION_EXECUTION_COLUMNS, sort=["started"]), "started", "ended"
    )


def waiting_approval(
    pipeline: str, session: boto3.Session | None = None, region: str | None = None
) -> dict[str, str] | None:
    """Return the manual approval waiting now, or None.

    Returns
    -------
    dict or None
        ``stageName``, ``actionName`` and ``token`` (what ``put_approval_result`` needs) and
        ``pipelineExecutionId``.

    Examples
    --------
    >>> waiting_approval("flovtec-webapp")["stageName"]              # doctest: +SKIP
    'UAT'
    """
    for a in iter_action_states(pipeline, session, region):
        if a["latest"].get("status") == "InProgress" and a["latest"].get("token"):
            return {
                "stageName": a["stage"],
                "actionName": a["action"],
                "token": a["latest"]["token"],
                "pipelineExecutionId": a["execution_id"],
            }
    return None


# -- waiting --------------------------------------------------------------------------------
def wait_for_execution_to_finish(
    pipeline: str,
    execution_id: str | None = None,
    *,
    newer_than: str | None = None,
    timeout: float = 60,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Wait until a pipeline execution has finished and return ``get_pipeline_execution``'s dict.

    A manual approval keeps the execution in progress: this waits through it (and times out
    if nobody approves); :func:`wait_for_approval_or_finish` stops there instead.

    Parameters
    ----------
    pipeline : str
    execution_id : str, optional
        The execution to wait for. Default: the newest one.
    newer_than : str, optional
        Wait first for an execution other than this one to appear (e.g. the one a
        ``git push`` starts), then for it to finish.
    timeout : float
        Seconds in all.
    session : boto3.Session, optional
        Default: the current connection.
    region : str, optional
        Default: the session's region.

    Returns
    -------
    dict
        The execution: ``status`` is one of :data:`EXECUTION_DONE`.

    Raises
    ------
    PipelineTimeout
        No (new) execution appeared, or it did not finish in time (a ``ProjectTimeout`` too).

    Examples
    --------
    >>> name = "flovtrain-webapp-pipeline"
    >>> before = newest_executions(name)[0]["pipelineExecutionId"]           # doctest: +SKIP
    >>> # ... git push ...
    >>> wait_for_execution_to_finish(name, newer_than=before)["status"]      # doctest: +SKIP
    'Succeeded'
    """
    cp = client("codepipeline", session, region)
    deadline = time.monotonic() + timeout
    wanted = execution_id
    while wanted is None:
        found = newest_executions(pipeline, session, region)
        if found and found[0]["pipelineExecutionId"] != newer_than:
            wanted = found[0]["pipelineExecutionId"]
            break
        if time.monotonic() > deadline:
            what = "new execution" if newer_than else "execution"
            raise PipelineTimeout(f"pipeline {pipeline} started no {what} within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    while True:
        execution = cp.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=wanted)[
            "pipelineExecution"
        ]
        if execution.get("status") in EXECUTION_DONE:
            return execution
        if time.monotonic() > deadline:
            raise PipelineTimeout(
                f"pipeline {pipeline} execution {wanted} is still {execution.get('status')} "
                f"after {timeout:.0f} s (a manual approval waiting?)"
            )
        time.sleep(POLL_SECONDS)


def wait_for_approval_or_finish(
    pipeline: str,
    execution_id: str | None = None,
    timeout: float = 60,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> str:
    """Wait until an execution has finished or waits for a manual approval; say which.

    Parameters
    ----------
    pipeline, execution_id, timeout, session, region
        As for :func:`wait_for_execution_to_finish`; without ``execution_id`` the newest
        execution is looked up again at every look.

    Returns
    -------
    str
        ``"Succeeded"``, ``"Failed"`` (or another of :data:`EXECUTION_DONE`) or
        ``"waiting for approval in <stage>"``.

    Raises
    ------
    PipelineTimeout
        Still running after ``timeout`` seconds (the message says where to look).

    Examples
    --------
    >>> wait_for_approval_or_finish("flovtec-webapp", timeout=60)     # doctest: +SKIP
    'waiting for approval in UAT'
    """
    cp = client("codepipeline", session, region)
    deadline = time.monotonic() + timeout
    while True:
        if execution_id is None:
            runs = cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"]
            run = runs[0] if runs else {}
        else:
            run = cp.get_pipeline_execution(
                pipelineName=pipeline, pipelineExecutionId=execution_id
            )["pipelineExecution"]
        status = run.get("status", "not started")
        if status in EXECUTION_DONE:
            return status
        if status == "InProgress":
            waiting = waiting_approval(pipeline, session, region)
            if waiting and waiting["pipelineExecutionId"] == run["pipelineExecutionId"]:
                return f"waiting for approval in {waiting['stageName']}"
        if time.monotonic() > deadline:
            raise PipelineTimeout(
                f"pipeline {pipeline} is still {status} after {timeout:.0f} s: look at "
                f"flovtec.stage_states({pipeline!r}) for the stage it is in."
            )
        time.sleep(POLL_SECONDS)
