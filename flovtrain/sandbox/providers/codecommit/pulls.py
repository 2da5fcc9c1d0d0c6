"""CodeCommit pull requests: one target each, merged by fast-forward or squash.

Pull requests are kept per account and region; their ids come from one counter per process,
so an id names one pull request wherever it was created.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict

from flovtrain.sandbox.engines import gitstore
from flovtrain.sandbox.providers.codecommit.repos import _err, _repo_exists, _require
from flovtrain.sandbox.seam import AwsError, Call, ProviderBackend


class PullRequestsState(ProviderBackend):
    """The pull requests of one account and region, by id."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.pull_requests: dict[str, dict[str, Any]] = {}


STATE: BackendDict = BackendDict(PullRequestsState, "codecommit")
_ids = itertools.count(1)
_ids_lock = threading.Lock()


def restart_ids() -> None:
    """Number the next pull request 1 again (sandbox reset)."""
    global _ids
    with _ids_lock:
        _ids = itertools.count(1)


def _pull_requests(call: Call) -> dict[str, dict[str, Any]]:
    return STATE[call.account_id][call.region].pull_requests


def _caller_arn(call: Call) -> str:
    return f"arn:aws:iam::{call.account_id}:root"


def _pr(call: Call, pr_id: str | None) -> dict[str, Any]:
    if not pr_id:
        raise AwsError("PullRequestIdRequiredException", "pullRequestId is required.")
    pr = _pull_requests(call).get(str(pr_id))
    if pr is None:
        raise AwsError("PullRequestDoesNotExistException", f"Pull request {pr_id} does not exist")
    return pr


def _public(pr: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pr.items() if not k.startswith("_")}


def _refresh(call: Call, pr: dict[str, Any]) -> None:
    """Update source/destination commits of an open pull request from the branches."""
    if pr["pullRequestStatus"] != "OPEN":
        return
    for target in pr["pullRequestTargets"]:
        name = target["repositoryName"]
        src = gitstore.head(call.account_id, call.region, name, _branch(target["sourceReference"]))
        dst = gitstore.head(
            call.account_id, call.region, name, _branch(target["destinationReference"])
        )
        if src and dst:
            target["sourceCommit"], target["destinationCommit"] = src, dst
            base = gitstore.merge_base(call.account_id, call.region, name, dst, src)
            if base:
                target["mergeBase"] = base


def _branch(reference: str) -> str:
    return reference[len("refs/heads/") :] if reference.startswith("refs/heads/") else reference


def create_pull_request(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "title", "targets")
    if len(params["targets"]) != 1:
        raise AwsError(
            "MultipleRepositoriesInPullRequestException",
            "A pull request in the sandbox has exactly one target.",
        )
    target = params["targets"][0]
    name = target.get("repositoryName", "")
    _repo_exists(call, name)
    source = target.get("sourceReference")
    if not source:
        raise AwsError("ReferenceNameRequiredException", "sourceReference is required.")
    destination = target.get("destinationReference") or gitstore.default_branch(
        call.account_id, call.region, name
    )
    for ref in (source, destination):
        if not ref or gitstore.head(call.account_id, call.region, name, _branch(ref)) is None:
            raise AwsError(
                "ReferenceDoesNotExistException", f"The branch {ref} does not exist in {name}."
            )
    if _branch(source) == _branch(destination):
        raise AwsError(
            "SourceAndDestinationAreSameException",
            "The source and destination branches are the same.",
        )
    now = datetime.now(UTC)
    with _ids_lock:
        pr_id = str(next(_ids))
    pr: dict[str, Any] = {
        "pullRequestId": pr_id,
        "title": params["title"],
        "description": params.get("description", ""),
        "lastActivityDate": now,
        "creationDate": now,
        "pullRequestStatus": "OPEN",
        "authorArn": _caller_arn(call),
        "pullRequestTargets": [
            {
                "repositoryName": name,
                "sourceReference": source if source.startswith("refs/") else f"refs/heads/{source}",
                "destinationReference": destination
                if destination.startswith("refs/")
                else f"refs/heads/{destination}",
                "mergeMetadata": {"isMerged": False},
            }
        ],
        "clientRequestToken": params.get("clientRequestToken") or str(uuid.uuid4()),
        "revisionId": uuid.uuid4().hex,
        "approvalRules": [],
    }
    _refresh(call, pr)
    _pull_requests(call)[pr_id] = pr
    return {"pullRequest": _public(pr)}


def get_pull_request(call: Call) -> dict[str, Any]:
    pr = _pr(call, call.params.get("pullRequestId"))
    _refresh(call, pr)
    return {"pullRequest": _public(pr)}


