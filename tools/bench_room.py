"""Load test of a room (``make bench-room``): N attendees run chapters 01-06 at once on one hub.

For each N (default 1, 4, 8, 12) a fresh room and hub (deploy/jupyterhub/jupyterhub_config.py)
on free ports: N attendees sign in with the workshop code, their servers (and sandboxes) start,
then every attendee's kernel runs the code cells of their own copy of ``solutions/01..06`` at
the same moment. Recorded: per-cell latency (execute request to reply), failed cells, and the
peak RSS of each attendee's processes (sandbox + JupyterLab server + kernels, sampled every
second), plus the load average, since other work on the machine shares the cores.

Usage: ``python tools/bench_room.py [--sizes 1,4,8,12] [--chapters 01-06] [--out FILE]``;
prints a markdown table and writes the raw numbers as JSON (default bench-results/room.json).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import psutil

from flovtrain.hub.client import Hub, launch, shut_down, sign_in

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def _chapters(spec: str) -> list[str]:
    first, _, last = spec.partition("-")
    return [f"{n:02d}" for n in range(int(first), int(last or first) + 1)]


def _rss(procs: list[psutil.Process]) -> int:
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def _parts(server_pid: int | None, sandbox_pid: int | None) -> dict[str, int]:
    """RSS of the JupyterLab server, its kernels (children) and the sandbox (with its children)."""
    parts = {"server": 0, "kernels": 0, "sandbox": 0}
    for key, pid in (("server", server_pid), ("sandbox", sandbox_pid)):
        if not pid:
            continue
        try:
            root = psutil.Process(pid)
            children = root.children(recursive=True)
        except psutil.Error:
            continue
        if key == "server":
            parts["server"] = _rss([root])
            parts["kernels"] = _rss(children)
        else:
            parts["sandbox"] = _rss([root, *children])
    return parts


class Sampler(threading.Thread):
    """Every second: each attendee's RSS (server tree + sandbox tree), keeping the peaks."""

    def __init__(self, hub: Hub, folder: Path, names: list[str]) -> None:
        super().__init__(daemon=True)
        self.hub, self.folder, self.names = hub, folder, names
        self.peak: dict[str, int] = dict.fromkeys(names, 0)
        self.peak_parts: dict[str, dict[str, int]] = {n: {} for n in names}
        self.peak_total = 0
        self.done = threading.Event()

    def _pids(self, name: str) -> tuple[int | None, int | None]:
        server = self.hub.api("GET", f"users/{name}").json().get("servers", {}).get("", {})
        state = self.folder / name / ".flovtrain" / "sandbox.json"
        try:
            sandbox = int(json.loads(state.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            sandbox = None
        return server.get("state", {}).get("pid"), sandbox

    def run(self) -> None:
        pids = {name: self._pids(name) for name in self.names}
        while not self.done.is_set():
            total = 0
            for name, (server, sandbox) in pids.items():
                parts = _parts(server, sandbox)
                rss = sum(parts.values())
                if rss > self.peak[name]:
                    self.peak[name], self.peak_parts[name] = rss, parts
                total += rss
            self.peak_total = max(self.peak_total, total)
            self.done.wait(1.0)


def _attendee(hub: Hub, name: str, chapters: list[str], start: threading.Barrier) -> dict:
    """Run every code cell of ``name``'s solutions for ``chapters`` in one kernel."""
    path = None
    kernel = hub.kernel(name, "solutions")
    cells: list[dict[str, Any]] = []
    try:
        start.wait()
        for chapter in chapters:
            found = sorted(ROOT.glob(f"solutions/{chapter}_*.ipynb"))
            path = found[0] if found else None
            if path is None:
                continue
            nb = nbformat.read(path, as_version=4)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                result = kernel.run(cell.source)
                cells.append(
                    {
                        "chapter": chapter,
                        "cell": index,
                        "seconds": result["seconds"],
                        "status": result["status"],
                        "error": result["error"][:200],
                    }
                )
                if result["status"] != "ok":
                    break  # the rest of this chapter depends on it; go on with the next one
    finally:
        kernel.close()
    return {"name": name, "cells": cells}


def run_size(n: int, chapters: list[str], keep: Path | None) -> dict[str, Any]:
    """One room of ``n`` attendees; returns latencies, failures and memory."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-room-{n}-", dir=keep))
    code, token = f"bench-{secrets.token_hex(3)}", secrets.token_hex(24)
    names = [f"att{i:02d}" for i in range(1, n + 1)]
    load_before = os.getloadavg()
    proc, url = launch(folder, code, token, FLOVTRAIN_PROGRESS_FRESH="60")
    hub = Hub(url, token)
    failures: list[str] = []
    try:
        for name in names:
            if not sign_in(url, name, code, f"pw-{name}"):
                failures.append(f"{name}: sign-in refused")
        began = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            spawned = list(pool.map(lambda name: _timed(hub.start, name), names))
        spawn_seconds = time.monotonic() - began
        sampler = Sampler(hub, folder, names)
        sampler.start()
        barrier = threading.Barrier(n)
        began = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(lambda name: _attendee(hub, name, chapters, barrier), names))
        run_seconds = time.monotonic() - began
        time.sleep(1.5)  # one more sample after the last cell
        sampler.done.set()
        sampler.join()
    finally:
        shut_down(proc, folder, names, token, url)
    latencies = [c["seconds"] for r in results for c in r["cells"]]
    failures += [
        f"{r['name']} {c['chapter']} cell {c['cell']}: {c['error']}"
        for r in results
        for c in r["cells"]
        if c["status"] != "ok"
    ]
    if keep is None and not failures:  # a room with failures stays for its logs
        shutil.rmtree(folder, ignore_errors=True)
    quantiles = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    return {
        "n": n,
        "cells": len(latencies),
        "failures": failures,
        "median": statistics.median(latencies),
        "p95": quantiles[18],
        "spawn_seconds": spawn_seconds,
        "spawn_each": spawned,
        "run_seconds": run_seconds,
        "peak_rss_mb": {k: v / MB for k, v in sampler.peak.items()},
        "peak_parts_mb": {
            k: {part: v / MB for part, v in parts.items()}
            for k, parts in sampler.peak_parts.items()
        },
        "peak_total_mb": sampler.peak_total / MB,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def _timed(fn, *args) -> float:
    began = time.monotonic()
    fn(*args)
    return time.monotonic() - began


def table(runs: list[dict[str, Any]]) -> str:
    """The markdown table of the closing note."""
    base = next((r for r in runs if r["n"] == 1), runs[0])
    lines = [
        "| N | cells | failures | median s | p95 s | median ×N=1 | p95 ×N=1 | peak RSS/attendee MB "
        "(max) | peak total MB | run s | load avg (1 min) before→after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        per = list(r["peak_rss_mb"].values())
        lines.append(
            f"| {r['n']} | {r['cells']} | {len(r['failures'])} | {r['median']:.3f} | "
            f"{r['p95']:.2f} | {r['median'] / base['median']:.1f} | {r['p95'] / base['p95']:.1f} | "
            f"{statistics.mean(per):.0f} ({max(per):.0f}) | {r['peak_total_mb']:.0f} | "
            f"{r['run_seconds']:.0f} | {r['load_before'][0]:.1f}→{r['load_after'][0]:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,8,12", help="attendee counts, e.g. 1,4,8,12")
    parser.add_argument("--chapters", default="01-06", help="chapter range, e.g. 01-06")
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "room.json"))
    parser.add_argument(
        "--keep", type=Path, default=None, help="make the rooms under this folder and keep them"
    )
    args = parser.parse_args(argv)
    chapters = _chapters(args.chapters)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(out.read_text()) if out.exists() else []
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"room of {n}: chapters {chapters[0]}-{chapters[-1]} ...", file=sys.stderr)
        result = run_size(n, chapters, args.keep)
        result["chapters"] = args.chapters
        runs = [r for r in runs if not (r["n"] == n and r.get("chapters") == args.chapters)]
        runs.append(result)
        runs.sort(key=lambda r: (r.get("chapters", ""), r["n"]))
        out.write_text(json.dumps(runs, indent=1))
        for failure in result["failures"][:10]:
            print(f"  failure: {failure}", file=sys.stderr)
    same = [r for r in runs if r.get("chapters") == args.chapters]
    print(table(same))
    return 1 if any(r["failures"] for r in same) else 0


if __name__ == "__main__":
    sys.exit(main())
