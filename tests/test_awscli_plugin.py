"""A learner's terminal: every `aws` command reaches the sandbox, also the services AWS CLI v1
re-points to legacy AWS host names (sqs, rds, emr, docdb, neptune, health)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flovtrain import session
from flovtrain.sandbox import control

AWS = str(Path(sys.executable).parent / "aws")


def aws(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AWS, *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "command",
    [("sqs", "list-queues"), ("rds", "describe-db-instances"), ("s3api", "list-buckets")],
)
def test_the_sandbox_env_keeps_every_service_on_the_sandbox(command: tuple[str, str]) -> None:
    env = {**os.environ, **control.client_env()}
    done = aws(*command, env=env)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout or "{}")


def test_without_the_plugin_aws_sqs_leaves_for_a_legacy_host() -> None:
    """Why the plugin exists: AWS_ENDPOINT_URL alone does not hold `aws sqs` (it would try the
    internet, where the guard or the missing network stops it)."""
    env = {**os.environ, **control.client_env()}
    env.pop("AWS_CONFIG_FILE")
    done = aws("sqs", "list-queues", "--cli-connect-timeout", "1", env=env)
    assert done.returncode != 0
    assert "queue.amazonaws.com" in done.stderr


def test_an_explicit_endpoint_url_is_kept() -> None:
    env = {**os.environ, **control.client_env()}
    done = aws("sqs", "list-queues", "--endpoint-url", "http://127.0.0.1:9", env=env)
    assert done.returncode != 0
    assert "127.0.0.1:9" in done.stderr  # not silently redirected to the sandbox


def test_real_aws_mode_does_not_keep_the_sandboxs_cli_config(monkeypatch) -> None:
    """Switching a kernel to a real account drops the sandbox's AWS_CONFIG_FILE (it would hide
    the learner's profiles) and puts it back when the switch is refused."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(control.cli_config_file()))
    monkeypatch.setenv("FLOVTRAIN_BACKEND", "aws")
    monkeypatch.setenv("FLOVTRAIN_AWS_ACCOUNT", "210987654321")  # not the sandbox's account
    seen = {}

    class Sts:
        def get_caller_identity(self) -> dict:
            seen["config"] = os.environ.get("AWS_CONFIG_FILE")
            return {"Account": "123456789012"}

    class Session:
        def __init__(self, **kwargs) -> None:
            pass

        def client(self, name: str) -> Sts:
            return Sts()

    monkeypatch.setattr(session.boto3, "Session", Session)
    with pytest.raises(Exception, match="210987654321"):
        session._connect_aws("eu-west-1")
    assert seen["config"] is None
    assert os.environ["AWS_CONFIG_FILE"] == str(control.cli_config_file())
