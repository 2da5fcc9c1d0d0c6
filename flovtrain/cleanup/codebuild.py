"""Cleanup of CodeBuild: chapter 07's build projects (by name; a stack's own go with it)."""

from __future__ import annotations

from flovtrain.cleanup._registry import declare, named_ours

PROJECT = declare(
    "codebuild project",
    50,
    ("list_projects", "projects"),
    named_ours("07"),
    ("delete_project", "name"),
)
