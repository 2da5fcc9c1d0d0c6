"""CodeCommit as tables: repositories, branches, history, files, differences, pull requests.

What the console's CodeCommit pages show, one DataFrame per page. Every ``<things>(...)``
returns fixed columns (an empty result keeps them); every ``iter_<things>(...)`` yields boto3's
raw dicts.

Examples
--------
>>> from flovtrain.views import codecommit
>>> codecommit.commits("flovtrain-webapp")[["short_id", "message"]]   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain._aws import client, paginate
from flovtrain.views._frames import batch_get, frame, renamed, to_utc_column

#: The columns of :func:`repositories` and the keys of ``repositoryMetadata`` they show.
REPOSITORY_FIELDS = {
    "name": "repositoryName",
    "default_branch": "defaultBranch",
    "clone_url_http": "cloneUrlHttp",
    "description": "repositoryDescription",
    "last_modified": "lastModifiedDate",
}
REPOSITORY_COLUMNS = list(REPOSITORY_FIELDS)
BRANCH_COLUMNS = ["branch", "commit_id", "default"]
COMMIT_COLUMNS = ["commit_id", "short_id", "message", "author", "date", "parents"]
FILE_COLUMNS = ["path", "kind", "mode", "blob_id"]
DIFFERENCE_COLUMNS = ["change", "path", "before_blob", "after_blob"]
PULL_REQUEST_COLUMNS = ["id", "title", "status", "source", "destination", "merged", "created"]
#: ``batch_get_repositories`` takes at most this many names.
_BATCH = 25


def iter_repositories(
    session: boto3.Session | None = None, region: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``repositoryMetadata`` of every repository.

    Examples
    --------
    >>> [r["repositoryName"] for r in iter_repositories()]   # doctest: +SKIP
    ['flovtrain-webapp']
    """
    cc = client("codecommit", session, region)
    names = [r["repositoryName"] for r in paginate(cc, "list_repositories", "repositories")]
    yield from batch_get(
        cc.batch_get_repositories, "repositories", "repositoryNames", names, _BATCH
    )


def repositories(session: boto3.Session | None = None, region: str | None = None) -> pd.DataFrame:
    """Return the CodeCommit repositories with their clone URL and default branch.

    Sorted by name.

    Examples
    --------
    >>> repositories()[["name", "default_branch"]]     # doctest: +SKIP
    """
    rows = (renamed(r, REPOSITORY_FIELDS) for r in iter_repositories(session, region))
    return to_utc_column(frame(rows, REPOSITORY_COLUMNS, sort=["name"]), "last_modified")


def _default_branch(cc: Any, repository: str) -> str | None:
    return cc.get_repository(repositoryName=repository)["repositoryMetadata"].get("defaultBranch")


