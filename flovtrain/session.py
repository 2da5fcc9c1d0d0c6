"""Choosing the backend: the sandbox by default, real AWS only with an explicit opt-in.

:func:`connect` is the first cell of every chapter. In sandbox mode it starts the sandbox if
needed, points this process's environment at it (so plain ``boto3.client(...)`` and the AWS CLI
in ``!`` cells reach it) and refuses any non-loopback connection. In AWS mode it checks that the
credentials belong to the account named in ``FLOVTRAIN_AWS_ACCOUNT`` before anything else.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import boto3

from flovtrain import config
from flovtrain.exceptions import RealAwsNotAllowed

_current: dict[str, Connection] = {}

# Environment variables a boto3 session reads its credentials and endpoint from: a change to
# any of them gets a new session, so a cached one never answers with stale credentials.
_SESSION_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
# One session per thread and region: boto3 sessions are not thread-safe, and a new one per
# call re-reads every service model (200-600 ms for EC2 or IAM, 10-60 ms from a kept one).
_sessions = threading.local()


@dataclass(frozen=True)
class Connection:
    """The backend this kernel talks to.

    Attributes
    ----------
    backend : str
        ``sandbox`` or ``aws``.
    account_id : str
        The account every call lands in.
    region : str
        The default region.
    endpoint : str or None
        The sandbox endpoint; None on real AWS.
    """

    backend: str
    account_id: str
    region: str
    endpoint: str | None

    @property
    def is_sandbox(self) -> bool:
        return self.backend == "sandbox"

    def session(self, region: str | None = None) -> boto3.Session:
        """Return a boto3 session for this backend (optionally in another region).

        Kept per thread and region while the credential and endpoint variables stay the same.
        """
        key = (self, region or self.region, tuple(os.environ.get(v) for v in _SESSION_ENV))
        cache = _sessions.__dict__.setdefault("by_key", {})
        found = cache.get(key)
        if found is None:
            if len(cache) >= 32:  # credentials switched back and forth many times: start over
                cache.clear()
            found = cache[key] = boto3.Session(region_name=key[1])
        return found

    def banner(self) -> str:
        where = f"sandbox {self.endpoint}" if self.is_sandbox else "REAL AWS"
        return f"flovtrain: backend={where} · account={self.account_id} · region={self.region}"

    def __str__(self) -> str:
        return self.banner()

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.is_sandbox else "#c62828"
        return f'<div style="font-family:monospace;color:{colour}">{self.banner()}</div>'


def _backend() -> str:
    backend = os.environ.get(config.BACKEND_VAR, "sandbox").strip().lower() or "sandbox"
    if backend not in ("sandbox", "aws"):
        raise RealAwsNotAllowed(
            f"{config.BACKEND_VAR}={backend!r} is not a backend: use 'sandbox' (default) or 'aws'."
        )
    return backend


def connect(region: str = config.DEFAULT_REGION, quiet: bool = False) -> Connection:
    """Connect this kernel to the sandbox (default) or, with the opt-in, to real AWS.

    Parameters
    ----------
    region : str
        Default region for clients created afterwards (the talk works in eu-west-1).
    quiet : bool
        Do not print the one-line banner.

    Returns
    -------
    Connection
        Backend, account, region and endpoint; also kept as the kernel's current connection.

    Raises
    ------
    RealAwsNotAllowed
        ``FLOVTRAIN_BACKEND=aws`` without ``FLOVTRAIN_AWS_ACCOUNT``, or credentials of another
        account.

    Examples
    --------
    >>> import flovtrain
    >>> conn = flovtrain.connect()
    flovtrain: backend=sandbox http://127.0.0.1:... · account=123456789012 · region=eu-west-1
    """
    backend = _backend()
    if backend == "sandbox":
        conn = _connect_sandbox(region)
    else:
        conn = _connect_aws(region)
    _current["conn"] = conn
    _sessions.__dict__.pop("by_key", None)  # this thread's; a new connection starts afresh
    boto3.setup_default_session(region_name=region)
    if not quiet:
        print(conn.banner())
    return conn


def _connect_sandbox(region: str) -> Connection:
    from flovtrain.sandbox import control, netguard, recovery

    pointed_at = os.environ.get("AWS_ENDPOINT_URL")
    info = control.start()
    if info.get("started_now") and (
        info.get("previous") or (pointed_at and pointed_at != info["endpoint"])
    ):
        _say_new_sandbox(info, pointed_at)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(control.client_env(region))
    no_proxy = {h for h in os.environ.get("NO_PROXY", "").split(",") if h}
    os.environ["NO_PROXY"] = ",".join(sorted(no_proxy | {"127.0.0.1", "localhost"}))
    netguard.install()
    recovery.install_ipython_handler()
    return Connection("sandbox", config.SANDBOX_ACCOUNT_ID, region, info["endpoint"])


def _say_new_sandbox(info: dict, pointed_at: str | None) -> None:
    """A new, empty sandbox replaced one that was stopped or died: never silently."""
    import sys

    why = info.get("previous") or f"nothing answered at {pointed_at}"
    print(
        f"flovtrain: the sandbox was not running ({why}).\n"
        f"flovtrain: started a new, EMPTY sandbox at {info['endpoint']}: what earlier chapters "
        "created is gone — `flovtrain catch-up NN` rebuilds it.\n"
        "flovtrain: terminals still point at the old one; in each run: "
        'eval "$(flovtrain sandbox env)"',
        file=sys.stderr,
    )


def _connect_aws(region: str) -> Connection:
    from flovtrain.sandbox import control, netguard

    wanted = config.aws_account()  # a malformed id is refused before any call to STS
    if not wanted:
        raise RealAwsNotAllowed(
            f"{config.BACKEND_VAR}=aws needs {config.ACCOUNT_VAR}=<12-digit account id> too: "
            "flovtrain only touches a real account you name explicitly. Set both before starting "
            "JupyterLab, or unset FLOVTRAIN_BACKEND to stay in the sandbox."
        )
    guarded = netguard.active()
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    netguard.disable()
    if endpoint.startswith(("http://127.", "http://localhost")):
        os.environ.pop("AWS_ENDPOINT_URL")  # left over from the sandbox
    cli_config = os.environ.get("AWS_CONFIG_FILE", "")
    if cli_config.endswith(control.CLI_CONFIG):
        os.environ.pop("AWS_CONFIG_FILE")  # the sandbox's: it would hide the learner's profiles
    try:
        actual = boto3.Session(region_name=region).client("sts").get_caller_identity()["Account"]
    except BaseException:
        _restore_sandbox_mode(guarded, endpoint, cli_config)
        raise
    if actual != wanted:
        # a refused kernel keeps what it had: the guard and the sandbox endpoint
        _restore_sandbox_mode(guarded, endpoint, cli_config)
        raise RealAwsNotAllowed(
            f"Your AWS credentials belong to account {actual}, but {config.ACCOUNT_VAR}={wanted}. "
            "flovtrain refuses to touch an account you did not name: fix the variable or switch "
            "credentials (AWS_PROFILE)."
        )
    return Connection("aws", actual, region, None)


def _restore_sandbox_mode(guarded: bool, endpoint: str, cli_config: str = "") -> None:
    from flovtrain.sandbox import netguard

    if guarded:
        netguard.install()
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
    if cli_config:
        os.environ["AWS_CONFIG_FILE"] = cli_config


def current() -> Connection:
    """Return the kernel's connection, connecting quietly first if needed."""
    if "conn" not in _current:
        connect(quiet=True)
    return _current["conn"]


def get_session(session: boto3.Session | None = None, region: str | None = None) -> boto3.Session:
    """Return ``session`` or one for the current connection (helpers' ``session=None``)."""
    if session is not None:
        return session
    return current().session(region)


def require_sandbox(feature: str) -> Connection:
    """Return the connection, or raise :class:`~flovtrain.exceptions.SandboxOnly`."""
    from flovtrain.exceptions import SandboxOnly

    conn = current()
    if not conn.is_sandbox:
        raise SandboxOnly(
            f"{feature} exists only in the sandbox; on real AWS it happens by itself."
        )
    return conn
