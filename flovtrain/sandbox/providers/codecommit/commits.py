"""CodeCommit commits, files, folders and differences, read and written in the git store."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from dulwich.diff_tree import tree_changes
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Commit, Tree

from flovtrain.sandbox.engines import gitstore
from flovtrain.sandbox.providers.codecommit.repos import _err, _open_repo, _repo_exists, _require
from flovtrain.sandbox.seam import AwsError, Call


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
    return gitstore.MODE_NAMES.get(mode, "NORMAL")


def _mode_value(name: str | None) -> int:
    if not name:
        return gitstore.FILE_MODES["NORMAL"]
    if name not in gitstore.FILE_MODES:
        raise AwsError(
            "InvalidFileModeException",
            f"fileMode {name!r} is not valid: use NORMAL, EXECUTABLE or SYMLINK.",
        )
    return gitstore.FILE_MODES[name]


def _content(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return b""


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


#: The largest file GetFile and GetBlob return (CodeCommit quotas: 6 MB).
MAX_FILE_BYTES = 6 * 1024 * 1024
#: CodeCommit's FileTooLargeException message (its API reference's wording).
FILE_TOO_LARGE = (
    "The specified file exceeds the file size limit for CodeCommit. For more information "
    "about limits in CodeCommit, see Quotas in the CodeCommit User Guide."
)


def _blob_content(repo: Any, blob_id: bytes) -> bytes:
    """The blob's bytes; FileTooLargeException above CodeCommit's 6 MB API limit.

    BlobIdDoesNotExistException when ``blob_id`` names no blob.
    """
    try:
        type_num, raw = repo.object_store.get_raw(blob_id)
    except (KeyError, ValueError, AssertionError):
        type_num, raw = 0, b""
    if type_num != 3:  # git's type number of a blob
        raise AwsError(
            "BlobIdDoesNotExistException",
            f"Could not find the blob {blob_id.decode(errors='replace')} in the repository.",
        )
    if len(raw) > MAX_FILE_BYTES:
        raise AwsError("FileTooLargeException", FILE_TOO_LARGE)
    return raw


def _resolve(repo: Any, spec: str | None) -> bytes:
    try:
        return gitstore.resolve(repo, spec)
    except gitstore.GitRepoError as exc:
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
        content = _blob_content(repo, blob_id)
        return {
            "commitId": sha.decode(),
            "blobId": blob_id.decode(),
            "filePath": path,
            "fileMode": _mode_name(mode),
            "fileSize": len(content),
            "fileContent": content,
        }


def get_blob(call: Call) -> dict[str, Any]:
    """GetBlob: a blob's content by its id."""
    params = call.params
    with _open_repo(call, "blobId") as repo:
        blob_id = str(params["blobId"]).strip()
        if not re.fullmatch(r"[0-9a-f]{40}", blob_id):
            raise AwsError("InvalidBlobIdException", f"The blob ID {blob_id} is not valid.")
        return {"content": _blob_content(repo, blob_id.encode())}


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
    tip = gitstore.head(call.account_id, call.region, name, params["branchName"])
    if tip and params.get("parentCommitId") == tip:
        try:
            files = gitstore.tree_files(call.account_id, call.region, name, tip)
        except gitstore.GitRepoError:
            files = {}
        if files.get(path.strip("/")) == content:
            raise AwsError(
                "SameFileContentException",
                f"The file {path} already has this content on {params['branchName']}; "
                "nothing to commit.",
            )
    try:
        result = gitstore.commit_changes(
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
    except gitstore.GitRepoError as exc:
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
            current = gitstore.tree_files(call.account_id, call.region, name, parent)
        except gitstore.GitRepoError:
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
        result = gitstore.commit_changes(
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
    except gitstore.GitRepoError as exc:
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
