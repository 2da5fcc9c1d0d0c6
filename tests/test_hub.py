"""A room on a real JupyterHub (deploy/jupyterhub/jupyterhub_config.py) on free ports.

Two attendees sign in with the workshop code (a wrong code and a taken name are refused), each
gets a JupyterLab and a sandbox of their own, the instructor's progress view shows both rows
with real check results, and one attendee's killed sandbox shows in their row only.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flovtrain.hub.client import Hub, launch, shut_down, sign_in
from flovtrain.hub.room import sandbox_home

ROOT = Path(__file__).resolve().parents[1]
PROXY = ROOT / "deploy" / "jupyterhub" / "node_modules" / ".bin" / "configurable-http-proxy"
CODE = "otter-4217"
TOKEN = "flovtrain-test-" + os.urandom(12).hex()


def _wait(what: str, ok, timeout: float = 60, poll: float = 1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = ok()
        except Exception as exc:  # the hub or the service is still starting
            last = exc
        else:
            if last:
                return last
        time.sleep(poll)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    assert PROXY.exists(), "configurable-http-proxy is not installed: run make proxy (npm ci)"
    folder = tmp_path_factory.mktemp("room")
    proc, url = launch(folder, CODE, TOKEN, FLOVTRAIN_PROGRESS_FRESH="4")
    try:
        yield {"url": url, "hub": Hub(url, TOKEN), "folder": folder}
    finally:
        shut_down(proc, folder, ["anna", "bob"], TOKEN, url)


def test_sign_in_needs_the_code_and_the_names_own_password(room: dict) -> None:
    url = room["url"]
    assert not sign_in(url, "anna", "wrong-code", "anna-pw")
    assert sign_in(url, "anna", CODE, "anna-pw")
    assert sign_in(url, "bob", CODE, "bob-pw")
    # a second "anna" with another password does not land in the first one's JupyterLab
    assert not sign_in(url, "anna", CODE, "someone-else")
    assert sign_in(url, "Anna", CODE, "anna-pw")  # the owner again, name case folded
    # nobody can claim the instructor's (admin's) name: it needs the instructor password
    assert not sign_in(url, "instructor", CODE, "instructor-pw")
    users = {u["name"] for u in room["hub"].api("GET", "users").json()}
    assert {"anna", "bob"} <= users and "someone-else" not in users


def test_each_attendee_gets_a_server_and_a_sandbox_of_their_own(room: dict) -> None:
    hub: Hub = room["hub"]
    seen = {}
    with ThreadPoolExecutor(2) as pool:  # the room starts at once
        list(pool.map(hub.start, ("anna", "bob")))
    for name in ("anna", "bob"):
        kernel = hub.kernel(name, "notebooks")
        answer = kernel.run(
            "import os, json; print(json.dumps({k: os.environ.get(k) for k in "
            "('FLOVTRAIN_HOME', 'AWS_ENDPOINT_URL')} | {'cwd': os.getcwd()}))"
        )
        kernel.close()
        assert answer["status"] == "ok", answer
        seen[name] = json.loads(answer["output"])
        home = room["folder"] / name
        assert seen[name]["FLOVTRAIN_HOME"] == str(sandbox_home(home))
        assert seen[name]["cwd"] == str(home / "notebooks")
        assert (home / "exercises" / "02_iam.ipynb").exists()
    assert seen["anna"]["AWS_ENDPOINT_URL"] != seen["bob"]["AWS_ENDPOINT_URL"]


def _rows(hub: Hub) -> dict[str, dict]:
    return {row["name"]: row for row in hub.progress()["attendees"]}


def test_progress_shows_real_checks_and_a_killed_sandbox_in_its_own_row(room: dict) -> None:
    hub: Hub = room["hub"]
    # the instructor catches anna up to chapter 02 (runs her copy of solutions/01)
    answer = hub.http.post(f"{room['url']}/services/progress/api/catch-up/anna/02", timeout=30)
    assert answer.status_code == 202, answer.text
    rows = _wait(
        "anna's chapter 01 shows ✓ after her catch-up",
        lambda: (r := _rows(hub))["anna"]["marks"].get("01") == "✓" and r,
        timeout=90,
    )
    assert rows["anna"]["catch_up"]["state"] == "done"
    assert rows["bob"]["status"] == "ok" and rows["bob"]["marks"]["01"] in ("—", "✗")
    assert rows["bob"]["chapters"]["02"]["failed"], "bob's chapter 02 lists what is missing"
    assert "instructor" not in rows

    # bob kills his sandbox: his row says so, anna's is unaffected
    state = json.loads((sandbox_home(room["folder"] / "bob") / "sandbox.json").read_text())
    os.kill(int(state["pid"]), signal.SIGKILL)
    rows = _wait(
        "bob's row shows his sandbox down",
        lambda: (r := _rows(hub))["bob"]["status"] == "sandbox down" and r,
        timeout=60,
    )
    assert rows["anna"]["status"] == "ok" and rows["anna"]["marks"]["01"] == "✓"
    assert "not running" in json.dumps(rows["bob"]["sandbox"]) or rows["bob"]["sandbox"]["reason"]


def test_kubernetes_files_install_like_the_readme() -> None:
    """What can be checked without a cluster: the values parse, the image runs make install."""
    import yaml

    folder = ROOT / "deploy" / "kubernetes"
    values = yaml.safe_load((folder / "values.yaml").read_text())
    assert set(values) <= {"hub", "singleuser", "cull", "scheduling", "proxy", "prePuller"}
    assert values["singleuser"]["cmd"] == "/opt/flovtrain/deploy/kubernetes/start-singleuser.sh"
    assert values["singleuser"]["memory"]["limit"] and values["cull"]["enabled"] is True
    dockerfile = (folder / "Dockerfile").read_text()
    assert "RUN make install" in dockerfile and "start-singleuser.sh" in dockerfile
    start = (folder / "start-singleuser.sh").read_text()
    assert "copy_workbook" in start and "flovtrain sandbox start" in start
    assert os.access(folder / "start-singleuser.sh", os.X_OK)


def test_import_flovtrain_leaves_jupyterhub_alone() -> None:
    """Learners without the hub pieces: ``import flovtrain`` and the CLI never load JupyterHub."""
    import subprocess
    import sys

    code = (
        "import sys, flovtrain, flovtrain.cli; print(sorted(m for m in sys.modules if 'hub' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_runaway_process_meets_the_memory_limit() -> None:
    """An attendee's runaway build: the cgroup the spawner puts them in kills it, nothing else."""
    import subprocess
    import sys

    from flovtrain.hub import limits

    grow = "import time; time.sleep(1); x = bytearray(400 << 20); x[::4096] = b'x' * (100 << 10)"
    runaway = subprocess.Popen([sys.executable, "-c", grow])
    neighbour = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(4)"])
    try:
        where = limits.apply("test-runaway", [runaway.pid], mem_bytes=100 << 20)
        if not where["memory"].startswith("/"):
            runaway.kill()
            pytest.skip(f"memory limits cannot be enforced here: {where['memory']}")
        assert runaway.wait(30) == -signal.SIGKILL  # the kernel's OOM killer, in its group only
        assert neighbour.wait(30) == 0
    finally:
        runaway.kill()
        neighbour.kill()
        runaway.wait()
        limits.release("test-runaway")


def test_check_json_lists_every_item_with_why_and_hint(capsys: pytest.CaptureFixture) -> None:
    """``flovtrain check NN --json``: what the progress view's rows are made of."""
    from flovtrain.cli import main

    code = main(["check", "02", "--json"])
    found = json.loads(capsys.readouterr().out)
    assert found["chapter"] == "02" and found["items"]
    assert set(found["items"][0]) == {"item", "passed", "why", "hint"}
    assert code == (0 if found["passed"] else 1)
    assert found["passed"] == all(i["passed"] for i in found["items"])
