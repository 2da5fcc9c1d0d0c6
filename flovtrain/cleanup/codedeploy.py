"""Cleanup of CodeDeploy: chapter 07's applications (by name; a stack's own go with it)."""

from __future__ import annotations

from flovtrain.cleanup._registry import Kind, call_with_id, listed, named_ours, register

APPLICATION = register(
    Kind(
        "codedeploy application",
        "codedeploy",
        order=60,
        list=listed("codedeploy", "list_applications", "applications"),
        describe=named_ours("07"),
        delete=call_with_id("codedeploy", "delete_application", "applicationName"),
        removal="delete_application (its deployment groups go with it)",
    )
)
