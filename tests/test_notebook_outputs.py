"""Every code cell of a stored notebook is one nbval compares, and charts are stored as images.

nbval runs a cell whose stored ``execution_count`` is None but never compares it ("unrun
reference cell"), so a notebook stored without outputs passes ``--nbval`` whatever it prints.
A chart whose stored output is only matplotlib's text repr (``<Figure size 900x350 with 1
Axes>``) was shown to nobody: the kernel had no PNG for it. nbval skips ``image/png`` (no
``--nbdime``), so only this test notices either.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORED = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
FIGURE_TEXT = re.compile(r"<Figure size [\d.]+x[\d.]+ with \d+ Axes>")


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def problems(notebook: dict) -> list[str]:
    """What keeps nbval from comparing a stored notebook's code cells, or a chart from showing."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("execution_count") is None:
            found.append(f"cell {index}: no stored execution (nbval would not compare it)")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            shown = FIGURE_TEXT.search(_text(data.get("text/plain", "")))
            if shown and "image/png" not in data:
                found.append(f"cell {index}: {shown.group()} stored as text only, no image/png")
    return found


def test_the_notebooks_are_found() -> None:
    assert len([p for p in STORED if p.parent.name == "notebooks"]) >= 11
    assert len([p for p in STORED if p.parent.name == "solutions"]) >= 10


@pytest.mark.parametrize("path", STORED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_code_cell_is_stored_run_and_charts_are_images(path: Path) -> None:
    assert problems(json.loads(path.read_text())) == []


def _cell(execution_count: int | None, *outputs: dict) -> dict:
    return {
        "cell_type": "code",
        "execution_count": execution_count,
        "metadata": {},
        "outputs": list(outputs),
        "source": "x",
    }


def _figure(*kinds: str) -> dict:
    data = {"text/plain": ["<Figure size 900x350 with 1 Axes>"]}
    data.update({kind: "iVBORw0KGgo=" for kind in kinds})
    return {"output_type": "execute_result", "execution_count": 1, "data": data, "metadata": {}}


def test_the_checker_reports_unrun_cells_and_text_only_charts() -> None:
    markdown = {"cell_type": "markdown", "metadata": {}, "source": "# title"}
    notebook = {
        "cells": [
            markdown,
            _cell(1),
            _cell(None),
            _cell(3, _figure()),
            _cell(4, _figure("image/png")),
        ]
    }
    assert problems(notebook) == [
        "cell 2: no stored execution (nbval would not compare it)",
        "cell 3: <Figure size 900x350 with 1 Axes> stored as text only, no image/png",
    ]


def test_the_checker_passes_a_fully_stored_notebook() -> None:
    printed = {"output_type": "stream", "name": "stdout", "text": ["<Figure size 1x1 with 0 Axes>"]}
    notebook = {"cells": [_cell(1, printed), _cell(2, _figure("image/png"))]}
    assert problems(notebook) == []
