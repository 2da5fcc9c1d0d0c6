"""Writing to the git store: commits made through the API, branch moves, new repositories."""

from __future__ import annotations

import time
from typing import Any

from dulwich.object_store import commit_tree_changes, iter_tree_contents
from dulwich.objects import Blob, Commit, Tree

from flovtrain.sandbox.engines.gitstore.repos import (
    FILE_MODES,
    GitRepoError,
    _branch_ref,
    _fix_head,
    init,
    locked,
    notify,
    repo_path,
    resolve,
)


def signature(name: str | None, email: str | None) -> bytes:
    """Return git's ``Name <email>`` for a commit (sandbox defaults when not given)."""
    name = (name or "flovtrain").replace("<", "").replace(">", "")
    email = (email or "flovtrain@example.com").replace("<", "").replace(">", "")
    return f"{name} <{email}>".encode()


def normalize_path(path: str) -> str:
    """Return a repository path without leading slash; reject ``..`` and empty parts."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or parts[0] == ".git":
        raise GitRepoError(
            "InvalidPathException", f"The path {path!r} is not valid in a repository."
        )
    return "/".join(parts)


def commit_changes(
    account: str,
    region: str,
    name: str,
    branch: str,
    parent: str | None,
    puts: list[tuple[str, int, bytes]] = (),  # type: ignore[assignment]
    deletes: list[str] = (),  # type: ignore[assignment]
    message: str = "",
    author: str | None = None,
    email: str | None = None,
    require_parent: bool = True,
    allow_empty: bool = False,
) -> dict[str, Any]:
    """Commit file changes on ``branch`` and move it; return ids and what changed.

    Parameters
    ----------
    parent : str, optional
        The commit the change is based on. When ``branch`` exists it must be its tip
        (CodeCommit's optimistic concurrency); a new branch starts at ``parent``.
    puts : list of (path, git mode, content)
    deletes : list of path
    require_parent : bool
        Raise ``ParentCommitIdRequiredException`` when the repository has commits and no
        parent is given (CodeCommit's rule); False commits on the tip.

    Returns
    -------
    dict
        ``commitId``, ``treeId``, ``added``/``updated``/``deleted`` (lists of
        ``(path, blob id, mode)``), ``old`` (previous tip or None).
    """
    with locked(account, region, name) as repo:
        ref = b"refs/heads/" + branch.encode()
        tip = repo.refs.as_dict(b"refs/heads/").get(branch.encode())
        has_commits = any(r.startswith(b"refs/heads/") for r in repo.refs.keys())
        if parent:
            parent_sha = resolve(repo, parent, "ParentCommitDoesNotExistException")
            if tip is not None and parent_sha != tip:
                raise GitRepoError(
                    "ParentCommitIdOutdatedException",
                    f"The parent commit ID {parent} is not the tip of branch {branch} "
                    f"({tip.decode()}). Get the branch again and retry with its commit id.",
                )
        elif tip is not None and not require_parent:
            parent_sha = tip
        elif has_commits and require_parent:
            raise GitRepoError(
                "ParentCommitIdRequiredException",
                "A parent commit ID is required: the repository has commits. Pass the tip of "
                f"branch {branch} as parentCommitId (get_branch returns it).",
            )
        else:
            parent_sha = None
        base_tree = repo[parent_sha].tree if parent_sha else None
        existing: dict[bytes, tuple[int, bytes]] = {}
        if base_tree is not None:
            existing = {
                e.path: (e.mode, e.sha) for e in iter_tree_contents(repo.object_store, base_tree)
            }
        changes: list[tuple[bytes, int | None, bytes | None]] = []
        added, updated, deleted = [], [], []
        for path, mode, content in puts:
            key = normalize_path(path).encode()
            blob = Blob.from_string(content)
            repo.object_store.add_object(blob)
            if key in existing:
                if existing[key] == (mode, blob.id):
                    continue
                updated.append((key.decode(), blob.id.decode(), mode))
            else:
                added.append((key.decode(), blob.id.decode(), mode))
            changes.append((key, mode, blob.id))
        for path in deletes:
            key = normalize_path(path).encode()
            if key not in existing:
                raise GitRepoError(
                    "FileDoesNotExistException",
                    f"The file {path} does not exist on branch {branch}.",
                )
            deleted.append((key.decode(), existing[key][1].decode(), existing[key][0]))
            changes.append((key, None, None))
        if not changes and not allow_empty:
            raise GitRepoError(
                "NoChangeException",
                "The commit has no changes: every file is identical to its parent.",
            )
        if base_tree is None:
            empty = Tree()
            repo.object_store.add_object(empty)
            base_tree = empty.id
        tree_id = (
            commit_tree_changes(repo.object_store, base_tree, changes) if changes else base_tree
        )
        commit = Commit()
        commit.tree = tree_id
        commit.parents = [parent_sha] if parent_sha else []
        commit.author = commit.committer = signature(author, email)
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = (message or "Commit from the flovtrain sandbox").encode() + b"\n"
        repo.object_store.add_object(commit)
        moved = (
            repo.refs.add_if_new(ref, commit.id)
            if tip is None
            else repo.refs.set_if_equals(ref, tip, commit.id)
        )
        if not moved:
            raise GitRepoError(
                "ParentCommitIdOutdatedException", f"Branch {branch} moved while committing; retry."
            )
        _fix_head(repo)
        old = tip.decode() if tip else None
    notify(account, region, name, [(branch, old, commit.id.decode())])
    return {
        "commitId": commit.id.decode(),
        "treeId": tree_id.decode(),
        "added": added,
        "updated": updated,
        "deleted": deleted,
        "old": old,
    }


def set_branch(
    account: str,
    region: str,
    name: str,
    branch: str,
    commit: str,
    expected_old: str | None | bool = False,
) -> str | None:
    """Point ``branch`` at ``commit`` (creating it); return the old tip.

    ``expected_old`` (unless False) is compared first, as a compare-and-swap.
    """
    with locked(account, region, name) as repo:
        sha = resolve(repo, commit)
        ref = b"refs/heads/" + branch.encode()
        old = repo.refs.as_dict(b"refs/heads/").get(branch.encode())
        if expected_old is not False:
            want = expected_old.encode() if isinstance(expected_old, str) else None
            if old != want:
                raise GitRepoError(
                    "TipOfSourceReferenceIsDifferentException",
                    f"Branch {branch} moved; get it again and retry.",
                )
        repo.refs[ref] = sha
        _fix_head(repo)
        old_s = old.decode() if old else None
    if old_s != sha.decode():
        notify(account, region, name, [(branch, old_s, sha.decode())])
    return old_s


def delete_branch(account: str, region: str, name: str, branch: str) -> str:
    """Delete ``branch``; return the commit it pointed at."""
    with locked(account, region, name) as repo:
        ref = _branch_ref(repo, branch)
        sha = repo.refs[ref]
        del repo.refs[ref]
        return sha.decode()


def create(
    account: str,
    region: str,
    name: str,
    files: dict[str, bytes],
    branch: str = "main",
) -> None:
    """Create a repository whose ``branch`` holds ``files`` (CloudFormation's ``Code``).

    Files whose content starts with ``#!`` are committed executable (mode 100755); no files,
    no commit (an empty repository, as CodeCommit starts).

    Raises
    ------
    GitRepoError
        ``InvalidRepositoryNameException`` when the name is not valid.
    """
    repo_path(account, region, name)  # validates the name
    init(account, region, name)
    if files:
        puts = [
            (
                path,
                FILE_MODES["EXECUTABLE"] if content.startswith(b"#!") else FILE_MODES["NORMAL"],
                content,
            )
            for path, content in files.items()
        ]
        commit_changes(
            account,
            region,
            name,
            branch,
            None,
            puts,
            message="Initial commit",
            require_parent=False,
        )
