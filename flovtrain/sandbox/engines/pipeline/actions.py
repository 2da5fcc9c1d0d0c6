"""Pipeline action types: a registry the executor looks actions up in, and what actions use.

An action type is one entry per (category, owner, provider), registered by the module that
knows the service: the CodeCommit provider registers ``Source/AWS/CodeCommit``, the CodeBuild
provider ``Build`` and ``Test``, the CodeDeploy provider ``Deploy``; S3 sources and Manual
approvals need no other service and are registered here. The executor never imports a
provider: it calls the registered runner with the execution and the action's run.

A runner reads its configuration from ``act.action``, takes its input with
:func:`input_artifact`, stores outputs with :func:`store_output`, waits with
:func:`wait_or_stop` and fails with :class:`ActionFailed` (an
:class:`~flovtrain.sandbox.engines.errors.EngineError` fails it as ``code: message``). An
action still ``InProgress`` when its runner returns has succeeded.

Examples
--------
>>> def run_lambda(run, act):  # doctest: +SKIP
...     act.summary = "invoked"
>>> register("Invoke", "Lambda", run_lambda, label="Lambda")  # doctest: +SKIP
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flovtrain.sandbox.engines import s3, service_roles
from flovtrain.sandbox.engines.pipeline.model import (
    ACTION_TIMEOUT,
    POLL,
    ActionRun,
    Execution,
    PipelineError,
    stopping,
)

#: A runner gets the execution and the action's run; it returns when the action is done.
Runner = Callable[[Execution, ActionRun], None]


def insufficient_permissions(run: Execution, action: str, resource: str) -> None:
    """Fail the action unless the pipeline's role may do ``action`` on ``resource``.

    Raises
    ------
    ActionFailed
        ``PermissionError`` with the role's denial as the underlying error.
    """
    denied = service_roles.denial(run.session, action, resource)
    if denied:
        raise ActionFailed(
            "PermissionError",
            "Insufficient permissions: The provided role does not have permissions to perform "
            f"this action. Underlying error: {denied}",
        )


class ActionFailed(Exception):
    """The action failed with CodePipeline's error ``code`` (e.g. ``JobFailed``) and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class ActionType:
    """One registered action type: ``actionTypeId`` fields, a label for messages, the runner."""

    category: str
    owner: str
    provider: str
    label: str
    runner: Runner


_registry: dict[tuple[str, str, str], ActionType] = {}


def register(
    category: str, provider: str, runner: Runner, *, label: str, owner: str = "AWS"
) -> None:
    """Register (or replace) the runner of actions of type ``category/owner/provider``.

    Parameters
    ----------
    category, provider, owner : str
        The action's ``actionTypeId`` (e.g. ``Build``, ``CodeBuild``, ``AWS``).
    runner : callable
        ``runner(execution, action_run)``.
    label : str
        How the sandbox names the type when it lists what it runs (e.g. ``CodeBuild``;
        sources are listed as ``<label> source``).
    """
    _registry[(category, owner, provider)] = ActionType(category, owner, provider, label, runner)


def lookup(type_id: dict[str, Any]) -> Runner:
    """Return the runner for an ``actionTypeId``.

    Raises
    ------
    ActionFailed
        ``JobFailed`` naming what the sandbox runs, for a type nobody registered.
    """
    key = (type_id.get("category"), type_id.get("owner"), type_id.get("provider"))
    found = _registry.get(key)  # type: ignore[arg-type]
    if found is None:
        raise ActionFailed(
            "JobFailed",
            f"The flovtrain sandbox does not run {'/'.join(map(str, key))} actions "
            f"(it runs {_what_runs()}).",
        )
    return found.runner


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _what_runs() -> str:
    """E.g. ``CodeCommit and S3 sources, CodeBuild, CodeDeploy and Manual approval``."""
    sources = sorted({t.label for t in _registry.values() if t.category == "Source"})
    others = sorted({t.label for t in _registry.values() if t.category != "Source"})
    parts = [_joined(sources) + (" sources" if len(sources) > 1 else " source")] if sources else []
    return _joined(parts + others) if parts + others else "no actions"


# -- what runners use ---------------------------------------------------------------------------
def artifact_bucket(pipeline: dict[str, Any], region: str) -> str:
    """Return the S3 bucket of the pipeline's artifact store in ``region``.

    Raises
    ------
    PipelineError
        ``InvalidStructureException`` when the pipeline has none.
    """
    stores = pipeline.get("artifactStores") or {}
    store = stores.get(region) or pipeline.get("artifactStore") or next(iter(stores.values()), None)
    if not store or not store.get("location"):
        raise PipelineError(
            "InvalidStructureException",
            "The pipeline has no artifactStore (or artifactStores entry for "
            f"{region}): add an S3 bucket to keep its artifacts in.",
        )
    return store["location"]


