"""Benchmark the sandbox against its targets: ``python -m flovtrain.bench`` (or ``make bench``).

Prints one table: what was measured, the value, the target and PASS/MISS. Nothing here is a
test (timings depend on the machine); the numbers are for the README and for regressions.

Each measurement is a function ``(Bench) -> list[Row]`` in :data:`MEASUREMENTS`; a later one
(a pipeline run, an Athena query) is one more function appended to that list.

Examples
--------
>>> from flovtrain import bench
>>> rows = bench.run([bench.cold_start])      # doctest: +SKIP
>>> print(bench.table(rows))                  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flovtrain import config

REPO = Path(__file__).resolve().parents[1]
TARGET_START_S = 1.0
TARGET_OVERHEAD = 1.2
TARGET_CELL_S = 3.0
#: Chapters whose notebooks together have a time target (issue 2: 00-03, issue 3: 04-06).
CHAPTER_GROUPS: dict[tuple[str, ...], float] = {
    ("00", "01", "02", "03"): 15.0,
    ("04", "05", "06"): 30.0,
}


@dataclass
class Row:
    """One line of the table; ``ok`` is None when the measure has no target."""

    measure: str
    value: str
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def result(self) -> str:
        return {True: "PASS", False: "MISS", None: ""}[self.ok]


@dataclass
class Bench:
    """Shared state: the sandbox the measurements use and what earlier ones found."""

    home: Path
    notebooks: list[Path]
    repeat: int = 3
    calls: int = 40
    athena_scale: str = "10M"
    facts: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str, endpoint: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        from flovtrain.sandbox import control

        return boto3.client(
            service,
            endpoint_url=endpoint or control.endpoint(),
            region_name="us-east-1",
            aws_access_key_id=config.SANDBOX_ACCESS_KEY_ID,
            aws_secret_access_key=config.SANDBOX_SECRET_ACCESS_KEY,
            config=Config(retries={"max_attempts": 1}),
        )


def _rss_mb(pid: int) -> float:
    import psutil

    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def _sandbox_pid() -> int:
    from flovtrain.sandbox import control

    return int(control.status()["pid"])


@contextlib.contextmanager
def _home(home: str) -> Iterator[None]:
    """Point FLOVTRAIN_HOME at ``home`` for the block; afterwards put back what was there."""
    saved = os.environ.get(config.HOME_VAR)
    os.environ[config.HOME_VAR] = home
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(config.HOME_VAR, None)
        else:
            os.environ[config.HOME_VAR] = saved


# -- measurements ---------------------------------------------------------------------------
def cold_start(bench: Bench) -> list[Row]:
    """Sandbox start to first answer, each in a fresh FLOVTRAIN_HOME (median of ``repeat``)."""
    from flovtrain.sandbox import control

    times = []
    for _ in range(bench.repeat):
        with tempfile.TemporaryDirectory(prefix="flovtrain-bench-cold-") as home, _home(home):
            started = time.perf_counter()
            control.start()
            times.append(time.perf_counter() - started)
            control.stop()
    median = statistics.median(times)
    return [
        Row(
            f"sandbox cold start to first answer (median of {bench.repeat})",
            f"{median:.2f} s",
            f"≤ {TARGET_START_S:.0f} s",
            median <= TARGET_START_S,
            "runs: " + ", ".join(f"{t:.2f}" for t in times),
        )
    ]


def rss_idle(bench: Bench) -> list[Row]:
    """Memory of the freshly started sandbox."""
    mb = _rss_mb(_sandbox_pid())
    bench.facts["rss_idle_mb"] = mb
    return [Row("sandbox RSS, idle", f"{mb:.0f} MB")]


CALLS: list[tuple[str, Callable[[Any, int], Any]]] = [
    ("iam create_user", lambda c, i: c["iam"].create_user(UserName=f"bench-{i}")),
    ("iam get_user", lambda c, i: c["iam"].get_user(UserName=f"bench-{i}")),
    ("sns publish", lambda c, i: c["sns"].publish(TopicArn=c["topic"], Message=f"m{i}")),
    (
        "cloudwatch put_metric_data",
        lambda c, i: c["cloudwatch"].put_metric_data(
            Namespace="Bench", MetricData=[{"MetricName": "n", "Value": float(i)}]
        ),
    ),
]
_BARE_MOTO = (
    "import sys\n"
    "from moto.server import ThreadedMotoServer\n"
    "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0)\n"
    "server.start()\n"
    "print('PORT', server.get_host_and_port()[1], flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)


def _time_calls(bench: Bench, endpoint: str) -> dict[str, float]:
    clients = {s: bench.client(s, endpoint) for s in ("iam", "sns", "cloudwatch")}
    clients["topic"] = clients["sns"].create_topic(Name="bench")["TopicArn"]
    for _, call in CALLS:  # warm-up: moto builds each backend on first use
        call(clients, -1)
    medians = {}
    for name, call in CALLS:
        samples = []
        for i in range(bench.calls):
            started = time.perf_counter()
            call(clients, i)
            samples.append(time.perf_counter() - started)
        medians[name] = statistics.median(samples)
    return medians


def call_overhead(bench: Bench) -> list[Row]:
    """Same boto3 calls against our sandbox and against a bare moto server process."""
    from flovtrain.sandbox import control

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # as in the sandbox: a fair comparison
    bare = subprocess.Popen(
        [sys.executable, "-c", _BARE_MOTO],
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # its request log
    try:
        line = ""
        while not line.startswith("PORT "):  # moto prints its own greeting first
            line = bare.stdout.readline()
            if not line:
                raise RuntimeError("the bare moto server did not start")
        port = int(line.split()[1])
        control.reset()
        ours = _time_calls(bench, control.endpoint())
        theirs = _time_calls(bench, f"http://127.0.0.1:{port}")
    finally:
        bare.stdin.close()
        try:
            bare.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bare.kill()
    control.reset()
    rows = [
        Row(
            f"  {name}: sandbox vs bare moto (median)",
            f"{ours[name] * 1000:.1f} / {theirs[name] * 1000:.1f} ms",
        )
        for name, _ in CALLS
    ]
    ratio = sum(ours.values()) / sum(theirs.values())
    return [
        Row(
            "per-call overhead vs bare moto (ratio)",
            f"{ratio:.2f}×",
            f"≤ {TARGET_OVERHEAD}×",
            ratio <= TARGET_OVERHEAD,
            f"{bench.calls} calls each",
        ),
        *rows,
    ]


def _execute(path: Path) -> tuple[float, list[float], str]:
    """Run a notebook with nbclient (as nbval's kernels do); return wall, per-cell, error."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    cells: list[float] = []
    started_at: dict[str, float] = {}

    def on_start(cell: Any, cell_index: int) -> None:
        started_at["t"] = time.perf_counter()

    def on_done(cell: Any, cell_index: int, execute_reply: Any = None) -> None:
        cells.append(time.perf_counter() - started_at["t"])

    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_execute=on_start,
        on_cell_executed=on_done,
    )
    started = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1][:120]
    return time.perf_counter() - started, cells, error


