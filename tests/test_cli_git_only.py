"""The sandbox behaves like AWS to real clients: only the AWS CLI and git, no flovtrain code.

Everything below runs ``.venv/bin/aws`` and ``git`` as subprocesses against the session's
sandbox (the root conftest exports ``AWS_ENDPOINT_URL`` and the fake credentials): a repository,
a push of the sample app, a build project, a deployment application and group, a tagged EC2
instance, a pipeline created from JSON, its execution, and the page served on the instance's
``PublicIpAddress``:8090. Then a second push changes the page.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_provider_codepipeline import stage

from flovtrain.sandbox import control

ROOT = Path(__file__).resolve().parents[1]
AWS = str(Path(sys.executable).parent / "aws")
APP = ROOT / "flovtrain" / "data" / "webapp"
NAME = "cli-webapp"
REGION = "eu-west-1"
SKIP = {".ruff_cache", "__pycache__", ".pytest_cache", "template.yml"}


def aws(*args: str, env: dict[str, str]) -> dict:
    run = subprocess.run(
        [AWS, *args, "--region", REGION, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, f"aws {' '.join(args)} failed:\n{run.stderr}"
    return json.loads(run.stdout) if run.stdout.strip() else {}


def git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    run = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, f"git {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def wait_execution(env: dict[str, str], newer_than: str | None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = aws("codepipeline", "list-pipeline-executions", "--pipeline-name", NAME, env=env)[
            "pipelineExecutionSummaries"
        ]
        if (
            found
            and found[0]["pipelineExecutionId"] != newer_than
            and found[0]["status"] not in ("InProgress", "Stopping")
        ):
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no finished execution after {timeout} s: {found}")


def fetch(url: str, contains: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                last = response.read().decode()
            if contains in last:
                return last
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise AssertionError(f"{url} never showed {contains!r}; last: {last[:300]}")


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    control.reset()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # git and the CLI read nothing of the developer's own configuration
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        AWS_CONFIG_FILE=str(home / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "none"),
        AWS_DEFAULT_REGION=REGION,
        AWS_PAGER="",
    )
    env.pop("AWS_PROFILE", None)
    assert env.get("AWS_ENDPOINT_URL", "").startswith("http://127.0.0.1:"), (
        "the root conftest did not export the sandbox endpoint"
    )
    return env


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pipeline_from_cli_and_git_serves_the_page(cli_env: dict[str, str], tmp_path: Path):
    env = cli_env
    account = aws("sts", "get-caller-identity", env=env)["Account"]

    # 1. the repository, and the app pushed with plain git
    repo = aws("codecommit", "create-repository", "--repository-name", NAME, env=env)
    clone_url = repo["repositoryMetadata"]["cloneUrlHttp"]
    assert clone_url.startswith(env["AWS_ENDPOINT_URL"])
    work = tmp_path / "work"
    shutil.copytree(APP, work, ignore=shutil.ignore_patterns(*SKIP))
    git("init", "-q", "-b", "main", cwd=work, env=env)
    git("config", "user.name", "CLI Tester", cwd=work, env=env)
    git("config", "user.email", "cli@example.com", cwd=work, env=env)
    git("add", "-A", cwd=work, env=env)
    git("commit", "-q", "-m", "Initial commit", cwd=work, env=env)
    git("push", "-q", clone_url, "main", cwd=work, env=env)
    branch = aws(
        "codecommit", "get-branch", "--repository-name", NAME, "--branch-name", "main", env=env
    )["branch"]
    assert branch["commitId"] == git("rev-parse", "HEAD", cwd=work, env=env).strip()

    # 2. artifact bucket and the role the services assume
    bucket = f"{NAME}-artifacts-{account}"
    aws(
        "s3api",
        "create-bucket",
        "--bucket",
        bucket,
        "--create-bucket-configuration",
        f"LocationConstraint={REGION}",
        env=env,
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}
            for service in (
                "codepipeline.amazonaws.com",
                "codebuild.amazonaws.com",
                "codedeploy.amazonaws.com",
            )
        ],
    }
    role = aws(
        "iam",
        "create-role",
        "--role-name",
        f"{NAME}-toolchain",
        "--assume-role-policy-document",
        json.dumps(trust),
        env=env,
    )["Role"]["Arn"]
    acts = ["s3:*", "codecommit:*", "codebuild:*", "codedeploy:*", "logs:*"]
    toolchain = {"Version": "2012-10-17",
                 "Statement": [{"Effect": "Allow", "Resource": "*", "Action": acts}]}  # fmt: skip
    aws("iam", "put-role-policy", "--role-name", f"{NAME}-toolchain", "--policy-name",
        "toolchain", "--policy-document", json.dumps(toolchain), env=env)  # fmt: skip

    # 3. build project, deployment application + group, a tagged instance
    aws(
        "codebuild",
        "create-project",
        "--name",
        NAME,
        "--service-role",
        role,
        "--source",
        "type=CODEPIPELINE,buildspec=buildspec.yml",
        "--artifacts",
        "type=CODEPIPELINE",
        "--environment",
        "type=LINUX_CONTAINER,computeType=BUILD_GENERAL1_SMALL,"
        "image=aws/codebuild/amazonlinux-x86_64-standard:5.0",
        env=env,
    )
    aws("deploy", "create-application", "--application-name", NAME, env=env)
    aws(
        "deploy",
        "create-deployment-group",
        "--application-name",
        NAME,
        "--deployment-group-name",
        f"{NAME}-env",
        "--service-role-arn",
        role,
        "--ec2-tag-filters",
        f"Key=Environment,Value={NAME},Type=KEY_AND_VALUE",
        env=env,
    )
    # the instance's CodeDeploy agent downloads revisions as the instance profile's role
    ec2 = {"Service": "ec2.amazonaws.com"}
    ec2_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                 "Action": "sts:AssumeRole", "Principal": ec2}]}  # fmt: skip
    aws("iam", "create-role", "--role-name", f"{NAME}-instance", "--assume-role-policy-document",
        json.dumps(ec2_trust), env=env)  # fmt: skip
    reads = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject*",
             "Resource": f"arn:aws:s3:::{bucket}/*"}]}  # fmt: skip
    aws("iam", "put-role-policy", "--role-name", f"{NAME}-instance", "--policy-name", "revisions",
        "--policy-document", json.dumps(reads), env=env)  # fmt: skip
    aws("iam", "create-instance-profile", "--instance-profile-name", f"{NAME}-instance", env=env)
    aws("iam", "add-role-to-instance-profile", "--instance-profile-name", f"{NAME}-instance",
        "--role-name", f"{NAME}-instance", env=env)  # fmt: skip
    image = aws(
        "ssm",
        "get-parameter",
        "--name",
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
        env=env,
    )["Parameter"]["Value"]
    launched = aws(
        "ec2",
        "run-instances",
        "--image-id",
        image,
        "--instance-type",
        "t2.micro",
        "--count",
        "1",
        "--iam-instance-profile",
        f"Name={NAME}-instance",
        "--tag-specifications",
        f"ResourceType=instance,Tags=[{{Key=Environment,Value={NAME}}}]",
        env=env,
    )["Instances"][0]
    instance_id = launched["InstanceId"]

    # 4. the pipeline, from a JSON file, as the CLI docs show it
    source = {"RepositoryName": NAME, "BranchName": "main", "PollForSourceChanges": "false"}
    build = {"ProjectName": NAME}
    deploy = {"ApplicationName": NAME, "DeploymentGroupName": f"{NAME}-env"}
    stages = [
        stage("Source", "Source", "CodeCommit", source, outputs=("SourceOutput",)),
        stage("Build", "Build", "CodeBuild", build, ("SourceOutput",), ("BuildOutput",)),
        stage("Deploy", "Deploy", "CodeDeploy", deploy, inputs=("BuildOutput",)),
    ]
    pipeline = {
        "pipeline": {
            "name": NAME,
            "roleArn": role,
            "version": 1,
            "artifactStore": {"type": "S3", "location": bucket},
            "stages": stages,
        }
    }
    spec = tmp_path / "pipeline.json"
    spec.write_text(json.dumps(pipeline))
    try:
        aws("codepipeline", "create-pipeline", "--cli-input-json", f"file://{spec}", env=env)
        first = wait_execution(env, newer_than=None)
        assert first["status"] == "Succeeded", first

        # 5. the page, on the instance's public IP
        described = aws("ec2", "describe-instances", "--instance-ids", instance_id, env=env)
        address = described["Reservations"][0]["Instances"][0]["PublicIpAddress"]
        assert address.startswith("127.") and address != "127.0.0.1"
        page = fetch(f"http://{address}:8090/", "Congratulations")
        assert "<h1>Congratulations!</h1>" in page

        # 6. edit, commit, push: the push alone starts an execution that deploys the change
        index = work / "webapp" / "templates" / "index.html"
        index.write_text(index.read_text().replace("You just created", "Pushed from the CLI!"))
        git("commit", "-q", "-am", "Change the greeting", cwd=work, env=env)
        git("push", "-q", clone_url, "main", cwd=work, env=env)
        second = wait_execution(env, newer_than=first["pipelineExecutionId"])
        assert second["status"] == "Succeeded", second
        pushed = git("rev-parse", "HEAD", cwd=work, env=env).strip()
        assert second["sourceRevisions"][0]["revisionId"] == pushed
        assert "<p>Pushed from the CLI! a web application" in fetch(
            f"http://{address}:8090/", "Pushed from the CLI!"
        )

        builds = aws("codebuild", "list-builds-for-project", "--project-name", NAME, env=env)
        assert len(builds["ids"]) == 2
        deployments = aws(
            "deploy",
            "list-deployments",
            "--application-name",
            NAME,
            "--deployment-group-name",
            f"{NAME}-env",
            env=env,
        )
        assert len(deployments["deployments"]) == 2
    finally:
        aws("ec2", "terminate-instances", "--instance-ids", instance_id, env=env)
