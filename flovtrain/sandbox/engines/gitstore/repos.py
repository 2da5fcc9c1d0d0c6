"""The git store: bare repositories (dulwich) per account, region and name, and push listeners.

Each repository lives at ``$FLOVTRAIN_HOME/codecommit/<account>/<region>/<name>.git``. Every
access to one repository holds that repository's lock, so the store is thread-safe. Listeners
registered with :func:`on_push` are told about every branch update (git push, commits made
through the API, merges) after the lock is released.

The store keeps git data only; CodeCommit's records (description, ids, ARNs) are moto's, joined
by the CodeCommit provider. Handles are cached once per process: they are a cache of the
folders on disk, which every account and region share with the push listeners.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from dulwich.object_store import iter_tree_contents
from dulwich.objects import S_ISGITLINK, Commit
from dulwich.repo import Repo

from flovtrain import config
from flovtrain.sandbox.engines import host

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
    """A repository operation that cannot be done; ``code`` is CodeCommit's error code.

    Not an :class:`~flovtrain.sandbox.engines.errors.EngineError`: the CodeCommit provider
    maps it to AWS's error itself, and elsewhere it reads as its message alone.
    """

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


def clone_url(account: str, region: str, name: str) -> str:
    """Return the ``cloneUrlHttp`` of a sandbox repository."""
    return f"{host.sandbox_endpoint() or host.NOWHERE}{URL_PATH}/{account}/{region}/{name}"


def clone_url_ssh(account: str, region: str, name: str) -> str:
    """Return the ``cloneUrlSsh`` of a sandbox repository: the host of ``cloneUrlHttp`` and the
    same path, with ``ssh://`` and no port (SSH's own).

    Never AWS's ``git-codecommit.<region>.amazonaws.com``: the sandbox sends nothing off the
    machine, and its account and region are in the path as in ``cloneUrlHttp``.

    Examples
    --------
    >>> clone_url_ssh("123456789012", "eu-west-1", "web")  # doctest: +SKIP
    'ssh://127.0.0.1/flovtrain-api/codecommit/git/v1/repos/123456789012/eu-west-1/web'
    """
    endpoint = host.sandbox_endpoint() or host.NOWHERE
    hostname = urlsplit(endpoint).hostname or "127.0.0.1"
    return f"ssh://{hostname}{URL_PATH}/{account}/{region}/{name}"


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
    """Delete the repository's git data (no error if absent)."""
    key = (account, region, name)
    with _lock_for(key):
        repo = _repos.pop(key, None)
        if repo is not None:
            repo.close()
        shutil.rmtree(repo_path(account, region, name), ignore_errors=True)


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
