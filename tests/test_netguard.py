"""The network guard: in sandbox mode nothing but loopback is ever connected to.

Audit hooks cannot be removed, so the guarded code runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from flovtrain.sandbox import control, netguard

PROBE = textwrap.dedent("""
    import json, socket, sys, time
    from flovtrain.exceptions import NetworkGuardViolation
    from flovtrain.sandbox import netguard

    netguard.install()
    netguard.install()  # idempotent
    results = {}

    def attempt(name, fn):
        started = time.monotonic()
        try:
            fn()
            results[name] = "connected"
        except NetworkGuardViolation as exc:
            results[name] = "refused: " + str(exc)
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"
        results[name + "_seconds"] = time.monotonic() - started

    # UDP connect() only records the peer in the kernel: had the syscall run, getpeername
    # would name it. After a refusal it must raise ENOTCONN: the call never reached the OS.
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attempt("udp", lambda: udp.connect(("198.51.100.1", 53)))
    try:
        results["udp_peer"] = repr(udp.getpeername())
    except OSError as exc:
        results["udp_peer"] = f"OSError errno {exc.errno}"

    tcp = socket.socket()
    tcp.settimeout(10)
    attempt("tcp", lambda: tcp.connect(("10.255.255.1", 9)))
    attempt("create_connection", lambda: socket.create_connection(("198.51.100.1", 80), 10))
    attempt("ipv6", lambda: socket.socket(socket.AF_INET6).connect(("2001:db8::1", 443, 0, 0)))
    attempt("dns", lambda: socket.getaddrinfo("flovtrain-guard-test.example.com", 443))

    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url="http://198.51.100.1:9000", region_name="eu-west-1",
                      aws_access_key_id="x", aws_secret_access_key="y",
                      config=Config(retries={"max_attempts": 1}, connect_timeout=10))
    attempt("boto3", lambda: s3.list_buckets())

    endpoint = sys.argv[1]
    host, port = endpoint.rsplit("/", 1)[-1].split(":")
    attempt("loopback", lambda: socket.create_connection(("127.0.0.1", int(port)), 5).close())
    attempt("localhost", lambda: socket.create_connection(("localhost", int(port)), 5).close())
    attempt("sandbox_boto3", lambda: boto3.client(
        "sts", endpoint_url=endpoint, region_name="eu-west-1",
        aws_access_key_id="x", aws_secret_access_key="y").get_caller_identity())

    netguard.disable()
    results["active_after_disable"] = netguard.active()
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def probe() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, control.endpoint()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["udp", "tcp", "create_connection", "ipv6"])
def test_non_loopback_is_refused_at_once(probe, name):
    assert probe[name].startswith("refused: flovtrain sandbox mode refused a connection")
    assert "FLOVTRAIN_BACKEND=aws" in probe[name] and "FLOVTRAIN_AWS_ACCOUNT" in probe[name]
    assert probe[name + "_seconds"] < 1.0  # no timeout waited for: nothing was tried


def test_dns_lookup_of_a_remote_name_is_refused(probe):
    assert probe["dns"].startswith("refused: flovtrain sandbox mode refused to look up")
    assert probe["dns_seconds"] < 1.0  # refused before any resolver ran


def test_refused_before_the_system_call(probe):
    assert probe["udp_peer"] == "OSError errno 107"  # ENOTCONN: connect() never ran


def test_boto3_to_a_remote_endpoint_is_refused(probe):
    assert "sandbox mode refused a connection to ('198.51.100.1', 9000)" in probe["boto3"]


@pytest.mark.parametrize("name", ["loopback", "localhost", "sandbox_boto3"])
def test_loopback_still_works(probe, name):
    assert probe[name] == "connected"


def test_disable_turns_it_off(probe):
    assert probe["active_after_disable"] is False


@pytest.mark.parametrize(
    "address, expected",
    [
        (("127.0.0.1", 80), True),
        (("127.8.9.10", 80), True),
        (("::1", 80, 0, 0), True),
        (("localhost", 80), True),
        ("/tmp/some.sock", True),
        (("10.0.0.1", 80), False),
        (("198.51.100.1", 443), False),
        (("example.com", 443), False),
        (("fe80::1%eth0", 1), False),
        ((), False),
    ],
)
def test_is_loopback(address, expected):
    assert netguard.is_loopback(address) is expected


def test_sandbox_server_runs_with_the_guard():
    health = control.api("health")
    assert health["netguard"] is True
    assert health["host"] == "127.0.0.1"
