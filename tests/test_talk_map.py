"""docs/talk-map.md maps every bullet of the talk's outline to the notebook cell that does it.

The outline lives outside the repository, so the map carries the bullets itself. This test keeps
the map true while the notebooks change: every row that cites a notebook cites cells that exist,
with the type the row says (a code cell, or a markdown cell marked ``(markdown)`` on purpose), and
no bullet of the talk lost its row. It reads files only; it needs no sandbox.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TALK_MAP = ROOT / "docs" / "talk-map.md"

# The number of `*` bullets (nested ones included) in the talk outline as of 2026-12-05.
TALK_BULLETS = 106

NOTEBOOK = re.compile(r"`(notebooks/[^`]+\.ipynb)`")
CELL = re.compile(r"`([^`]+)`( \(markdown\))?")
HEADING = re.compile(r"\*[^*]*\*")  # the section heading after "under", in italics
SEPARATOR = re.compile(r"^[\s|:-]+$")


@dataclass
class Row:
    line: int
    number: str
    bullet: str
    notebook: str | None
    cells: list[tuple[str, str]]  # (cell id, "code" or "markdown")


def _columns(line: str) -> list[str]:
    """The cells of a Markdown table row (``\\|`` is a pipe inside a cell)."""
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [part.replace("\\|", "|").strip() for part in re.split(r"(?<!\\)\|", inner)]


def parse_rows(text: str) -> list[Row]:
    """Every row of every table whose header has *Talk bullet*, *Chapter* and *Cell* columns."""
    rows: list[Row] = []
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith("|"):
            header = None
            continue
        columns = _columns(line)
        if header is None:
            header = [column.lower() for column in columns]
            continue
        if SEPARATOR.match(line):
            continue
        names = {name.split(" ")[0]: index for index, name in enumerate(header)}
        if not {"talk", "chapter", "cell"} <= names.keys():
            continue  # another table (e.g. the counts per chapter)
        notebook = NOTEBOOK.search(columns[names["chapter"]])
        cell_text = HEADING.sub("", columns[names["cell"]])
        cells = [
            (cell_id, "markdown" if mark else "code") for cell_id, mark in CELL.findall(cell_text)
        ]
        rows.append(
            Row(
                number,
                columns[names.get("#", 0)],
                columns[names["talk"]],
                notebook.group(1) if notebook else None,
                cells,
            )
        )
    return rows


def problems(rows: list[Row], root: Path = ROOT) -> list[str]:
    """What is wrong with the rows' citations: a missing notebook or cell, a wrong cell type."""
    found: list[str] = []
    notebooks: dict[str, dict[str, str] | None] = {}
    for row in rows:
        where = f"line {row.line} ({row.bullet[:40]!r})"
        if row.notebook is None:
            if row.cells:
                found.append(f"{where}: cites cells but no notebook")
            continue
        if not row.cells:
            found.append(f"{where}: cites {row.notebook} but no cell")
        if row.notebook not in notebooks:
            path = root / row.notebook
            notebooks[row.notebook] = (
                {cell["id"]: cell["cell_type"] for cell in json.loads(path.read_text())["cells"]}
                if path.is_file()
                else None
            )
        kinds = notebooks[row.notebook]
        if kinds is None:
            found.append(f"{where}: {row.notebook} does not exist")
            continue
        for cell_id, wanted in row.cells:
            if cell_id not in kinds:
                found.append(f"{where}: {row.notebook} has no cell {cell_id!r}")
            elif kinds[cell_id] != wanted:
                found.append(
                    f"{where}: cell {cell_id!r} is a {kinds[cell_id]} cell, the row says {wanted}"
                )
    return found


def test_every_bullet_of_the_talk_has_a_row() -> None:
    rows = parse_rows(TALK_MAP.read_text(encoding="utf-8"))
    assert len(rows) >= TALK_BULLETS
    assert [row.number for row in rows] == [str(n) for n in range(1, len(rows) + 1)]


def test_cited_cells_exist_with_the_cited_type() -> None:
    rows = parse_rows(TALK_MAP.read_text(encoding="utf-8"))
    assert sum(len(row.cells) for row in rows) > 0
    assert problems(rows) == []


def test_a_row_citing_a_missing_cell_is_flagged(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    cells = [
        {"id": "99-000", "cell_type": "markdown", "source": "## Demo"},
        {"id": "99-001", "cell_type": "code", "source": "print(1)"},
    ]
    (tmp_path / "notebooks" / "99_demo.ipynb").write_text(json.dumps({"cells": cells}))
    table = "\n".join(
        [
            "| # | Talk bullet | Chapter | Cell · section | What the learner runs there |",
            "|---|---|---|---|---|",
            "| 1 | runs | `notebooks/99_demo.ipynb` | `99-001` under *Demo* | print |",
            "| 2 | told | `notebooks/99_demo.ipynb` | `99-000` (markdown) under *Demo* | read |",
            "| 3 | gone | `notebooks/99_demo.ipynb` | `99-404` under *Demo* | nothing |",
            "| 4 | none | — | — | not covered |",
            "| 5 | typo | `notebooks/99_demo.ipynb` | `99-000` under *Demo* | unmarked markdown |",
        ]
    )
    rows = parse_rows(table)
    assert [(row.notebook, row.cells) for row in rows] == [
        ("notebooks/99_demo.ipynb", [("99-001", "code")]),
        ("notebooks/99_demo.ipynb", [("99-000", "markdown")]),
        ("notebooks/99_demo.ipynb", [("99-404", "code")]),
        (None, []),
        ("notebooks/99_demo.ipynb", [("99-000", "code")]),
    ]
    found = problems(rows, root=tmp_path)
    assert len(found) == 2
    assert "line 5" in found[0] and "has no cell '99-404'" in found[0]
    assert "line 7" in found[1] and "is a markdown cell, the row says code" in found[1]
