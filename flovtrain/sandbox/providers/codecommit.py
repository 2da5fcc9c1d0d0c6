"""CodeCommit provider: moto keeps the records, :mod:`flovtrain.sandbox.gitrepos` the git data.

moto 5.2.5 only stores create/get/delete_repository and points ``cloneUrlHttp`` at the real AWS
host. Here every repository is a real bare git repository served by the sandbox
(``git clone``/``push``/``pull`` work), and the API reads and writes the same repositories:
branches, commits, files, folders, differences and pull requests. Git tags pushed are kept as
git refs (CodeCommit has no tag API besides resource tags).
"""

from __future__ import annotations

import itertools
import posixpath
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from dulwich.diff_tree import tree_changes
from dulwich.graph import can_fast_forward, find_merge_base
from dulwich.object_store import commit_tree_changes, tree_lookup_path
from dulwich.objects import Commit, Tree
from moto.codecommit.models import codecommit_backends
from moto.codecommit.responses import CodeCommitResponse

from flovtrain.sandbox import gitrepos
from flovtrain.sandbox.seam import AwsError, Call, Provider

_pull_requests: dict[tuple[str, str], dict[str, Any]] = {}
_pr_counter = itertools.count(1)
_pr_lock = threading.Lock()


# -- helpers --------------------------------------------------------------------------------
def _err(exc: gitrepos.GitRepoError) -> AwsError:
    return AwsError(exc.code, exc.message)


def _require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, "", [], {}):
            code = {
                "repositoryName": "RepositoryNameRequiredException",
                "branchName": "BranchNameRequiredException",
                "commitId": "CommitIdRequiredException",
                "filePath": "PathRequiredException",
                "folderPath": "PathRequiredException",
                "afterCommitSpecifier": "CommitRequiredException",
                "pullRequestId": "PullRequestIdRequiredException",
                "title": "TitleRequiredException",
                "targets": "TargetsRequiredException",
                "fileContent": "FileContentRequiredException",
            }.get(name, "InvalidParameterException")
            raise AwsError(code, f"{name} is required.")


def _repo_exists(call: Call, name: str) -> None:
    """Raise CodeCommit's error when the repository is not there (record or git data)."""
    if not name:
        raise AwsError("RepositoryNameRequiredException", "A repository name is required.")
    try:
        gitrepos.repo_path(call.account_id, call.region, name)
    except gitrepos.GitRepoError as exc:
        raise _err(exc) from None
    backend = codecommit_backends[call.account_id][call.region]
    if name not in backend.repositories:
        raise AwsError("RepositoryDoesNotExistException", f"{name} does not exist")
    if not gitrepos.exists(call.account_id, call.region, name):
        gitrepos.init(call.account_id, call.region, name)


@contextmanager
def _open_repo(call: Call, *required: str) -> Iterator[Any]:
    """Check the request (repositoryName and ``required``) and the repository; hold its lock."""
    params = call.params
    _require(params, "repositoryName", *required)
    _repo_exists(call, params["repositoryName"])
    with gitrepos.locked(call.account_id, call.region, params["repositoryName"]) as repo:
        yield repo


