"""CodeCommit repositories and branches: moto's records joined with the git store's data.

Also what every CodeCommit operation checks first (the repository exists, required parameters),
and what CodeCommit adds elsewhere: CloudFormation's ``AWS::CodeCommit::Repository`` (with its
initial commit from ``Code.S3``) and CodePipeline's CodeCommit source action.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.codecommit.models import codecommit_backends

from flovtrain.sandbox.engines import gitstore, s3
from flovtrain.sandbox.engines.pipeline import ActionFailed, store_output
from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.providers._common import pipeline_action
from flovtrain.sandbox.seam import AwsError, Call


# -- helpers --------------------------------------------------------------------------------
def _err(exc: gitstore.GitRepoError) -> AwsError:
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
                "blobId": "BlobIdRequiredException",
            }.get(name, "InvalidParameterException")
            raise AwsError(code, f"{name} is required.")


def _repo_exists(call: Call, name: str) -> None:
    """Raise CodeCommit's error when the repository is not there (record or git data)."""
    if not name:
        raise AwsError("RepositoryNameRequiredException", "A repository name is required.")
    try:
        gitstore.repo_path(call.account_id, call.region, name)
    except gitstore.GitRepoError as exc:
        raise _err(exc) from None
    backend = codecommit_backends[call.account_id][call.region]
    if name not in backend.repositories:
        raise AwsError("RepositoryDoesNotExistException", f"{name} does not exist")
    if not gitstore.exists(call.account_id, call.region, name):
        gitstore.init(call.account_id, call.region, name)


@contextmanager
def _open_repo(call: Call, *required: str) -> Iterator[Any]:
    """Check the request (repositoryName and ``required``) and the repository; hold its lock."""
    params = call.params
    _require(params, "repositoryName", *required)
    _repo_exists(call, params["repositoryName"])
    with gitstore.locked(call.account_id, call.region, params["repositoryName"]) as repo:
        yield repo


def metadata(account: str, region: str, name: str) -> dict[str, Any]:
    """Return CodeCommit's ``repositoryMetadata`` for a repository (moto's, completed)."""
    meta = dict(codecommit_backends[account][region].get_repository(name))
    meta["cloneUrlHttp"] = gitstore.clone_url(account, region, name)
    meta["cloneUrlSsh"] = gitstore.clone_url_ssh(account, region, name)
    if gitstore.exists(account, region, name):
        branch = gitstore.default_branch(account, region, name)
        if branch:
            meta["defaultBranch"] = branch
    return meta


def create_repository_internal(
    account: str,
    region: str,
    name: str,
    description: str | None,
    files: dict[str, bytes],
    branch: str = "main",
) -> dict[str, Any]:
    """Create a repository whose ``branch`` holds ``files``; return its ``repositoryMetadata``.

    Files whose content starts with ``#!`` are committed executable (mode 100755).

    Raises
    ------
    GitRepoError
        The name is not valid.
    moto's RepositoryNameExistsException
        The name is taken.
    """
    gitstore.repo_path(account, region, name)  # validates the name
    codecommit_backends[account][region].create_repository(name, description or "")
    gitstore.create(account, region, name, files, branch)
    return metadata(account, region, name)


def delete_repository_internal(account: str, region: str, name: str) -> None:
    """Delete a repository: its git data and its record (no error if absent)."""
    gitstore.delete(account, region, name)
    codecommit_backends[account][region].repositories.pop(name, None)


# -- repositories ---------------------------------------------------------------------------
def create_repository(call: Call) -> dict[str, Any]:
    params = call.params
    name = params.get("repositoryName", "")
    try:
        gitstore.repo_path(call.account_id, call.region, name)
    except gitstore.GitRepoError as exc:
        raise _err(exc) from None
    call.moto()  # validates, stores the record, raises RepositoryNameExistsException
    gitstore.init(call.account_id, call.region, name)
    return {"repositoryMetadata": metadata(call.account_id, call.region, name)}


def get_repository(call: Call) -> dict[str, Any]:
    name = call.params.get("repositoryName", "")
    _repo_exists(call, name)
    return {"repositoryMetadata": metadata(call.account_id, call.region, name)}


def batch_get_repositories(call: Call) -> dict[str, Any]:
    names = call.params.get("repositoryNames") or []
    backend = codecommit_backends[call.account_id][call.region]
    found, missing = [], []
    for name in names:
        if name in backend.repositories:
            found.append(metadata(call.account_id, call.region, name))
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
    delete_repository_internal(call.account_id, call.region, name)
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
        gitstore.set_default_branch(
            call.account_id, call.region, params["repositoryName"], params["defaultBranchName"]
        )
    except gitstore.GitRepoError as exc:
        raise _err(exc) from None
    return {}


# -- branches -------------------------------------------------------------------------------
def get_branch(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName", "branchName")
    _repo_exists(call, params["repositoryName"])
    sha = gitstore.head(
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
            gitstore.branches(call.account_id, call.region, params["repositoryName"])
        )
    }


