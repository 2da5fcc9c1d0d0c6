"""What a process the sandbox starts needs to reach the sandbox: its endpoint and fake keys."""

from __future__ import annotations

import json

from flovtrain import config
from flovtrain.sandbox.contract import STATE_FILE

#: The endpoint shown before the sandbox has written its state file (nothing listens there).
NOWHERE = "http://127.0.0.1:0"


def sandbox_endpoint() -> str | None:
    """Return the running sandbox's endpoint, read from its state file (None before it listens).

    Examples
    --------
    >>> sandbox_endpoint()  # doctest: +SKIP
    'http://127.0.0.1:41235'
    """
    try:
        info = json.loads((config.home() / STATE_FILE).read_text())
        return str(info["endpoint"])
    except (OSError, ValueError, KeyError):
        return None


def client_env(endpoint: str) -> dict[str, str]:
    """Return the variables that point AWS clients at ``endpoint`` with the sandbox's fake keys."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": config.SANDBOX_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": config.SANDBOX_SECRET_ACCESS_KEY,
        "NO_PROXY": "127.0.0.1,localhost",
    }
