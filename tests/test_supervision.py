"""Supervision: what the sandbox starts is recorded, and a start after ``kill -9`` ends it.

Each test runs its own sandbox in a temporary FLOVTRAIN_HOME (the session's is never touched).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sandbox_fixtures import create_build_project, fail_fast_client, fresh_home, until

from flovtrain import config
from flovtrain.sandbox import control
from flovtrain.sandbox.engines import processes
from flovtrain.sandbox.server import DEBUG_VAR

ROLE = "arn:aws:iam::123456789012:role/codebuild-role"
SLEEPER = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300\n"
APP = "nohup python3 -m http.server 8090 --bind $FLOVTRAIN_INSTANCE_ADDRESS >app.log 2>&1 &"


@pytest.fixture
def own_home(tmp_path, monkeypatch):
    """A fresh FLOVTRAIN_HOME; whatever sandbox a test starts there is stopped afterwards."""
    yield from fresh_home(tmp_path, monkeypatch)


client = fail_fast_client


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def record_of(home: Path, pid: int) -> dict:
    path = home / processes.RECORD_DIR / f"{pid}.json"
    return json.loads(path.read_text()) if path.exists() else {"processes": []}


def listening(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((address, port)) == 0


def group_pids(pgid: int) -> list[int]:
    return [p.pid for p in psutil.process_iter() if _pgid(p.pid) == pgid and alive(p.pid)]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def test_kill_9_mid_build_leaves_nothing_after_the_next_start(own_home):
    info = control.start()
    endpoint, sandbox_pid = info["endpoint"], info["pid"]
    cb, ec2, ssm, iam = (client(s, endpoint) for s in ("codebuild", "ec2", "ssm", "iam"))
    builds = {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}}
    iam.create_role(  # the build runs as its role: CodeBuild may assume it and write the log
        RoleName=ROLE.rsplit("/", 1)[-1],
        AssumeRolePolicyDocument=json.dumps(
            {"Statement": [{**builds, "Action": "sts:AssumeRole"}]}
        ),
    )
    logs = {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}
    iam.put_role_policy(
        RoleName=ROLE.rsplit("/", 1)[-1],
        PolicyName="logs",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [logs]}),
    )
    create_build_project(cb, "sleeper", SLEEPER, ROLE)
    cb.start_build(projectName="sleeper")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    address = instance["PublicIpAddress"]
    command_id = ssm.send_command(
        InstanceIds=[instance["InstanceId"]],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": [APP]},
    )["Command"]["CommandId"]
    until(lambda: listening(address, 8090), what=f"the app on {address}:8090")
    until(  # the command's shell has exited: what is left in its group is the app alone
        lambda: (
            ssm.get_command_invocation(CommandId=command_id, InstanceId=instance["InstanceId"])[
                "Status"
            ]
            == "Success"
        ),
        what="the SSM command to finish",
    )

    def recorded() -> list[dict] | None:
        entries = record_of(own_home, sandbox_pid)["processes"]
        return entries if {"build", "ssm"} <= {e["kind"] for e in entries} else None

    entries = until(recorded, what="the build and the SSM command in the record")
    for entry in entries:  # the record names each group by its first process's start time
        assert entry["start_time"] == processes.start_time(entry["pid"]) or not alive(entry["pid"])
    children = [pid for e in entries for pid in group_pids(e["pgid"])]
    assert children, "the build's sleep and the app should be running"

    os.kill(sandbox_pid, signal.SIGKILL)
    until(lambda: not alive(sandbox_pid), what="the sandbox to die")
    time.sleep(0.5)
    assert all(alive(pid) for pid in children), "kill -9 cannot end the children: they remain"
    assert listening(address, 8090)

    again = control.start()
    assert again["pid"] != sandbox_pid
    until(lambda: not any(alive(pid) for pid in children), timeout=30, what="leftovers to end")
    assert not listening(address, 8090), "the address is free again"
    assert not (own_home / processes.RECORD_DIR / f"{sandbox_pid}.json").exists()
    assert "process groups a crashed run left" in (own_home / "sandbox.log").read_text()


def test_stop_leaves_no_process_and_no_record(own_home, monkeypatch):
    monkeypatch.setenv(DEBUG_VAR, "1")
    info = control.start()
    child = control.api("debug/spawn-sleep", method="POST", data=b"")["pid"]
    entry = record_of(own_home, info["pid"])["processes"][0]
    assert (entry["pid"], entry["pgid"]) == (child, child)
    assert entry["start_time"] == processes.start_time(child)
    control.stop()
    until(lambda: not alive(child), what="the child to end")
    assert list((own_home / processes.RECORD_DIR).glob("*.json")) == []


def _write_record(home: Path, supervisor: dict, entries: list[dict], token: str) -> Path:
    folder = home / processes.RECORD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{supervisor['pid']}.json"
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    path.write_text(
        json.dumps(
            {"supervisor": supervisor, "boot_id": boot, "token": token, "processes": entries}
        )
    )
    return path


def _dead_supervisor() -> dict:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return {"pid": gone.pid, "start_time": 1}


def test_a_reused_pid_is_never_killed(tmp_path):
    """A record whose start time does not match the running process names somebody else."""
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        real = processes.start_time(stranger.pid)
        entry = {"pid": stranger.pid, "pgid": stranger.pid, "start_time": real - 1, "kind": "app"}
        path = _write_record(tmp_path, _dead_supervisor(), [{**entry, "name": "x"}], "t0")
        assert processes.end_leftovers(tmp_path) == []
        assert stranger.poll() is None, "a process that merely reuses the pid was killed"
        assert not path.exists(), "the stale record is cleared"
        # the check can fail: with the matching start time the same process is ended
        _write_record(tmp_path, _dead_supervisor(), [{**entry, "start_time": real}], "t0")
        assert [e["pid"] for e in processes.end_leftovers(tmp_path)] == [stranger.pid]
        assert stranger.wait(timeout=5) == -signal.SIGTERM
    finally:
        if stranger.poll() is None:
            stranger.kill()


def test_leaderless_group_needs_the_token(tmp_path):
    """An app whose hook shell has exited is ours only when it carries the supervisor's token."""
    shell = subprocess.Popen(
        ["sh", "-c", "sleep 60 & echo $!"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, processes.TOKEN_VAR: "right"},
    )
    orphan = int(shell.stdout.readline())
    shell.wait()
    entry = {
        "pid": shell.pid,
        "pgid": shell.pid,
        "start_time": processes.start_time(orphan) - 1,
        "kind": "app",
        "name": "app",
    }
    try:
        _write_record(tmp_path, _dead_supervisor(), [entry], "wrong")
        assert processes.end_leftovers(tmp_path) == [] and alive(orphan)
        _write_record(tmp_path, _dead_supervisor(), [entry], "right")
        assert len(processes.end_leftovers(tmp_path)) == 1
        until(lambda: not alive(orphan), timeout=5, what="the orphan to end")
    finally:
        if alive(orphan):
            os.kill(orphan, signal.SIGKILL)


