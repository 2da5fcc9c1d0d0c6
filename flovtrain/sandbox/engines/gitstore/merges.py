"""Merging in the git store: merge bases, fast-forward checks and squash commits."""

from __future__ import annotations

import time

from dulwich.diff_tree import tree_changes
from dulwich.graph import can_fast_forward as _can_fast_forward
from dulwich.graph import find_merge_base
from dulwich.object_store import commit_tree_changes
from dulwich.objects import Commit

from flovtrain.sandbox.engines.gitstore.commits import signature
from flovtrain.sandbox.engines.gitstore.repos import GitRepoError, locked


def merge_base(account: str, region: str, name: str, ours: str, theirs: str) -> str | None:
    """Return the best common ancestor of two commits (None when they share none)."""
    with locked(account, region, name) as repo:
        bases = find_merge_base(repo, [ours.encode(), theirs.encode()])
    return bases[0].decode() if bases else None


def can_fast_forward(account: str, region: str, name: str, old: str, new: str) -> bool:
    """Return whether ``new`` descends from ``old`` (a branch at ``old`` can move to it)."""
    with locked(account, region, name) as repo:
        return bool(_can_fast_forward(repo, old.encode(), new.encode()))


def squash(
    account: str,
    region: str,
    name: str,
    source: str,
    destination: str,
    message: str,
    author: str | None = None,
    email: str | None = None,
) -> str:
    """Commit on top of ``destination`` what ``source`` changed since their merge base.

    No branch moves: the caller moves the destination branch to the returned commit id.

    Raises
    ------
    GitRepoError
        ``ManualMergeRequiredException`` when both sides changed the same file.
    """
    src, dst = source.encode(), destination.encode()
    with locked(account, region, name) as repo:
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
            raise GitRepoError(
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
        commit.author = commit.committer = signature(author, email)
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = message.encode() + b"\n"
        repo.object_store.add_object(commit)
    return commit.id.decode()
