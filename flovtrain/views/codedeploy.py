"""CodeDeploy as tables: deployments, deployment groups, revisions, instances, lifecycle events.

Examples
--------
>>> from flovtrain.views import codedeploy
>>> history = codedeploy.deployments("flovtrain-webapp")                     # doctest: +SKIP
>>> codedeploy.lifecycle_events(history.deployment_id[0])[["event", "status"]]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain._aws import client, paginate
from flovtrain.views._frames import batch_get, frame, newest_first, renamed, to_utc_column

DEPLOYMENT_COLUMNS = [
    "deployment_id",
    "group",
    "status",
    "creator",
    "revision",
    "created",
    "completed",
    "error",
]
GROUP_COLUMNS = ["group", "application", "deployment_config", "tag_filters", "last_status"]
#: The columns of :func:`revisions`: from a revision's ``s3Location``, then from its
#: ``genericRevisionInfo``.
REVISION_S3_FIELDS = {"bucket": "bucket", "key": "key", "bundle": "bundleType"}
REVISION_INFO_FIELDS = {
    "registered": "registerTime",
    "first_used": "firstUsedTime",
    "last_used": "lastUsedTime",
}
REVISION_COLUMNS = [*REVISION_S3_FIELDS, *REVISION_INFO_FIELDS]
INSTANCE_COLUMNS = ["deployment_id", "instance_id", "status", "last_updated"]
EVENT_COLUMNS = ["instance_id", "event", "status", "started", "ended", "script", "output"]
#: The ``batch_get_*`` calls of CodeDeploy take at most this many ids.
_BATCH = 25


def _deployment_group_names(cd: Any, application: str) -> list[str]:
    return list(
        paginate(cd, "list_deployment_groups", "deploymentGroups", applicationName=application)
    )


def iter_deployments(
    application: str,
    group: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield ``batch_get_deployments`` dicts of the application's deployments.

    Examples
    --------
    >>> [d["status"] for d in iter_deployments("flovtrain-webapp")]   # doctest: +SKIP
    ['Succeeded']
    """
    cd = client("codedeploy", session, region)
    # AWS wants a group whenever an application is named: ask group by group
    groups = [group] if group else _deployment_group_names(cd, application)
    ids = [
        i
        for g in groups
        for i in paginate(
            cd,
            "list_deployments",
            "deployments",
            applicationName=application,
            deploymentGroupName=g,
        )
    ]
    yield from batch_get(cd.batch_get_deployments, "deploymentsInfo", "deploymentIds", ids, _BATCH)


def _revision(rev: dict[str, Any] | None) -> str | None:
    s3 = (rev or {}).get("s3Location") or {}
    return f"s3://{s3['bucket']}/{s3['key']}" if s3.get("bucket") else None