def notebooks(bench: Bench) -> list[Row]:
    """Each notebook after a reset: wall time (kernel start included) and slowest cell."""
    from flovtrain.sandbox import control

    saved = {k: os.environ.get(k) for k in ("FLOVTRAIN_STATIC_WIDGETS", "MPLBACKEND")}
    os.environ.update(control.client_env())
    os.environ.update(FLOVTRAIN_STATIC_WIDGETS="1", MPLBACKEND="Agg")  # as under nbval
    rows: list[Row] = []
    walls: dict[str, float] = {}
    try:
        for path in bench.notebooks:
            control.reset()
            wall, cells, error = _execute(path)
            slowest = max(range(len(cells)), key=cells.__getitem__) if cells else -1
            slow_s = cells[slowest] if cells else 0.0
            walls[path.name[:2]] = wall
            ok = not error and slow_s <= TARGET_CELL_S
            rows.append(
                Row(
                    f"notebook {path.parent.name}/{path.name}",
                    f"{wall:.1f} s, slowest code cell #{slowest + 1} {slow_s:.2f} s",
                    f"no cell > {TARGET_CELL_S:.0f} s",
                    ok,
                    f"FAILED: {error}" if error else "",
                )
            )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    groups = 0
    for group, target in CHAPTER_GROUPS.items():
        present = [c for c in group if c in walls]
        if present:
            total = sum(walls[c] for c in present)
            groups += 1
            rows.insert(
                groups - 1,
                Row(
                    f"chapters {', '.join(present)} together",
                    f"{total:.1f} s",
                    f"≤ {target:.0f} s",
                    total <= target,
                    "wall time incl. kernel start",
                ),
            )
    return rows


