"""The nbval sanitizer hides what really varies between runs, and only that.

nbval reads the file with its own regex (``get_sanitize_patterns``), not configparser, so these
tests use the same reader.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

ROOT = Path(__file__).resolve().parent.parent
CFG = ROOT / "tests" / "nbval_sanitize.cfg"


def _sanitize(text: str) -> str:
    for regex, replace in get_sanitize_patterns(CFG.read_text()):
        text = re.sub(regex, replace, text)
    return text


def _stored_text() -> str:
    parts = []
    for path in sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")]):
        for cell in json.loads(path.read_text())["cells"]:
            for out in cell.get("outputs", []):
                text = out.get("text") or out.get("data", {}).get("text/plain", "")
                parts.append("".join(text))
                html = out.get("data", {}).get("text/html", "")
                parts.append("".join(html))
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("fast", "slow"),
    [
        # a pandas table: the timing is right-aligned, so a longer number eats a space of padding
        (
            "1  klines_parquet   4.55  0.000048      58 ms (engine)",
            "1  klines_parquet   4.55  0.000048    1058 ms (engine)",
        ),
        ("<td>180 ms (engine)</td>", "<td>12345 ms (engine)</td>"),
    ],
)
def test_engine_timings_of_any_width_sanitize_alike(fast: str, slow: str) -> None:
    assert _sanitize(fast) == _sanitize(slow)


def test_sanitizer_keeps_row_labels_and_values_around_a_timing() -> None:
    out = _sanitize("1  klines_parquet   4.55  0.000048      58 ms (engine)")
    assert out.startswith("1  klines_parquet   4.55  0.000048")
    assert out != _sanitize("1  klines_parquet   4.56  0.000048      58 ms (engine)")


def test_every_pattern_is_used_by_some_stored_output() -> None:
    # a pattern nothing matches is either dead or hides nothing; both deserve a look
    stored = _stored_text()
    patterns = get_sanitize_patterns(CFG.read_text())
    unused = [regex for regex, _ in patterns if not re.search(regex, stored)]
    assert unused == []


def test_pytest_durations_sanitize_alike_but_not_the_counts() -> None:
    # chapter 06 prints the build log's pytest summary; the duration varies run to run
    assert _sanitize("1 failed, 2 passed in 0.02s") == _sanitize("1 failed, 2 passed in 0.03s")
    assert _sanitize("3 passed in 61.20s (0:01:01)") == _sanitize("3 passed in 0.50s")
    assert _sanitize("1 failed, 2 passed in 0.02s") != _sanitize("2 failed, 1 passed in 0.02s")
