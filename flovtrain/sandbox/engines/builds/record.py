"""A new build's record and settings, from its project and what started it."""

from __future__ import annotations

from typing import Any

from moto.moto_api._internal import mock_random

from flovtrain import config
from flovtrain.sandbox.engines.builds.build import Build, utcnow
from flovtrain.sandbox.engines.errors import EngineError

DEFAULT_TIMEOUT_MINUTES = 60


class BuildError(EngineError):
    """A build CodeBuild would refuse to start (``InvalidInputException``)."""


def new_build(
    account: str,
    region: str,
    meta: dict[str, Any],
    number: int,
    *,
    source_version: str | None,
    env_overrides: list[dict[str, Any]],
    initiator: str,
    overrides: dict[str, Any],
    source_zip: bytes | None,
) -> tuple[Build, dict[str, Any]]:
    """Return a new build of the project ``meta`` (``batch_get_projects`` shape) and its settings.

    Parameters
    ----------
    number : int
        The build's number in its project.
    source_version : str, optional
        The version asked for (a branch, a commit id).
    env_overrides : list of dict
        ``environmentVariablesOverride`` entries; they replace the project's of the same name.
    initiator : str
        Who started it (``root``, ``codepipeline/<pipeline>``).
    overrides : dict
        ``start_build``'s other overrides (``buildspecOverride``, ``sourceTypeOverride`` ...).
    source_zip : bytes, optional
        The input artifact of a pipeline's build action (the source becomes CODEPIPELINE).

    Returns
    -------
    (Build, dict)
        The build (not started) and what its thread needs (time-out, folder, buildspec).

    Raises
    ------
    BuildError
        ``FLOVTRAIN_TIMEOUT_SECONDS`` is not a number.
    """
    name = meta["name"]
    build_uuid = str(mock_random.uuid4())
    build_id = f"{name}:{build_uuid}"
    source = dict(meta.get("source") or {"type": "NO_SOURCE"})
    if overrides.get("sourceTypeOverride"):
        source["type"] = overrides["sourceTypeOverride"]
    if overrides.get("sourceLocationOverride"):
        source["location"] = overrides["sourceLocationOverride"]
    if source_zip is not None:
        source["type"] = "CODEPIPELINE"
    artifacts_target = dict(
        overrides.get("artifactsOverride") or meta.get("artifacts") or {"type": "NO_ARTIFACTS"}
    )
    logs_config = overrides.get("logsConfigOverride") or meta.get("logsConfig") or {}
    cw = logs_config.get("cloudWatchLogs") or {}
    group = cw.get("groupName") or f"/aws/codebuild/{name}"
    stream = f"{cw['streamName']}/{build_uuid}" if cw.get("streamName") else build_uuid
    environment = dict(meta.get("environment") or {})
    env_vars = list(environment.get("environmentVariables") or [])
    names = {v["name"] for v in env_overrides}
    env_vars = [v for v in env_vars if v["name"] not in names] + list(env_overrides)
    timeout_minutes = (
        overrides.get("timeoutInMinutesOverride")
        or meta.get("timeoutInMinutes")
        or DEFAULT_TIMEOUT_MINUTES
    )
    timeout_seconds = float(timeout_minutes) * 60
    for var in env_vars:
        if var["name"] == "FLOVTRAIN_TIMEOUT_SECONDS":
            try:
                timeout_seconds = float(var["value"])
            except (TypeError, ValueError):
                raise BuildError(
                    "InvalidInputException",
                    "FLOVTRAIN_TIMEOUT_SECONDS must be a number of seconds.",
                ) from None
    now = utcnow()
    deep_link = (
        f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:"
        f"log-groups/log-group/{group.replace('/', '$252F')}/log-events/{stream}"
    )
    record: dict[str, Any] = {
        "id": build_id,
        "arn": f"arn:aws:codebuild:{region}:{account}:build/{build_id}",
        "buildNumber": number,
        "startTime": now,
        "currentPhase": "QUEUED",
        "buildStatus": "IN_PROGRESS",
        "sourceVersion": source_version or meta.get("sourceVersion") or "",
        "projectName": name,
        "phases": [
            {
                "phaseType": "SUBMITTED",
                "phaseStatus": "SUCCEEDED",
                "startTime": now,
                "endTime": now,
                "durationInSeconds": 0,
            },
            {"phaseType": "QUEUED", "startTime": now},
        ],
        "source": {
            **source,
            **(
                {"buildspec": overrides["buildspecOverride"]}
                if overrides.get("buildspecOverride")
                else {}
            ),
        },
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": {"location": ""},
        "secondaryArtifacts": [],
        "cache": meta.get("cache") or {"type": "NO_CACHE"},
        "environment": {**environment, "environmentVariables": env_vars},
        "serviceRole": meta.get("serviceRole", ""),
        "logs": {
            "groupName": group,
            "streamName": stream,
            "deepLink": deep_link,
            "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account}:log-group:{group}:"
            f"log-stream:{stream}",
            "cloudWatchLogs": {"status": "ENABLED", "groupName": group, "streamName": stream},
            "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
        },
        "timeoutInMinutes": int(timeout_minutes),
        "queuedTimeoutInMinutes": meta.get("queuedTimeoutInMinutes") or 480,
        "buildComplete": False,
        "initiator": initiator,
        "encryptionKey": meta.get("encryptionKey", ""),
    }
    if not record["sourceVersion"]:
        del record["sourceVersion"]
    build = Build(account, region, record)
    record["_artifacts_target"] = artifacts_target
    workdir = config.home() / "codebuild" / account / region / name / build_uuid
    settings = {
        "timeout_seconds": timeout_seconds,
        "workdir": str(workdir),
        "source_zip": source_zip,
        "env_vars": env_vars,
        "buildspec": overrides.get("buildspecOverride"),
    }
    return build, settings