def rss_after(bench: Bench) -> list[Row]:
    """Memory once every notebook ran (moto does not give memory back on reset)."""
    mb = _rss_mb(_sandbox_pid())
    idle = bench.facts.get("rss_idle_mb")
    note = f"+{mb - idle:.0f} MB since idle" if idle else ""
    return [Row("sandbox RSS, after the notebooks", f"{mb:.0f} MB", note=note)]


def _from_dicts(found: list[dict[str, Any]]) -> list[Row]:
    """Rows from the chapter benchmarks' dicts (name, seconds, target, ok, note, ...)."""
    rows = []
    for d in found:
        extra = f"{d['bytes_scanned']:,} bytes scanned" if d.get("bytes_scanned") else ""
        note = "; ".join(x for x in (d.get("note", ""), extra) if x)
        ok = d.get("ok")
        value = d.get("value") or f"{d['seconds']:.2f} s"
        rows.append(Row(d["name"], value, d.get("target", ""), ok, note))
    return rows


def pipeline(bench: Bench) -> list[Row]:
    """Issue 3's rows: deploy -> first page, git push -> new page, one build."""
    from flovtrain import bench_pipeline, session

    session.connect(quiet=True)
    return _from_dicts(bench_pipeline.push_rows())


def athena(bench: Bench) -> list[Row]:
    """Issue 4's rows at ``bench.athena_scale`` (default 10 M one-minute klines)."""
    from flovtrain import bench_athena

    return _from_dicts(bench_athena.rows(scale=bench.athena_scale))


def frontdoor(bench: Bench) -> list[Row]:
    """Issue 10's rows: ALB overhead over calling the instance, DNS answer time, RDS connect."""
    from flovtrain import bench_frontdoor, session

    session.connect(quiet=True)
    return _from_dicts(bench_frontdoor.rows())


TARGET_BUILD_LOG_MB = 20.0
#: A build command printing 100 MB: 1 Mi lines of 100 bytes.
BIG_LOG_COMMAND = "python3 -c \"import sys; sys.stdout.write(('x' * 99 + chr(10)) * 1048576)\""


def _build_role(bench: Bench) -> str:
    """The role the bench's builds run as: CodeBuild may assume it and write its logs."""
    iam = bench.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "codebuild.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    try:
        iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    logs = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="bench", PolicyName="logs", PolicyDocument=json.dumps(logs))
    return f"arn:aws:iam::{config.SANDBOX_ACCOUNT_ID}:role/bench"


