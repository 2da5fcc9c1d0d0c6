"""Turn "connection refused" into what a learner should do when the sandbox died."""

from __future__ import annotations

from typing import Any

from flovtrain.exceptions import SandboxNotRunning


def explain(exc: BaseException) -> SandboxNotRunning | None:
    """Return a SandboxNotRunning with the recovery command if ``exc`` means the sandbox is gone."""
    from botocore.exceptions import EndpointConnectionError

    from flovtrain.sandbox import control

    if not isinstance(exc, (EndpointConnectionError, ConnectionError, SandboxNotRunning)):
        return None
    if isinstance(exc, SandboxNotRunning):
        return exc
    current = control.status()
    if current["running"]:
        return None
    return SandboxNotRunning(
        f"The flovtrain sandbox is not running any more ({current.get('reason', 'no state file')})."
        f" {control.RECOVERY}"
    )


def install_ipython_handler() -> None:
    """In IPython, append the recovery advice to connection errors (no-op elsewhere)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from botocore.exceptions import EndpointConnectionError

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        advice = explain(value)
        if advice is not None:
            print(f"\n>>> {advice}")
        return None

    shell.set_custom_exc((EndpointConnectionError, ConnectionError), handler)
