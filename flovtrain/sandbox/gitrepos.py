"""CodeCommit's repositories in the sandbox: bare git repositories (dulwich) and their git endpoint.

Each repository lives at ``$FLOVTRAIN_HOME/codecommit/<account>/<region>/<name>.git`` and is
served over git's smart-HTTP protocol at
``<sandbox>/flovtrain-api/codecommit/git/v1/repos/<account>/<region>/<name>``, so plain
``git clone``/``push``/``pull`` work; any credentials (or none) are accepted. The CodeCommit
provider (:mod:`flovtrain.sandbox.providers.codecommit`) and other providers in the server
process (CodePipeline's source action, CloudFormation) use the functions below.

Every access to one repository holds that repository's lock, so the module is thread-safe.
Listeners registered with :func:`on_push` are told about every branch update (git push,
``put_file``, ``create_commit``, pull-request merges) after the lock is released.

Examples
--------
>>> from flovtrain.sandbox import gitrepos
>>> meta = gitrepos.create_with_initial_commit(
...     "123456789012", "eu-west-1", "demo", "a demo", {"README.md": b"hi"})  # doctest: +SKIP
>>> gitrepos.head("123456789012", "eu-west-1", "demo", "main")           # doctest: +SKIP
'3f1c...'
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dulwich.errors import NotGitRepository
from dulwich.object_store import commit_tree_changes, iter_tree_contents
from dulwich.objects import S_ISGITLINK, Blob, Commit, Tree
from dulwich.repo import Repo
from dulwich.server import Backend

from flovtrain import config

log = logging.getLogger(__name__)

#: Route key of the git endpoint under provider ``codecommit``.
ROUTE = "git/*"
URL_PATH = "/flovtrain-api/codecommit/git/v1/repos"
NAME_PATTERN = re.compile(r"^[\w.-]{1,100}$")
#: git file modes by CodeCommit's names.
FILE_MODES = {"NORMAL": 0o100644, "EXECUTABLE": 0o100755, "SYMLINK": 0o120000}
MODE_NAMES = {v: k for k, v in FILE_MODES.items()}

PushListener = Callable[[str, str, str, str, "str | None", str], None]

_global_lock = threading.RLock()
_repo_locks: dict[tuple[str, str, str], threading.RLock] = {}
_repos: dict[tuple[str, str, str], Repo] = {}
_listeners: list[PushListener] = []


class GitRepoError(Exception):
    """A repository operation that cannot be done; ``code`` is CodeCommit's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- locations ------------------------------------------------------------------------------
def root() -> Path:
    """Return the folder holding every sandbox repository."""
    return config.home() / "codecommit"


def repo_path(account: str, region: str, name: str) -> Path:
    """Return the bare repository's folder (it may not exist)."""
    if not NAME_PATTERN.match(name) or name in {".", ".."}:
        raise GitRepoError(
            "InvalidRepositoryNameException",
            f"Repository name {name!r} is invalid: use letters, digits, '.', '_' "
            "and '-' (at most 100 characters).",
        )
    return root() / account / region / f"{name}.git"


def sandbox_endpoint() -> str:
    """Return the running sandbox's endpoint (read from its state file in the server process)."""
    try:
        info = json.loads((config.home() / "sandbox.json").read_text())
        return str(info["endpoint"])
    except (OSError, ValueError, KeyError):
        return "http://127.0.0.1:0"


def clone_url(account: str, region: str, name: str) -> str:
    """Return the ``cloneUrlHttp`` of a sandbox repository."""
    return f"{sandbox_endpoint()}{URL_PATH}/{account}/{region}/{name}"


def clone_url_ssh(region: str, name: str) -> str:
    """Return an AWS-shaped ``cloneUrlSsh`` (the sandbox serves no SSH)."""
    return f"ssh://git-codecommit.{region}.amazonaws.com/v1/repos/{name}"


# -- repository handles ---------------------------------------------------------------------
def _lock_for(key: tuple[str, str, str]) -> threading.RLock:
    with _global_lock:
        return _repo_locks.setdefault(key, threading.RLock())


