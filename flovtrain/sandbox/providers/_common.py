"""What several providers share: running a pipeline action type they declare."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flovtrain.sandbox.engines.errors import EngineError
from flovtrain.sandbox.engines.pipeline import actions
from flovtrain.sandbox.seam import AwsError


def pipeline_action(
    category: str, provider: str, *, label: str, owner: str = "AWS"
) -> Callable[[Any], Any]:
    """Register the decorated function as the runner of ``category/owner/provider`` actions.

    An :class:`~flovtrain.sandbox.seam.AwsError` the runner raises (e.g. a project that does
    not exist) fails the action as ``JobFailed`` with ``code: message``, as an engine's error.

    Examples
    --------
    >>> @pipeline_action("Build", "CodeBuild", label="CodeBuild")  # doctest: +SKIP
    ... def run_build(execution, action_run): ...
    """

    def decorate(runner: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        def run(execution: Any, action_run: Any) -> None:
            try:
                runner(execution, action_run)
            except AwsError as exc:
                raise EngineError(exc.code, exc.message, exc.http_status_code) from None

        actions.register(category, provider, run, label=label, owner=owner)
        return runner

    return decorate
