"""Where flovtrain keeps its state and which environment variables steer it."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the folder for sandbox state (port, pid, log).
HOME_VAR = "FLOVTRAIN_HOME"
#: ``sandbox`` (default) or ``aws``.
BACKEND_VAR = "FLOVTRAIN_BACKEND"
#: The 12-digit account id real AWS must match before flovtrain touches it.
ACCOUNT_VAR = "FLOVTRAIN_AWS_ACCOUNT"
#: Optional fixed port for the sandbox (default: a free one).
PORT_VAR = "FLOVTRAIN_SANDBOX_PORT"
#: Name put on every resource our helpers create, as tag ``flovtrain:workshop``.
WORKSHOP_VAR = "FLOVTRAIN_WORKSHOP"

WORKSHOP_TAG_KEY = "flovtrain:workshop"
DEFAULT_WORKSHOP = "flovtrain"
DEFAULT_REGION = "eu-west-1"

#: The sandbox's fake credentials: moto maps them to its default account.
SANDBOX_ACCOUNT_ID = "123456789012"
SANDBOX_ACCESS_KEY_ID = "AKIAFLOVTRAINSANDBOX"
SANDBOX_SECRET_ACCESS_KEY = "flovtrain-sandbox-secret-not-a-real-key"
#: The seed the sandbox starts with and re-applies on every reset, so ids are reproducible.
SANDBOX_SEED = 42


def home() -> Path:
    """Return the folder holding sandbox state (created on demand)."""
    path = Path(os.environ.get(HOME_VAR) or Path.home() / ".flovtrain")
    path.mkdir(parents=True, exist_ok=True)
    return path


def has_own_home() -> bool:
    """True when ``FLOVTRAIN_HOME`` names a home other than the default ``~/.flovtrain``.

    Examples
    --------
    >>> has_own_home()            # FLOVTRAIN_HOME=/tmp/attendee-07 in this shell  # doctest: +SKIP
    True
    """
    named = os.environ.get(HOME_VAR)
    if not named:
        return False
    return Path(named).expanduser().resolve() != (Path.home() / ".flovtrain").resolve()


def sandbox_port(value: str | int | None = None) -> int:
    """The sandbox port asked for: ``value``, else ``$FLOVTRAIN_SANDBOX_PORT``; 0 = a free one.

    Raises
    ------
    InvalidSandboxPort
        Not a whole number from 1 to 65535 (0 too: pick a free one).
    """
    from flovtrain.exceptions import InvalidSandboxPort

    where = "--port" if value is not None else PORT_VAR
    raw = os.environ.get(PORT_VAR, "") if value is None else value
    if raw in ("", None):
        return 0
    try:
        port = int(str(raw).strip())
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise InvalidSandboxPort(
            f"{where}={raw!r} is not a port: use a whole number from 1024 to 65535 (ports below "
            f"1024 need root), or leave it unset so the sandbox picks a free one."
        )
    return port


def aws_account() -> str:
    """The account named in ``$FLOVTRAIN_AWS_ACCOUNT`` ("" when unset), checked before any call.

    Raises
    ------
    RealAwsNotAllowed
        Set to anything but 12 digits: AWS account ids are exactly 12 digits, so no call to
        STS could ever match it.

    Examples
    --------
    >>> import os
    >>> os.environ[ACCOUNT_VAR] = " 111122223333 "
    >>> aws_account()
    '111122223333'
    >>> os.environ[ACCOUNT_VAR] = "abc"
    >>> aws_account()
    Traceback (most recent call last):
    ...
    flovtrain.exceptions.RealAwsNotAllowed: FLOVTRAIN_AWS_ACCOUNT='abc' is not an AWS account \
id: use the 12 digits of your account (e.g. 111122223333, as the console's account menu \
shows it, without dashes).
    >>> del os.environ[ACCOUNT_VAR]
    """
    from flovtrain.exceptions import RealAwsNotAllowed

    raw = os.environ.get(ACCOUNT_VAR, "")
    value = raw.strip()
    if value and not (len(value) == 12 and value.isascii() and value.isdigit()):
        raise RealAwsNotAllowed(
            f"{ACCOUNT_VAR}={raw!r} is not an AWS account id: use the 12 digits of your "
            "account (e.g. 111122223333, as the console's account menu shows it, without "
            "dashes)."
        )
    return value


def workshop_name() -> str:
    """Return the workshop name used in the ``flovtrain:workshop`` tag."""
    return os.environ.get(WORKSHOP_VAR, DEFAULT_WORKSHOP)


def workshop_tags() -> list[dict[str, str]]:
    """Return the tag list our helpers put on every taggable resource."""
    return [{"Key": WORKSHOP_TAG_KEY, "Value": workshop_name()}]