def iter_branches(
    repository: str, session: boto3.Session | None = None, region: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``get_branch`` dicts (``branchName``, ``commitId``) of every branch.

    Examples
    --------
    >>> [b["branchName"] for b in iter_branches("flovtrain-webapp")]   # doctest: +SKIP
    ['main']
    """
    cc = client("codecommit", session, region)
    for name in paginate(cc, "list_branches", "branches", repositoryName=repository):
        yield cc.get_branch(repositoryName=repository, branchName=name)["branch"]


def branches(
    repository: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the repository's branches and the commit each points to.

    ``default`` is True for the default branch.

    Examples
    --------
    >>> branches("flovtrain-webapp")                  # doctest: +SKIP
    """
    default = _default_branch(client("codecommit", session, region), repository)
    rows = [
        {
            "branch": b["branchName"],
            "commit_id": b.get("commitId"),
            "default": b["branchName"] == default,
        }
        for b in iter_branches(repository, session, region)
    ]
    return frame(rows, BRANCH_COLUMNS, sort=["branch"])


def iter_commits(
    repository: str,
    branch: str | None = None,
    limit: int = 20,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield ``get_commit`` dicts from the tip of ``branch`` (default branch) back along first
    parents, at most ``limit``: the console's *Commits* page.

    Examples
    --------
    >>> next(iter_commits("flovtrain-webapp"))["message"]   # doctest: +SKIP
    'Initial commit'
    """
    cc = client("codecommit", session, region)
    if branch is None:
        branch = _default_branch(cc, repository) or "main"
    commit_id = cc.get_branch(repositoryName=repository, branchName=branch)["branch"]["commitId"]
    for _ in range(limit):
        commit = cc.get_commit(repositoryName=repository, commitId=commit_id)["commit"]
        commit.setdefault("commitId", commit_id)
        yield commit
        parents = commit.get("parents") or []
        if not parents:
            return
        commit_id = parents[0]


def commits(
    repository: str,
    branch: str | None = None,
    limit: int = 20,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Return the history of ``branch``, newest first (commit id, message, author, date).

    ``message`` is the first line, ``parents`` a count.

    Examples
    --------
    >>> commits("flovtrain-webapp")[["short_id", "message", "author"]]   # doctest: +SKIP
    """
    rows = []
    for c in iter_commits(repository, branch, limit, session, region):
        author = c.get("author") or {}
        rows.append(
            {
                "commit_id": c["commitId"],
                "short_id": c["commitId"][:7],
                "message": ((c.get("message") or "").strip().splitlines() or [""])[0],
                "author": author.get("name"),
                "date": _git_date(author.get("date")),
                "parents": len(c.get("parents") or []),
            }
        )
    return to_utc_column(frame(rows, COMMIT_COLUMNS), "date")


def _git_date(value: str | None) -> pd.Timestamp | None:
    """CodeCommit dates are git's ``<epoch seconds> <+hhmm>``."""
    if not value:
        return None
    return pd.Timestamp(int(value.split()[0]), unit="s", tz="UTC")


def files(
    repository: str,
    commit: str | None = None,
    folder: str = "/",
    session: boto3.Session | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Return every file under ``folder`` at ``commit`` (default: the default branch's tip).

    ``kind`` is ``file`` or ``symlink``; sorted by path.

    Examples
    --------
    >>> files("flovtrain-webapp")[["path", "kind"]]     # doctest: +SKIP
    """
    cc = client("codecommit", session, region)
    rows: list[dict[str, Any]] = []
    pending = [folder]
    while pending:
        path = pending.pop()
        kwargs = {"repositoryName": repository, "folderPath": path}
        if commit:
            kwargs["commitSpecifier"] = commit
        answer = cc.get_folder(**kwargs)
        for kind, key in (("file", "files"), ("symlink", "symbolicLinks")):
            rows.extend(
                {
                    "path": f["absolutePath"],
                    "kind": kind,
                    "mode": f.get("fileMode"),
                    "blob_id": f.get("blobId"),
                }
                for f in answer.get(key, [])
            )
        pending.extend(sub["absolutePath"] for sub in answer.get("subFolders", []))
    return frame(rows, FILE_COLUMNS, sort=["path"])


def read_file(
    repository: str,
    path: str,
    commit: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> str:
    """Return a file's text as CodeCommit's *Code* page shows it.

    Examples
    --------
    >>> print(read_file("flovtrain-webapp", "README.md"))   # doctest: +SKIP
    """
    cc = client("codecommit", session, region)
    kwargs = {"repositoryName": repository, "filePath": path}
    if commit:
        kwargs["commitSpecifier"] = commit
    return cc.get_file(**kwargs)["fileContent"].decode("utf-8", "replace")


def differences(
    repository: str,
    before: str,
    after: str,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Return what changed between two commits or branches: the console's *Compare*.

    ``change`` is A (added), M (modified) or D (deleted); sorted by path.

    Examples
    --------
    >>> differences("flovtrain-webapp", "main~1", "main")     # doctest: +SKIP
    """
    cc = client("codecommit", session, region)
    rows = []
    for d in paginate(
        cc,
        "get_differences",
        "differences",
        repositoryName=repository,
        beforeCommitSpecifier=before,
        afterCommitSpecifier=after,
    ):
        b, a = d.get("beforeBlob") or {}, d.get("afterBlob") or {}
        rows.append(
            {
                "change": d.get("changeType"),
                "path": a.get("path") or b.get("path"),
                "before_blob": b.get("blobId"),
                "after_blob": a.get("blobId"),
            }
        )
    return frame(rows, DIFFERENCE_COLUMNS, sort=["path"])


def iter_pull_requests(
    repository: str,
    status: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield ``get_pull_request`` dicts (``status``: OPEN or CLOSED; default both, OPEN first).

    Examples
    --------
    >>> [p["title"] for p in iter_pull_requests("flovtrain-webapp")]   # doctest: +SKIP
    ['README: who works on this']
    """
    cc = client("codecommit", session, region)
    for st in [status] if status else ["OPEN", "CLOSED"]:
        for pr_id in paginate(
            cc,
            "list_pull_requests",
            "pullRequestIds",
            repositoryName=repository,
            pullRequestStatus=st,
        ):
            yield cc.get_pull_request(pullRequestId=pr_id)["pullRequest"]


def pull_requests(
    repository: str,
    status: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Return the repository's pull requests (``status``: OPEN or CLOSED; default both).

    By id (oldest first).

    Examples
    --------
    >>> pull_requests("flovtrain-webapp")                  # doctest: +SKIP
    """
    rows = []
    for pr in iter_pull_requests(repository, status, session, region):
        target = (pr.get("pullRequestTargets") or [{}])[0]
        rows.append(
            {
                "id": pr.get("pullRequestId"),
                "title": pr.get("title"),
                "status": pr.get("pullRequestStatus"),
                "source": (target.get("sourceReference") or "").replace("refs/heads/", ""),
                "destination": (target.get("destinationReference") or "").replace(
                    "refs/heads/", ""
                ),
                "merged": bool((target.get("mergeMetadata") or {}).get("isMerged")),
                "created": pr.get("creationDate"),
            }
        )
    df = frame(rows, PULL_REQUEST_COLUMNS)
    if len(df):
        df = (
            df.assign(_n=pd.to_numeric(df["id"], errors="coerce"))
            .sort_values("_n")
            .drop(columns="_n")
            .reset_index(drop=True)
        )
    return to_utc_column(df, "created")
