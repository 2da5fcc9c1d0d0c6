"""One small exception class per thing that can go wrong; each message says what to do."""

from __future__ import annotations


class FlovtrainError(Exception):
    """Base class of every error flovtrain raises on purpose."""


class SandboxNotRunning(FlovtrainError):
    """The sandbox process is not running (never started, stopped, or killed)."""


class SandboxPortBusy(FlovtrainError):
    """The port asked for the sandbox is already taken by another program."""


class SandboxStartFailed(FlovtrainError):
    """The sandbox process was started but did not answer in time."""


class InvalidSandboxPort(FlovtrainError, ValueError):
    """A sandbox port that is not a number from 1 to 65535 (``--port`` or the environment)."""


class SandboxProtocolMismatch(SandboxStartFailed):
    """The installed botocore speaks a wire protocol the sandbox does not serve."""


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


class UnknownRegion(FlovtrainError, ValueError):
    """A region code that botocore's endpoint data does not know."""


class UnknownService(FlovtrainError, ValueError):
    """A service name that has no boto3 client (e.g. the discontinued CodeStar)."""


class InvalidAccountAlias(FlovtrainError, ValueError):
    """An account alias that breaks AWS's naming rules, or clashes with the existing alias."""


class MfaDeviceExists(FlovtrainError):
    """A virtual MFA device with that name exists already; its secret seed cannot be read again."""


class CredentialFileExists(FlovtrainError, FileExistsError):
    """A credential file exists already; overwriting it would lose a secret for good."""


class MarketDataError(FlovtrainError):
    """Market-data generation or upload was asked for with values that cannot work."""


class AthenaQueryFailed(FlovtrainError):
    """An Athena query ended FAILED or CANCELLED; the message carries Athena's reason."""


class InvalidCharges(FlovtrainError, ValueError):
    """Simulated charges that AWS could never publish (negative or not a number)."""


class ProjectNotFound(FlovtrainError, LookupError):
    """No CodeStar-style project (CloudFormation stack) with that id exists yet."""


class ProjectFailed(FlovtrainError):
    """The project's stack or its pipeline ended in a failed state; the message says where."""


class ProjectTimeout(FlovtrainError, TimeoutError):
    """The project's stack or pipeline did not finish within the time allowed."""


class PipelineTimeout(ProjectTimeout):
    """A pipeline execution did not start, end or reach an approval in time."""


class PageTimeout(ProjectTimeout):
    """A web page an instance serves did not answer (or not with the wanted text) in time."""


class DenialNotFound(FlovtrainError, LookupError):
    """The sandbox has no record of the denial asked about (not a denial, or an older one)."""
