"""Sandbox EC2 instances on this machine: a root directory, a loopback address, processes.

Every instance the sandbox runs gets its own folder under ``<FLOVTRAIN_HOME>/instances/<id>``
(its "disk": CodeDeploy copies files there, SSM commands run there) and its own loopback
address ``127.20.x.y`` (Linux routes all of 127/8 to ``lo``), which ``describe_instances``
reports as ``PublicIpAddress``: "open the public IP in a browser" works on this machine.
Addresses are handed out in launch order, so a re-seeded sandbox gives the same ones; a
machine-wide lock file per address keeps two sandboxes running side by side apart.

Processes an instance starts (CodeDeploy hooks, the apps they leave running, SSM commands)
run in their own process groups, remembered per instance, so terminating the instance,
resetting or stopping the sandbox ends them even after the hook's shell has exited.

Runs inside the sandbox process only. One supervisor per process, not per account and region:
addresses are a machine-wide resource handed out in launch order, and instance ids are unique.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines import host, processes

#: First address handed out; the sandbox itself listens on 127.0.0.1.
FIRST_ADDRESS = (127, 20, 0, 1)
LOCK_DIR_NAME = "flovtrain-loopback"


@dataclass
class Instance:
    """What the sandbox keeps for one EC2 instance."""

    instance_id: str
    account_id: str
    region: str
    address: str
    root: Path
    pgids: set[int] = field(default_factory=set)
    terminated: bool = False


_lock = threading.RLock()
_instances: dict[str, Instance] = {}
_leases: dict[str, Any] = {}  # address -> open lock file (the flock lives as long as it)
_next_index = 0


def home() -> Path:
    """Return the folder holding every instance root."""
    from flovtrain import config

    return config.home() / "instances"


def _address(index: int) -> str:
    a, b, c, d = FIRST_ADDRESS
    value = (b << 16) + (c << 8) + d + index
    return f"{a}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def _usable(address: str) -> bool:
    # skip .0 and .255 in the last octet: some tools treat them as network/broadcast
    last = int(address.rsplit(".", 1)[1])
    return address != "127.0.0.1" and last not in (0, 255)


def _listened_on(address: str) -> bool:
    """True when some process already listens on ``address`` (e.g. an app a killed sandbox
    left behind): a new instance there would be "validated" against somebody else's app."""
    try:
        import psutil

        return any(
            c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.ip == address
            for c in psutil.net_connections(kind="tcp4")
        )
    except Exception:  # no permission to list sockets: probe the app port instead
        import socket

        with socket.socket() as probe:
            probe.settimeout(0.2)
            return probe.connect_ex((address, 8090)) == 0


def _lease(address: str) -> bool:
    """Take the machine-wide lock for ``address``; False when another sandbox holds it."""
    lock_dir = Path(tempfile.gettempdir()) / LOCK_DIR_NAME
    lock_dir.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(lock_dir, 0o1777)
    handle = open(lock_dir / f"{address}.lock", "a+")  # noqa: SIM115 - kept open on purpose
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    _leases[address] = handle
    return True


def allocate(account_id: str, region: str, instance_id: str) -> Instance:
    """Give a new instance its address and root folder (idempotent per instance id)."""
    global _next_index
    with _lock:
        if instance_id in _instances:
            return _instances[instance_id]
        while True:
            address = _address(_next_index)
            _next_index += 1
            if (
                _usable(address)
                and address not in _leases
                and not _listened_on(address)
                and _lease(address)
            ):
                break
        root = home() / instance_id
        if root.exists():  # left over from before a reset: ids repeat after re-seeding
            shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        record = Instance(instance_id, account_id, region, address, root)
        _instances[instance_id] = record
        return record


def get(instance_id: str) -> Instance | None:
    """Return the sandbox record of an instance, or None when the sandbox never ran it."""
    with _lock:
        return _instances.get(instance_id)


def all_instances() -> list[Instance]:
    with _lock:
        return list(_instances.values())


def environment(record: Instance) -> dict[str, str]:
    """Return the variables a process on the instance gets, on top of the sandbox's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOVTRAIN_INSTANCE_")}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(
        FLOVTRAIN_INSTANCE_ID=record.instance_id,
        FLOVTRAIN_INSTANCE_ROOT=str(record.root),
        FLOVTRAIN_INSTANCE_ADDRESS=record.address,
        AWS_DEFAULT_REGION=record.region,
        AWS_REGION=record.region,
        PYTHONUNBUFFERED="1",
    )
    env.update(_sandbox_credentials())
    return env


def _sandbox_credentials() -> dict[str, str]:
    """The instance profile's stand-in: the sandbox's endpoint and fake keys."""
    endpoint = host.sandbox_endpoint()
    return host.client_env(endpoint) if endpoint else {}


def spawn(record: Instance, args: list[str] | str, **kwargs: Any) -> subprocess.Popen:
    """Start a process on the instance (own process group, remembered for terminate/stop)."""
    if record.terminated:
        raise RuntimeError(f"instance {record.instance_id} is terminated")
    kwargs.setdefault("cwd", str(record.root))
    kwargs.setdefault("env", environment(record))
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    proc = processes.spawn(args, **kwargs)
    with _lock:
        record.pgids.add(proc.pid)  # start_new_session: the pid is the group id
    return proc


def _group_alive(pgid: int) -> bool:
    """True while the group has a process that is not a zombie.

    Orphans a hook left behind are re-parented to PID 1, which may reap them late; a group
    of zombies only must count as ended, or every stop would wait for the SIGKILL time-out.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # state ppid pgrp ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def kill_group(pgid: int, timeout: float = 2.0) -> None:
    """SIGTERM a process group, SIGKILL what is left after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(-pgid, os.WNOHANG)  # reap our own children
            if not _group_alive(pgid):
                return
            time.sleep(0.02)


def stop_processes(record: Instance) -> int:
    """End every process group the instance started; return how many were still alive."""
    with _lock:
        pgids = list(record.pgids)
        record.pgids.clear()
    alive = [g for g in pgids if _group_alive(g)]
    threads = [threading.Thread(target=kill_group, args=(g,)) for g in alive]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(alive)


def running_groups(record: Instance) -> list[int]:
    """Return the instance's process groups that still have a live process."""
    with _lock:
        return [g for g in record.pgids if _group_alive(g)]


def forget_group(record: Instance, pgid: int) -> None:
    """Stop tracking a process group that has ended."""
    with _lock:
        record.pgids.discard(pgid)


def terminate(instance_id: str) -> None:
    """Mark an instance terminated and end its processes (its folder stays, like a snapshot)."""
    record = get(instance_id)
    if record is None:
        return
    record.terminated = True
    stop_processes(record)


def stop_all() -> int:
    """End the processes of every instance; return how many groups were alive."""
    return sum(stop_processes(r) for r in all_instances())


def reset() -> None:
    """Forget every instance: end processes, release addresses, delete root folders."""
    global _next_index
    stop_all()
    with _lock:
        _instances.clear()
        for handle in _leases.values():
            with contextlib.suppress(OSError):
                handle.close()
        _leases.clear()
        _next_index = 0
    shutil.rmtree(home(), ignore_errors=True)


def map_path(record: Instance, destination: str) -> Path:
    """Map an absolute path on "the instance" (``/var/www``) to its folder on this machine."""
    # normpath, not resolve(): the host's symlinks (/var/run -> /run) mean nothing here
    relative = os.path.normpath("/" + destination.lstrip("/")).lstrip("/")
    return record.root / relative if relative else record.root
