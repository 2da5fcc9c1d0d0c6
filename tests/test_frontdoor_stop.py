"""Every front door the sandbox starts (ELB listeners, SSH, MySQL, DNS) ends: chapter 10's
cleanup leaves only the sandbox's own API and resolver listening, ``flovtrain sandbox stop``
leaves nothing, and after a ``kill -9`` the next start ends what survived.

Listening sockets are read from the kernel (psutil, i.e. ``/proc/net/tcp``), not from the
sandbox's own endpoint list.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import psutil
import pytest
from sandbox_fixtures import fail_fast_client, fresh_home, until

from flovtrain import cleanup
from flovtrain.sandbox import control
from flovtrain.sandbox.engines.frontdoor import mysql

REGION = "us-east-1"
TAGS = [{"Key": "flovtrain:workshop", "Value": "flovtrain"}]


@pytest.fixture
def own_home(tmp_path, monkeypatch):
    yield from fresh_home(tmp_path, monkeypatch)


def listening_of(pid: int) -> set[tuple[str, int]]:
    """TCP (address, port) pairs the process ``pid`` and its descendants listen on."""
    try:
        root = psutil.Process(pid)
        pids = {pid} | {p.pid for p in root.children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.pid in pids
    }


def listeners(doors: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """Who listens on each door (pid and command line), for a failure message."""
    found = {}
    for c in psutil.net_connections(kind="tcp"):
        if c.status == psutil.CONN_LISTEN and (c.laddr.ip, c.laddr.port) in doors:
            try:
                found[(c.laddr.ip, c.laddr.port)] = (
                    f"{c.pid} {' '.join(psutil.Process(c.pid).cmdline())}"
                )
            except (psutil.Error, TypeError):
                found[(c.laddr.ip, c.laddr.port)] = str(c.pid)
    return {door: found.get(door, "?") for door in doors}


def answers(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((address, port)) == 0


def open_front_doors(client) -> dict[str, str]:
    """An ALB with an HTTP listener, an instance with a key pair (SSH) and an RDS MySQL server,
    all named or tagged as the workbook's; returns kind -> loopback address."""
    ec2, elb, rds = client("ec2"), client("elbv2"), client("rds")
    ec2.create_key_pair(KeyName="flovtec-prod-key", TagSpecifications=[
        {"ResourceType": "key-pair", "Tags": TAGS}])  # fmt: skip
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, KeyName="flovtec-prod-key",
        TagSpecifications=[{"ResourceType": "instance", "Tags": TAGS}],
    )["Instances"][0]  # fmt: skip
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    alb = elb.create_load_balancer(
        Name="flovtec-prod-alb", Subnets=[s["SubnetId"] for s in subnets["Subnets"]][:2]
    )["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name="flovtec-prod-tg", Protocol="HTTP", Port=8090, VpcId=vpc["VpcId"]
    )["TargetGroups"][0]
    elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )  # fmt: skip
    rds.create_db_instance(
        DBInstanceIdentifier="flovtec-prod-db", Engine="mysql", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="Tr4des-and-klines",
        Tags=TAGS,
    )  # fmt: skip
    until(
        lambda: rds.describe_db_instances(DBInstanceIdentifier="flovtec-prod-db")["DBInstances"][
            0]["DBInstanceStatus"] == "available", timeout=90, what="the database")  # fmt: skip
    return {"ssh": instance["PublicIpAddress"], "alb": alb["DNSName"]}


def front_doors(endpoints: list[dict]) -> set[tuple[str, int]]:
    """The (address, port) pairs of the ELB, SSH and RDS endpoints the sandbox lists."""
    return {(e["address"], e["port"]) for e in endpoints if e["kind"] in ("elb", "ssh", "rds")}


def api_port(info: dict) -> int:
    return int(urlsplit(info["endpoint"]).port)


def dns_port() -> int:
    (entry,) = [e for e in control.status()["endpoints"] if e["kind"] == "dns"]
    return entry["port"]


def off_localhost(doors: set[tuple[str, int]]) -> set[tuple[str, int]]:
    return {d for d in doors if d[0] != "127.0.0.1"}


def test_cleanup_ends_every_front_door_but_the_sandbox_itself(clean_sandbox):
    session = boto3.Session(region_name=REGION)
    open_front_doors(session.client)
    status = control.status()
    doors = front_doors(status["endpoints"])
    assert {e["kind"] for e in status["endpoints"]} >= {"elb", "ssh", "rds", "dns"}
    assert doors <= listening_of(status["pid"])  # the kernel agrees with the endpoint list
    result = cleanup.run(cleanup.plan(session, regions=[REGION]), dry_run=False)
    assert {"elbv2 load balancer", "ec2 instance", "rds db instance"} <= set(result["kind"])
    # the sandbox itself stays, all on 127.0.0.1: its API, the resolver, the children's proxy;
    # the front doors listen on addresses of their own (127.20-22.x.y)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and off_localhost(listening_of(status["pid"])):
        time.sleep(0.2)
    left = off_localhost(listening_of(status["pid"]))
    assert left == set(), f"still listening after cleanup: {left}"
    assert ("127.0.0.1", api_port(status)) in listening_of(status["pid"])
    assert ("127.0.0.1", dns_port()) in listening_of(status["pid"])
    assert not any(answers(*door) for door in doors)
    assert front_doors(control.status()["endpoints"]) == set()


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLOVTRAIN_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "flovtrain", *args], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_sandbox_stop_leaves_no_listening_socket(own_home):
    info = control.start()
    open_front_doors(lambda service: fail_fast_client(service, info["endpoint"]))
    before = listening_of(info["pid"])
    assert front_doors(control.status()["endpoints"]) <= before
    assert ("127.0.0.1", dns_port()) in before
    stopped = _cli(own_home, "sandbox", "stop")
    assert stopped.returncode == 0, stopped.stderr
    until(lambda: gone(info["pid"]), timeout=90, what="the sandbox to end")
    still = {door for door in before if answers(*door)}
    assert still == set(), f"still listening after stop: {listeners(still)}"


def test_kill_9_leaves_no_server_after_the_next_start(own_home):
    info = control.start()
    open_front_doors(lambda service: fail_fast_client(service, info["endpoint"]))
    before = listening_of(info["pid"])
    os.kill(info["pid"], signal.SIGKILL)
    until(lambda: gone(info["pid"]), timeout=90, what="the sandbox to die")
    survivors = {door for door in before if answers(*door)}
    if mysql.flavour() == "mariadb":  # a child process: kill -9 of the sandbox cannot end it
        assert survivors, "MariaDB should outlive a kill -9 of its sandbox"
    again = control.start()
    assert again["pid"] != info["pid"]

    def orphans() -> set[tuple[str, int]]:
        """Old front doors that answer, but not from the new sandbox (which may serve the
        restored database again on its address)."""
        return {d for d in before if answers(*d)} - listening_of(again["pid"])

    until(lambda: not orphans(), timeout=90, what="the servers the killed sandbox left to end")
