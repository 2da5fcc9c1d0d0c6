"""Cleanup of CodePipeline: chapter 07's pipelines (by name; a stack's own go with the stack)."""

from __future__ import annotations

from flovtrain.cleanup._registry import Kind, call_with_id, listed, named_ours, register

PIPELINE = register(
    Kind(
        "codepipeline pipeline",
        "codepipeline",
        order=40,
        list=listed("codepipeline", "list_pipelines", "pipelines"),
        describe=named_ours("07", name=lambda pipeline: pipeline["name"]),
        delete=call_with_id("codepipeline", "delete_pipeline", "name"),
        removal="delete_pipeline",
        billable=True,
    )
)
