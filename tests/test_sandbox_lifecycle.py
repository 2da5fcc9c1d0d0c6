"""The sandbox process's life: start, status, stop, port clashes, crashes, reset, shell env.

Every test here runs its own sandbox in a temporary FLOVTRAIN_HOME, so the test session's
sandbox (conftest) is never touched.
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
from botocore.exceptions import EndpointConnectionError
from sandbox_fixtures import fail_fast_client, fresh_home

from flovtrain import config
from flovtrain.exceptions import SandboxNotRunning, SandboxPortBusy
from flovtrain.sandbox import control, recovery
from flovtrain.sandbox.engines import processes
from flovtrain.sandbox.server import DEBUG_VAR

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture
def own_home(tmp_path, monkeypatch):
    """A fresh FLOVTRAIN_HOME; whatever sandbox a test starts there is stopped afterwards."""
    yield from fresh_home(tmp_path, monkeypatch)


client = fail_fast_client


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not control._pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def sandbox_servers(home: Path) -> list[psutil.Process]:
    """Sandbox server processes serving ``home``."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "flovtrain.sandbox.server" in cmd and str(home) in cmd:
            found.append(proc)
    return found


def test_start_is_idempotent_and_stop_ends_it(own_home):
    first = control.start()
    second = control.start()
    assert second["pid"] == first["pid"]
    assert second["endpoint"] == first["endpoint"]
    assert len(sandbox_servers(own_home)) == 1

    status = control.status()
    assert status["running"] is True
    assert status["pid"] == first["pid"]
    assert status["home"] == str(own_home)
    assert {"sns", "cloudwatch", "billing"} <= set(status["providers"])

    assert control.stop() is True
    assert wait_gone(first["pid"])
    assert control.status()["running"] is False
    assert not (own_home / "sandbox.json").exists()
    assert control.stop() is False  # nothing left to stop


