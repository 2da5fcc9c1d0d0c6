"""Carpentries pacing and "AWS in view" per chapter, measured from the notebooks (issue #12).

For each ``notebooks/NN_*.ipynb``: code cells, median and largest non-blank lines per code cell,
cells over 15 lines, inline challenges (``flovtrain.challenge("NN.k", ...)`` cells), and the
calls its code makes, sorted into

- **aws**: methods of boto3 clients, resources and waiters (names bound to ``boto3.client``,
  ``.client(...)``, ``.resource(...)``, ``.get_waiter(...)`` or ``.get_paginator(...)``), and
  ``boto3.*`` itself;
- **cli/git**: ``!aws``/``!git`` lines, ``%%bash`` cells' aws/git commands, ``subprocess``
  calls whose first argument starts with "aws" or "git", and calls of a function named ``git``;
- **helper**: calls into ``flovtrain`` (modules, functions and objects imported from it),
  except the workbook's own frame (``connect``, ``check``, ``challenge``) counted as neither.

Usage: ``.venv/bin/python tools/chapter_stats.py [NOTEBOOK ...]`` prints a Markdown table.

Examples
--------
>>> classify_source('s3 = boto3.client("s3")\\ns3.list_buckets()\\nproject.create_project()',
...                 helpers={"project"})
Counter({'aws': 2, 'helper': 1})
"""

from __future__ import annotations

import argparse
import ast
import re
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 15
FRAME = {"connect", "check", "challenge"}  # the workbook's frame: neither AWS nor a helper
AWS_FACTORIES = {"client", "resource", "get_waiter", "get_paginator"}
SHELL_LINE = re.compile(r"^\s*!\s*(aws|git)\b", re.MULTILINE)
BASH_COMMAND = re.compile(r"^\s*(aws|git)\b", re.MULTILINE)
CHALLENGE = re.compile(r"challenge\(\s*[\"'](\d{2}\.\d+)[\"']")


@dataclass
class ChapterStats:
    """The measurements of one chapter."""

    chapter: str
    code_cells: int
    median_lines: float
    max_lines: int
    over_limit: int
    challenges: int
    calls: Counter

    @property
    def aws_share(self) -> float:
        """Share of AWS (boto3, CLI, git) calls among AWS and helper calls."""
        direct = self.calls["aws"] + self.calls["cli/git"]
        total = direct + self.calls["helper"]
        return direct / total if total else 0.0


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _python(source: str) -> str:
    """The cell without IPython's shell lines and magics (they are counted separately)."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join("" if re.match(r"^\s*[!%]", line) else line for line in source.splitlines())


def _shell_calls(source: str) -> int:
    if source.lstrip().startswith("%%bash"):
        return len(BASH_COMMAND.findall(source))
    return len(SHELL_LINE.findall(source))


def _subprocess_tool(call: ast.Call) -> bool:
    if not (call.args and isinstance(call.args[0], (ast.List, ast.Tuple, ast.Constant))):
        return False
    first = call.args[0]
    word = first.elts[0] if isinstance(first, (ast.List, ast.Tuple)) and first.elts else first
    text = word.value if isinstance(word, ast.Constant) and isinstance(word.value, str) else ""
    return text.split(" ")[0] in ("aws", "git")


def classify_source(
    source: str, aws_names: set[str] | None = None, helpers: set[str] | None = None
) -> Counter:
    """Count one cell's calls by kind; ``aws_names``/``helpers`` carry names across cells.

    Both sets are updated in place with the names this cell binds.
    """
    aws_names = set() if aws_names is None else aws_names
    helpers = set() if helpers is None else helpers
    counts: Counter = Counter()
    if shell := _shell_calls(source):
        counts["cli/git"] += shell
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return counts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flovtrain"):
            helpers.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            helpers.update(a.asname or a.name for a in node.names if a.name.startswith("flovtrain"))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr in AWS_FACTORIES:
                aws_names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, root = node.func, _root_name(node.func)
        attr = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if attr in FRAME and root in {"flovtrain", attr}:
            continue
        if attr == "git" or (root == "subprocess" and _subprocess_tool(node)):
            counts["cli/git"] += 1
        elif root == "boto3" or (root in aws_names and isinstance(func, ast.Attribute)):
            counts["aws"] += 1
        elif root in helpers or root == "flovtrain":
            counts["helper"] += 1
    return counts


def chapter_stats(path: Path) -> ChapterStats:
    """Measure one notebook."""
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    lines = [sum(1 for line in s.splitlines() if line.strip()) for s in code]
    aws_names: set[str] = set()
    helpers: set[str] = set()
    calls: Counter = Counter()
    for source in code:
        calls.update(classify_source(source, aws_names, helpers))
    return ChapterStats(
        chapter=path.name.split("_", 1)[0],
        code_cells=len(code),
        median_lines=statistics.median(lines) if lines else 0,
        max_lines=max(lines, default=0),
        over_limit=sum(n > MAX_LINES for n in lines),
        challenges=len({m for s in code for m in CHALLENGE.findall(s)}),
        calls=calls,
    )


def table(stats: list[ChapterStats]) -> str:
    """The measurements as a Markdown table."""
    head = (
        "| chapter | code cells | median lines | max | > 15 | challenges | aws | cli/git | "
        "helper | AWS share |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {s.chapter} | {s.code_cells} | {s.median_lines:g} | {s.max_lines} | {s.over_limit} "
        f"| {s.challenges} | {s.calls['aws']} | {s.calls['cli/git']} | {s.calls['helper']} "
        f"| {s.aws_share:.0%} |"
        for s in stats
    ]
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(table([chapter_stats(p) for p in paths]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
