"""CodeDeploy's application revisions: what was registered or deployed, per application.

moto keeps no revisions. Every revision ``register_application_revision`` names or a deployment
deploys is listed here (per account, region and application) with its description, the groups
it went to, and when it was registered, first and last used.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict

from flovtrain.sandbox.seam import AwsError, Call, ProviderBackend


class RevisionsState(ProviderBackend):
    """The revisions of one account and region, by application."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.revisions: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.RLock()


STATE: BackendDict = BackendDict(RevisionsState, "codedeploy")


def _backend(account_id: str, region: str) -> Any:
    from moto.codedeploy.models import codedeploy_backends

    return codedeploy_backends[account_id][region]


def check(revision: dict[str, Any] | None) -> None:
    """Refuse a revision the sandbox cannot deploy (as AWS refuses a malformed one).

    Raises
    ------
    AwsError
        ``RevisionRequiredException``, ``InvalidRevisionException``.
    """
    if not revision:
        raise AwsError("RevisionRequiredException", "The revision ID was not specified.")
    kind = revision.get("revisionType")
    if kind == "GitHub":
        raise AwsError(
            "InvalidRevisionException",
            "GitHub revisions cannot be deployed in the offline flovtrain sandbox. "
            "Upload the bundle to S3 (`aws deploy push`) and deploy revisionType S3.",
        )
    if kind in ("String", "AppSpecContent"):
        raise AwsError(
            "InvalidRevisionException",
            f"A {kind} revision is for AWS Lambda or Amazon ECS deployments; EC2 "
            "deployments need an S3 revision (a zip with appspec.yml).",
        )
    loc = revision.get("s3Location") or {}
    if kind != "S3" or not loc.get("bucket") or not loc.get("key"):
        raise AwsError(
            "InvalidRevisionException",
            "The revision must be revisionType S3 with s3Location.bucket and key.",
        )


def remember(
    account: str,
    region: str,
    app: str,
    revision: dict[str, Any],
    description: str | None = None,
    group: str | None = None,
) -> None:
    """Record ``revision`` of ``app`` (registered, or deployed to ``group``)."""
    now = datetime.now(UTC)
    state = STATE[account][region]
    with state.lock:
        entries = state.revisions.setdefault(app, [])
        for entry in entries:
            if entry["revisionLocation"] == revision:
                break
        else:
            entry = {
                "revisionLocation": revision,
                "description": description or "",
                "deploymentGroups": [],
                "registerTime": now,
            }
            entries.append(entry)
        if description:
            entry["description"] = description
        if group:
            if group not in entry["deploymentGroups"]:
                entry["deploymentGroups"].append(group)
            entry.setdefault("firstUsedTime", now)
            entry["lastUsedTime"] = now


def forget(account_id: str, region: str, application: str) -> None:
    """Drop a deleted application's revisions."""
    state = STATE[account_id][region]
    with state.lock:
        state.revisions.pop(application, None)


def register_application_revision(call: Call) -> dict[str, Any]:
    params = call.params
    _backend(call.account_id, call.region).get_application(params["applicationName"])
    check(params.get("revision"))
    remember(
        call.account_id,
        call.region,
        params["applicationName"],
        params["revision"],
        params.get("description"),
    )
    return {}


def _app_revisions(call: Call, app: str) -> list[dict[str, Any]]:
    _backend(call.account_id, call.region).get_application(app)
    return STATE[call.account_id][call.region].revisions.get(app, [])


def list_application_revisions(call: Call) -> dict[str, Any]:
    params = call.params
    entries = list(_app_revisions(call, params["applicationName"]))
    bucket, prefix = params.get("s3Bucket"), params.get("s3KeyPrefix")
    if bucket:
        entries = [
            e
            for e in entries
            if e["revisionLocation"].get("s3Location", {}).get("bucket") == bucket
            and e["revisionLocation"]["s3Location"].get("key", "").startswith(prefix or "")
        ]
    deployed = params.get("deployed")
    if deployed == "include":
        entries = [e for e in entries if e["deploymentGroups"]]
    elif deployed == "exclude":
        entries = [e for e in entries if not e["deploymentGroups"]]
    sort_by = {
        "registerTime": "registerTime",
        "firstUsedTime": "firstUsedTime",
        "lastUsedTime": "lastUsedTime",
    }.get(params.get("sortBy") or "")
    if sort_by:
        epoch = datetime.fromtimestamp(0, UTC)
        entries.sort(
            key=lambda e: e.get(sort_by) or epoch, reverse=params.get("sortOrder") == "descending"
        )
    return {"revisions": [e["revisionLocation"] for e in entries]}


def _info(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "revisionLocation"}


def get_application_revision(call: Call) -> dict[str, Any]:
    params = call.params
    for entry in _app_revisions(call, params["applicationName"]):
        if entry["revisionLocation"] == params["revision"]:
            return {
                "applicationName": params["applicationName"],
                "revision": entry["revisionLocation"],
                "revisionInfo": _info(entry),
            }
    raise AwsError(
        "RevisionDoesNotExistException",
        "The named revision does not exist with the IAM user or AWS account.",
    )


def batch_get_application_revisions(call: Call) -> dict[str, Any]:
    params = call.params
    entries = _app_revisions(call, params["applicationName"])
    out = []
    for wanted in params.get("revisions") or []:
        for entry in entries:
            if entry["revisionLocation"] == wanted:
                out.append({"revisionLocation": wanted, "genericRevisionInfo": _info(entry)})
    return {"applicationName": params["applicationName"], "revisions": out}