def _git_date(seconds: int, offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    return f"{seconds} {sign}{offset // 3600:02d}{(offset % 3600) // 60:02d}"


def _person(raw: bytes, seconds: int, offset: int) -> dict[str, str]:
    text = raw.decode(errors="replace")
    name, _, email = text.partition(" <")
    return {"name": name, "email": email.rstrip(">"), "date": _git_date(seconds, offset)}


def _commit_dict(commit: Commit) -> dict[str, Any]:
    return {
        "commitId": commit.id.decode(),
        "treeId": commit.tree.decode(),
        "parents": [p.decode() for p in commit.parents],
        "message": commit.message.decode(errors="replace"),
        "author": _person(commit.author, commit.author_time, commit.author_timezone),
        "committer": _person(commit.committer, commit.commit_time, commit.commit_timezone),
        "additionalData": "",
    }


def _mode_name(mode: int) -> str:
    return gitrepos.MODE_NAMES.get(mode, "NORMAL")


def _mode_value(name: str | None) -> int:
    if not name:
        return gitrepos.FILE_MODES["NORMAL"]
    if name not in gitrepos.FILE_MODES:
        raise AwsError(
            "InvalidFileModeException",
            f"fileMode {name!r} is not valid: use NORMAL, EXECUTABLE or SYMLINK.",
        )
    return gitrepos.FILE_MODES[name]


def _content(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return b""


# -- repositories ---------------------------------------------------------------------------
def create_repository(call: Call) -> dict[str, Any]:
    params = call.params
    name = params.get("repositoryName", "")
    try:
        gitrepos.repo_path(call.account_id, call.region, name)
    except gitrepos.GitRepoError as exc:
        raise _err(exc) from None
    call.moto()  # validates, stores the record, raises RepositoryNameExistsException
    gitrepos.init(call.account_id, call.region, name)
    return {"repositoryMetadata": gitrepos.metadata(call.account_id, call.region, name)}


def get_repository(call: Call) -> dict[str, Any]:
    name = call.params.get("repositoryName", "")
    _repo_exists(call, name)
    return {"repositoryMetadata": gitrepos.metadata(call.account_id, call.region, name)}


def batch_get_repositories(call: Call) -> dict[str, Any]:
    names = call.params.get("repositoryNames") or []
    backend = codecommit_backends[call.account_id][call.region]
    found, missing = [], []
    for name in names:
        if name in backend.repositories:
            found.append(gitrepos.metadata(call.account_id, call.region, name))
        else:
            missing.append(name)
    return {
        "repositories": found,
        "repositoriesNotFound": missing,
        "errors": [
            {
                "repositoryName": n,
                "errorCode": "RepositoryDoesNotExistException",
                "errorMessage": f"{n} does not exist",
            }
            for n in missing
        ],
    }


def list_repositories(call: Call) -> dict[str, Any]:
    params = call.params
    backend = codecommit_backends[call.account_id][call.region]
    records = [r.repository_metadata for r in backend.repositories.values()]
    if params.get("sortBy") == "lastModifiedDate":
        records.sort(key=lambda r: r["lastModifiedDate"])
    else:
        records.sort(key=lambda r: r["repositoryName"])
    if params.get("order") == "descending":
        records.reverse()
    start = int(params.get("nextToken") or 0)
    page = records[start : start + 1000]
    result: dict[str, Any] = {
        "repositories": [
            {"repositoryName": r["repositoryName"], "repositoryId": r["repositoryId"]} for r in page
        ]
    }
    if start + 1000 < len(records):
        result["nextToken"] = str(start + 1000)
    return result


def delete_repository(call: Call) -> dict[str, Any]:
    name = call.params.get("repositoryName", "")
    backend = codecommit_backends[call.account_id][call.region]
    record = backend.repositories.get(name)
    if record is None:
        return {}
    repo_id = record.repository_metadata["repositoryId"]
    gitrepos.delete(call.account_id, call.region, name)
    return {"repositoryId": repo_id}


def update_repository_description(call: Call) -> dict[str, Any]:
    name = call.params.get("repositoryName", "")
    _repo_exists(call, name)
    record = codecommit_backends[call.account_id][call.region].repositories[name]
    record.repository_metadata["repositoryDescription"] = call.params.get(
        "repositoryDescription", ""
    )
    return {}


def update_default_branch(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName")
    _repo_exists(call, params["repositoryName"])
    if not params.get("defaultBranchName"):
        raise AwsError("BranchNameRequiredException", "defaultBranchName is required.")
    try:
        gitrepos.set_default_branch(
            call.account_id, call.region, params["repositoryName"], params["defaultBranchName"]
        )
    except gitrepos.GitRepoError as exc:
        raise _err(exc) from None
    return {}


# -- branches -------------------------------------------------------------------------------
def get_branch(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName", "branchName")
    _repo_exists(call, params["repositoryName"])
    sha = gitrepos.head(
        call.account_id, call.region, params["repositoryName"], params["branchName"]
    )
    if sha is None:
        raise AwsError(
            "BranchDoesNotExistException",
            f"Branch {params['branchName']} does not exist in {params['repositoryName']}",
        )
    return {"branch": {"branchName": params["branchName"], "commitId": sha}}


def list_branches(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName")
    _repo_exists(call, params["repositoryName"])
    return {
        "branches": sorted(
            gitrepos.branches(call.account_id, call.region, params["repositoryName"])
        )
    }


def create_branch(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName", "branchName", "commitId")
    name, branch = params["repositoryName"], params["branchName"]
    _repo_exists(call, name)
    if gitrepos.head(call.account_id, call.region, name, branch) is not None:
        raise AwsError("BranchNameExistsException", f"Branch {branch} already exists in {name}")
    try:
        gitrepos.set_branch(
            call.account_id, call.region, name, branch, params["commitId"], expected_old=None
        )
    except gitrepos.GitRepoError as exc:
        if exc.code == "CommitDoesNotExistException":
            raise AwsError(
                "CommitDoesNotExistException",
                f"Commit {params['commitId']} does not exist in {name}",
            ) from None
        raise _err(exc) from None
    return {}


def delete_branch(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName", "branchName")
    name, branch = params["repositoryName"], params["branchName"]
    _repo_exists(call, name)
    if gitrepos.default_branch(call.account_id, call.region, name) == branch:
        raise AwsError(
            "DefaultBranchCannotBeDeletedException",
            f"{branch} is the default branch of {name}: make another branch the "
            "default first (update_default_branch).",
        )
    try:
        sha = gitrepos.delete_branch(call.account_id, call.region, name, branch)
    except gitrepos.GitRepoError as exc:
        raise _err(exc) from None
    return {"deletedBranch": {"branchName": branch, "commitId": sha}}


# -- commits, files, folders ----------------------------------------------------------------
def get_commit(call: Call) -> dict[str, Any]:
    params = call.params
    with _open_repo(call, "commitId") as repo:
        try:
            obj = repo[params["commitId"].encode()]
        except (KeyError, ValueError, AssertionError):
            obj = None
        if not isinstance(obj, Commit):
            raise AwsError(
                "CommitIdDoesNotExistException",
                f"Commit {params['commitId']} does not exist in {params['repositoryName']}",
            )
        return {"commit": _commit_dict(obj)}


def _resolve(repo: Any, spec: str | None) -> bytes:
    try:
        return gitrepos.resolve(repo, spec)
    except gitrepos.GitRepoError as exc:
        raise _err(exc) from None


def get_file(call: Call) -> dict[str, Any]:
    params = call.params
    with _open_repo(call, "filePath") as repo:
        sha = _resolve(repo, params.get("commitSpecifier"))
        path = params["filePath"].strip("/")
        try:
            mode, blob_id = tree_lookup_path(repo.__getitem__, repo[sha].tree, path.encode())
        except (KeyError, NotADirectoryError):
            mode, blob_id = 0, b""
        if not blob_id or mode == 0o040000:
            raise AwsError(
                "FileDoesNotExistException",
                f"The file {params['filePath']} does not exist at commit "
                f"{sha.decode()} in {params['repositoryName']}.",
            )
        content = repo[blob_id].as_raw_string()
        return {
            "commitId": sha.decode(),
            "blobId": blob_id.decode(),
            "filePath": path,
            "fileMode": _mode_name(mode),
            "fileSize": len(content),
            "fileContent": content,
        }


def get_folder(call: Call) -> dict[str, Any]:
    params = call.params
    with _open_repo(call, "folderPath") as repo:
        sha = _resolve(repo, params.get("commitSpecifier"))
        folder = params["folderPath"].strip("/")
        tree_id = repo[sha].tree
        if folder:
            try:
                mode, tree_id = tree_lookup_path(repo.__getitem__, tree_id, folder.encode())
            except (KeyError, NotADirectoryError):
                mode = 0
            if mode != 0o040000:
                raise AwsError(
                    "FolderDoesNotExistException",
                    f"The folder {params['folderPath']} does not exist at commit {sha.decode()}.",
                )
        result: dict[str, Any] = {
            "commitId": sha.decode(),
            "folderPath": "/" + folder,
            "treeId": tree_id.decode(),
            "subFolders": [],
            "files": [],
            "symbolicLinks": [],
            "subModules": [],
        }
        tree: Tree = repo[tree_id]
        for entry in tree.iteritems():
            rel = entry.path.decode()
            absolute = posixpath.join(folder, rel) if folder else rel
            if entry.mode == 0o040000:
                result["subFolders"].append(
                    {"treeId": entry.sha.decode(), "absolutePath": absolute, "relativePath": rel}
                )
            elif entry.mode == 0o160000:
                result["subModules"].append(
                    {"commitId": entry.sha.decode(), "absolutePath": absolute, "relativePath": rel}
                )
            else:
                key = "symbolicLinks" if entry.mode == 0o120000 else "files"
                result[key].append(
                    {
                        "blobId": entry.sha.decode(),
                        "absolutePath": absolute,
                        "relativePath": rel,
                        "fileMode": _mode_name(entry.mode),
                    }
                )
        return result


def put_file(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName", "branchName", "filePath")
    name = params["repositoryName"]
    _repo_exists(call, name)
    content = _content(params.get("fileContent"))
    path = params["filePath"]
    mode = _mode_value(params.get("fileMode"))
    # AWS: same content at the tip is an error, not an empty commit.
    tip = gitrepos.head(call.account_id, call.region, name, params["branchName"])
    if tip and params.get("parentCommitId") == tip:
        try:
            files = gitrepos.tree_files(call.account_id, call.region, name, tip)
        except gitrepos.GitRepoError:
            files = {}
        if files.get(path.strip("/")) == content:
            raise AwsError(
                "SameFileContentException",
                f"The file {path} already has this content on {params['branchName']}; "
                "nothing to commit.",
            )
    try:
        result = gitrepos.commit_changes(
            call.account_id,
            call.region,
            name,
            params["branchName"],
            params.get("parentCommitId"),
            [(path, mode, content)],
            message=params.get("commitMessage") or f"Added {path}",
            author=params.get("name"),
            email=params.get("email"),
        )
    except gitrepos.GitRepoError as exc:
        raise _err(exc) from None
    blob_id = (result["added"] or result["updated"])[0][1]
    return {"commitId": result["commitId"], "blobId": blob_id, "treeId": result["treeId"]}


def create_commit(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName", "branchName")
    name, branch = params["repositoryName"], params["branchName"]
    _repo_exists(call, name)
    puts: list[tuple[str, int, bytes]] = []
    deletes: list[str] = []
    current: dict[str, bytes] = {}
    parent = params.get("parentCommitId")
    if parent:
        try:
            current = gitrepos.tree_files(call.account_id, call.region, name, parent)
        except gitrepos.GitRepoError:
            current = {}
    for item in params.get("putFiles") or []:
        if "sourceFile" in item and item["sourceFile"]:
            source = item["sourceFile"]["filePath"].strip("/")
            if source not in current:
                raise AwsError(
                    "FileDoesNotExistException", f"The source file {source} does not exist."
                )
            content = current[source]
            if item["sourceFile"].get("isMove"):
                deletes.append(source)
        else:
            content = _content(item.get("fileContent"))
        puts.append((item["filePath"], _mode_value(item.get("fileMode")), content))
    for item in params.get("deleteFiles") or []:
        deletes.append(item["filePath"])
    for item in params.get("setFileModes") or []:
        path = item["filePath"].strip("/")
        if path not in current:
            raise AwsError("FileDoesNotExistException", f"The file {path} does not exist.")
        puts.append((path, _mode_value(item.get("fileMode")), current[path]))
    if not puts and not deletes:
        raise AwsError(
            "NoChangeException",
            "The commit has no changes: give putFiles, deleteFiles or setFileModes.",
        )
    try:
        result = gitrepos.commit_changes(
            call.account_id,
            call.region,
            name,
            branch,
            parent,
            puts,
            deletes,
            message=params.get("commitMessage") or "",
            author=params.get("authorName"),
            email=params.get("email"),
        )
    except gitrepos.GitRepoError as exc:
        raise _err(exc) from None

    def meta(items: list[tuple[str, str, int]]) -> list[dict[str, str]]:
        return [{"absolutePath": p, "blobId": b, "fileMode": _mode_name(m)} for p, b, m in items]

    return {
        "commitId": result["commitId"],
        "treeId": result["treeId"],
        "filesAdded": meta(result["added"]),
        "filesUpdated": meta(result["updated"]),
        "filesDeleted": meta(result["deleted"]),
    }


def get_differences(call: Call) -> dict[str, Any]:
    params = call.params
    with _open_repo(call, "afterCommitSpecifier") as repo:
        after = _resolve(repo, params["afterCommitSpecifier"])
        before_tree = None
        if params.get("beforeCommitSpecifier"):
            before_tree = repo[_resolve(repo, params["beforeCommitSpecifier"])].tree
        diffs = []
        prefixes = [p.strip("/") for p in (params.get("beforePath"), params.get("afterPath")) if p]
        for change in tree_changes(repo.object_store, before_tree, repo[after].tree):
            kind = {"add": "A", "delete": "D"}.get(change.type, "M")
            entry: dict[str, Any] = {"changeType": kind}
            if change.old and change.old.path is not None:
                entry["beforeBlob"] = {
                    "blobId": change.old.sha.decode(),
                    "path": change.old.path.decode(),
                    "mode": f"{change.old.mode:06o}",
                }
            if change.new and change.new.path is not None:
                entry["afterBlob"] = {
                    "blobId": change.new.sha.decode(),
                    "path": change.new.path.decode(),
                    "mode": f"{change.new.mode:06o}",
                }
            path = (entry.get("afterBlob") or entry.get("beforeBlob"))["path"]
            if prefixes and not any(path == p or path.startswith(p + "/") for p in prefixes):
                continue
            diffs.append(entry)
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 100)
    result: dict[str, Any] = {"differences": diffs[start : start + size]}
    if start + size < len(diffs):
        result["NextToken"] = str(start + size)
    return result


# -- pull requests --------------------------------------------------------------------------
def _caller_arn(call: Call) -> str:
    return f"arn:aws:iam::{call.account_id}:root"


def _pr(call: Call, pr_id: str | None) -> dict[str, Any]:
    if not pr_id:
        raise AwsError("PullRequestIdRequiredException", "pullRequestId is required.")
    pr = _pull_requests.get((call.account_id, str(pr_id)))
    if pr is None or pr["_region"] != call.region:
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
        src = gitrepos.head(call.account_id, call.region, name, _branch(target["sourceReference"]))
        dst = gitrepos.head(
            call.account_id, call.region, name, _branch(target["destinationReference"])
        )
        if src and dst:
            target["sourceCommit"], target["destinationCommit"] = src, dst
            with gitrepos.locked(call.account_id, call.region, name) as repo:
                bases = find_merge_base(repo, [dst.encode(), src.encode()])
            if bases:
                target["mergeBase"] = bases[0].decode()


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
    destination = target.get("destinationReference") or gitrepos.default_branch(
        call.account_id, call.region, name
    )
    for ref in (source, destination):
        if not ref or gitrepos.head(call.account_id, call.region, name, _branch(ref)) is None:
            raise AwsError(
                "ReferenceDoesNotExistException", f"The branch {ref} does not exist in {name}."
            )
    if _branch(source) == _branch(destination):
        raise AwsError(
            "SourceAndDestinationAreSameException",
            "The source and destination branches are the same.",
        )
    now = datetime.now(UTC)
    with _pr_lock:
        pr_id = str(next(_pr_counter))
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
        "_region": call.region,
    }
    _refresh(call, pr)
    _pull_requests[(call.account_id, pr_id)] = pr
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
    for (account, pr_id), pr in sorted(_pull_requests.items(), key=lambda kv: -int(kv[0][1])):
        if account != call.account_id or pr["_region"] != call.region:
            continue
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
        gitrepos.set_branch(
            call.account_id,
            call.region,
            target["repositoryName"],
            _branch(target["destinationReference"]),
            commit,
            expected_old=old,
        )
    except gitrepos.GitRepoError as exc:
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
    with gitrepos.locked(call.account_id, call.region, name) as repo:
        fast = can_fast_forward(repo, dst.encode(), src.encode())
    if not fast:
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
    src, dst = target["sourceCommit"].encode(), target["destinationCommit"].encode()
    with gitrepos.locked(call.account_id, call.region, name) as repo:
        bases = find_merge_base(repo, [dst, src])
        base_tree = repo[bases[0]].tree if bases else None
        theirs = {
            c.new.path or c.old.path: c
            for c in tree_changes(repo.object_store, base_tree, repo[src].tree)
        }
        ours = {
            c.new.path or c.old.path: c
            for c in tree_changes(repo.object_store, base_tree, repo[dst].tree)
        }
        conflicts = [p.decode() for p in theirs if p in ours and ours[p].new != theirs[p].new]
        if conflicts:
            raise AwsError(
                "ManualMergeRequiredException",
                "Both branches changed "
                + ", ".join(sorted(conflicts))
                + ": resolve the conflict by hand (merge locally and push).",
            )
        changes = [
            (p, c.new.mode if c.new.path else None, c.new.sha if c.new.path else None)
            for p, c in theirs.items()
            if p not in ours
        ]
        tree = commit_tree_changes(repo.object_store, repo[dst].tree, changes)
        commit = Commit()
        commit.tree = tree
        commit.parents = [dst]
        commit.author = commit.committer = gitrepos._signature(
            params.get("authorName"), params.get("email")
        )
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        message = params.get("commitMessage") or f"Merged PR {pr['pullRequestId']}: {pr['title']}"
        commit.message = message.encode() + b"\n"
        repo.object_store.add_object(commit)
    return _finish_merge(call, pr, target, commit.id.decode(), dst.decode(), "SQUASH_MERGE")


def _reset() -> None:
    global _pr_counter
    gitrepos.wipe()
    _pull_requests.clear()
    _pr_counter = itertools.count(1)


PROVIDER = Provider(
    name="codecommit",
    response_class=CodeCommitResponse,
    service="codecommit",
    operations={
        "CreateRepository": create_repository,
        "GetRepository": get_repository,
        "BatchGetRepositories": batch_get_repositories,
        "ListRepositories": list_repositories,
        "DeleteRepository": delete_repository,
        "UpdateRepositoryDescription": update_repository_description,
        "UpdateDefaultBranch": update_default_branch,
        "GetBranch": get_branch,
        "ListBranches": list_branches,
        "CreateBranch": create_branch,
        "DeleteBranch": delete_branch,
        "GetCommit": get_commit,
        "GetFile": get_file,
        "GetFolder": get_folder,
        "PutFile": put_file,
        "CreateCommit": create_commit,
        "GetDifferences": get_differences,
        "CreatePullRequest": create_pull_request,
        "GetPullRequest": get_pull_request,
        "ListPullRequests": list_pull_requests,
        "UpdatePullRequestStatus": update_pull_request_status,
        "MergePullRequestByFastForward": merge_pull_request_by_fast_forward,
        "MergePullRequestBySquash": merge_pull_request_by_squash,
    },
    routes={gitrepos.ROUTE: gitrepos.http_route},
    reset=_reset,
)
