"""CodeBuild in the sandbox really runs buildspecs: plain boto3 against the session sandbox."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import boto3
import pytest

from flovtrain.sandbox import control

ROLE = "arn:aws:iam::123456789012:role/codebuild-role"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}

APP = b"def add(a, b):\n    return a + b\n"
TEST = b"from app import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
BUILDSPEC = b"""\
version: 0.2
env:
  variables:
    STAGE: ci
phases:
  install:
    commands:
      - export BUILT_BY="sandbox-$STAGE"
  pre_build:
    commands:
      - python --version
  build:
    commands:
      - pytest -q -p no:cacheprovider test_app.py
      - mkdir -p dist && cp app.py dist/
      - echo "$BUILT_BY" > dist/built-by.txt
      - env | sort > env.txt
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  base-directory: dist
  files:
    - '**/*'
"""


@pytest.fixture()
def clients():
    control.reset()
    region = "eu-west-1"
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": region})
    create_service_role(boto3.client("iam"), ROLE.rsplit("/", 1)[-1])
    return (
        boto3.client("codebuild", region_name=region),
        boto3.client("codecommit", region_name=region),
        s3,
        boto3.client("logs", region_name=region),
    )


def create_service_role(iam, name: str) -> None:
    """A role CodeBuild may assume, allowed what builds here do (builds act as their role)."""
    trust = {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}}
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Statement": [{**trust, "Action": "sts:AssumeRole"}]}),
    )
    allow = {"Effect": "Allow", "Action": ["s3:*", "logs:*", "codecommit:*"], "Resource": "*"}
    iam.put_role_policy(
        RoleName=name,
        PolicyName="builds",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )


def wait(cb, build_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            return build
        time.sleep(0.1)
    raise AssertionError(f"build {build_id} did not finish in {timeout} s")


def phases(build: dict) -> dict[str, str | None]:
    return {p["phaseType"]: p.get("phaseStatus") for p in build["phases"]}


def log_text(logs, build: dict) -> str:
    events = logs.get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"]
    )["events"]
    return "\n".join(e["message"] for e in events)


def make_project(
    cb, name: str, source: dict, artifacts: dict | None = None, environment: dict = ENVIRONMENT
) -> dict:
    """``create_project`` with the shared role and environment; returns the new project."""
    return cb.create_project(
        name=name,
        source=source,
        artifacts=artifacts or {"type": "NO_ARTIFACTS"},
        environment=environment,
        serviceRole=ROLE,
    )["project"]


def inline_project(cb, name: str, spec: str, artifacts: dict | None = None) -> None:
    make_project(cb, name, {"type": "NO_SOURCE", "buildspec": spec}, artifacts)


def run(cb, project: str, timeout: float = 60) -> dict:
    """Start a build of ``project`` and wait for it to finish."""
    return wait(cb, cb.start_build(projectName=project)["build"]["id"], timeout)


def phase(build: dict, phase_type: str) -> dict:
    return next(p for p in build["phases"] if p["phaseType"] == phase_type)


def client_error(build: dict, phase_type: str) -> dict:
    """The context of ``phase_type``, after asserting the build failed there with CLIENT_ERROR."""
    failed = phase(build, phase_type)
    assert build["buildStatus"] == "FAILED" and failed["phaseStatus"] == "CLIENT_ERROR"
    return failed["contexts"][0]


def test_codecommit_build_runs_tests_and_uploads_artifacts(clients):
    cb, cc, s3, logs = clients
    repo = cc.create_repository(repositoryName="calc")["repositoryMetadata"]
    commit = cc.create_commit(
        repositoryName="calc",
        branchName="main",
        putFiles=[
            {"filePath": "app.py", "fileContent": APP},
            {"filePath": "test_app.py", "fileContent": TEST},
            {"filePath": "buildspec.yml", "fileContent": BUILDSPEC},
        ],
    )["commitId"]
    project = make_project(
        cb,
        "calc-build",
        {"type": "CODECOMMIT", "location": repo["cloneUrlHttp"]},
        {"type": "S3", "location": "artifacts", "name": "calc.zip"},
    )
    assert project["timeoutInMinutes"] == 60
    started = cb.start_build(projectName="calc-build", sourceVersion="main")["build"]
    assert started["buildStatus"] == "IN_PROGRESS" and started["buildNumber"] == 1
    build = wait(cb, started["id"])

    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert list(phases(build)) == [
        "SUBMITTED",
        "QUEUED",
        "PROVISIONING",
        "DOWNLOAD_SOURCE",
        "INSTALL",
        "PRE_BUILD",
        "BUILD",
        "POST_BUILD",
        "UPLOAD_ARTIFACTS",
        "FINALIZING",
        "COMPLETED",
    ]
    assert all(p.get("durationInSeconds", 0) >= 0 for p in build["phases"])
    assert build["resolvedSourceVersion"] == commit
    assert build["endTime"] >= build["startTime"]
    assert build["logs"]["groupName"] == "/aws/codebuild/calc-build"

    text = log_text(logs, build)
    assert "Entering phase BUILD" in text
    assert "Running command pytest -q -p no:cacheprovider test_app.py" in text
    assert "1 passed" in text
    assert "Phase complete: BUILD State: SUCCEEDED" in text
    assert "succeeding=1" in text

    obj = s3.get_object(Bucket="artifacts", Key="calc.zip")["Body"].read()
    archive = zipfile.ZipFile(io.BytesIO(obj))
    assert sorted(archive.namelist()) == ["app.py", "built-by.txt"]
    assert archive.read("built-by.txt") == b"sandbox-ci\n"  # export persisted across phases
    assert build["artifacts"]["location"] == "arn:aws:s3:::artifacts/calc.zip"
    assert cb.list_builds_for_project(projectName="calc-build")["ids"] == [build["id"]]


def test_build_environment_is_scrubbed_and_has_codebuild_variables(clients):
    cb, _, _, logs = clients
    inline_project(
        cb, "envcheck", "version: 0.2\nphases:\n  build:\n    commands:\n      - env | sort\n"
    )
    build = run(cb, "envcheck")
    assert build["buildStatus"] == "SUCCEEDED"
    lines = [
        line
        for line in log_text(logs, build).splitlines()
        if "=" in line and not line.startswith("[Container]")
    ]
    env = dict(line.split("=", 1) for line in lines)
    assert env["AWS_ENDPOINT_URL"] == control.endpoint()
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["CODEBUILD_BUILD_ID"] == build["id"]
    assert env["CODEBUILD_BUILD_ARN"] == build["arn"]
    assert env["CODEBUILD_BUILD_NUMBER"] == "1"
    assert env["CODEBUILD_SRC_DIR"].endswith("/src") and env["PWD"] == env["CODEBUILD_SRC_DIR"]
    assert env["CODEBUILD_INITIATOR"] and env["CODEBUILD_START_TIME"].isdigit()
    # the service role's session (temporary ASIA keys), never the host's or the sandbox's root
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_SESSION_TOKEN"]
    assert not {
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    } & set(env)
    assert "PYTEST_CURRENT_TEST" not in env  # nothing of the host's environment


def test_scrub_environment_drops_host_credentials():
    from flovtrain.sandbox.engines.builds import scrub_environment

    host = {
        "AWS_ACCESS_KEY_ID": "AKIAHOSTKEY",
        "AWS_SECRET_ACCESS_KEY": "host-secret",
        "AWS_SESSION_TOKEN": "tok",
        "AWS_PROFILE": "prod",
        "MY_HOST_SECRET": "s3cr3t",
        "GITHUB_TOKEN": "ghp",
        "LANG": "en_US.UTF-8",
        "PATH": "/host/bin",
    }
    env = scrub_environment(host, "123456789012", "eu-west-1")
    assert "host-secret" not in env.values() and "AKIAHOSTKEY" not in env.values()
    assert not {"AWS_SESSION_TOKEN", "AWS_PROFILE", "MY_HOST_SECRET", "GITHUB_TOKEN"} & set(env)
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAFLOVTRAINSANDBOX" and env["LANG"] == "en_US.UTF-8"
    assert "/host/bin" not in env["PATH"] and env["PATH"].split(os.pathsep)[0].endswith("bin")


def test_failing_command_fails_the_build_with_the_log_tail(clients):
    cb, _, _, logs = clients
    spec = (
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo before-the-crash\n"
        "      - exit 3\n      - echo never-runs\n    finally:\n      - echo cleanup-ran\n"
        '  post_build:\n    commands:\n      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"\n'
    )
    inline_project(cb, "broken", spec)
    build = run(cb, "broken")
    assert build["buildStatus"] == "FAILED"
    status = phases(build)
    assert status["BUILD"] == "FAILED" and status["POST_BUILD"] == "SUCCEEDED"
    context = phase(build, "BUILD")["contexts"][0]
    assert context["statusCode"] == "COMMAND_EXECUTION_ERROR"
    assert "Error while executing command: exit 3. Reason: exit status 3" in context["message"]
    assert "before-the-crash" in context["message"]
    text = log_text(logs, build)
    assert "never-runs" not in text.replace("- echo never-runs", "")
    assert "cleanup-ran" in text and "succeeding=0" in text


def test_install_failure_skips_the_build_phase(clients):
    cb, _, _, _ = clients
    inline_project(
        cb,
        "noinstall",
        "version: 0.2\nphases:\n  install:\n    commands: [false]\n"
        "  build:\n    commands: [echo built]\n",
    )
    build = run(cb, "noinstall")
    assert build["buildStatus"] == "FAILED"
    assert phases(build)["INSTALL"] == "FAILED"
    assert "BUILD" not in phases(build) and "FINALIZING" in phases(build)


def test_build_time_out(clients):
    cb, _, _, _ = clients
    make_project(
        cb,
        "slow",
        {
            "type": "NO_SOURCE",
            "buildspec": "version: 0.2\nphases:\n  build:\n    commands: ['sleep 30']\n",
        },
        environment={
            **ENVIRONMENT,
            "environmentVariables": [
                {"name": "FLOVTRAIN_TIMEOUT_SECONDS", "value": "1", "type": "PLAINTEXT"}
            ],
        },
    )
    began = time.monotonic()
    build = run(cb, "slow", timeout=20)
    assert time.monotonic() - began < 15
    assert build["buildStatus"] == "TIMED_OUT"
    assert phases(build)["BUILD"] == "TIMED_OUT"


def test_stop_build(clients):
    cb, _, _, _ = clients
    inline_project(cb, "stoppable", "version: 0.2\nphases:\n  build:\n    commands: ['sleep 30']\n")
    build_id = cb.start_build(projectName="stoppable")["build"]["id"]
    deadline = time.monotonic() + 10
    while cb.batch_get_builds(ids=[build_id])["builds"][0]["currentPhase"] != "BUILD":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stopped = cb.stop_build(id=build_id)["build"]
    assert stopped["buildStatus"] == "STOPPED"
    assert phases(wait(cb, build_id))["BUILD"] == "STOPPED"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "version: 0.2\nphases:\n  build:\n    commands:\n      - ls\n     - oops\n",
            "not valid YAML at line 6",
        ),
        ("version: 0.2\nphases:\n  build:\n    comands: [ls]\n", "unknown key 'comands'"),
    ],
)
def test_bad_buildspec_fails_in_download_source(clients, spec, expected):
    cb, _, _, _ = clients
    inline_project(cb, "badspec", spec)
    build = run(cb, "badspec")
    context = client_error(build, "DOWNLOAD_SOURCE")
    assert context["statusCode"] == "YAML_FILE_ERROR"
    assert expected in context["message"]
    assert "BUILD" not in phases(build)


def test_missing_buildspec_in_source(clients):
    cb, cc, _, _ = clients
    repo = cc.create_repository(repositoryName="nospec")["repositoryMetadata"]
    cc.put_file(repositoryName="nospec", branchName="main", filePath="app.py", fileContent=APP)
    make_project(cb, "nospec", {"type": "CODECOMMIT", "location": repo["cloneUrlHttp"]})
    context = client_error(run(cb, "nospec"), "DOWNLOAD_SOURCE")
    assert "buildspec.yml: no such file or directory" in context["message"]


def test_artifacts_matching_nothing(clients):
    cb, _, _, _ = clients
    inline_project(
        cb,
        "noart",
        "version: 0.2\nphases:\n  build:\n    commands: [echo hi]\n"
        "artifacts:\n  files: ['target/*.jar']\n",
        artifacts={"type": "S3", "location": "artifacts", "name": "x.zip"},
    )
    context = client_error(run(cb, "noart"), "UPLOAD_ARTIFACTS")
    assert "no matching artifact paths found" in context["message"]


def test_project_validation(clients):
    cb, _, _, _ = clients
    pipeline = {"type": "CODEPIPELINE"}
    with pytest.raises(cb.exceptions.InvalidInputException, match="location is required"):
        make_project(cb, "nolocation", {"type": "CODECOMMIT"})
    make_project(cb, "piped", pipeline, pipeline)
    with pytest.raises(cb.exceptions.InvalidInputException, match="CODEPIPELINE"):
        cb.start_build(projectName="piped")
    with pytest.raises(cb.exceptions.ResourceNotFoundException):
        cb.start_build(projectName="missing")
    with pytest.raises(cb.exceptions.ResourceAlreadyExistsException):
        make_project(cb, "piped", pipeline, pipeline)
    updated = cb.update_project(name="piped", description="now described", timeoutInMinutes=10)
    assert updated["project"]["description"] == "now described"
    assert cb.batch_get_projects(names=["piped"])["projects"][0]["timeoutInMinutes"] == 10


# -- the in-process API the pipeline's build action uses -----------------------------------------
def test_internal_api_builds_a_pipeline_source_zip(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOVTRAIN_HOME", str(tmp_path))
    from flovtrain.sandbox.providers import codebuild

    account, region = "210987654321", "eu-west-1"
    from moto.iam.models import iam_backends

    trust = {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}}
    iam = iam_backends[account]["aws"]
    iam.create_role(
        "r",
        json.dumps({"Statement": [{**trust, "Action": "sts:AssumeRole"}]}),
        "/",
        None,
        "",
        [],
        None,
    )
    iam.put_role_policy(
        "r",
        "logs",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}],
            }
        ),
    )
    codebuild.create_project_internal(
        account,
        region,
        {
            "name": "pipe-build",
            "source": {"type": "CODEPIPELINE"},
            "artifacts": {"type": "CODEPIPELINE"},
            "environment": ENVIRONMENT,
            "serviceRole": f"arn:aws:iam::{account}:role/r",
        },
    )
    source = io.BytesIO()
    with zipfile.ZipFile(source, "w") as zf:
        zf.writestr(
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n"
            '      - mkdir out && echo "$COLOR" > out/color.txt\n'
            "artifacts:\n  files: ['out/*']\n  discard-paths: yes\n",
        )
    try:
        build_id = codebuild.start_build_internal(
            account,
            region,
            "pipe-build",
            source.getvalue(),
            "abc123",
            {"COLOR": "blue"},
            "codepipeline/demo",
        )
        builds = codebuild.runner(account, region)
        build = builds.wait(build_id, timeout=60)
        assert build["buildStatus"] == "SUCCEEDED", build["phases"]
        assert build["initiator"] == "codepipeline/demo"
        assert build["resolvedSourceVersion"] == "abc123"
        assert builds.get(build_id)["id"] == build_id
        artifact = zipfile.ZipFile(io.BytesIO(builds.artifacts_zip(build_id)))
        assert artifact.namelist() == ["color.txt"]
        assert artifact.read("color.txt") == b"blue\n"
    finally:
        codebuild.PROVIDER.reset()
        from moto.codebuild.models import codebuild_backends

        codebuild_backends[account][region].codebuild_projects.clear()
        codebuild.STATE.pop(account, None)
        iam.delete_role_policy("r", "logs")
        iam.delete_role("r")


# -- the build log: capped events, kept on disk --------------------------------------------
def test_a_line_longer_than_an_event_becomes_several_events(clients):
    """CloudWatch Logs takes 256 KB per event (26 bytes of it overhead): a 600 KB line is
    split into events of at most 262,118 bytes that together give the line back."""
    cb, _, _, logs = clients
    spec = (
        "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        python3 -c "
        "\"import sys; sys.stdout.write('é' + 'x' * 600000 + chr(10))\"\n"
    )
    inline_project(cb, "longline", spec)
    build = run(cb, "longline")
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    events = logs.get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    pieces = [e["message"] for e in events if e["message"].lstrip("é").startswith("x")]
    sizes = [len(p.encode()) for p in pieces]
    assert len(pieces) == 3 and max(sizes) <= 256 * 1024 - 26, sizes
    assert "".join(pieces) == "é" + "x" * 600000


def test_build_log_pages_come_from_disk(clients):
    cb, _, _, logs = clients
    inline_project(
        cb,
        "manylines",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - seq 1 2500\n",
    )
    build = run(cb, "manylines")
    group, stream = build["logs"]["groupName"], build["logs"]["streamName"]
    numbers, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=True, limit=1000, **kwargs
        )
        numbers += [int(e["message"]) for e in page["events"] if e["message"].isdigit()]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert numbers == list(range(1, 2501))
    last = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=3)["events"]
    assert last[-1]["message"].endswith("Phase complete: FINALIZING State: SUCCEEDED")
    described = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert described["firstEventTimestamp"] <= described["lastEventTimestamp"]
    found = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert found.count("2500") == 1 and found.index("1") < found.index("2500")
    from flovtrain import config

    stored = list((config.home() / "codebuild").rglob("cloudwatch-log.jsonl"))
    assert any(b'"m": "2500"' in p.read_bytes() for p in stored), "events live on disk"


def test_split_message_never_cuts_a_character():
    from flovtrain.sandbox.engines.builds.logstore import split_message

    text = "€" * 100  # 3 bytes each
    pieces = split_message(text, limit=10)
    assert "".join(pieces) == text
    assert [len(p.encode()) for p in pieces[:-1]] == [9] * (len(pieces) - 1)


def test_unknown_compute_type_is_refused(clients):
    from botocore.exceptions import ClientError

    cb = clients[0]
    environment = {
        "type": "LINUX_CONTAINER",
        "image": "aws/codebuild/standard:7.0",
        "computeType": "HUGE",
    }
    with pytest.raises(ClientError) as err:
        cb.create_project(
            name="huge",
            source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment=environment,
            serviceRole="arn:aws:iam::123456789012:role/build",
        )
    error = err.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    assert error["Message"].startswith(
        "1 validation error detected: Value 'HUGE' at 'environment.computeType' failed to "
        "satisfy constraint: Member must satisfy enum value set: [BUILD_GENERAL1_SMALL, "
    )
    assert cb.batch_get_projects(names=["huge"])["projects"] == []
