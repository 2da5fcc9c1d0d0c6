"""MySQL-protocol servers for RDS DB instances: a real MariaDB when installed, else an embedded one.

Each DB instance gets its own loopback address (``127.22.x.y``, leased machine-wide like the
instances' addresses) and listens on its port (3306 unless the request named another). With
Debian's ``mariadbd`` installed the server is a real MariaDB: ``mariadb-install-db`` makes a data
directory in the instance's folder under the sandbox home, the master user is created with its
password (grant tables on: a wrong password is refused), and the server binds only its address.
Without it, an embedded server speaking the MySQL protocol (:mod:`.mysql_embedded`, mysql-mimic
over SQLite) takes its place. Either way the folder survives a sandbox restart.

A server counts as started only when the master user can log in over TCP; a server that exits
first is ``failed`` with the last line of its log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines import processes
from flovtrain.sandbox.engines.frontdoor import endpoints
from flovtrain.sandbox.engines.frontdoor.addresses import LoopbackPool

KIND = "rds"
AWS_PORT = 3306
MARIADBD = "/usr/sbin/mariadbd"
#: Where DB instances' addresses start; instances use 127.20/16, the sandbox 127.0.0.1.
FIRST_ADDRESS = (127, 22, 0, 1)
#: Seconds a server gets to accept the master user's login.
START_TIMEOUT_S = 60.0
#: ``FLOVTRAIN_RDS_SERVER=embedded`` forces the embedded server even where MariaDB is installed.
SERVER_VAR = "FLOVTRAIN_RDS_SERVER"


@dataclass
class Database:
    """One DB instance's server: where it listens, its folder, its master user."""

    name: str
    address: str
    port: int
    folder: Path
    user: str
    password: str = field(repr=False)
    database: str | None = None
    flavour: str = "mariadb"  # or "embedded"
    state: str = "stopped"  # starting | running | failed | stopped
    error: str = ""
    proc: subprocess.Popen | None = field(default=None, repr=False)
    embedded: Any = field(default=None, repr=False)
    elapsed_s: float = 0.0
    log_offset: int = 0


def flavour() -> str:
    """Return which server a new DB instance gets: ``"mariadb"`` when installed, else embedded.

    Examples
    --------
    >>> flavour() in ("mariadb", "embedded")
    True
    """
    if os.environ.get(SERVER_VAR) == "embedded":
        return "embedded"
    installed = os.access(MARIADBD, os.X_OK) and shutil.which("mariadb-install-db")
    return "mariadb" if installed else "embedded"


# -- addresses --------------------------------------------------------------------------------
#: Released addresses go out again: a new DB instance takes the lowest free one.
POOL = LoopbackPool(FIRST_ADDRESS, reuse=True, what="a DB instance")


def lease_address(preferred: str | None = None) -> str:
    """Lease a loopback address for a DB instance (``preferred`` first: the one it had before).

    Examples
    --------
    >>> address = lease_address()
    >>> address.startswith("127.22.")
    True
    >>> release_address(address)
    """
    return POOL.lease(preferred)


def release_address(address: str) -> None:
    """Give a leased address back (no error if it was not leased)."""
    POOL.release(address)


# -- MariaDB ----------------------------------------------------------------------------------
def _socket_path(db: Database) -> Path:
    path = db.folder / "mysqld.sock"
    if len(str(path)) < 100:  # sun_path holds 108 bytes
        return path
    return Path(tempfile.gettempdir()) / f"flovtrain-rds-{abs(hash(str(db.folder)))}.sock"


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _init_sql(db: Database) -> str:
    """The master user (and initial database) an RDS instance starts with."""
    user = f"{_quote(db.user)}@'%'"
    lines = [
        f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {_quote(db.password)};",
        f"ALTER USER {user} IDENTIFIED BY {_quote(db.password)};",
        f"GRANT ALL PRIVILEGES ON *.* TO {user} WITH GRANT OPTION;",
    ]
    if db.database:
        lines.append(f"CREATE DATABASE IF NOT EXISTS `{db.database.replace('`', '``')}`;")
    return "\n".join(lines) + "\n"


def _as_root() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses root otherwise


def _last_log_line(log: Path, offset: int = 0) -> str:
    """The server's reason, from this run's part of its log: its last errors but "Aborting"."""
    try:
        with open(log, "rb") as handle:
            handle.seek(offset)
            lines = [line.strip() for line in handle.read().decode(errors="replace").splitlines()]
    except OSError:
        return ""
    errors = [
        line.split("[ERROR]", 1)[1].strip()
        for line in lines
        if "[ERROR]" in line and not line.endswith("] Aborting")
    ]
    if errors:
        return "[ERROR] " + " ".join(errors[-3:])
    return ([line for line in lines if line] or [""])[-1]


def reap(folder: Path) -> None:
    """End a MariaDB a killed sandbox left running on ``folder``'s data (found by its pid file)."""
    pid_file = folder / "mariadbd.pid"
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if str(folder / "data").encode() in cmdline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.05)


