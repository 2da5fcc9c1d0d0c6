"""Fixtures shared by the test modules (the sandbox itself is started by the root conftest.py)."""

from __future__ import annotations

import pytest

from flovtrain.sandbox import control


@pytest.fixture
def clean_sandbox():
    """An empty, re-seeded session sandbox; a module asks for it in every test with
    ``pytestmark = pytest.mark.usefixtures("clean_sandbox")``."""
    control.reset()
