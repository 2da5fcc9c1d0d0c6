"""Cleanup of CodeDeploy: chapter 07's applications (by name; a stack's own go with it)."""

from __future__ import annotations

from flovtrain.cleanup._registry import declare, named_ours

APPLICATION = declare(
    "codedeploy application",
    60,
    ("list_applications", "applications"),
    named_ours("07"),
    ("delete_application", "applicationName"),
    "delete_application (its deployment groups go with it)",
)
