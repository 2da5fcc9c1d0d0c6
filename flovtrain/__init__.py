"""flovtrain: a Jupyter workbook for a startup's first AWS set-up, offline on an embedded sandbox.

Examples
--------
>>> import flovtrain
>>> conn = flovtrain.connect()        # the sandbox, unless you opted in to real AWS
>>> flovtrain.check("02")             # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Name -> module; resolved on first use so `import flovtrain` stays cheap and side-effect free.
_LAZY = {
    "connect": "flovtrain.session",
    "current": "flovtrain.session",
    "check": "flovtrain.checks",
    "catch_up": "flovtrain.catchup",
    "challenge": "flovtrain.challenges",
    "resolve": "flovtrain.frontdoor",
    "explain_denial": "flovtrain.explain",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'flovtrain' has no attribute {name!r}")


__all__ = [
    "connect",
    "current",
    "check",
    "catch_up",
    "challenge",
    "resolve",
    "explain_denial",
    "__version__",
]
