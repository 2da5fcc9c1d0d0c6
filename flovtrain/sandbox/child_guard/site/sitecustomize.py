"""The network guard for Python processes the flovtrain sandbox starts.

This folder is put first on ``PYTHONPATH`` by :func:`flovtrain.sandbox.child_guard.child_env`,
so Python imports this module at start-up (``site``) in every build command, deploy hook,
deployed app and SSM command. It installs :mod:`flovtrain.sandbox.netguard` (loaded from its
file, so a Python without flovtrain gets it too), then runs the ``sitecustomize`` that would
have run without us, if there is one further along ``sys.path``.
"""

import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _install_guard() -> None:
    path = os.path.join(os.path.dirname(os.path.dirname(_HERE)), "netguard.py")
    spec = importlib.util.spec_from_file_location("_flovtrain_child_netguard", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"flovtrain's network guard is missing: {path}")
    guard = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = guard  # the audit hook lives as long as the process
    spec.loader.exec_module(guard)
    guard.install(child=os.environ.get("FLOVTRAIN_CHILD_GUARD", "1"))


def _chain() -> None:
    """Run the next ``sitecustomize`` on ``sys.path`` (ours shadows it)."""
    for entry in sys.path:
        folder = os.path.abspath(entry or os.getcwd())
        if folder == _HERE:
            continue
        candidate = os.path.join(folder, "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_chained_sitecustomize", candidate)
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
            return


_install_guard()
_chain()