def list_pull_requests(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName")
    _repo_exists(call, params["repositoryName"])
    ids = []
    for pr_id, pr in sorted(_pull_requests(call).items(), key=lambda kv: -int(kv[0])):
        if pr["pullRequestTargets"][0]["repositoryName"] != params["repositoryName"]:
            continue
        if (
            params.get("pullRequestStatus")
            and pr["pullRequestStatus"] != params["pullRequestStatus"]
        ):
            continue
        if params.get("authorArn") and pr["authorArn"] != params["authorArn"]:
            continue
        ids.append(pr_id)
    return {"pullRequestIds": ids}


def update_pull_request_status(call: Call) -> dict[str, Any]:
    params = call.params
    pr = _pr(call, params.get("pullRequestId"))
    status = params.get("pullRequestStatus")
    if status not in ("OPEN", "CLOSED"):
        raise AwsError("InvalidPullRequestStatusException", "pullRequestStatus is OPEN or CLOSED.")
    if pr["pullRequestStatus"] == "CLOSED" and status == "OPEN":
        raise AwsError(
            "InvalidPullRequestStatusUpdateException", "A closed pull request cannot be reopened."
        )
    pr["pullRequestStatus"] = status
    pr["lastActivityDate"] = datetime.now(UTC)
    return {"pullRequest": _public(pr)}


def _merge_checks(call: Call, pr: dict[str, Any]) -> dict[str, Any]:
    params = call.params
    if pr["pullRequestStatus"] != "OPEN":
        raise AwsError(
            "PullRequestAlreadyClosedException",
            f"Pull request {pr['pullRequestId']} is already closed.",
        )
    target = pr["pullRequestTargets"][0]
    if params.get("repositoryName") and params["repositoryName"] != target["repositoryName"]:
        raise AwsError(
            "RepositoryNotAssociatedWithPullRequestException",
            f"Pull request {pr['pullRequestId']} is not for {params['repositoryName']}.",
        )
    _refresh(call, pr)
    if params.get("sourceCommitId") and params["sourceCommitId"] != target["sourceCommit"]:
        raise AwsError(
            "TipOfSourceReferenceIsDifferentException",
            "The source branch moved: its tip is not sourceCommitId.",
        )
    return target


def _finish_merge(
    call: Call, pr: dict[str, Any], target: dict[str, Any], commit: str, old: str, option: str
) -> dict[str, Any]:
    """Move the destination branch from ``old`` to ``commit``; close the pull request merged."""
    try:
        gitstore.set_branch(
            call.account_id,
            call.region,
            target["repositoryName"],
            _branch(target["destinationReference"]),
            commit,
            expected_old=old,
        )
    except gitstore.GitRepoError as exc:
        raise _err(exc) from None
    target["mergeMetadata"] = {
        "isMerged": True,
        "mergedBy": _caller_arn(call),
        "mergeCommitId": commit,
        "mergeOption": option,
    }
    target["destinationCommit"] = commit
    pr["pullRequestStatus"] = "CLOSED"
    pr["lastActivityDate"] = datetime.now(UTC)
    return {"pullRequest": _public(pr)}


def merge_pull_request_by_fast_forward(call: Call) -> dict[str, Any]:
    pr = _pr(call, call.params.get("pullRequestId"))
    target = _merge_checks(call, pr)
    name = target["repositoryName"]
    src, dst = target["sourceCommit"], target["destinationCommit"]
    if not gitstore.can_fast_forward(call.account_id, call.region, name, dst, src):
        raise AwsError(
            "ManualMergeRequiredException",
            "The destination branch has commits the source lacks: a fast-forward "
            "merge is not possible. Merge by squash or rebase the source branch.",
        )
    return _finish_merge(call, pr, target, src, dst, "FAST_FORWARD_MERGE")


def merge_pull_request_by_squash(call: Call) -> dict[str, Any]:
    params = call.params
    pr = _pr(call, params.get("pullRequestId"))
    target = _merge_checks(call, pr)
    name = target["repositoryName"]
    src, dst = target["sourceCommit"], target["destinationCommit"]
    message = params.get("commitMessage") or f"Merged PR {pr['pullRequestId']}: {pr['title']}"
    try:
        commit = gitstore.squash(
            call.account_id,
            call.region,
            name,
            src,
            dst,
            message,
            params.get("authorName"),
            params.get("email"),
        )
    except gitstore.GitRepoError as exc:
        raise _err(exc) from None
    return _finish_merge(call, pr, target, commit, dst, "SQUASH_MERGE")