@contextlib.contextmanager
def locked(account: str, region: str, name: str) -> Iterator[Repo]:
    """Hold the repository's lock and yield its dulwich ``Repo``.

    Raises
    ------
    GitRepoError
        ``RepositoryDoesNotExistException`` when there is no such repository.
    """
    key = (account, region, name)
    path = repo_path(account, region, name)
    with _lock_for(key):
        repo = _repos.get(key)
        if repo is None:
            if not path.is_dir():
                raise GitRepoError("RepositoryDoesNotExistException", f"{name} does not exist")
            repo = _repos[key] = Repo(str(path))
        yield repo


def exists(account: str, region: str, name: str) -> bool:
    """Return whether the git repository exists."""
    return repo_path(account, region, name).is_dir()


def init(account: str, region: str, name: str) -> None:
    """Create an empty bare repository (no branch yet, as CodeCommit starts)."""
    path = repo_path(account, region, name)
    with _lock_for((account, region, name)):
        if path.is_dir():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        repo = Repo.init_bare(str(path), mkdir=True)
        repo.close()


def delete(account: str, region: str, name: str) -> None:
    """Delete the repository: its git data and its CodeCommit metadata (no error if absent)."""
    key = (account, region, name)
    with _lock_for(key):
        repo = _repos.pop(key, None)
        if repo is not None:
            repo.close()
        shutil.rmtree(repo_path(account, region, name), ignore_errors=True)
    from moto.codecommit.models import codecommit_backends

    codecommit_backends[account][region].repositories.pop(name, None)


def wipe() -> None:
    """Delete every repository (sandbox reset). Listeners stay registered."""
    with _global_lock:
        for repo in _repos.values():
            repo.close()
        _repos.clear()
        _repo_locks.clear()
    shutil.rmtree(root(), ignore_errors=True)


# -- push listeners -------------------------------------------------------------------------
def on_push(callback: PushListener) -> PushListener:
    """Register ``callback(account, region, repo, branch, old_commit | None, new_commit)``.

    It is called after every branch update (git push, ``put_file``, ``create_commit``,
    merges, ``create_branch``), outside the repository lock, in the thread that made the
    update: keep it short (start a thread for long work). Branch deletions are not reported.
    Registering the same callable twice has no effect. Returns the callback (decorator use).
    """
    with _global_lock:
        if callback not in _listeners:
            _listeners.append(callback)
    return callback


def remove_listener(callback: PushListener) -> None:
    """Unregister a callback given to :func:`on_push` (no error if unknown)."""
    with _global_lock:
        if callback in _listeners:
            _listeners.remove(callback)


def notify(
    account: str, region: str, name: str, updates: list[tuple[str, str | None, str]]
) -> None:
    """Tell every listener about branch updates ``(branch, old, new)``; errors are logged."""
    with _global_lock:
        listeners = list(_listeners)
    for branch, old, new in updates:
        for listener in listeners:
            try:
                listener(account, region, name, branch, old, new)
            except Exception:  # a listener must not break a push
                log.exception("push listener %r failed", listener)


def _branch_updates(
    before: dict[bytes, bytes], after: dict[bytes, bytes]
) -> list[tuple[str, str | None, str]]:
    updates = []
    for ref, new in sorted(after.items()):
        if ref.startswith(b"refs/heads/") and before.get(ref) != new:
            old = before.get(ref)
            updates.append(
                (ref[len(b"refs/heads/") :].decode(), old.decode() if old else None, new.decode())
            )
    return updates


def _fix_head(repo: Repo) -> None:
    """Point HEAD at an existing branch when it names none (first push sets the default)."""
    branches = sorted(r for r in repo.refs.keys() if r.startswith(b"refs/heads/"))
    target = _head_target(repo)
    if branches and (target is None or target not in branches):
        preferred = b"refs/heads/main" if b"refs/heads/main" in branches else branches[0]
        repo.refs.set_symbolic_ref(b"HEAD", preferred)


def _head_target(repo: Repo) -> bytes | None:
    try:
        value = repo.refs.read_ref(b"HEAD")
    except KeyError:
        return None
    if value and value.startswith(b"ref: "):
        return value[5:].strip()
    return None


def _branch_ref(repo: Repo, branch: str) -> bytes:
    """Return ``refs/heads/<branch>``; raise BranchDoesNotExistException when it is missing."""
    ref = b"refs/heads/" + branch.encode()
    if ref not in repo.refs:
        raise GitRepoError("BranchDoesNotExistException", f"Branch {branch} does not exist")
    return ref