def _artifact_key(run: Execution, artifact: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    suffix = "".join(run.rng.choice(alphabet) for _ in range(7))
    return f"{run.pipeline_name[:20]}/{artifact[:20]}/{suffix}"


def store_output(run: Execution, act: ActionRun, data: bytes, revision: str | None = None) -> None:
    """Store ``data`` (a zip) as every output artifact of the action, in the artifact store."""
    bucket = artifact_bucket(run.pipeline, run.region)
    for out in act.action.get("outputArtifacts") or []:
        key = _artifact_key(run, out["name"])
        insufficient_permissions(run, "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}")
        s3.write(run.account_id, bucket, key, data)
        run.artifacts[out["name"]] = {"bucket": bucket, "key": key, "revision": revision or ""}
        act.outputs.append({"name": out["name"], "s3location": {"bucket": bucket, "key": key}})


def input_artifact(run: Execution, act: ActionRun) -> tuple[dict[str, str], bytes]:
    """Return the primary input artifact's location (bucket, key, revision) and its body.

    Raises
    ------
    ActionFailed
        ``ConfigurationError``: no input, or one no earlier action of the execution produced.
    """
    names = [a["name"] for a in act.action.get("inputArtifacts") or []]
    if not names:
        raise ActionFailed(
            "ConfigurationError", f"Action {act.name} needs an input artifact (inputArtifacts)."
        )
    primary = act.action.get("configuration", {}).get("PrimarySource") or names[0]
    for name in names:
        if name not in run.artifacts:
            raise ActionFailed(
                "ConfigurationError",
                f"Input artifact {name} of action {act.name} was not produced by "
                "an earlier action of this execution.",
            )
        loc = run.artifacts[name]
        act.inputs.append(
            {"name": name, "s3location": {"bucket": loc["bucket"], "key": loc["key"]}}
        )
    loc = run.artifacts[primary]
    insufficient_permissions(run, "s3:GetObject", f"arn:aws:s3:::{loc['bucket']}/{loc['key']}")
    return loc, s3.read(run.account_id, loc["bucket"], loc["key"])


def wait_or_stop(
    run: Execution, done: Callable[[], bool], on_abandon: Callable[[], None] | None = None
) -> bool:
    """Wait until ``done()``; False when the execution is abandoned (or the sandbox stops).

    Raises
    ------
    ActionFailed
        ``JobFailed`` after an hour.
    """
    deadline = time.monotonic() + ACTION_TIMEOUT
    while not done():
        if run.stop_mode == "Abandon" or stopping.is_set():
            if on_abandon:
                on_abandon()
            return False
        if time.monotonic() > deadline:
            raise ActionFailed("JobFailed", "The action did not finish within an hour.")
        time.sleep(POLL)
    return True


# -- the action types that need no other service ---------------------------------------------
def _s3_source(run: Execution, act: ActionRun) -> None:
    cfg = act.action.get("configuration", {})
    bucket, key = cfg.get("S3Bucket"), cfg.get("S3ObjectKey")
    insufficient_permissions(run, "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}")
    obj = s3.s3_object(run.account_id, bucket, key)
    if obj is None:
        raise ActionFailed(
            "JobFailed",
            f"The object s3://{bucket}/{key} does not exist (or its "
            "bucket does not). Upload it, then release the change.",
        )
    version = (
        str(obj.version_id) if obj.version_id and obj.version_id != "null" else obj.etag.strip('"')
    )
    act.external_id, act.summary = version, f"s3://{bucket}/{key}"
    act.variables = {"ObjectKey": key, "ETag": obj.etag.strip('"'), "VersionId": version}
    store_output(run, act, bytes(obj.value), version)
    run.source_revisions.append(
        {"actionName": act.name, "revisionId": version, "revisionSummary": f"s3://{bucket}/{key}"}
    )


def _approval(run: Execution, act: ActionRun) -> None:
    act.token = str(uuid.UUID(int=run.rng.getrandbits(128), version=4))
    if not wait_or_stop(run, lambda: act.approval is not None):
        return
    result = act.approval["result"]
    if result["status"] == "Approved":
        act.finish("Succeeded", result.get("summary") or "Approved")
    else:
        act.summary = result.get("summary") or "Rejected"
        raise ActionFailed("JobFailed", f"Rejected: {act.summary}")


register("Source", "S3", _s3_source, label="S3")
register("Approval", "Manual", _approval, label="Manual approval")
