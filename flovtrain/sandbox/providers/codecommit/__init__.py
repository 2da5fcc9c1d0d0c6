"""CodeCommit provider: moto keeps the records, :mod:`flovtrain.sandbox.engines.gitstore` the git.

moto 5.2.5 only stores create/get/delete_repository and points ``cloneUrlHttp`` at the real AWS
host. Here every repository is a real bare git repository served by the sandbox
(``git clone``/``push``/``pull`` work), and the API reads and writes the same repositories:
branches, commits, files, folders, differences and pull requests. Git tags pushed are kept as
git refs (CodeCommit has no tag API besides resource tags).

Modules: :mod:`.repos` (repositories, branches, what every operation checks, the declared
CloudFormation type and pipeline action), :mod:`.commits` (commits, files, blobs, folders,
differences), :mod:`.pulls` (pull requests) and :mod:`.git_auth` (who may use git).
"""

from __future__ import annotations

from moto.codecommit.responses import CodeCommitResponse

from flovtrain.sandbox.engines import gitstore
from flovtrain.sandbox.providers.codecommit import commits, git_auth, pulls, repos
from flovtrain.sandbox.providers.codecommit.repos import (
    create_repository_internal,
    delete_repository_internal,
    metadata,
)
from flovtrain.sandbox.seam import Provider

__all__ = ["PROVIDER", "create_repository_internal", "delete_repository_internal", "metadata"]


def _reset() -> None:
    """Delete every repository's git data; moto's reset then drops records and pull requests."""
    gitstore.wipe()
    pulls.restart_ids()


PROVIDER = Provider(
    name="codecommit",
    response_class=CodeCommitResponse,
    service="codecommit",
    operations={
        "CreateRepository": repos.create_repository,
        "GetRepository": repos.get_repository,
        "BatchGetRepositories": repos.batch_get_repositories,
        "ListRepositories": repos.list_repositories,
        "DeleteRepository": repos.delete_repository,
        "UpdateRepositoryDescription": repos.update_repository_description,
        "UpdateDefaultBranch": repos.update_default_branch,
        "GetBranch": repos.get_branch,
        "ListBranches": repos.list_branches,
        "CreateBranch": repos.create_branch,
        "DeleteBranch": repos.delete_branch,
        "GetCommit": commits.get_commit,
        "GetFile": commits.get_file,
        "GetBlob": commits.get_blob,
        "GetFolder": commits.get_folder,
        "PutFile": commits.put_file,
        "CreateCommit": commits.create_commit,
        "GetDifferences": commits.get_differences,
        "CreatePullRequest": pulls.create_pull_request,
        "GetPullRequest": pulls.get_pull_request,
        "ListPullRequests": pulls.list_pull_requests,
        "UpdatePullRequestStatus": pulls.update_pull_request_status,
        "MergePullRequestByFastForward": pulls.merge_pull_request_by_fast_forward,
        "MergePullRequestBySquash": pulls.merge_pull_request_by_squash,
    },
    routes={gitstore.ROUTE: git_auth.route},
    reset=_reset,
)
