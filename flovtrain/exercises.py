"""Generate ``exercises/NN_*.ipynb`` from ``solutions/NN_*.ipynb`` (like nbgrader, without it).

Rules, applied to each solution notebook:

* In code cells, every block from a line ``### BEGIN SOLUTION`` to a line ``### END SOLUTION``
  becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at the BEGIN line's indentation.
* In markdown, text between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` is removed;
  a region may span cells (BEGIN in one markdown cell, END in a later one): every cell inside it
  is removed, and a cell left empty by the removal is dropped.
* Cells tagged ``solution-only`` are removed.
* Outputs are cleared, execution counts are None, metadata is reduced to kernelspec,
  language name and the source's name; the JSON is written with indent 1 and a trailing newline,
  so the same solution always gives the same bytes.

Unbalanced, nested or misspelt markers raise :class:`~flovtrain.exceptions.ExerciseBuildError`
naming the notebook and the cell index.

Examples
--------
>>> from flovtrain import exercises
>>> report = exercises.build(check=True)      # doctest: +SKIP
>>> report.ok                                 # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from flovtrain.exceptions import ExerciseBuildError

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MD_MARKER = re.compile(r"<!--\s*(BEGIN|END)\s+SOLUTION\s*-->")
# Anything that looks like a code marker but is not exactly one: a typo would leak a solution.
NEAR_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END)\s*SOLUTION\b", re.IGNORECASE)
SOLUTION_ONLY_TAG = "solution-only"
NOTEBOOK_NAME = re.compile(r"^\d{2}_.+\.ipynb$")
FIX_COMMAND = "make exercises   (or: flovtrain exercises build)"
DEFAULT_KERNELSPEC = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}


def project_root(start: Path | None = None) -> Path:
    """Return the project folder: the nearest one holding pyproject.toml above ``start``.

    Falls back to the folder above the installed package (an editable install).
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    package_parent = Path(__file__).resolve().parents[1]
    if (package_parent / "pyproject.toml").is_file():
        return package_parent
    raise ExerciseBuildError(
        f"no pyproject.toml in {here} or above: run this from inside the flovtrain project"
    )


def strip_code(source: str, where: str = "") -> str:
    """Replace each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block with the stub.

    Parameters
    ----------
    source : str
        A code cell's source.
    where : str
        ``notebook, cell N`` for error messages.

    Examples
    --------
    >>> print(strip_code("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION"))
    def f():
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    out: list[str] = []
    indent: str | None = None
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if indent is not None:
                raise ExerciseBuildError(f"{where}: nested {BEGIN} at line {number}")
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + STUB[0], indent + STUB[1]]
        elif stripped == END:
            if indent is None:
                raise ExerciseBuildError(f"{where}: {END} without {BEGIN} at line {number}")
            indent = None
        elif NEAR_MARKER.match(line):
            raise ExerciseBuildError(
                f"{where}: line {number} looks like a solution marker but is not exactly "
                f"{BEGIN!r} or {END!r}: {stripped!r}"
            )
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise ExerciseBuildError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def _cell_id(name: str, index: int, cell: nbformat.NotebookNode) -> str:
    if cell.get("id"):
        return str(cell["id"])
    return hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:12]


def _minimal_metadata(cell: nbformat.NotebookNode) -> dict:
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t != SOLUTION_ONLY_TAG]
    return {"tags": tags} if tags else {}


def make_exercise(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Return the exercise notebook for a solution notebook (the input is not changed).

    Parameters
    ----------
    solution : NotebookNode
        The solution notebook (nbformat 4).
    name : str
        Its file name, used in error messages and the generated metadata.

    Raises
    ------
    ExerciseBuildError
        Unbalanced, nested or misspelt markers (message names the notebook and cell index).
    """
    cells = []
    region_start: int | None = None  # index of the markdown cell opening a multi-cell region
    for index, cell in enumerate(solution.cells):
        where = f"{name}, cell {index}"
        source = cell.get("source", "")
        if cell.cell_type == "markdown":
            kept, region_open = [], region_start is not None
            pos = 0
            for match in MD_MARKER.finditer(source):
                if match.group(1) == "BEGIN":
                    if region_open:
                        raise ExerciseBuildError(f"{where}: nested <!-- BEGIN SOLUTION -->")
                    kept.append(source[pos : match.start()])
                    region_open = True
                else:
                    if not region_open:
                        raise ExerciseBuildError(
                            f"{where}: <!-- END SOLUTION --> without <!-- BEGIN SOLUTION -->"
                        )
                    region_open = False
                pos = match.end()
            if not region_open:
                kept.append(source[pos:])
            had_markers = bool(MD_MARKER.search(source))
            region_start = (
                (region_start if region_start is not None else index) if region_open else None
            )
            text = "".join(kept)
            if had_markers:
                text = text.strip("\n")
                if not text.strip():
                    continue
            elif region_open:
                continue  # a cell inside a multi-cell region
            new = nbformat.v4.new_markdown_cell(text, id=_cell_id(name, index, cell))
            if cell.get("attachments"):
                new["attachments"] = cell["attachments"]
        elif region_start is not None:
            continue  # code or raw cell inside a markdown solution region
        elif SOLUTION_ONLY_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        elif cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(
                strip_code(source, where), id=_cell_id(name, index, cell)
            )
        else:
            new = nbformat.v4.new_raw_cell(source, id=_cell_id(name, index, cell))
        if SOLUTION_ONLY_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        new["metadata"] = _minimal_metadata(cell)
        cells.append(new)
    if region_start is not None:
        raise ExerciseBuildError(
            f"{name}, cell {region_start}: <!-- BEGIN SOLUTION --> is never closed"
        )
    nb = nbformat.v4.new_notebook(cells=cells)
    nb["metadata"] = {
        "kernelspec": dict(solution.get("metadata", {}).get("kernelspec") or DEFAULT_KERNELSPEC),
        "language_info": {"name": "python"},
        "flovtrain": {"generated_from": f"solutions/{name}"},
    }
    return nb


