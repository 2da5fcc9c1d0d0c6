"""Test-session set-up shared by unit tests and nbval.

nbval's cells are plain pytest items that get no fixtures, so the sandbox is started in
``pytest_configure`` (one per test session, with its own FLOVTRAIN_HOME), and every notebook
starts on a reset, re-seeded sandbox (and no git clones left by earlier tests) through a
``tryfirst`` ``pytest_runtest_setup`` hook.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_session: dict = {}


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    home = Path(tempfile.mkdtemp(prefix="flovtrain-test-home-"))
    os.environ["FLOVTRAIN_HOME"] = str(home)
    os.environ.pop("FLOVTRAIN_BACKEND", None)
    os.environ.pop("FLOVTRAIN_AWS_ACCOUNT", None)
    os.environ["MPLBACKEND"] = "Agg"
    # kernels started by nbval inherit this: widgets render their static fallback
    os.environ["FLOVTRAIN_STATIC_WIDGETS"] = "1"
    from flovtrain.sandbox import control

    info = control.start()
    os.environ.update(control.client_env())
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    _session.update(home=home, info=info, notebook=None)


def pytest_unconfigure(config: pytest.Config) -> None:
    if "home" in _session:
        from flovtrain.sandbox import control

        os.environ["FLOVTRAIN_HOME"] = str(_session["home"])
        control.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Reset and re-seed the sandbox whenever a new notebook starts (nbval items only)."""
    path = str(getattr(item, "fspath", ""))
    if not path.endswith(".ipynb") or _session.get("notebook") == path:
        return
    import shutil

    from flovtrain.sandbox import control

    os.environ["FLOVTRAIN_HOME"] = str(_session["home"])
    control.reset()
    # a learner's first run has no clones from earlier chapters' runs (this home is a temp dir)
    shutil.rmtree(_session["home"] / "environment", ignore_errors=True)
    _session["notebook"] = path