def _spawn_server(args: list[str], name: str, **kwargs: Any) -> subprocess.Popen:
    try:  # supervision records servers by kind and name where it can
        return processes.spawn(args, kind="server", name=name, **kwargs)
    except TypeError:
        return processes.spawn(args, **kwargs)


def _start_mariadb(db: Database) -> None:
    data = db.folder / "data"
    log = db.folder / "error.log"
    reap(db.folder)
    first = not (data / "mysql").is_dir()
    if first:
        shutil.rmtree(data, ignore_errors=True)
        result = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
                *_as_root(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()
            raise RuntimeError(tail[-1] if tail else "mariadb-install-db failed")
    with contextlib.suppress(OSError):
        db.log_offset = log.stat().st_size  # the log keeps every run's lines
    init = db.folder / "init.sql"
    init.touch(mode=0o600)
    init.write_text(_init_sql(db))  # each start: the master password is the API's
    args = [
        MARIADBD,
        "--no-defaults",
        f"--datadir={data}",
        f"--bind-address={db.address}",
        f"--port={db.port}",
        f"--socket={_socket_path(db)}",
        f"--pid-file={db.folder / 'mariadbd.pid'}",
        f"--log-error={log}",
        f"--init-file={init}",
        "--skip-name-resolve",
        "--innodb-buffer-pool-size=16M",
        "--innodb-log-file-size=8M",
        "--performance-schema=OFF",
        "--max-connections=60",
        *_as_root(),
    ]
    db.proc = _spawn_server(
        args, f"rds:{db.name}", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _answers(db: Database) -> bool:
    import pymysql

    try:
        pymysql.connect(
            host=db.address,
            port=db.port,
            user=db.user,
            password=db.password,
            connect_timeout=2,
            read_timeout=2,  # something else listening there may never greet
        ).close()
        return True
    except pymysql.err.Error:
        return False


def _wait_ready(db: Database) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if db.proc is not None and db.proc.poll() is not None:
            line = _last_log_line(db.folder / "error.log", db.log_offset)
            raise RuntimeError(line or f"mariadbd exited with status {db.proc.returncode}")
        if _answers(db):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not accept a login within {START_TIMEOUT_S:.0f} s")


# -- lifecycle --------------------------------------------------------------------------------
def start(db: Database, done: Callable[[Database], None] | None = None) -> threading.Thread:
    """Start ``db``'s server in the background; ``done(db)`` runs once it answers or failed.

    ``db.state`` is ``running`` once the master user can log in over TCP, ``failed`` (with
    ``db.error``, the server's last log line) when the server could not start.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> db = Database("doc", lease_address(), 3306, folder, "admin", "pw", flavour="embedded")
    >>> start(db).join()
    >>> db.state
    'running'
    >>> remove(db)
    """
    db.folder.mkdir(parents=True, exist_ok=True)
    db.state, db.error = "starting", ""

    def run() -> None:
        began = time.monotonic()
        try:
            if db.flavour == "mariadb":
                _start_mariadb(db)
                _wait_ready(db)
                (db.folder / "init.sql").unlink(missing_ok=True)  # holds the password
            else:
                from flovtrain.sandbox.engines.frontdoor import mysql_embedded

                db.embedded = mysql_embedded.serve(db)
            db.state = "running"
            endpoints.register(KIND, db.name, db.address, db.port, AWS_PORT)
        except Exception as exc:  # the API reports it as the instance's failure
            db.state, db.error = "failed", str(exc)
            _stop_server(db)
        db.elapsed_s = time.monotonic() - began
        if done is not None:
            done(db)

    thread = threading.Thread(target=run, name=f"rds-{db.name}", daemon=True)
    thread.start()
    return thread


def set_password(db: Database, password: str) -> None:
    """Give the master user a new password (ModifyDBInstance); a stopped server gets it at start."""
    if db.flavour == "mariadb" and db.state == "running":
        import pymysql

        with (
            pymysql.connect(
                host=db.address, port=db.port, user=db.user, password=db.password, connect_timeout=5
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(f"ALTER USER {_quote(db.user)}@'%' IDENTIFIED BY {_quote(password)}")
    db.password = password  # the embedded server reads it at each login


def _stop_server(db: Database) -> None:
    if db.proc is not None:
        processes.stop(db.proc, timeout=10.0)  # SIGTERM: MariaDB shuts down cleanly
        db.proc = None
    if db.embedded is not None:
        from flovtrain.sandbox.engines.frontdoor import mysql_embedded

        mysql_embedded.close(db.embedded)
        db.embedded = None


def stop(db: Database) -> None:
    """Stop ``db``'s server and keep its data (StopDBInstance, sandbox stop)."""
    endpoints.unregister(KIND, db.name)
    _stop_server(db)
    if db.state != "failed":
        db.state = "stopped"


def remove(db: Database, keep_as: Path | None = None) -> None:
    """Stop ``db``'s server, release its address, and delete (or move to ``keep_as``) its folder."""
    stop(db)
    release_address(db.address)
    with contextlib.suppress(OSError):
        _socket_path(db).unlink()
    if keep_as is not None and db.folder.exists():
        keep_as.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(db.folder), str(keep_as))
    shutil.rmtree(db.folder, ignore_errors=True)
