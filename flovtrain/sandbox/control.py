"""Start, stop, reset and ask the sandbox process, from any kernel, terminal or test.

Examples
--------
>>> from flovtrain.sandbox import control
>>> info = control.start()          # idempotent: returns the running sandbox if there is one
>>> info["endpoint"]                # doctest: +SKIP
'http://127.0.0.1:40123'
>>> control.reset()                 # wipe every service, re-seed ids
>>> control.stop()
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from flovtrain import config
from flovtrain.exceptions import (
    SandboxNotRunning,
    SandboxPortBusy,
    SandboxProtocolMismatch,
    SandboxStartFailed,
)
from flovtrain.sandbox.contract import EXIT_PORT_BUSY, EXIT_PROTOCOL_MISMATCH, STATE_FILE

RECOVERY = (
    "Run `flovtrain sandbox start` in a terminal (or re-run `flovtrain.connect()`), then "
    "`flovtrain catch-up NN` to rebuild what the chapters before NN created."
)
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def state_path() -> Path:
    return config.home() / STATE_FILE


def log_path() -> Path:
    return config.home() / "sandbox.log"


def stopped_path() -> Path:
    """Written by :func:`stop`: when and where the last sandbox of this home was stopped."""
    return config.home() / "sandbox.stopped.json"


def _never_or_stopped() -> str:
    try:
        last = json.loads(stopped_path().read_text())
    except (OSError, ValueError):
        return f"never started in {config.home()}"
    return (
        f"stopped at {last.get('stopped', '?')} with `flovtrain sandbox stop` "
        f"(it was at {last.get('endpoint', '?')})"
    )


def read_state() -> dict[str, Any] | None:
    """Return what the sandbox wrote when it started listening, or None."""
    try:
        return json.loads(state_path().read_text())
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:  # os.kill(0, ...) would signal our own process group
        return False
    with contextlib.suppress(ChildProcessError):  # a killed sandbox we started is a zombie
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def api(
    path: str,
    method: str = "GET",
    data: bytes | None = None,
    timeout: float = 30.0,
    info: dict[str, Any] | None = None,
) -> Any:
    """Call a sandbox endpoint (``/flovtrain-api/<path>``) and return its JSON.

    Raises
    ------
    SandboxNotRunning
        With the recovery command, when nothing answers.
    """
    info = info or read_state()
    if not info:
        raise SandboxNotRunning(f"The flovtrain sandbox is not running. {RECOVERY}")
    url = f"{info['endpoint']}/flovtrain-api/{path.lstrip('/')}"
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with _opener.open(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            message = json.loads(body).get("error", body.decode())
        except ValueError:
            message = body.decode(errors="replace")
        raise ValueError(f"sandbox endpoint {path} refused the request: {message}") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        alive = _pid_alive(int(info.get("pid", 0) or 0))
        why = "is not answering" if alive else f"stopped (its process {info.get('pid')} is gone)"
        raise SandboxNotRunning(
            f"The flovtrain sandbox at {info['endpoint']} {why}: {exc}. {RECOVERY}"
        ) from None
    return json.loads(body) if body else None


def status() -> dict[str, Any]:
    """Return ``{"running": bool, ...}`` with endpoint, pid, providers when running."""
    info = read_state()
    if not info:
        return {"running": False, "home": str(config.home()), "reason": _never_or_stopped()}
    try:
        health = api("health", timeout=3.0, info=info)
    except SandboxNotRunning as exc:
        return {"running": False, "stale": info, "reason": str(exc), "home": str(config.home())}
    return {"running": True, **health, "home": str(config.home())}


@contextlib.contextmanager
def _start_lock():
    with open(config.home() / "sandbox.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start(port: int | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Start the sandbox unless it runs already; return its health info.

    Parameters
    ----------
    port : int, optional
        Fixed port (default: ``$FLOVTRAIN_SANDBOX_PORT`` or a free one).
    timeout : float
        Seconds to wait for the first answer.

    Raises
    ------
    SandboxPortBusy
        The fixed port is taken by another program.
    SandboxStartFailed
        The process died or did not answer; the message carries its log tail.
    """
    port = config.sandbox_port(port)
    with _start_lock():
        current = status()
        if current["running"]:
            return current
        # a sandbox this home had before (stopped, or its process died): callers say so
        previous = current["reason"] if (current.get("stale") or stopped_path().exists()) else None
        state_path().unlink(missing_ok=True)
        home = config.home()
        log = open(log_path(), "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env[config.HOME_VAR] = str(home)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flovtrain.sandbox.server",
                "--home",
                str(home),
                "--port",
                str(port),
                "--seed",
                str(config.SANDBOX_SEED),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,  # outlives the kernel that started it
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                tail = _log_tail()
                if code == EXIT_PORT_BUSY:
                    raise SandboxPortBusy(tail.strip().splitlines()[-1])
                if code == EXIT_PROTOCOL_MISMATCH:
                    lines = tail.strip().splitlines()
                    first = max(i for i, line in enumerate(lines) if "refusing" in line)
                    raise SandboxProtocolMismatch("\n".join(lines[first:]))
                raise SandboxStartFailed(
                    f"The sandbox process exited with code {code}. Last lines of {log_path()}:\n"
                    f"{tail}"
                )
            info = read_state()
            if info and info.get("pid") == proc.pid:
                current = status()
                if current["running"]:
                    stopped_path().unlink(missing_ok=True)
                    return {**current, "started_now": True, "previous": previous}
            time.sleep(0.05)
        proc.kill()
        raise SandboxStartFailed(
            f"The sandbox did not answer within {timeout:.0f} s. Last lines of {log_path()}:\n"
            f"{_log_tail()}"
        )


def _log_tail(lines: int = 20) -> str:
    try:
        return "\n".join(log_path().read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(timeout: float = 15.0) -> bool:
    """Stop the sandbox and every process it started; return whether one was running."""
    info = read_state()
    if not info:
        return False
    pid = int(info.get("pid", 0))
    try:
        api("stop", method="POST", data=b"", timeout=5.0, info=info)
    except (SandboxNotRunning, ValueError):
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid and _pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if pid and _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    _end_leftovers()
    state_path().unlink(missing_ok=True)
    stopped = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    stopped_path().write_text(json.dumps({"stopped": stopped, "endpoint": info.get("endpoint")}))
    return True


def _end_leftovers() -> None:
    """End what the stopped sandbox recorded and could not end itself (it was killed)."""
    from flovtrain.sandbox.engines import processes  # stdlib only; imported on stop, not before

    processes.end_leftovers(config.home())


def reset(seed: int | None = None) -> dict[str, Any]:
    """Wipe all sandbox state (every service and provider) and re-seed ids."""
    query = f"?seed={int(seed)}" if seed is not None else ""
    return api(f"reset{query}", method="POST", data=b"")


def endpoint() -> str:
    """Return the running sandbox's endpoint URL."""
    info = read_state()
    if not info:
        raise SandboxNotRunning(f"The flovtrain sandbox is not running. {RECOVERY}")
    return info["endpoint"]


CLI_CONFIG = "aws-cli.config"


def cli_config_file() -> Path:
    """The AWS CLI config the sandbox's shells use: it loads :mod:`~flovtrain.sandbox.awscli_plugin`
    (CLI v1 re-points ``aws sqs``/``rds``/… to legacy AWS host names otherwise), and hides the
    learner's own profiles from commands meant for the sandbox."""
    from flovtrain.sandbox.awscli_plugin import CONFIG_TEXT

    path = config.home() / CLI_CONFIG
    if not path.is_file() or path.read_text() != CONFIG_TEXT:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CONFIG_TEXT)
    return path


def client_env(region: str = config.DEFAULT_REGION) -> dict[str, str]:
    """Return the environment variables that point boto3, the AWS CLI and git at the sandbox."""
    return {
        "AWS_ENDPOINT_URL": endpoint(),
        "AWS_CONFIG_FILE": str(cli_config_file()),
        "AWS_ACCESS_KEY_ID": config.SANDBOX_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": config.SANDBOX_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        config.HOME_VAR: str(config.home()),
    }


def env_lines(region: str = config.DEFAULT_REGION) -> list[str]:
    """Return ``export NAME=value`` lines for ``eval "$(flovtrain sandbox env)"``."""
    lines = [f"export {k}={v}" for k, v in client_env(region).items()]
    lines += ["unset AWS_PROFILE AWS_SESSION_TOKEN", "export NO_PROXY=127.0.0.1,localhost"]
    return lines
