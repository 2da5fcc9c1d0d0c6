"""SSH into sandbox instances: ``ssh -i key.pem ec2-user@<public IP>`` with asyncssh.

Each running instance launched with a key pair gets an SSH server on its own loopback address
(port 22, or 10022 where this process may not bind 22; see
:func:`~flovtrain.sandbox.engines.frontdoor.endpoints.local_port`). It accepts one user,
``ec2-user``, with one public key, the key pair's, and nothing else: a wrong key or user gets
OpenSSH's ``Permission denied (publickey)``, since only public-key authentication is offered.
A session is ``bash`` in the instance's folder with the instance's environment (a pseudo-
terminal when the client asks for one); SFTP and scp work inside the instance's folder, which
is ``/`` for them, as :func:`~flovtrain.sandbox.engines.instances.map_path` maps paths.

Shells a session starts run in their own process groups and end when the server closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import termios
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines.frontdoor import endpoints, eventloop

#: The only user an Amazon Linux instance's key pair logs in as.
USER = "ec2-user"
AWS_PORT = 22
KIND = "ssh"


@dataclass
class _Door:
    name: str
    address: str
    port: int
    key: Any  # asyncssh.SSHKey: the key pair's public key
    root: Path
    env: dict[str, str]
    server: Any = None
    connections: set[Any] = field(default_factory=set)
    pgids: set[int] = field(default_factory=set)


_lock = threading.Lock()
_doors: dict[str, _Door] = {}
_host_keys: dict[str, Any] = {}  # name -> host key: a restarted instance keeps its own


def public_key_of(material: str) -> str:
    """Return the OpenSSH public key line of a private key PEM or a public key line.

    Parameters
    ----------
    material : str
        What CreateKeyPair returned (a private key) or ImportKeyPair was given (public).

    Examples
    --------
    >>> import asyncssh
    >>> private = asyncssh.generate_private_key("ssh-ed25519")
    >>> line = public_key_of(private.export_private_key().decode())
    >>> line.startswith("ssh-ed25519 ")
    True
    """
    import asyncssh

    text = material.strip()
    if "PRIVATE KEY" in text:
        key = asyncssh.import_private_key(text).convert_to_public()
    else:
        key = asyncssh.import_public_key(text)
    return key.export_public_key("openssh").decode().strip()


def _server_class() -> type:
    import asyncssh

    class Server(asyncssh.SSHServer):
        def __init__(self, door: _Door) -> None:
            self.door = door
            self.conn: Any = None

        def connection_made(self, conn: Any) -> None:
            self.conn = conn
            self.door.connections.add(conn)

        def connection_lost(self, exc: Exception | None) -> None:
            self.door.connections.discard(self.conn)

        def begin_auth(self, username: str) -> bool:
            return True  # always ask for a key, even for unknown users (no user probing)

        def password_auth_supported(self) -> bool:
            return False

        def kbdint_auth_supported(self) -> bool:
            return False

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: Any) -> bool:
            return username == USER and key.public_data == self.door.key.public_data

    return Server


def _hostname(address: str) -> str:
    return "ip-" + address.replace(".", "-")


def _session_env(door: _Door, process: Any) -> dict[str, str]:
    env = dict(door.env)
    peer = process.get_extra_info("peername") or ("", 0)
    env.update(
        HOME=str(door.root),
        USER=USER,
        LOGNAME=USER,
        SHELL="/bin/bash",
        PWD=str(door.root),
        HOSTNAME=_hostname(door.address),
        SSH_CONNECTION=f"{peer[0]} {peer[1]} {door.address} {door.port}",
        PS1=f"[{USER}@{_hostname(door.address)} \\W]$ ",  # "$": ec2-user is not root
    )
    term = process.get_terminal_type()
    if term:
        env["TERM"] = term
    return env


async def _pump(reader: asyncio.StreamReader, writer: Any) -> None:
    """Copy a child's output to the SSH channel until EOF (or EIO from a closed pty)."""
    with contextlib.suppress(OSError, ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()


async def _feed(process: Any, write: Any, at_eof: Any) -> None:
    """Copy the client's input to the child; call ``at_eof`` when the client sends EOF."""
    with contextlib.suppress(OSError, ConnectionError, Exception):
        while chunk := await process.stdin.read(65536):
            write(chunk)
    with contextlib.suppress(OSError):
        at_eof()


async def _run_pipes(door: _Door, process: Any, args: list[str], env: dict[str, str]) -> int:
    child = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=door.root,
        env=env,
        start_new_session=True,
    )
    door.pgids.add(child.pid)
    process.set_redirect_pid(child.pid)
    assert child.stdin and child.stdout and child.stderr
    stdin = child.stdin
    feeder = asyncio.ensure_future(_feed(process, stdin.write, stdin.close))
    await asyncio.gather(_pump(child.stdout, process.stdout), _pump(child.stderr, process.stderr))
    status = await child.wait()
    feeder.cancel()
    door.pgids.discard(child.pid)
    return status


