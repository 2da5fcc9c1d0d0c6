"""CodeCommit in the sandbox: real git over HTTP plus the API, driven by plain boto3 and git."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest

from flovtrain.sandbox import control
from flovtrain.sandbox.engines import gitstore


@pytest.fixture()
def cc():
    control.reset()
    return boto3.client("codecommit", region_name="eu-west-1")


def git(*args: str, cwd: Path | str = ".") -> str:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd if Path(cwd).is_dir() else Path(cwd).parent),
    }
    result = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"git {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def test_clone_push_and_api_see_the_same_repository(cc, tmp_path):
    meta = cc.create_repository(repositoryName="web", repositoryDescription="app")[
        "repositoryMetadata"
    ]
    assert meta["cloneUrlHttp"].startswith(control.endpoint() + "/flovtrain-api/codecommit/git/")
    work = tmp_path / "web"
    git("clone", meta["cloneUrlHttp"], str(work), cwd=tmp_path)
    (work / "README.md").write_text("hello\n")
    (work / "scripts").mkdir()
    (work / "scripts" / "start.sh").write_text("#!/bin/sh\necho hi\n")
    (work / "scripts" / "start.sh").chmod(0o755)
    git("add", ".", cwd=work)
    git("commit", "-m", "first", cwd=work)
    git("push", "origin", "HEAD:main", cwd=work)
    local_head = git("rev-parse", "HEAD", cwd=work).strip()

    branch = cc.get_branch(repositoryName="web", branchName="main")["branch"]
    assert branch["commitId"] == local_head
    assert cc.get_repository(repositoryName="web")["repositoryMetadata"]["defaultBranch"] == "main"
    got = cc.get_file(repositoryName="web", filePath="README.md")
    assert got["fileContent"] == b"hello\n" and got["commitId"] == local_head
    assert (
        cc.get_file(repositoryName="web", filePath="scripts/start.sh")["fileMode"] == "EXECUTABLE"
    )
    folder = cc.get_folder(repositoryName="web", folderPath="/")
    assert [f["relativePath"] for f in folder["files"]] == ["README.md"]
    assert [f["relativePath"] for f in folder["subFolders"]] == ["scripts"]
    commit = cc.get_commit(repositoryName="web", commitId=local_head)["commit"]
    assert commit["message"] == "first\n" and commit["author"]["name"] == "Dev"

    # put_file makes a commit that git pull brings down
    put = cc.put_file(
        repositoryName="web",
        branchName="main",
        filePath="docs/new.txt",
        fileContent=b"from the API",
        parentCommitId=local_head,
        commitMessage="add docs",
    )
    git("pull", "origin", "main", cwd=work)
    assert (work / "docs" / "new.txt").read_text() == "from the API"
    assert git("rev-parse", "HEAD", cwd=work).strip() == put["commitId"]
    diff = cc.get_differences(
        repositoryName="web", beforeCommitSpecifier=local_head, afterCommitSpecifier="main"
    )["differences"]
    assert [(d["changeType"], d["afterBlob"]["path"]) for d in diff] == [("A", "docs/new.txt")]

    # tags pushed with git are kept
    git("tag", "v1.0", cwd=work)
    git("push", "origin", "v1.0", cwd=work)
    assert gitstore.tags("123456789012", "eu-west-1", "web") == {"v1.0": put["commitId"]}
    assert (
        cc.get_file(repositoryName="web", filePath="README.md", commitSpecifier="v1.0")["commitId"]
        == put["commitId"]
    )
    names = [r["repositoryName"] for r in cc.list_repositories()["repositories"]]
    assert names == ["web"]


def test_branches_commits_and_pull_requests(cc, tmp_path):
    def pull_request_to_main(title: str, branch: str) -> dict:
        return cc.create_pull_request(
            title=title,
            targets=[
                {"repositoryName": "svc", "sourceReference": branch, "destinationReference": "main"}
            ],
        )

    cc.create_repository(repositoryName="svc")
    first = cc.put_file(
        repositoryName="svc", branchName="main", filePath="a.txt", fileContent=b"a"
    )["commitId"]
    cc.create_branch(repositoryName="svc", branchName="feature", commitId=first)
    assert cc.list_branches(repositoryName="svc")["branches"] == ["feature", "main"]
    change = cc.create_commit(
        repositoryName="svc",
        branchName="feature",
        parentCommitId=first,
        putFiles=[{"filePath": "b.sh", "fileContent": b"#!/bin/sh\n", "fileMode": "EXECUTABLE"}],
        deleteFiles=[{"filePath": "a.txt"}],
        commitMessage="swap",
    )
    assert [f["absolutePath"] for f in change["filesAdded"]] == ["b.sh"]
    assert [f["absolutePath"] for f in change["filesDeleted"]] == ["a.txt"]

    pr = pull_request_to_main("Swap", "feature")
    pr_id = pr["pullRequest"]["pullRequestId"]
    assert pr["pullRequest"]["pullRequestTargets"][0]["sourceCommit"] == change["commitId"]
    assert cc.list_pull_requests(repositoryName="svc", pullRequestStatus="OPEN")[
        "pullRequestIds"
    ] == [pr_id]
    merged = cc.merge_pull_request_by_fast_forward(pullRequestId=pr_id, repositoryName="svc")
    assert merged["pullRequest"]["pullRequestStatus"] == "CLOSED"
    assert merged["pullRequest"]["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is True
    assert (
        cc.get_branch(repositoryName="svc", branchName="main")["branch"]["commitId"]
        == change["commitId"]
    )
    with pytest.raises(cc.exceptions.PullRequestAlreadyClosedException):
        cc.merge_pull_request_by_fast_forward(pullRequestId=pr_id, repositoryName="svc")

    # diverged branches: fast-forward refused, squash merges the non-conflicting change
    base = change["commitId"]
    cc.create_branch(repositoryName="svc", branchName="side", commitId=base)
    for branch, path, body in (("side", "side.txt", b"s"), ("main", "main.txt", b"m")):
        cc.put_file(
            repositoryName="svc",
            branchName=branch,
            filePath=path,
            fileContent=body,
            parentCommitId=base,
        )
    pr2 = pull_request_to_main("Side", "side")
    pr2_id = pr2["pullRequest"]["pullRequestId"]
    with pytest.raises(cc.exceptions.ManualMergeRequiredException):
        cc.merge_pull_request_by_fast_forward(pullRequestId=pr2_id, repositoryName="svc")
    cc.merge_pull_request_by_squash(pullRequestId=pr2_id, repositoryName="svc")
    files = cc.get_folder(repositoryName="svc", folderPath="/")["files"]
    assert sorted(f["relativePath"] for f in files) == ["b.sh", "main.txt", "side.txt"]
    deleted = cc.delete_branch(repositoryName="svc", branchName="side")["deletedBranch"]
    assert deleted["branchName"] == "side"


def test_aws_errors_for_missing_things(cc):
    cc.create_repository(repositoryName="r1")
    with pytest.raises(cc.exceptions.RepositoryDoesNotExistException):
        cc.get_repository(repositoryName="missing")
    with pytest.raises(cc.exceptions.RepositoryDoesNotExistException):
        cc.get_branch(repositoryName="missing", branchName="main")
    with pytest.raises(cc.exceptions.BranchDoesNotExistException):
        cc.get_branch(repositoryName="r1", branchName="main")
    first = cc.put_file(repositoryName="r1", branchName="main", filePath="f", fileContent=b"1")
    with pytest.raises(cc.exceptions.ParentCommitIdRequiredException):
        cc.put_file(repositoryName="r1", branchName="main", filePath="g", fileContent=b"2")
    with pytest.raises(cc.exceptions.SameFileContentException):
        cc.put_file(
            repositoryName="r1",
            branchName="main",
            filePath="f",
            fileContent=b"1",
            parentCommitId=first["commitId"],
        )
    with pytest.raises(cc.exceptions.FileDoesNotExistException):
        cc.get_file(repositoryName="r1", filePath="nope.txt")
    with pytest.raises(cc.exceptions.CommitDoesNotExistException):
        cc.get_file(repositoryName="r1", filePath="f", commitSpecifier="no-such-branch")
    with pytest.raises(cc.exceptions.CommitIdDoesNotExistException):
        cc.get_commit(repositoryName="r1", commitId="0" * 40)
    with pytest.raises(cc.exceptions.InvalidRepositoryNameException):
        cc.create_repository(repositoryName="bad name!")
    assert cc.delete_repository(repositoryName="r1")["repositoryId"]
    assert cc.list_repositories()["repositories"] == []


def test_git_clone_of_missing_repository_fails_cleanly(cc, tmp_path):
    url = f"{control.endpoint()}/flovtrain-api/codecommit/git/v1/repos/123456789012/eu-west-1/none"
    result = subprocess.run(
        ["git", "clone", url, str(tmp_path / "x")],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        timeout=30,
    )
    assert result.returncode != 0 and "not found" in result.stderr


# -- the git store and the provider's in-process API -------------------------------------------
@pytest.fixture()
def local_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOVTRAIN_HOME", str(tmp_path / "home"))
    from moto.codecommit.models import codecommit_backends

    yield "111122223333", "eu-west-1"
    gitstore.wipe()
    codecommit_backends["111122223333"]["eu-west-1"].repositories.clear()


def test_internal_api_head_archive_on_push(local_home):
    from flovtrain.sandbox.providers import codecommit

    account, region = local_home
    seen: list[tuple] = []
    listener = gitstore.on_push(lambda *event: seen.append(event))
    try:
        meta = codecommit.create_repository_internal(
            account,
            region,
            "app",
            "the app",
            {"README.md": b"hi\n", "scripts/run.sh": b"#!/bin/sh\necho run\n"},
        )
        assert meta["repositoryName"] == "app" and meta["defaultBranch"] == "main"
        tip = gitstore.head(account, region, "app", "main")
        assert tip and seen == [(account, region, "app", "main", None, tip)]
        assert gitstore.head(account, region, "app", "nope") is None
        assert gitstore.head(account, region, "missing", "main") is None

        archive = zipfile.ZipFile(io.BytesIO(gitstore.archive(account, region, "app", tip)))
        assert sorted(archive.namelist()) == ["README.md", "scripts/run.sh"]
        assert archive.read("README.md") == b"hi\n"
        assert (archive.getinfo("scripts/run.sh").external_attr >> 16) & 0o111

        result = gitstore.commit_changes(
            account,
            region,
            "app",
            "main",
            tip,
            [("README.md", 0o100644, b"changed\n")],
            message="edit",
        )
        assert seen[-1] == (account, region, "app", "main", tip, result["commitId"])

        # concurrent commits on the same parent: exactly one wins (optimistic concurrency)
        errors: list[str] = []

        def commit(i: int) -> None:
            try:
                gitstore.commit_changes(
                    account,
                    region,
                    "app",
                    "main",
                    result["commitId"],
                    [(f"f{i}.txt", 0o100644, b"x")],
                )
            except gitstore.GitRepoError as exc:
                errors.append(exc.code)

        threads = [threading.Thread(target=commit, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == ["ParentCommitIdOutdatedException"] * 3

        codecommit.delete_repository_internal(account, region, "app")
        assert not gitstore.exists(account, region, "app")
        with pytest.raises(gitstore.GitRepoError) as info:
            gitstore.archive(account, region, "app", "main")
        assert info.value.code == "RepositoryDoesNotExistException"
    finally:
        gitstore.remove_listener(listener)


# -- what CodeCommit refuses ---------------------------------------------------------------------
def _pushed_repository(cc, tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    """A repository ``name`` whose main branch (the default) holds ``files``; returns its clone."""
    meta = cc.create_repository(repositoryName=name)["repositoryMetadata"]
    work = tmp_path / name
    git("clone", meta["cloneUrlHttp"], str(work), cwd=tmp_path)
    for path, content in files.items():
        (work / path).write_bytes(content)
    git("add", ".", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    return work


def test_push_cannot_delete_the_default_branch(cc, tmp_path):
    work = _pushed_repository(cc, tmp_path, "web", {"a.txt": b"a\n"})
    git("push", "-q", "origin", "main:feature", cwd=work)
    refused = subprocess.run(
        ["git", "push", "origin", ":main"], cwd=work, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0
    assert "[remote rejected] main (deletion of the current branch prohibited)" in refused.stderr
    assert cc.get_branch(repositoryName="web", branchName="main")["branch"]["commitId"]
    with pytest.raises(cc.exceptions.DefaultBranchCannotBeDeletedException) as info:
        cc.delete_branch(repositoryName="web", branchName="main")
    assert info.value.response["Error"]["Message"].startswith(
        "The specified branch is the default branch for the repository, and cannot be deleted."
    )
    git("push", "-q", "origin", ":feature", cwd=work)  # any other branch may go
    assert [b for b in cc.list_branches(repositoryName="web")["branches"]] == ["main"]


def test_files_above_six_megabytes_are_too_large_for_the_api(cc, tmp_path):
    limit = 6 * 1024 * 1024
    _pushed_repository(
        cc, tmp_path, "big", {"limit.bin": b"x" * limit, "over.bin": b"y" * (limit + 1)}
    )
    at_limit = cc.get_file(repositoryName="big", filePath="limit.bin")
    assert at_limit["fileSize"] == limit
    assert cc.get_blob(repositoryName="big", blobId=at_limit["blobId"])["content"] == b"x" * limit
    with pytest.raises(cc.exceptions.FileTooLargeException) as info:
        cc.get_file(repositoryName="big", filePath="over.bin")
    assert info.value.response["Error"]["Message"].startswith(
        "The specified file exceeds the file size limit for CodeCommit."
    )
    folder = cc.get_folder(repositoryName="big", folderPath="/")
    over = next(f for f in folder["files"] if f["relativePath"] == "over.bin")
    with pytest.raises(cc.exceptions.FileTooLargeException):
        cc.get_blob(repositoryName="big", blobId=over["blobId"])
    with pytest.raises(cc.exceptions.BlobIdDoesNotExistException):
        cc.get_blob(repositoryName="big", blobId="0" * 40)
    with pytest.raises(cc.exceptions.InvalidBlobIdException):
        cc.get_blob(repositoryName="big", blobId="not-a-blob")


def _info_refs(url: str, authorization: str | None) -> int:
    request = urllib.request.Request(f"{url}/info/refs?service=git-upload-pack")
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_git_credentials_sent_must_be_valid(cc):
    from flovtrain import config
    from flovtrain.sandbox.providers.codecommit import git_auth

    url = cc.create_repository(repositoryName="auth")["repositoryMetadata"]["cloneUrlHttp"]
    path = urllib.parse.urlsplit(url).path

    def basic(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    signed = git_auth.password(
        config.SANDBOX_ACCESS_KEY_ID, config.SANDBOX_SECRET_ACCESS_KEY, "eu-west-1", path
    )
    assert _info_refs(url, None) == 200  # the chapters' git sends none
    assert _info_refs(url, basic(config.SANDBOX_ACCESS_KEY_ID, signed)) == 200
    assert _info_refs(url, basic("alice", "hunter2")) == 403
    tampered = signed[:-1] + ("1" if signed.endswith("0") else "0")
    assert _info_refs(url, basic(config.SANDBOX_ACCESS_KEY_ID, tampered)) == 403
    assert _info_refs(url, basic("AKIAUNKNOWNKEY000000", signed)) == 403
    stale = git_auth.password(
        config.SANDBOX_ACCESS_KEY_ID,
        config.SANDBOX_SECRET_ACCESS_KEY,
        "eu-west-1",
        path,
        timestamp="20200101T000000",
    )
    assert _info_refs(url, basic(config.SANDBOX_ACCESS_KEY_ID, stale)) == 403
    assert _info_refs(url, "Bearer abc") == 403
    # an IAM user's active access key is valid, a deactivated one is not
    iam = boto3.client("iam", region_name="eu-west-1")
    iam.create_user(UserName="dev-git")
    key = iam.create_access_key(UserName="dev-git")["AccessKey"]
    by_user = git_auth.password(key["AccessKeyId"], key["SecretAccessKey"], "eu-west-1", path)
    assert _info_refs(url, basic(key["AccessKeyId"], by_user)) == 200
    iam.update_access_key(UserName="dev-git", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert _info_refs(url, basic(key["AccessKeyId"], by_user)) == 403


def test_clone_url_ssh_points_at_the_sandbox(cc):
    meta = cc.create_repository(repositoryName="ssh")["repositoryMetadata"]
    http, ssh = (
        urllib.parse.urlsplit(meta["cloneUrlHttp"]),
        urllib.parse.urlsplit(meta["cloneUrlSsh"]),
    )
    assert ssh.scheme == "ssh" and ssh.hostname == http.hostname and ssh.port is None
    assert ssh.path == http.path and "amazonaws.com" not in meta["cloneUrlSsh"]


def test_a_failed_push_leaves_no_temporary_pack(cc):
    url = cc.create_repository(repositoryName="torn")["repositoryMetadata"]["cloneUrlHttp"]
    command = f"{'0' * 40} {'1' * 40} refs/heads/main\0report-status\n"
    pkt = f"{len(command) + 4:04x}{command}0000".encode()
    # a pack that announces 1000 objects and then breaks off, as a push does when the disk fills
    body = pkt + b"PACK" + (2).to_bytes(4, "big") + (1000).to_bytes(4, "big") + b"\x95\x0a" * 64
    request = urllib.request.Request(
        f"{url}/git-receive-pack",
        data=body,
        headers={"Content-Type": "application/x-git-receive-pack-request"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        report = response.read()
    assert b"unpack " in report and b"unpack ok" not in report
    objects = gitstore.repo_path("123456789012", "eu-west-1", "torn") / "objects"
    assert list(objects.glob("tmp_pack_*")) == [] and list(objects.glob("pack/tmp*")) == []
    assert cc.list_branches(repositoryName="torn")["branches"] == []
