"""What a build's commands see: a scrubbed environment pointed at the sandbox.

The host's variables and credentials never reach a build; the sandbox's endpoint and fake keys
do (like a service role), plus CodeBuild's ``CODEBUILD_*`` variables and the buildspec's and
project's own (with values from Parameter Store).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flovtrain import config
from flovtrain.sandbox.engines import host
from flovtrain.sandbox.engines.builds import buildspec as bspec
from flovtrain.sandbox.engines.builds.build import Build, PhaseFailed

#: Host variables a build may see (everything else, credentials included, is dropped).
PASS_THROUGH = ("LANG", "LC_ALL", "TZ")


def sandbox_env(account: str, region: str) -> dict[str, str]:
    """Return the variables that make AWS clients in a build talk to the sandbox."""
    return {
        "AWS_ENDPOINT_URL": host.sandbox_endpoint() or host.NOWHERE,
        "AWS_ACCESS_KEY_ID": config.SANDBOX_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": config.SANDBOX_SECRET_ACCESS_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "NO_PROXY": "127.0.0.1,localhost",
        config.HOME_VAR: str(config.home()),
    }


def scrub_environment(outside: dict[str, str], account: str, region: str) -> dict[str, str]:
    """Return the base environment of a build: nothing from ``outside`` but locale settings.

    The host's ``AWS_*`` variables, tokens, profiles and everything else are dropped; the
    sandbox's endpoint and fake credentials are added, with a ``PATH`` that starts with the
    sandbox's virtual environment (``python``, ``pytest``, ``ruff`` work).
    """
    env = {k: outside[k] for k in PASS_THROUGH if k in outside}
    env.setdefault("LANG", "C.UTF-8")
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        [venv_bin, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    )
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    env.update(sandbox_env(account, region))
    return env


def resolve_env(build: Build, settings: dict[str, Any], spec: bspec.BuildSpec) -> dict[str, str]:
    """Return the build's own variables: buildspec < project < start_build override.

    Raises
    ------
    PhaseFailed
        A Parameter Store parameter named does not exist.
    """
    env: dict[str, str] = {}
    env.update(spec.variables)
    from moto.ssm.models import ssm_backends

    ssm = ssm_backends[build.account][build.region]
    for name, parameter in spec.parameter_store.items():
        found = ssm.get_parameter(parameter)
        if found is None:
            raise PhaseFailed(
                "CLIENT_ERROR",
                "CLIENT_ERROR",
                f"Parameter Store parameter {parameter!r} (for {name}) does not exist.",
            )
        env[name] = found.value
    for item in settings.get("env_vars", []):
        value = str(item.get("value", ""))
        if item.get("type") == "PARAMETER_STORE":
            found = ssm.get_parameter(value)
            if found is None:
                raise PhaseFailed(
                    "CLIENT_ERROR",
                    "CLIENT_ERROR",
                    f"Parameter Store parameter {value!r} does not exist.",
                )
            value = found.value
        env[item["name"]] = value
    return env


def codebuild_env(build: Build, src: Path) -> dict[str, str]:
    """Return CodeBuild's ``CODEBUILD_*`` variables (and ``HOME``) for a build from ``src``."""
    record = build.record
    return {
        "CODEBUILD_BUILD_ID": record["id"],
        "CODEBUILD_BUILD_ARN": record["arn"],
        "CODEBUILD_BUILD_NUMBER": str(record["buildNumber"]),
        "CODEBUILD_BUILD_IMAGE": record["environment"].get("image", ""),
        "CODEBUILD_INITIATOR": record["initiator"],
        "CODEBUILD_KMS_KEY_ID": record.get("encryptionKey", ""),
        "CODEBUILD_LOG_PATH": record["logs"]["streamName"],
        "CODEBUILD_SRC_DIR": str(src),
        "CODEBUILD_SOURCE_VERSION": record.get("sourceVersion") or "",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": record.get("resolvedSourceVersion") or "",
        "CODEBUILD_SOURCE_REPO_URL": record["source"].get("location", ""),
        "CODEBUILD_START_TIME": str(int(record["startTime"].timestamp() * 1000)),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "HOME": str(src.parent / "home"),
    }