async def _run_pty(door: _Door, process: Any, args: list[str], env: dict[str, str]) -> int:
    master, slave = os.openpty()
    cols, rows, _, _ = process.get_terminal_size()
    if cols and rows:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    try:
        child = await asyncio.create_subprocess_exec(
            *args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=door.root,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
    finally:
        os.close(slave)
    door.pgids.add(child.pid)
    process.set_redirect_pid(child.pid)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    output = os.fdopen(master, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), output
    )
    feeder = asyncio.ensure_future(
        _feed(process, lambda data: os.write(master, data), lambda: os.write(master, b"\x04"))
    )
    await _pump(reader, process.stdout)
    status = await child.wait()
    feeder.cancel()
    transport.close()
    door.pgids.discard(child.pid)
    return status


def _session_handler(door: _Door) -> Any:
    async def session(process: Any) -> None:
        env = _session_env(door, process)
        tty = process.get_terminal_type() is not None
        if process.command:
            args = ["bash", "-c", process.command]
        else:  # no profile or rc: the host's would replace the instance's PATH
            args = ["bash", "--noprofile", "--norc"] + (["-i"] if tty else [])
        try:
            runner = _run_pty if tty else _run_pipes
            status = await runner(door, process, args, env)
        except OSError as exc:
            process.stderr.write(f"bash: {exc}\r\n".encode())
            status = 127
        process.exit(status if status >= 0 else 128 - status)

    return session


def _sftp_factory(door: _Door) -> Any:
    import asyncssh

    class SFTPServer(asyncssh.SFTPServer):
        def exit(self) -> None:
            # OpenSSH's scp (SFTP mode) fails without an exit status; asyncssh sends none
            with contextlib.suppress(Exception):
                self.channel.exit(0)

    return lambda chan: SFTPServer(chan, chroot=str(door.root))


async def _listen(door: _Door) -> Any:
    import asyncssh

    server_class = _server_class()
    return await asyncssh.listen(
        host=door.address,
        port=door.port,
        server_host_keys=[_host_keys[door.name]],
        server_factory=lambda: server_class(door),
        process_factory=_session_handler(door),
        sftp_factory=_sftp_factory(door),
        allow_scp=True,
        encoding=None,
        reuse_address=True,
    )


def serve(
    name: str,
    address: str,
    public_key: str,
    root: Path,
    env: Mapping[str, str],
) -> endpoints.Endpoint:
    """Start (or keep) the SSH server of instance ``name`` on ``address``.

    Parameters
    ----------
    name : str
        The instance id; the endpoint's name.
    address : str
        The instance's loopback address.
    public_key : str
        The key pair's public key, an OpenSSH line (see :func:`public_key_of`).
    root : Path
        The instance's folder: the session's working directory and SFTP's ``/``.
    env : Mapping
        The instance's environment.

    Examples
    --------
    >>> import asyncssh, tempfile
    >>> private = asyncssh.generate_private_key("ssh-ed25519")
    >>> door = serve("i-0doc", "127.0.0.1", public_key_of(
    ...     private.export_private_key().decode()), Path(tempfile.mkdtemp()), {})
    >>> door.kind, door.aws_port
    ('ssh', 22)
    >>> close("i-0doc")
    """
    import asyncssh

    port = endpoints.local_port(AWS_PORT)
    key = asyncssh.import_public_key(public_key)
    with _lock:
        current = _doors.get(name)
        if current is not None and current.key.public_data == key.public_data:
            return endpoints.register(KIND, name, current.address, current.port, AWS_PORT)
    if current is not None:
        close(name)
    door = _Door(name, address, port, key, Path(root), dict(env))
    if name not in _host_keys:
        _host_keys[name] = asyncssh.generate_private_key("ssh-ed25519")
    try:
        door.server = eventloop.run(_listen(door))
    except OSError as exc:
        raise RuntimeError(f"cannot serve SSH on {address}:{port}: {exc.strerror}") from exc
    with _lock:
        _doors[name] = door
    return endpoints.register(KIND, name, address, port, AWS_PORT)


async def _shutdown(door: _Door) -> None:
    door.server.close()
    for conn in list(door.connections):
        conn.close()
    for pgid in list(door.pgids):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGHUP)
            os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(door.server.wait_closed(), 2.0)


def close(name: str) -> None:
    """Stop the SSH server of instance ``name`` and end its sessions (no error if none)."""
    with _lock:
        door = _doors.pop(name, None)
    endpoints.unregister(KIND, name)
    if door is not None and door.server is not None:
        eventloop.run(_shutdown(door))


def serving(name: str) -> bool:
    """True while instance ``name`` has an SSH server."""
    with _lock:
        return name in _doors


def close_all(forget_host_keys: bool = False) -> None:
    """Stop every SSH server (sandbox stop or reset; a reset also forgets host keys)."""
    with _lock:
        names = list(_doors)
    for name in names:
        close(name)
    if forget_host_keys:
        _host_keys.clear()
