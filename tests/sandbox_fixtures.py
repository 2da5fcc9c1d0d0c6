"""Set-up shared by the tests that start their own sandbox, and by those that run builds.

:func:`fresh_home` gives a test its own ``FLOVTRAIN_HOME`` (the session's sandbox is never
touched) and stops whatever sandbox the test started there; :func:`fail_fast_client` talks to
that sandbox without retries, so a sandbox that is gone shows at once. :func:`create_build_project`
and :func:`wait_for_build` make and follow the CodeBuild projects several suites build with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.config import Config
from provider_fixtures import sandbox_client

from flovtrain import config
from flovtrain.sandbox import control
from flovtrain.sandbox.server import DEBUG_VAR

#: The build environment every test project uses (the image of the course's buildspecs).
BUILD_ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}


def fresh_home(tmp_path: Path, monkeypatch: Any) -> Iterator[Path]:
    """Point ``FLOVTRAIN_HOME`` at ``tmp_path/home``; afterwards stop the sandbox started there.

    For a fixture: ``yield from fresh_home(tmp_path, monkeypatch)``.
    """
    home = tmp_path / "home"
    monkeypatch.setenv(config.HOME_VAR, str(home))
    monkeypatch.delenv(config.PORT_VAR, raising=False)
    monkeypatch.delenv(DEBUG_VAR, raising=False)
    yield home
    control.stop()


def fail_fast_client(service: str, endpoint: str, **kwargs: Any) -> Any:
    """A plain boto3 client on the sandbox at ``endpoint``: one attempt, 3 s to connect."""
    fail_fast = Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=30)
    return sandbox_client(service, endpoint, fail_fast, **kwargs)


def create_build_project(
    codebuild: Any,
    name: str,
    buildspec: str,
    role: str,
    *,
    pipeline: bool = False,
    environment: dict[str, str] = BUILD_ENVIRONMENT,
) -> dict[str, Any]:
    """Create project ``name`` with an inline ``buildspec`` on ``environment``.

    ``pipeline`` makes its source and artifacts CodePipeline's (else none). Returns the call's
    answer.
    """
    kind = "CODEPIPELINE" if pipeline else None
    return codebuild.create_project(
        name=name,
        source={"type": kind or "NO_SOURCE", "buildspec": buildspec},
        artifacts={"type": kind or "NO_ARTIFACTS"},
        environment=environment,
        serviceRole=role,
    )


def wait_for_build(codebuild: Any, build_id: str, timeout: float = 60, poll: float = 0.1) -> dict:
    """Return build ``build_id`` once complete; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            return build
        time.sleep(poll)
    raise AssertionError(f"build {build_id} did not finish in {timeout} s")


def until(
    condition: Any, timeout: float = 60.0, what: str = "condition", every: float = 0.05
) -> Any:
    """Call ``condition`` until it returns something true and return that; fail the test after
    ``timeout`` seconds naming ``what`` it waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
