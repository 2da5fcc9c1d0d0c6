"""What the pipeline executor keeps: executions, action runs, per-pipeline runtime state."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flovtrain.sandbox.engines.errors import EngineError

#: Seconds between checks while an action or a held execution waits.
POLL = 0.05
#: Seconds an action may run before it fails.
ACTION_TIMEOUT = 3600.0
#: Set once when the sandbox shuts down: every execution and action stops waiting.
stopping = threading.Event()


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC (CodePipeline's timestamps)."""
    return datetime.now(UTC)


class PipelineError(EngineError):
    """A pipeline, stage, action, execution or approval CodePipeline would not find or accept."""


@dataclass
class ActionRun:
    """One run of one action in one execution, as ``list_action_executions`` reports it."""

    stage: str
    name: str
    action: dict[str, Any]
    action_execution_id: str
    status: str = "InProgress"
    start: datetime = field(default_factory=utcnow)
    last_update: datetime = field(default_factory=utcnow)
    summary: str | None = None
    external_id: str | None = None
    error: dict[str, str] | None = None
    token: str | None = None
    approval: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    updated_by: str = "arn:aws:iam::123456789012:role/codepipeline"

    def finish(
        self, status: str, summary: str | None = None, error: dict[str, str] | None = None
    ) -> None:
        """End the run with ``status`` (and a summary or error details)."""
        self.status, self.last_update = status, utcnow()
        if summary is not None:
            self.summary = summary
        self.error = error


@dataclass
class Execution:
    """One pipeline execution: its stages' statuses, action runs and artifacts."""

    account_id: str
    region: str
    pipeline_name: str
    pipeline: dict[str, Any]
    execution_id: str
    trigger: dict[str, str]
    pinned: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, branch) -> commit
    status: str = "InProgress"
    status_summary: str | None = None
    start: datetime = field(default_factory=utcnow)
    last_update: datetime = field(default_factory=utcnow)
    stages: dict[str, str] = field(default_factory=dict)  # stage -> status
    actions: list[ActionRun] = field(default_factory=list)
    artifacts: dict[str, dict[str, str]] = field(default_factory=dict)
    source_revisions: list[dict[str, Any]] = field(default_factory=list)
    stop_mode: str | None = None
    stop_reason: str | None = None
    resume_at: int = 0
    retry_mode: str = "ALL_ACTIONS"
    rng: random.Random = field(default_factory=random.Random)
    wake: threading.Event = field(default_factory=threading.Event)
    #: the pipeline role's session its actions act as (set when the first action runs)
    session: Any = None

    def latest(self, stage: str, action: str) -> ActionRun | None:
        """Return the latest run of ``action`` in ``stage`` (None if it has not run)."""
        for run in reversed(self.actions):
            if run.stage == stage and run.name == action:
                return run
        return None


@dataclass
class PipelineRuntime:
    """What the executor keeps per pipeline besides moto's definition."""

    executions: dict[str, Execution] = field(default_factory=dict)  # chronological
    queue: list[Execution] = field(default_factory=list)
    transitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # inbound per stage
    worker: threading.Thread | None = None
    current: Execution | None = None
