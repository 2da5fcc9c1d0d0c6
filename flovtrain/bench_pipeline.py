"""Benchmark rows for the pipeline chapters (04-06): deploy, push-to-page, build.

:func:`rows` measures, in the sandbox the process is connected to (it RESETS that sandbox: run
it in a benchmark sandbox, as ``flovtrain.bench`` does):

1. ``template.yml`` deploy → first page served (create_project + fetch the page);
2. ``git push`` → new page served (target ≤ 3 s): a real clone, commit and push;
3. one build with lint + tests (CodeBuild's own start/end times of the push's build).

Chapters 04-06 together (target ≤ 30 s) are timed with the other notebooks by
:func:`flovtrain.bench.notebooks`.

Each row: ``name``, ``seconds``, ``target``, ``ok`` (None without a target), ``note``.

Examples
--------
>>> from flovtrain import bench_pipeline
>>> for row in bench_pipeline.rows(): print(row)      # doctest: +SKIP
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_PUSH_S = 3.0


def _row(name: str, seconds: float, target: float | None = None, note: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "seconds": round(seconds, 2),
        "target": f"<= {target:g} s" if target is not None else "",
        "ok": None if target is None else seconds <= target,
        "note": note,
    }


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"},
    )


def push_rows(session: Any = None) -> list[dict[str, Any]]:
    """Rows 1-3: deploy to first page, push to new page, the push's build."""
    from flovtrain import project
    from flovtrain.views import devtools

    out = []
    start = time.perf_counter()
    p = project.create_project(session=session)
    project.fetch_page(p.app_url, contains="<h1>")
    out.append(
        _row(
            "template.yml deploy -> first page served",
            time.perf_counter() - start,
            note="create_stack + first pipeline run (source, build, deploy)",
        )
    )

    with tempfile.TemporaryDirectory(prefix="flovtrain-bench-") as tmp:
        clone = Path(tmp) / "clone"
        _git("clone", "-q", p.clone_url, str(clone), cwd=Path(tmp))
        _git("config", "user.name", "bench", cwd=clone)
        _git("config", "user.email", "bench@example.com", cwd=clone)
        index = clone / "webapp" / "templates" / "index.html"
        marker = f"bench {time.time_ns()}"
        index.write_text(index.read_text().replace("</h1>", f"</h1>\n  <p>{marker}</p>"))
        _git("commit", "-q", "-a", "-m", "bench: change the page", cwd=clone)
        start = time.perf_counter()
        _git("push", "-q", "origin", "main", cwd=clone)
        project.fetch_page(p.app_url, timeout=60, contains=marker)
        out.append(
            _row(
                "git push -> new page served",
                time.perf_counter() - start,
                TARGET_PUSH_S,
                "push, change detection, build, deploy, app restart",
            )
        )

    build = devtools.builds(p.build_project, session=session).iloc[0]
    out.append(
        _row(
            "one build with lint (ruff) + tests (pytest)",
            float(build.duration_s or 0),
            note=f"build {build.number} {build.status}, CodeBuild's start/end times",
        )
    )
    return out


def rows(session: Any = None) -> list[dict[str, Any]]:
    """Return the pipeline benchmark rows (resets the connected sandbox first).

    Raises
    ------
    SandboxOnly
        Connected to real AWS: this benchmark resets its backend.
    """
    from flovtrain.sandbox import control
    from flovtrain.session import require_sandbox

    require_sandbox("the pipeline benchmark")
    control.reset()
    return push_rows(session)


if __name__ == "__main__":  # pragma: no cover
    import flovtrain

    flovtrain.connect(quiet=True)
    for r in rows():
        print(r)