def create_branch(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName", "branchName", "commitId")
    name, branch = params["repositoryName"], params["branchName"]
    _repo_exists(call, name)
    if gitstore.head(call.account_id, call.region, name, branch) is not None:
        raise AwsError("BranchNameExistsException", f"Branch {branch} already exists in {name}")
    try:
        gitstore.set_branch(
            call.account_id, call.region, name, branch, params["commitId"], expected_old=None
        )
    except gitstore.GitRepoError as exc:
        if exc.code == "CommitDoesNotExistException":
            raise AwsError(
                "CommitDoesNotExistException",
                f"Commit {params['commitId']} does not exist in {name}",
            ) from None
        raise _err(exc) from None
    return {}


#: CodeCommit's DefaultBranchCannotBeDeletedException message (its API reference's wording).
DEFAULT_BRANCH_MESSAGE = (
    "The specified branch is the default branch for the repository, and cannot be deleted. "
    "To delete this branch, you must first set another branch as the default branch."
)


def delete_branch(call: Call) -> dict[str, Any]:
    params = call.params
    _require(params, "repositoryName", "branchName")
    name, branch = params["repositoryName"], params["branchName"]
    _repo_exists(call, name)
    if gitstore.default_branch(call.account_id, call.region, name) == branch:
        raise AwsError(
            "DefaultBranchCannotBeDeletedException",
            DEFAULT_BRANCH_MESSAGE,
        )
    try:
        sha = gitstore.delete_branch(call.account_id, call.region, name, branch)
    except gitstore.GitRepoError as exc:
        raise _err(exc) from None
    return {"deletedBranch": {"branchName": branch, "commitId": sha}}


# -- what CodeCommit adds to CloudFormation and CodePipeline ---------------------------------
def _stack_repository(
    name: str, props: dict[str, Any], account: str, region: str
) -> dict[str, Any]:
    files: dict[str, bytes] = {}
    code = props.get("Code") or {}
    branch = code.get("BranchName") or "main"
    if code.get("S3"):
        bundle = code["S3"]
        data = s3.read(account, bundle["Bucket"], bundle["Key"], bundle.get("ObjectVersion"))
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                files = {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
        except zipfile.BadZipFile:
            raise AwsError(
                "InvalidRequest",
                f"Code.S3 s3://{bundle['Bucket']}/{bundle['Key']} of repository {name} is not a "
                "zip file.",
            ) from None
    meta = create_repository_internal(
        account, region, name, props.get("RepositoryDescription"), files, branch
    )
    return {
        "physical": name,
        "attrs": {
            "Arn": meta.get("Arn"),
            "Name": name,
            "CloneUrlHttp": meta.get("cloneUrlHttp"),
            "CloneUrlSsh": meta.get("cloneUrlSsh"),
        },
    }


def _delete_stack_repository(name: str, account: str, region: str, state: dict[str, Any]) -> None:
    delete_repository_internal(account, region, name)


def _update_stack_repository(
    name: str, props: dict[str, Any], account: str, region: str, state: dict[str, Any]
) -> dict[str, Any]:
    """A stack update changes the description in place (commits kept; ``Code`` is only read at
    creation, as on AWS)."""
    repo = codecommit_backends[account][region].repositories[name]
    repo.repository_metadata["repositoryDescription"] = props.get("RepositoryDescription") or ""
    return state


cfn_types.declare(
    "AWS::CodeCommit::Repository",
    "RepositoryName",
    _stack_repository,
    _delete_stack_repository,
    _update_stack_repository,
)


@pipeline_action("Source", "CodeCommit", label="CodeCommit")
def _source_action(run: Any, act: Any) -> None:
    """Zip ``BranchName`` of ``RepositoryName`` (the pushed commit, or the tip) as the output."""
    cfg = act.action.get("configuration", {})
    repo, branch = cfg.get("RepositoryName"), cfg.get("BranchName")
    commit = run.pinned.get((repo, branch)) or gitstore.head(
        run.account_id, run.region, repo, branch
    )
    if not commit:
        raise ActionFailed(
            "JobFailed",
            f"The branch {branch} in repository {repo} does not exist (or the "
            "repository is empty). Push a commit to it and release the change.",
        )
    data = gitstore.archive(run.account_id, run.region, repo, commit)
    message = ""
    try:
        with gitstore.locked(run.account_id, run.region, repo) as git:
            message = git[commit.encode()].message.decode(errors="replace").strip()
    except Exception:  # the message is a nicety
        message = ""
    act.external_id, act.summary = commit, message
    act.variables = {
        "CommitId": commit,
        "BranchName": branch,
        "RepositoryName": repo,
        "CommitMessage": message,
    }
    store_output(run, act, data, commit)
    run.source_revisions.append(
        {"actionName": act.name, "revisionId": commit, "revisionSummary": message}
    )
