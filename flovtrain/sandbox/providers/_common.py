"""What several providers share: pipeline action types they declare, AWS's validation errors."""

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


def constraint_failure(value: Any, member: str, constraint: str) -> str:
    """One failure of AWS's request validation (the API-model check every service runs first).

    Examples
    --------
    >>> constraint_failure("HUGE", "environment.computeType", enum_constraint(["SMALL"]))
    "Value 'HUGE' at 'environment.computeType' failed to satisfy constraint: Member must \
satisfy enum value set: [SMALL]"
    """
    return f"Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"


def enum_constraint(allowed: Any) -> str:
    """The constraint text of an enum member, its values in the API model's order."""
    return f"Member must satisfy enum value set: [{', '.join(allowed)}]"


def validation_error(code: str, failures: list[str]) -> AwsError:
    """AWS's ``N validation error(s) detected: …; …`` under the service's own error code.

    Examples
    --------
    >>> str(validation_error("ValidationException", ["a", "b"]))
    'ValidationException: 2 validation errors detected: a; b'
    """
    count = len(failures)
    plural = "s" if count > 1 else ""
    return AwsError(code, f"{count} validation error{plural} detected: " + "; ".join(failures))
