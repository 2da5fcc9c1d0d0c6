"""The git store's smart-HTTP endpoint: plain ``git clone``/``push``/``pull`` against the sandbox.

Served at ``<sandbox>/flovtrain-api/codecommit/git/v1/repos/<account>/<region>/<name>``; the
CodeCommit provider checks credentials and mounts :func:`http_route` under
:data:`~flovtrain.sandbox.engines.gitstore.repos.ROUTE`.

As CodeCommit, a push that deletes the default branch is refused (the branch stays), and a push
that fails leaves no temporary pack behind.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from dulwich.errors import NotGitRepository
from dulwich.server import DEFAULT_HANDLERS, Backend, ReceivePackHandler

from flovtrain.sandbox.engines.gitstore.repos import (
    URL_PATH,
    GitRepoError,
    _branch_updates,
    _fix_head,
    _repos,
    locked,
    notify,
    repo_path,
)


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


#: What git prints for a refused deletion of the default branch (git's own receive-pack words).
DELETE_DEFAULT_REFUSED = b"deletion of the current branch prohibited"
_ZERO = b"0" * 40


class _ReceivePack(ReceivePackHandler):
    """receive-pack that refuses to delete the branch HEAD names, as CodeCommit does."""

    def _on_update(self, ref_name: bytes, old_sha: bytes, new_sha: bytes) -> bytes | None:
        if new_sha == _ZERO:
            with contextlib.suppress(KeyError):
                head = self.repo.refs.read_ref(b"HEAD")
                if head and head.startswith(b"ref: ") and head[5:].strip() == ref_name:
                    return DELETE_DEFAULT_REFUSED
        return super()._on_update(ref_name, old_sha, new_sha)


_HANDLERS = {**DEFAULT_HANDLERS, b"git-receive-pack": _ReceivePack}


def _remove_temp_packs(repo: Any) -> None:
    """Delete what an interrupted pack write left (the caller holds the repository's lock)."""
    objects = Path(repo.object_store.path)
    for leftover in [*objects.glob("tmp_pack_*"), *(objects / "pack").glob("tmp*.pack")]:
        leftover.unlink(missing_ok=True)


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
            app = make_wsgi_chain(_SandboxBackend(), handlers=_HANDLERS)
            try:
                for chunk in app(environ, start_response):
                    chunks.append(chunk)
            finally:
                _remove_temp_packs(repo)
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