def test_a_live_supervisors_record_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(config.HOME_VAR, str(tmp_path))
    mine = processes.spawn([sys.executable, "-c", "import time; time.sleep(60)"], kind="server")
    try:
        assert processes.end_leftovers(tmp_path) == []
        assert mine.poll() is None
        assert (tmp_path / processes.RECORD_DIR / f"{os.getpid()}.json").exists()
    finally:
        processes.stop(mine)
    assert not (tmp_path / processes.RECORD_DIR / f"{os.getpid()}.json").exists()


def test_spawn_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        processes.spawn(["true"], kind="daemon")


def test_reset_kinds_spare_servers(tmp_path, monkeypatch):
    """A reset ends builds, hooks, apps and SSM commands; servers other engines run stay."""
    monkeypatch.setenv(config.HOME_VAR, str(tmp_path))
    build = processes.spawn(["sleep", "60"], kind="build", name="b")
    server = processes.spawn(["sleep", "60"], kind="server", name="s")
    try:
        assert processes.stop_all(processes.RESET_KINDS) == 1
        assert build.wait(timeout=5) is not None and server.poll() is None
        kinds = [e["kind"] for e in record_of(tmp_path, os.getpid())["processes"]]
        assert kinds == ["server"]
    finally:
        processes.stop(server)
