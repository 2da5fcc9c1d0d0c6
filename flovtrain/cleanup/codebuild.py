"""Cleanup of CodeBuild: chapter 07's build projects (by name; a stack's own go with it)."""

from __future__ import annotations

from flovtrain.cleanup._registry import Kind, call_with_id, listed, named_ours, register

PROJECT = register(
    Kind(
        "codebuild project",
        "codebuild",
        order=50,
        list=listed("codebuild", "list_projects", "projects"),
        describe=named_ours("07"),
        delete=call_with_id("codebuild", "delete_project", "name"),
        removal="delete_project",
    )
)