# -- reading --------------------------------------------------------------------------------
def _refs_under(account: str, region: str, name: str, prefix: bytes) -> dict[str, str]:
    with locked(account, region, name) as repo:
        return {
            r[len(prefix) :].decode(): repo.refs[r].decode()
            for r in repo.refs.keys()
            if r.startswith(prefix)
        }


def branches(account: str, region: str, name: str) -> dict[str, str]:
    """Return ``{branch: commit id}``."""
    return _refs_under(account, region, name, b"refs/heads/")


def tags(account: str, region: str, name: str) -> dict[str, str]:
    """Return ``{tag: object id}`` for the git tags pushed to the repository."""
    return _refs_under(account, region, name, b"refs/tags/")


def default_branch(account: str, region: str, name: str) -> str | None:
    """Return the default branch (what HEAD names) if it exists."""
    with locked(account, region, name) as repo:
        target = _head_target(repo)
        if target and target.startswith(b"refs/heads/") and target in repo.refs:
            return target[len(b"refs/heads/") :].decode()
        return None


def set_default_branch(account: str, region: str, name: str, branch: str) -> None:
    """Make ``branch`` the default branch (HEAD)."""
    with locked(account, region, name) as repo:
        repo.refs.set_symbolic_ref(b"HEAD", _branch_ref(repo, branch))


def head(account: str, region: str, repo: str, branch: str) -> str | None:
    """Return the commit id at the tip of ``branch``, or None if the branch (or repo) is missing."""
    try:
        with locked(account, region, repo) as handle:
            sha = handle.refs.as_dict(b"refs/heads/").get(branch.encode())
            return sha.decode() if sha else None
    except GitRepoError:
        return None


def resolve(repo: Repo, specifier: str | None, code: str = "CommitDoesNotExistException") -> bytes:
    """Resolve a commit id, branch, tag or ``HEAD`` to a commit id (caller holds the lock)."""
    spec = (specifier or "HEAD").strip()
    candidates = [b"refs/heads/" + spec.encode(), b"refs/tags/" + spec.encode(), spec.encode()]
    for ref in candidates:
        try:
            sha = repo.refs[ref]
        except (KeyError, ValueError):
            continue
        return _peel(repo, sha)
    if re.fullmatch(r"[0-9a-f]{40}", spec):
        try:
            obj = repo[spec.encode()]
        except KeyError:
            obj = None
        if isinstance(obj, Commit):
            return obj.id
    if spec == "HEAD":
        raise GitRepoError(
            "CommitDoesNotExistException", "The repository is empty: it has no commits yet."
        )
    raise GitRepoError(
        code,
        f"Could not find commit {spec!r}: no branch, tag or commit id "
        "of that name exists in the repository.",
    )


def _peel(repo: Repo, sha: bytes) -> bytes:
    obj = repo[sha]
    while not isinstance(obj, Commit):
        if hasattr(obj, "object"):  # annotated tag
            obj = repo[obj.object[1]]
        else:
            raise GitRepoError("CommitDoesNotExistException", f"{sha.decode()} is not a commit")
    return obj.id


def archive(account: str, region: str, repo: str, commit: str) -> bytes:
    """Return a zip of the tree at ``commit`` (id, branch or tag), as CodePipeline's source action.

    File modes are kept (executable scripts stay executable once unzipped with modes);
    symlinks are stored as links, ``.git`` is not included.

    Raises
    ------
    GitRepoError
        ``RepositoryDoesNotExistException`` or ``CommitDoesNotExistException``.
    """
    with locked(account, region, repo) as handle:
        sha = resolve(handle, commit)
        commit_obj = handle[sha]
        buffer = io.BytesIO()
        date = time.gmtime(commit_obj.commit_time)[:6]
        date = max(date, (1980, 1, 1, 0, 0, 0))
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for entry in iter_tree_contents(handle.object_store, commit_obj.tree):
                if S_ISGITLINK(entry.mode):
                    continue
                info = zipfile.ZipInfo(entry.path.decode(), date_time=date)
                info.external_attr = (entry.mode & 0xFFFF) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, handle[entry.sha].as_raw_string())
        return buffer.getvalue()


def tree_files(account: str, region: str, name: str, commit: str) -> dict[str, bytes]:
    """Return ``{path: content}`` of every file at ``commit``."""
    with locked(account, region, name) as handle:
        tree = handle[resolve(handle, commit)].tree
        return {
            e.path.decode(): handle[e.sha].as_raw_string()
            for e in iter_tree_contents(handle.object_store, tree)
            if not S_ISGITLINK(e.mode)
        }


