"""One small exception class per thing that can go wrong, each with a message that says what to do."""

from __future__ import annotations


class FlovtrainError(Exception):
    """Base class of every error flovtrain raises on purpose."""


class SandboxNotRunning(FlovtrainError):
    """The sandbox process is not running (never started, stopped, or killed)."""


class SandboxPortBusy(FlovtrainError):
    """The port asked for the sandbox is already taken by another program."""


class SandboxStartFailed(FlovtrainError):
    """The sandbox process was started but did not answer in time."""


class RealAwsNotAllowed(FlovtrainError):
    """Real AWS was asked for without the explicit opt-in, or with the wrong account."""


class SandboxOnly(FlovtrainError):
    """A sandbox-only feature (e.g. simulated charges) was used against real AWS."""


class NetworkGuardViolation(FlovtrainError):
    """In sandbox mode something tried to connect to an address that is not loopback."""


class UnknownChapter(FlovtrainError):
    """A chapter number that has no checks or solutions."""


class StaleExercises(FlovtrainError):
    """exercises/ does not match what the generator writes from solutions/."""


class ExerciseBuildError(FlovtrainError):
    """A solution notebook has unbalanced or malformed solution markers."""


class CatchUpFailed(FlovtrainError):
    """A solution notebook failed while catching up to a chapter."""
