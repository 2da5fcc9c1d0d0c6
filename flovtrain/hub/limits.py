"""Per-attendee memory and CPU limits for local processes, through cgroups where we may.

A local process spawner has no container: the only kernel-enforced limits it can set are
cgroups, which need root and a cgroup tree we are allowed to write. We only ever create groups
*below the hub's own* cgroup (``/proc/self/cgroup``), so the room's limits nest inside whatever
limits the machine already gives the hub, and a controller whose hub group is the machine's
root is left alone (we do not re-partition a whole machine). Everything else is reported, not
faked: :func:`apply` returns what it could enforce.

Examples
--------
>>> apply("anna", [12345], mem_bytes=1 << 30, cpus=1.0)        # doctest: +SKIP
{'memory': '/sys/fs/cgroup/memory/.../flovtrain-room/anna', 'cpu': 'not enforced: ...'}
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
GROUP = "flovtrain-room"
CFS_PERIOD_US = 100_000


def _own_groups() -> dict[str, str]:
    """Controller -> the hub's own cgroup path, from ``/proc/self/cgroup`` (v1 and v2)."""
    found = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            found[name] = path
    return found


def _descendants(pids: list[int]) -> list[int]:
    try:
        import psutil
    except ImportError:  # psutil is in the lock; without it only the given processes move
        return pids
    everyone = set(pids)
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            everyone |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
    return sorted(everyone)


def _join(group: Path, pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, OSError):  # gone meanwhile: nothing to limit
            (group / "cgroup.procs").write_text(str(pid))


def _make(parent: Path, name: str) -> Path | None:
    group = parent / GROUP / name
    try:
        group.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return group


def apply(name: str, pids: list[int], mem_bytes: int = 0, cpus: float = 0.0) -> dict[str, str]:
    """Put ``pids`` (and their children) in cgroups of their own capped at ``mem_bytes``/``cpus``.

    Returns one line per limit asked for: the cgroup enforcing it, or why it is not enforced.
    Children started later (kernels, builds) inherit the group.
    """
    if not (mem_bytes or cpus):
        return {}
    own = _own_groups()
    pids = _descendants(pids)
    report: dict[str, str] = {}
    if "" in own and (ROOT / "cgroup.controllers").exists():  # unified (v2) hierarchy
        group = _make(ROOT / own[""].lstrip("/"), name)
        if group is None:
            return {"memory": "not enforced: cgroup v2 tree not writable", "cpu": "not enforced"}
        if mem_bytes:
            (group / "memory.max").write_text(str(mem_bytes))
            report["memory"] = str(group)
        if cpus:
            (group / "cpu.max").write_text(f"{int(cpus * CFS_PERIOD_US)} {CFS_PERIOD_US}")
            report["cpu"] = str(group)
        _join(group, pids)
        return report
    wanted = {"memory": mem_bytes, "cpu": cpus}
    for controller, amount in wanted.items():
        if not amount:
            continue
        mine = own.get(controller) or own.get(f"{controller},cpuacct")
        if not mine or mine == "/" or not (ROOT / controller).is_dir():
            report[controller] = "not enforced: the hub's own cgroup is the machine's root"
            continue
        group = _make(ROOT / controller / mine.lstrip("/"), name)
        if group is None:
            report[controller] = "not enforced: cgroup tree not writable (run the hub as root)"
            continue
        if controller == "memory":
            (group / "memory.limit_in_bytes").write_text(str(int(amount)))
        else:
            (group / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(int(amount * CFS_PERIOD_US)))
        _join(group, pids)
        report[controller] = str(group)
    return report


def release(name: str) -> None:
    """Remove attendee ``name``'s cgroups once their processes are gone (best effort)."""
    own = _own_groups()
    candidates = [ROOT / own.get("", "/").lstrip("/") / GROUP / name]
    candidates += [ROOT / c / own.get(c, "/").lstrip("/") / GROUP / name for c in ("memory", "cpu")]
    for group in candidates:
        with contextlib.suppress(OSError):
            group.rmdir()


def pids_of(home_state: Path) -> list[int]:
    """The sandbox pid recorded in an attendee's ``FLOVTRAIN_HOME`` (empty if none)."""
    import json

    from flovtrain.sandbox.contract import STATE_FILE

    try:
        return [int(json.loads((home_state / STATE_FILE).read_text())["pid"])]
    except (OSError, ValueError, KeyError):
        return []


if __name__ == "__main__":  # pragma: no cover - a quick look on a new machine
    print(_own_groups(), os.geteuid())
