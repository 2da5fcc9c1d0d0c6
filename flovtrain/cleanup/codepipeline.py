"""Cleanup of CodePipeline: chapter 07's pipelines (by name; a stack's own go with the stack)."""

from __future__ import annotations

from flovtrain.cleanup._registry import declare, named_ours

PIPELINE = declare(
    "codepipeline pipeline",
    40,
    ("list_pipelines", "pipelines"),
    named_ours("07", name=lambda pipeline: pipeline["name"]),
    ("delete_pipeline", "name"),
    billable=True,
)