# -- writing --------------------------------------------------------------------------------
def _signature(name: str | None, email: str | None) -> bytes:
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
        commit.author = commit.committer = _signature(author, email)
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


def create_with_initial_commit(
    account: str,
    region: str,
    name: str,
    description: str | None,
    files: dict[str, bytes],
    branch: str = "main",
) -> dict[str, Any]:
    """Create a CodeCommit repository whose ``branch`` holds ``files`` (CloudFormation's ``Code``).

    Files whose content starts with ``#!`` are committed executable (mode 100755).
    Returns the ``repositoryMetadata`` dict as ``get_repository`` shows it.
    Raises moto's ``RepositoryNameExistsException`` when the name is taken.
    """
    from moto.codecommit.models import codecommit_backends

    repo_path(account, region, name)  # validates the name
    codecommit_backends[account][region].create_repository(name, description or "")
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
    return metadata(account, region, name)


def metadata(account: str, region: str, name: str) -> dict[str, Any]:
    """Return CodeCommit's ``repositoryMetadata`` for a repository (moto's, completed)."""
    from moto.codecommit.models import codecommit_backends

    meta = dict(codecommit_backends[account][region].get_repository(name))
    meta["cloneUrlHttp"] = clone_url(account, region, name)
    meta["cloneUrlSsh"] = clone_url_ssh(region, name)
    if exists(account, region, name):
        branch = default_branch(account, region, name)
        if branch:
            meta["defaultBranch"] = branch
    return meta


# -- the smart-HTTP endpoint ----------------------------------------------------------------
class _SandboxBackend(Backend):
    """dulwich backend: ``/<account>/<region>/<name>`` -> the cached Repo (lock held)."""

    def open_repository(self, path: str | bytes) -> Any:
        if isinstance(path, bytes):
            path = path.decode()
        parts = path.strip("/").split("/")
        if len(parts) != 3:
            raise NotGitRepository(f"no repository at {path}")
        key = (parts[0], parts[1], parts[2])
        repo = _repos.get(key)
        if repo is None:
            raise NotGitRepository(f"no repository at {path}")
        return repo


_PATH = re.compile(
    r"^/flovtrain-api/codecommit/git/v1/repos/([^/]+)/([^/]+)/([^/]+?)(?:\.git)?(/.*)$"
)


def http_route(request: Any) -> Any:
    """Serve git's smart-HTTP protocol (info/refs, git-upload-pack, git-receive-pack)."""
    from dulwich.web import make_wsgi_chain
    from werkzeug.wrappers import Response

    match = _PATH.match(request.path)
    if not match:
        return Response(
            f"Not a repository URL: {request.path}. Clone URLs look like "
            f"<sandbox>{URL_PATH}/<account>/<region>/<name>\n",
            status=404,
            mimetype="text/plain",
        )
    account, region, name, rest = match.groups()
    try:
        repo_path(account, region, name)
    except GitRepoError as exc:
        return Response(exc.message + "\n", status=404, mimetype="text/plain")
    environ = dict(request.environ)
    environ["PATH_INFO"] = f"/{account}/{region}/{name}{rest}"
    environ["SCRIPT_NAME"] = ""
    if environ.get("wsgi.input_terminated"):
        environ.pop("HTTP_TRANSFER_ENCODING", None)  # werkzeug already de-chunked the body
    status_headers: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status_headers[:] = [status, headers]
        return chunks.append

    updates: list[tuple[str, str | None, str]] = []
    try:
        with locked(account, region, name) as repo:
            before = dict(repo.refs.as_dict())
            app = make_wsgi_chain(_SandboxBackend())
            for chunk in app(environ, start_response):
                chunks.append(chunk)
            after = dict(repo.refs.as_dict())
            if after != before:
                _fix_head(repo)
                updates = _branch_updates(before, after)
    except GitRepoError:
        return Response(
            f"repository '{name}' not found in account {account} region {region}\n",
            status=404,
            mimetype="text/plain",
        )
    if updates:
        notify(account, region, name, updates)
    status, headers = status_headers or ["500 Internal Server Error", []]
    headers = [
        (k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")
    ]
    return Response(b"".join(chunks), status=status, headers=headers)