def _build(bench: Bench, name: str, command: str, timeout: float = 600) -> dict[str, Any]:
    """Create an inline project running ``command``, build it, return the finished build."""
    role = _build_role(bench)
    codebuild = bench.client("codebuild")
    spec = f"version: 0.2\nphases:\n  build:\n    commands:\n      - {json.dumps(command)}\n"
    codebuild.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": spec},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=role,
    )
    build_id = codebuild.start_build(projectName=name)["build"]["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            return build
        time.sleep(0.5)
    raise TimeoutError(f"build {build_id} did not finish in {timeout:.0f} s")


def build_log_memory(bench: Bench) -> list[Row]:
    """RSS the sandbox keeps after a build printing 100 MB, and after the reset that follows."""
    from flovtrain.sandbox import control

    control.reset()
    _build(bench, "bench-warm-up", "echo warm")  # CodeBuild and Logs backends exist now
    before = _rss_mb(_sandbox_pid())
    started = time.perf_counter()
    build = _build(bench, "bench-big-log", BIG_LOG_COMMAND)
    seconds = time.perf_counter() - started
    after = _rss_mb(_sandbox_pid())
    control.reset()
    reset = _rss_mb(_sandbox_pid())
    idle = bench.facts.get("rss_idle_mb")
    retained = after - before
    return [
        Row(
            "sandbox RSS retained after a build printing 100 MB",
            f"{retained:+.0f} MB",
            f"≤ +{TARGET_BUILD_LOG_MB:.0f} MB",
            retained <= TARGET_BUILD_LOG_MB and build["buildStatus"] == "SUCCEEDED",
            f"{before:.0f} -> {after:.0f} MB; build {build['buildStatus']} in {seconds:.0f} s",
        ),
        Row(
            "sandbox RSS after a reset",
            f"{reset:.0f} MB",
            note=f"+{reset - idle:.0f} MB since idle"
            if idle
            else f"{reset - before:+.0f} MB vs before the big build",
        ),
    ]


#: The measurements, in order. Add a function here to add rows.
MEASUREMENTS: list[Callable[[Bench], list[Row]]] = [
    cold_start,
    rss_idle,
    call_overhead,
    notebooks,
    pipeline,
    athena,
    build_log_memory,
    frontdoor,
    rss_after,
]


def run(
    measurements: list[Callable[[Bench], list[Row]]] | None = None,
    notebook_paths: list[Path] | None = None,
    repeat: int = 3,
    athena_scale: str = "10M",
) -> list[Row]:
    """Start a private sandbox, run each measurement, stop it; return all rows."""
    from flovtrain.sandbox import control

    with tempfile.TemporaryDirectory(prefix="flovtrain-bench-") as home, _home(home):
        paths = (
            notebook_paths
            if notebook_paths is not None
            else sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        )
        bench = Bench(Path(home), paths, repeat=repeat, athena_scale=athena_scale)
        rows: list[Row] = []
        try:
            for measure in measurements or MEASUREMENTS:
                control.start()  # a measurement may stop it (cold start)
                try:
                    rows += measure(bench)
                except Exception as exc:  # one broken measurement must not hide the others
                    rows.append(
                        Row(
                            measure.__name__,
                            "error",
                            ok=False,
                            note=f"{type(exc).__name__}: {exc}"[:160],
                        )
                    )
        finally:
            control.stop()
    return rows


def table(rows: list[Row]) -> str:
    """Render rows as a fixed-width text table."""
    header = Row("measure", "value", "target", None, "note")
    cells = [
        (r.measure, r.value, r.target, r.result if r is not header else "result", r.note)
        for r in [header, *rows]
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = []
    for index, c in enumerate(cells):
        lines.append("  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4])
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flovtrain.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=3, help="cold starts to take the median of")
    parser.add_argument(
        "--notebook",
        action="append",
        type=Path,
        help="notebook(s) to time (default: notebooks/NN_*.ipynb)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument(
        "--athena-scale",
        default="10M",
        help="market-data rows for the Athena rows, e.g. 130k, 1M, 10M",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[m.__name__ for m in MEASUREMENTS],
        help="run only these measurements (repeatable)",
    )
    args = parser.parse_args(argv)
    chosen = [m for m in MEASUREMENTS if not args.only or m.__name__ in args.only]
    rows = run(
        chosen, notebook_paths=args.notebook, repeat=args.repeat, athena_scale=args.athena_scale
    )
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps([{**asdict(r), "result": r.result} for r in rows], indent=2)
        )
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
