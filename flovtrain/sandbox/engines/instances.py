"""Sandbox EC2 instances on this machine: a root directory, a loopback address, processes.

Every instance the sandbox runs gets its own folder under ``<FLOVTRAIN_HOME>/instances/<id>``
(its "disk": CodeDeploy copies files there, SSM commands run there) and its own loopback
address ``127.20.x.y`` (Linux routes all of 127/8 to ``lo``), which ``describe_instances``
reports as ``PublicIpAddress``: "open the public IP in a browser" works on this machine.
Addresses are handed out in launch order, so a re-seeded sandbox gives the same ones; a
machine-wide lock file per address keeps two sandboxes running side by side apart.

Processes an instance starts (CodeDeploy hooks, the apps they leave running, SSM commands)
are supervised (:mod:`.processes`: own process group, recorded under the sandbox home) and
remembered per instance, so terminating the instance, resetting or stopping the sandbox ends
them even after the hook's shell has exited, and the next start after a crash does too.

Runs inside the sandbox process only. One supervisor per process, not per account and region:
addresses are a machine-wide resource handed out in launch order, and instance ids are unique.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines import host, processes
from flovtrain.sandbox.engines.frontdoor.addresses import LoopbackPool

#: First address handed out; the sandbox itself listens on 127.0.0.1.
FIRST_ADDRESS = (127, 20, 0, 1)


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
#: Addresses go out in launch order and are not reused before a reset.
POOL = LoopbackPool(FIRST_ADDRESS, what="an EC2 instance")


def home() -> Path:
    """Return the folder holding every instance root."""
    from flovtrain import config

    return config.home() / "instances"


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


def allocate(account_id: str, region: str, instance_id: str) -> Instance:
    """Give a new instance its address and root folder (idempotent per instance id)."""
    with _lock:
        if instance_id in _instances:
            return _instances[instance_id]
        address = POOL.lease(accept=lambda a: not _listened_on(a))
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


def spawn(
    record: Instance, args: list[str] | str, kind: str = "hook", name: str = "", **kwargs: Any
) -> subprocess.Popen:
    """Start a process on the instance: supervised (:func:`.processes.spawn`), remembered here
    so terminating the instance ends it.

    Parameters
    ----------
    record : Instance
        Where it runs (its folder is the default ``cwd``, its variables the default ``env``).
    kind : str
        ``hook`` (CodeDeploy), ``ssm`` (Run Command) or ``app``.
    name : str
        For the supervision record (default: the instance id).
    """
    if record.terminated:
        raise RuntimeError(f"instance {record.instance_id} is terminated")
    kwargs.setdefault("cwd", str(record.root))
    kwargs.setdefault("env", environment(record))
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    proc = processes.spawn(args, kind=kind, name=name or record.instance_id, **kwargs)
    with _lock:
        record.pgids.add(proc.pid)  # start_new_session: the pid is the group id
    return proc


#: The supervisor's, under the names hooks and SSM commands use.
kill_group = processes.kill_group
_group_alive = processes.group_alive


def stop_processes(record: Instance) -> int:
    """End every process group the instance started; return how many were still alive."""
    with _lock:
        pgids = list(record.pgids)
        record.pgids.clear()
    alive = [g for g in pgids if processes.group_alive(g)]
    threads = [threading.Thread(target=processes.kill_group, args=(g,)) for g in alive]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(alive)


def running_groups(record: Instance) -> list[int]:
    """Return the instance's process groups that still have a live process."""
    with _lock:
        return [g for g in record.pgids if processes.group_alive(g)]


def forget_group(record: Instance, pgid: int) -> None:
    """Stop tracking a process group that has ended."""
    with _lock:
        record.pgids.discard(pgid)
    processes.forget(pgid)


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
    stop_all()
    with _lock:
        _instances.clear()
        POOL.reset()
    shutil.rmtree(home(), ignore_errors=True)


def map_path(record: Instance, destination: str) -> Path:
    """Map an absolute path on "the instance" (``/var/www``) to its folder on this machine."""
    # normpath, not resolve(): the host's symlinks (/var/run -> /run) mean nothing here
    relative = os.path.normpath("/" + destination.lstrip("/")).lstrip("/")
    return record.root / relative if relative else record.root