def deployments(
    application: str,
    group: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Return the deployment history, newest first: the console's *Deployments*.

    ``revision`` is ``s3://bucket/key``.

    Examples
    --------
    >>> deployments("flovtrain-webapp")[["deployment_id", "status"]]   # doctest: +SKIP
    """
    rows = [
        {
            "deployment_id": d["deploymentId"],
            "group": d.get("deploymentGroupName"),
            "status": d.get("status"),
            "creator": d.get("creator"),
            "revision": _revision(d.get("revision")),
            "created": d.get("createTime"),
            "completed": d.get("completeTime"),
            "error": (d.get("errorInformation") or {}).get("message"),
        }
        for d in iter_deployments(application, group, session, region)
    ]
    return newest_first(rows, DEPLOYMENT_COLUMNS, "created", "created", "completed")


def deployment_groups(
    application: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the application's deployment groups, their tag filters and last status.

    ``tag_filters`` is ``Key=Value, ...``.

    Examples
    --------
    >>> deployment_groups("flovtrain-webapp")[["group", "tag_filters"]]   # doctest: +SKIP
    """
    cd = client("codedeploy", session, region)
    rows = []
    for name in _deployment_group_names(cd, application):
        g = cd.get_deployment_group(applicationName=application, deploymentGroupName=name)[
            "deploymentGroupInfo"
        ]
        filters = ", ".join(f"{f.get('Key')}={f.get('Value')}" for f in g.get("ec2TagFilters", []))
        last = (g.get("lastAttemptedDeployment") or {}).get("status")
        rows.append(
            {
                "group": name,
                "application": application,
                "deployment_config": g.get("deploymentConfigName"),
                "tag_filters": filters,
                "last_status": last,
            }
        )
    return frame(rows, GROUP_COLUMNS, sort=["group"])


def revisions(
    application: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the application's registered revisions (the zips in S3), newest first.

    Examples
    --------
    >>> revisions("flovtrain-webapp")[["key", "registered"]]   # doctest: +SKIP
    """
    cd = client("codedeploy", session, region)
    found = list(
        paginate(cd, "list_application_revisions", "revisions", applicationName=application)
    )
    rows = []
    for item in batch_get(
        cd.batch_get_application_revisions,
        "revisions",
        "revisions",
        found,
        _BATCH,
        applicationName=application,
    ):
        s3 = (item.get("revisionLocation") or {}).get("s3Location") or {}
        info = item.get("genericRevisionInfo") or {}
        rows.append({**renamed(s3, REVISION_S3_FIELDS), **renamed(info, REVISION_INFO_FIELDS)})
    return newest_first(
        rows, REVISION_COLUMNS, "registered", "registered", "first_used", "last_used"
    )


def iter_deployment_instances(
    deployment_id: str, session: boto3.Session | None = None, region: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``get_deployment_instance`` summaries (with their lifecycle events) of a deployment.

    Examples
    --------
    >>> [i["status"] for i in iter_deployment_instances("d-ABC123")]   # doctest: +SKIP
    ['Succeeded']
    """
    cd = client("codedeploy", session, region)
    for i in list(
        paginate(cd, "list_deployment_instances", "instancesList", deploymentId=deployment_id)
    ):
        yield cd.get_deployment_instance(deploymentId=deployment_id, instanceId=i)[
            "instanceSummary"
        ]


def _instance_id(summary: dict[str, Any]) -> str:
    return (summary.get("instanceId") or "").rsplit("/", 1)[-1]


def deployment_instances(
    deployment_id: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the instances a deployment ran on and their status.

    By instance id.

    Examples
    --------
    >>> deployment_instances("d-ABC123")[["instance_id", "status"]]   # doctest: +SKIP
    """
    rows = [
        {
            "deployment_id": deployment_id,
            "instance_id": _instance_id(s),
            "status": s.get("status"),
            "last_updated": s.get("lastUpdatedAt"),
        }
        for s in iter_deployment_instances(deployment_id, session, region)
    ]
    return to_utc_column(frame(rows, INSTANCE_COLUMNS, sort=["instance_id"]), "last_updated")


def lifecycle_events(
    deployment_id: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return every instance's lifecycle events (ApplicationStop ... ValidateService) in order,
    with the script that ran and the tail of its output.

    Examples
    --------
    >>> lifecycle_events("d-ABC123")[["event", "status", "script"]]   # doctest: +SKIP
    """
    rows = []
    for s in iter_deployment_instances(deployment_id, session, region):
        for e in s.get("lifecycleEvents", []):
            diag = e.get("diagnostics") or {}
            rows.append(
                {
                    "instance_id": _instance_id(s),
                    "event": e.get("lifecycleEventName"),
                    "status": e.get("status"),
                    "started": e.get("startTime"),
                    "ended": e.get("endTime"),
                    "script": diag.get("scriptName"),
                    "output": (diag.get("logTail") or "").strip(),
                }
            )
    return to_utc_column(frame(rows, EVENT_COLUMNS), "started", "ended")
