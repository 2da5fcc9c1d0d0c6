"""The guard for children: what the sandbox starts cannot leave the machine either.

Every probe runs inside ``unshare -n`` (a network namespace with only its own loopback), so a
broken guard cannot send anything, and only documentation addresses are probed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flovtrain.sandbox import child_guard

pytestmark = pytest.mark.skipif(
    shutil.which("unshare") is None
    or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0,
    reason="needs unshare -n (root or user namespaces)",
)

#: A Python child: documentation addresses, a DNS name, then loopback (direct and via urllib).
CHILD = textwrap.dedent("""
    import json, os, socket, sys, urllib.request
    results = {"pythonpath": os.environ.get("PYTHONPATH", ""),
               "chained": os.environ.get("CHAINED_SITECUSTOMIZE", "")}
    def attempt(name, fn):
        try:
            fn()
            results[name] = "connected"
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"
    attempt("tcp", lambda: socket.create_connection(("192.0.2.1", 80), 2))
    attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect(
        ("198.51.100.1", 53)))
    attempt("ipv6", lambda: socket.socket(socket.AF_INET6).connect(("2001:db8::1", 443, 0, 0)))
    attempt("dns", lambda: socket.getaddrinfo("flovtrain-guard-test.example.com", 443))
    url = sys.argv[1]
    results["loopback_urllib"] = urllib.request.urlopen(url, timeout=5).read().decode()
    print(json.dumps(results))
""")

#: Runs inside the namespace: an app on an instance-style address, then guarded children.
INNER = textwrap.dedent("""
    import http.server, json, subprocess, sys, threading
    from flovtrain.sandbox.engines import processes

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"hello from loopback"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass

    app = http.server.ThreadingHTTPServer(("127.20.0.5", 0), Hello)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    url = f"http://127.20.0.5:{app.server_address[1]}/"
    child, chained = sys.argv[1], sys.argv[2]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": chained, "NO_PROXY": "192.0.2.1"}

    def run(args, **kwargs):
        proc = processes.spawn(args, kind="build", name="probe", env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return proc.communicate(timeout=60)[0]

    out = {"python": json.loads(run([sys.executable, child, url]).strip().splitlines()[-1])}
    out["curl_http"] = run(["curl", "-sS", "-m", "5", "http://192.0.2.1/"])
    out["curl_https"] = run(["curl", "-sS", "-m", "5", "https://[2001:db8::1]/"])
    out["curl_loopback"] = run(["curl", "-sS", "-m", "5", url])
    # the check can fail: the same child started without the guard is not refused by it
    plain = subprocess.run([sys.executable, "-c",
        "import socket\\ntry:\\n socket.create_connection(('192.0.2.1', 80), 2)\\n"
        "except Exception as exc: print(type(exc).__name__, exc)"],
        capture_output=True, text=True, env=env)
    out["unguarded"] = plain.stdout
    processes.stop_all()
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("child-guard")
    (tmp / "child.py").write_text(CHILD)
    (tmp / "inner.py").write_text(INNER)
    chained = tmp / "chained"
    chained.mkdir()
    (chained / "sitecustomize.py").write_text(
        "import os\nos.environ['CHAINED_SITECUSTOMIZE'] = 'ran'\n"
    )
    repo = Path(__file__).resolve().parents[1]
    script = (
        f"ip link set lo up && FLOVTRAIN_HOME={tmp / 'home'} "
        f"{sys.executable} {tmp / 'inner.py'} {tmp / 'child.py'} {chained}"
    )
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("name", "address"),
    [("tcp", "192.0.2.1"), ("udp", "198.51.100.1"), ("ipv6", "2001:db8::1")],
)
def test_python_children_get_the_guards_refusal(probe, name, address):
    result = probe["python"][name]
    assert result.startswith("NetworkGuardViolation: flovtrain sandbox mode refused a connection")
    assert address in result
    assert "started by the offline sandbox" in result  # says why, and what to use instead


def test_python_children_send_no_dns_query(probe):
    result = probe["python"]["dns"]
    assert "refused to look up 'flovtrain-guard-test.example.com'" in result


def test_loopback_stays_reachable_for_children(probe):
    assert probe["python"]["loopback_urllib"] == "hello from loopback"  # via the relay
    assert probe["curl_loopback"] == "hello from loopback"  # NO_PROXY: direct


def test_other_programs_meet_the_refusing_proxy(probe):
    assert "flovtrain sandbox mode refused GET http://192.0.2.1/" in probe["curl_http"]
    assert "403" in probe["curl_https"]  # CONNECT refused (curl shows the status only)


def test_existing_pythonpath_and_sitecustomize_are_kept(probe):
    paths = probe["python"]["pythonpath"].split(":")
    assert paths[0] == str(child_guard.SITE_DIR) and paths[1].endswith("chained")
    assert probe["python"]["chained"] == "ran"


def test_without_the_guard_the_probe_is_not_refused_by_it(probe):
    assert "NetworkGuardViolation" not in probe["unguarded"]
    assert probe["unguarded"].strip()  # the namespace has no route: an OSError instead


def test_child_env_replaces_proxy_settings():
    env = child_guard.child_env({"NO_PROXY": "192.0.2.1", "HTTPS_PROXY": "http://192.0.2.9:3128"})
    assert env["NO_PROXY"] == child_guard.NO_PROXY == env["no_proxy"]
    assert env["HTTPS_PROXY"] == env["https_proxy"] == child_guard.proxy_url()
    assert env["PYTHONPATH"] == str(child_guard.SITE_DIR)
