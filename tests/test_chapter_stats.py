"""tools/chapter_stats.py measures pacing and who makes the AWS calls, per chapter notebook."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("chapter_stats", ROOT / "tools" / "chapter_stats.py")
stats = importlib.util.module_from_spec(_spec)
sys.modules["chapter_stats"] = stats  # dataclasses look their module up
_spec.loader.exec_module(stats)


def write(tmp_path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 42 · test")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / "42_test.ipynb"
    nbformat.write(nb, path)
    return path


def test_calls_are_sorted_by_who_makes_them(tmp_path):
    path = write(
        tmp_path,
        "import boto3\nimport flovtrain\nconn = flovtrain.connect()\ns3 = boto3.client('s3')",
        "s3.list_buckets()\nw = s3.get_waiter('bucket_exists')\nw.wait(Bucket='b')",
        "from flovtrain import project\np = project.create_project()\nprint(p)",
        "!git status\n!aws s3 ls\nimport subprocess\nsubprocess.run(['git', 'log'])",
        "flovtrain.challenge('42.1', None)\nflovtrain.check('42')",
        "\n".join(f"x{i} = {i}" for i in range(16)),
    )
    s = stats.chapter_stats(path)
    assert (s.chapter, s.code_cells, s.max_lines, s.over_limit, s.challenges) == ("42", 6, 16, 1, 1)
    # boto3.client, list_buckets, get_waiter, wait | 3 git/aws | create_project
    assert (s.calls["aws"], s.calls["cli/git"], s.calls["helper"]) == (4, 3, 1)
    assert s.aws_share == 7 / 8
    assert "| 42 | 6 | 3.5 | 16 | 1 | 1 | 4 | 3 | 1 | 88% |" in stats.table([s])


def test_every_chapter_notebook_is_measured():
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    measured = [stats.chapter_stats(p) for p in paths]
    assert [m.chapter for m in measured] == [p.name[:2] for p in paths]
    assert all(m.code_cells > 0 for m in measured)