def test_binds_loopback_only(own_home):
    info = control.start()
    listening = [
        c
        for c in psutil.Process(info["pid"]).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening, "the sandbox process has no listening socket"
    # besides the API: the front doors it declares (DNS ...), each on loopback too
    declared = {(e["address"], e["port"]) for e in control.status().get("endpoints") or []}
    assert {(c.laddr.ip, c.laddr.port) for c in listening} == {
        ("127.0.0.1", info["port"])
    } | declared
    assert all(c.laddr.ip.startswith("127.") for c in listening)


def test_busy_port_says_how_to_recover(own_home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxPortBusy) as err:
            control.start(port=port)
    message = str(err.value)
    assert str(port) in message
    assert "flovtrain sandbox start --port" in message
    assert config.PORT_VAR in message
    assert control.status()["running"] is False


def test_killed_sandbox_gives_recovery_advice_then_restarts(own_home):
    info = control.start()
    iam = client("iam", info["endpoint"])
    iam.create_user(UserName="alice")

    os.kill(info["pid"], signal.SIGKILL)
    assert wait_gone(info["pid"])

    with pytest.raises(SandboxNotRunning) as err:
        control.api("health")
    assert f"process {info['pid']} is gone" in str(err.value)
    assert "flovtrain sandbox start" in str(err.value)
    assert "flovtrain catch-up" in str(err.value)

    with pytest.raises(EndpointConnectionError) as boto_err:
        iam.get_user(UserName="alice")
    advice = recovery.explain(boto_err.value)
    assert isinstance(advice, SandboxNotRunning)
    assert "flovtrain sandbox start" in str(advice)
    assert "flovtrain catch-up NN" in str(advice)
    assert recovery.explain(ValueError("unrelated")) is None

    status = control.status()
    assert status["running"] is False and status["stale"]["pid"] == info["pid"]

    again = control.start()
    assert again["pid"] != info["pid"]
    users = client("iam", again["endpoint"]).list_users()["Users"]
    assert users == []  # a new process: state is gone, hence `flovtrain catch-up`


def test_explain_is_silent_while_the_sandbox_runs(own_home):
    info = control.start()
    exc = EndpointConnectionError(endpoint_url=info["endpoint"])
    assert recovery.explain(exc) is None  # the sandbox answers: not our problem to explain


def test_stop_ends_processes_the_sandbox_spawned(own_home, monkeypatch):
    monkeypatch.setenv(DEBUG_VAR, "1")
    info = control.start()
    child = control.api("debug/spawn-sleep", method="POST", data=b"")["pid"]
    assert psutil.pid_exists(child)
    assert control.status()["children"] == 1
    control.stop()
    assert wait_gone(info["pid"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and psutil.pid_exists(child):
        try:
            if psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    alive = psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE
    assert not alive, f"spawned process {child} outlived the sandbox"
    assert "1 child processes ended" in (own_home / "sandbox.log").read_text()


def test_debug_route_is_absent_by_default(own_home):
    control.start()
    with pytest.raises(ValueError, match="no sandbox endpoint"):
        control.api("debug/spawn-sleep", method="POST", data=b"")


def test_processes_stop_all_ends_whole_groups():
    lone = processes.spawn(["sleep", "60"])
    parent = processes.spawn(["sh", "-c", "sleep 61 & echo $!; wait"], stdout=subprocess.PIPE)
    grandchild = int(parent.stdout.readline())
    assert set(processes.running()) >= {lone.pid, parent.pid}
    assert processes.stop_all() >= 2
    assert lone.poll() is not None and parent.poll() is not None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and psutil.pid_exists(grandchild):
        if psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.05)
    assert not psutil.pid_exists(grandchild) or (
        psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
    ), "the grandchild survived: stop_all must end the process group"
    assert processes.running() == []


def test_reset_wipes_and_reseeds(own_home):
    info = control.start()
    iam = client("iam", info["endpoint"])

    def build() -> list[tuple[str, str]]:
        made = [iam.create_user(UserName=name)["User"] for name in ("alice", "bob")]
        key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
        return [(u["UserName"], u["UserId"]) for u in made] + [("key", key)]

    before = build()
    control.reset()
    first = build()
    control.reset()
    second = build()
    assert first == second
    assert first == before  # a fresh start is seeded exactly like a reset
    assert len({uid for _, uid in first}) == 3
    control.reset()
    assert iam.list_users()["Users"] == []


def test_administrator_access_is_attachable(own_home):
    info = control.start()
    iam = client("iam", info["endpoint"])
    iam.create_group(GroupName="system-admins")
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.attach_group_policy(GroupName="system-admins", PolicyArn=arn)
    attached = iam.list_attached_group_policies(GroupName="system-admins")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AdministratorAccess", "PolicyArn": arn}]


def _clean_env(home: Path, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env[config.HOME_VAR] = str(home)
    env["HOME"] = str(tmp_path)  # no ~/.aws of the machine's user
    env.pop(config.BACKEND_VAR, None)
    return env


def test_sandbox_env_evals_in_bash_for_the_aws_cli(own_home, tmp_path):
    info = control.start()
    script = (
        f'eval "$({BIN}/flovtrain sandbox env)" && echo "$AWS_ENDPOINT_URL" && '
        f"{BIN}/aws sts get-caller-identity --output json"
    )
    done = subprocess.run(
        ["bash", "-c", script],
        env=_clean_env(own_home, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    endpoint, _, rest = done.stdout.partition("\n")
    assert endpoint == info["endpoint"]
    assert json.loads(rest)["Account"] == config.SANDBOX_ACCOUNT_ID


CONNECT_TWICE = """
import json, flovtrain
from flovtrain.sandbox import control
a = flovtrain.connect(quiet=True)
pid_a = control.read_state()["pid"]
b = flovtrain.connect(quiet=True)
pid_b = control.read_state()["pid"]
print(json.dumps([a.endpoint, pid_a, b.endpoint, pid_b]))
"""


def test_kernels_share_one_sandbox(own_home, tmp_path):
    env = _clean_env(own_home, tmp_path)
    kernels = [
        subprocess.Popen(
            [sys.executable, "-c", CONNECT_TWICE],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for kernel in kernels:
        out, err = kernel.communicate(timeout=120)
        assert kernel.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    endpoints = {r[0] for r in results} | {r[2] for r in results}
    pids = {r[1] for r in results} | {r[3] for r in results}
    assert len(endpoints) == 1 and len(pids) == 1, results
    servers = sandbox_servers(own_home)
    assert [p.pid for p in servers] == list(pids)


def _health() -> dict:
    return control.api("health")


def test_slow_moto_modules_are_imported_in_the_background(own_home):
    from flovtrain.sandbox.server import WARM_UP_MODULES

    control.start()
    deadline = time.monotonic() + 60
    while _health().get("warmed_up") != list(WARM_UP_MODULES):
        assert time.monotonic() < deadline, _health()
        time.sleep(0.2)
    # the patches registered for CloudFormation's import ran in the warm-up thread too
    endpoint = control.status()["endpoint"]
    template = {
        "Resources": {"Key": {"Type": "AWS::EC2::KeyPair", "Properties": {"KeyName": "warm-key"}}}
    }
    client("cloudformation", endpoint).create_stack(
        StackName="warm", TemplateBody=json.dumps(template)
    )
    pairs = client("ec2", endpoint).describe_key_pairs()["KeyPairs"]
    assert [p["KeyName"] for p in pairs] == ["warm-key"]


def test_warm_up_can_be_turned_off(own_home, monkeypatch):
    from flovtrain.sandbox.server import WARM_UP_DELAY_S, WARM_UP_VAR

    monkeypatch.setenv(WARM_UP_VAR, "0")
    control.start()
    time.sleep(WARM_UP_DELAY_S + 2)
    assert "warmed_up" not in _health()
