"""Read-only views of the account as pandas DataFrames, one module per AWS service.

Every ``<things>(..., session=None)`` returns a DataFrame with fixed, readable columns (an
empty result keeps them) in a stable order; every ``iter_<things>(...)`` yields the raw dicts.
No view ever contains a secret.

Examples
--------
>>> from flovtrain import views
>>> views.iam.users()                                    # doctest: +SKIP
>>> views.regions.service_availability(["cloud9"])       # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

__all__ = [
    "account",
    "budgets",
    "cloudformation",
    "cloudwatch",
    "codebuild",
    "codecommit",
    "codedeploy",
    "codepipeline",
    "devtools",
    "ec2",
    "endpoints",
    "iam",
    "regions",
    "sns",
]


def __getattr__(name: str) -> ModuleType:
    # submodules (ours and other helpers', e.g. views.athena) load on first use
    if not name.startswith("_"):
        try:
            return import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
