"""CodeBuild as tables: a project's build history, one build's phases, its log.

Examples
--------
>>> from flovtrain.views import codebuild
>>> history = codebuild.builds("flovtrain-webapp")               # doctest: +SKIP
>>> codebuild.build_phases(history.build_id[0])                 # doctest: +SKIP
>>> print(codebuild.build_log(history.build_id[0]))             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain._aws import client, paginate
from flovtrain.session import get_session
from flovtrain.views._frames import batch_get, frame, newest_first, seconds_between

BUILD_COLUMNS = [
    "build_id",
    "number",
    "status",
    "current_phase",
    "source_version",
    "started",
    "ended",
    "duration_s",
    "artifact",
]
PHASE_COLUMNS = ["phase", "status", "duration_s", "message"]
#: ``batch_get_builds`` takes at most this many ids.
_BATCH = 100


def iter_builds(
    project: str, session: boto3.Session | None = None, region: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``batch_get_builds`` dicts of the project's builds, newest first.

    Examples
    --------
    >>> next(iter_builds("flovtrain-webapp"))["buildStatus"]      # doctest: +SKIP
    'SUCCEEDED'
    """
    cb = client("codebuild", session, region)
    ids = list(
        paginate(cb, "list_builds_for_project", "ids", projectName=project, sortOrder="DESCENDING")
    )
    yield from batch_get(cb.batch_get_builds, "builds", "ids", ids, _BATCH)


def builds(
    project: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the build history of a CodeBuild project: the console's *Build history*.

    Newest (highest build number) first.

    Examples
    --------
    >>> builds("flovtrain-webapp")[["number", "status", "current_phase"]]   # doctest: +SKIP
    """
    rows = []
    for b in iter_builds(project, session, region):
        rows.append(
            {
                "build_id": b["id"],
                "number": b.get("buildNumber"),
                "status": b.get("buildStatus"),
                "current_phase": b.get("currentPhase"),
                "source_version": b.get("resolvedSourceVersion") or b.get("sourceVersion"),
                "started": b.get("startTime"),
                "ended": b.get("endTime"),
                "duration_s": seconds_between(b.get("startTime"), b.get("endTime")),
                "artifact": (b.get("artifacts") or {}).get("location"),
            }
        )
    return newest_first(rows, BUILD_COLUMNS, "number", "started", "ended")


def _build(cb: Any, build_id: str) -> dict[str, Any]:
    found = cb.batch_get_builds(ids=[build_id])["builds"]
    if not found:
        raise LookupError(f"no build {build_id}: see devtools.builds(<project>) for the ids")
    return found[0]


def build_phases(
    build_id: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return one build's phases in order, with status, duration and the failure message.

    A build id that CodeBuild does not know raises ``LookupError``.

    Examples
    --------
    >>> build_phases(builds("flovtrain-webapp").build_id[0])   # doctest: +SKIP
    """
    rows = []
    for p in _build(client("codebuild", session, region), build_id).get("phases", []):
        message = "; ".join(c.get("message", "") for c in p.get("contexts", []) if c.get("message"))
        rows.append(
            {
                "phase": p.get("phaseType"),
                "status": p.get("phaseStatus"),
                "duration_s": p.get("durationInSeconds"),
                "message": message,
            }
        )
    return frame(rows, PHASE_COLUMNS)


def build_log(
    build_id: str, session: boto3.Session | None = None, region: str | None = None
) -> str:
    """Return a build's log from CloudWatch Logs (``/aws/codebuild/<project>``), as one text.

    Empty while the build has no log stream yet; an unknown build id raises ``LookupError``.

    Examples
    --------
    >>> print(build_log(builds("flovtrain-webapp").build_id[0]))   # doctest: +SKIP
    """
    session = get_session(session, region)
    logs = _build(session.client("codebuild", region_name=region), build_id).get("logs") or {}
    group, stream = logs.get("groupName"), logs.get("streamName")
    if not group or not stream:
        return ""
    cw = session.client("logs", region_name=region)
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    while True:  # get_log_events has no paginator: its forward token repeats at the end
        page = cw.get_log_events(**kwargs)
        lines.extend(e["message"].rstrip("\n") for e in page.get("events", []))
        token = page.get("nextForwardToken")
        if not page.get("events") or token == kwargs.get("nextToken"):
            break
        kwargs["nextToken"] = token
    return "\n".join(lines)
