"""CodeCommit's git data in the sandbox: bare repositories and their git endpoint.

One flat API over four modules: :mod:`.repos` (where repositories live, handles, locks, push
listeners, reading), :mod:`.commits` (writing), :mod:`.merges` (merge bases, squash commits)
and :mod:`.http` (git's smart-HTTP protocol).

Examples
--------
>>> from flovtrain.sandbox.engines import gitstore
>>> gitstore.create("123456789012", "eu-west-1", "demo", {"README.md": b"hi"})  # doctest: +SKIP
>>> gitstore.head("123456789012", "eu-west-1", "demo", "main")                # doctest: +SKIP
'3f1c...'
"""

from flovtrain.sandbox.engines.gitstore.commits import (
    commit_changes,
    create,
    delete_branch,
    normalize_path,
    set_branch,
    signature,
)
from flovtrain.sandbox.engines.gitstore.http import http_route
from flovtrain.sandbox.engines.gitstore.merges import can_fast_forward, merge_base, squash
from flovtrain.sandbox.engines.gitstore.repos import (
    FILE_MODES,
    MODE_NAMES,
    ROUTE,
    URL_PATH,
    GitRepoError,
    PushListener,
    archive,
    branches,
    clone_url,
    clone_url_ssh,
    default_branch,
    delete,
    exists,
    head,
    init,
    locked,
    notify,
    on_push,
    remove_listener,
    repo_path,
    resolve,
    root,
    set_default_branch,
    tags,
    tree_files,
    wipe,
)

__all__ = [
    "FILE_MODES",
    "MODE_NAMES",
    "ROUTE",
    "URL_PATH",
    "GitRepoError",
    "PushListener",
    "archive",
    "branches",
    "can_fast_forward",
    "clone_url",
    "clone_url_ssh",
    "commit_changes",
    "create",
    "default_branch",
    "delete",
    "delete_branch",
    "exists",
    "head",
    "http_route",
    "init",
    "locked",
    "merge_base",
    "normalize_path",
    "notify",
    "on_push",
    "remove_listener",
    "repo_path",
    "resolve",
    "root",
    "set_branch",
    "set_default_branch",
    "signature",
    "squash",
    "tags",
    "tree_files",
    "wipe",
]