def render(solution_path: Path) -> str:
    """Return the exercise file's exact text for ``solution_path``."""
    try:
        solution = nbformat.read(solution_path, as_version=4)
    except Exception as exc:  # malformed JSON, wrong nbformat: say which file
        raise ExerciseBuildError(f"{solution_path}: cannot read the notebook: {exc}") from exc
    nb = make_exercise(solution, solution_path.name)
    nbformat.validate(nb)
    text = nbformat.writes(nb, version=4, indent=1)
    return text if text.endswith("\n") else text + "\n"


@dataclass
class BuildReport:
    """What :func:`build` found and did (paths relative to the project root)."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    checked: bool = False

    @property
    def ok(self) -> bool:
        """True when exercises/ matches solutions/ (after writing, unless only checked)."""
        if self.checked:
            return not (self.stale or self.missing or self.extra)
        return not self.extra

    def __str__(self) -> str:
        lines = []
        if self.checked:
            if self.ok:
                return f"exercises/ is up to date ({len(self.unchanged)} notebooks)"
            lines.append("exercises/ does not match solutions/:")
            lines += [
                f"  stale:   {p} (differs from what its solution generates)" for p in self.stale
            ]
            lines += [f"  missing: {p}" for p in self.missing]
        else:
            lines += [f"wrote {p}" for p in self.written]
            lines += [f"kept your executed copy as {p}" for p in self.backups]
            lines.append(f"{len(self.written)} written, {len(self.unchanged)} unchanged")
        lines += [
            f"  extra:   {p} (no solutions/{Path(p).name}; delete it if it is obsolete)"
            for p in self.extra
        ]
        if self.checked and not self.ok:
            lines.append(f"Fix: {FIX_COMMAND}")
        return "\n".join(lines)


def _was_executed(path: Path) -> bool:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return False
    return any(
        c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code"
    )


def build(root: Path | str | None = None, check: bool = False) -> BuildReport:
    """Write (or with ``check=True`` only compare) ``exercises/NN_*.ipynb``.

    Parameters
    ----------
    root : path, optional
        The project folder (default: found from the current directory, see :func:`project_root`).
    check : bool
        Compare without writing.

    Returns
    -------
    BuildReport
        Lists of written / unchanged / stale / missing / extra files; ``.ok``.

    Raises
    ------
    ExerciseBuildError
        A solution has bad markers; nothing is written in that case.

    Examples
    --------
    >>> print(build(check=True))                 # doctest: +SKIP
    exercises/ is up to date (3 notebooks)
    """
    root = Path(root) if root is not None else project_root()
    solutions, exercises = root / "solutions", root / "exercises"
    sources = sorted(p for p in solutions.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))
    wanted = {exercises / p.name: render(p) for p in sources}  # all or nothing
    report = BuildReport(checked=check)
    for path, text in wanted.items():
        rel = str(path.relative_to(root))
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            report.unchanged.append(rel)
            continue
        (report.missing if current is None else report.stale).append(rel)
        if check:
            continue
        exercises.mkdir(parents=True, exist_ok=True)
        if current is not None and _was_executed(path):
            backup = path.with_name(path.name + ".bak")
            shutil.copyfile(path, backup)
            report.backups.append(str(backup.relative_to(root)))
        path.write_text(text, encoding="utf-8")
        report.written.append(rel)
    present = (
        sorted(p for p in exercises.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))
        if exercises.is_dir()
        else []
    )
    report.extra = [str(p.relative_to(root)) for p in present if p not in wanted]
    return report


def build_cli(check: bool = False) -> int:
    """``flovtrain exercises build [--check]``: print the report; 0 when exercises/ is in sync."""
    report = build(check=check)
    print(report)
    return 0 if report.ok else 1
