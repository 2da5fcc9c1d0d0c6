"""Application Load Balancers that serve: an address per load balancer, an HTTP server per listener.

Each load balancer gets its own loopback address ``127.21.x.y`` (:mod:`.addresses`), and its
``DNSName`` resolves there (:mod:`.dns`). Each HTTP listener listens on that address at
``local_port(listener port)`` (port 80 is served at 10080 unless this process may bind 80) and
answers every request as an ALB does: the listener's rules pick an action (:mod:`.elb_rules`);
``forward`` sends the request to the chosen target group's healthy targets in turn (round
robin; the target's port on the instance's ``127.20.x.y`` address), adding
``X-Forwarded-For``, ``X-Forwarded-Proto``, ``X-Forwarded-Port`` and ``X-Amzn-Trace-Id``.
With no healthy target the load balancer answers ``503``; when every registered target is
unhealthy it "fails open" to all of them, as AWS documents; a target that refuses the
connection gives ``502``, one that does not answer within the idle timeout ``504``.

Rules, target groups and registrations are read from moto's ELBv2 state on every request, so
``ModifyListener``/``CreateRule`` apply at once; :func:`sync` keeps the health checkers
(:mod:`.health`) in line with the registrations, and runs after every change and every second.
Listeners are opened and closed by the ELBv2 provider. HTTPS listeners are stored, not served.

Examples
--------
>>> lb = add_balancer("123456789012", "us-east-1", arn, "web", "web-1.us-east-1.elb.amazonaws.com")
... # doctest: +SKIP
>>> lb.address, open_listener(lb, listener_arn, "HTTP", 80)       # doctest: +SKIP
('127.21.0.1', 10080)
"""

from __future__ import annotations

import errno
import http.client
import http.server
import itertools
import secrets
import socketserver
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from flovtrain.sandbox.engines import instances
from flovtrain.sandbox.engines.errors import EngineError
from flovtrain.sandbox.engines.frontdoor import dns, endpoints, health
from flovtrain.sandbox.engines.frontdoor.addresses import LoopbackPool
from flovtrain.sandbox.engines.frontdoor.elb_rules import (
    Request,
    choose_action,
    forward_groups,
    pick_group,
    redirect_location,
)

POOL = LoopbackPool((127, 21, 0, 1))
#: An ALB's default idle timeout: how long it waits for a target's answer before a 504.
IDLE_TIMEOUT_S = 60.0
SYNC_INTERVAL_S = 1.0
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}
_ELB_PAGES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
    500: "500 Internal Server Error",
}


@dataclass
class Balancer:
    """What the sandbox serves for one load balancer."""

    arn: str
    name: str
    account_id: str
    region: str
    dns_name: str
    address: str
    servers: dict[str, Any] = field(default_factory=dict)  # listener ARN -> HTTP server


_lock = threading.RLock()
_balancers: dict[str, Balancer] = {}
_round_robin: dict[str, itertools.count] = {}
_sync_stop = threading.Event()
_sync_thread: threading.Thread | None = None


# -- load balancers and listeners ---------------------------------------------------------------
def add_balancer(account_id: str, region: str, arn: str, name: str, dns_name: str) -> Balancer:
    """Give a new load balancer its loopback address and its DNS name (idempotent)."""
    with _lock:
        if arn in _balancers:
            return _balancers[arn]
        balancer = Balancer(arn, name, account_id, region, dns_name, POOL.lease())
        _balancers[arn] = balancer
    dns.register_name(dns_name, balancer.address)
    return balancer


def get(arn: str) -> Balancer | None:
    with _lock:
        return _balancers.get(arn)


def all_balancers() -> list[Balancer]:
    with _lock:
        return list(_balancers.values())


def remove_balancer(arn: str) -> None:
    """Close the load balancer's listeners and give its address back."""
    with _lock:
        balancer = _balancers.pop(arn, None)
    if balancer is None:
        return
    for listener_arn in list(balancer.servers):
        close_listener(balancer, listener_arn)
    dns.unregister_name(balancer.dns_name)
    POOL.release(balancer.address)


def _endpoint_name(balancer: Balancer, aws_port: int) -> str:
    return f"{balancer.name}:{aws_port}"


def open_listener(balancer: Balancer, listener_arn: str, protocol: str, aws_port: int) -> int:
    """Serve an HTTP listener on the balancer's address; return the local port.

    Raises
    ------
    EngineError
        ``SandboxUnsupported`` naming the port when another program holds it on that address.
    """
    if protocol.upper() != "HTTP":
        return 0  # HTTPS needs a certificate's private key, which ACM never gives out
    port = endpoints.local_port(aws_port)
    try:
        server = _Server((balancer.address, port), _Handler)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            mapped = f" (AWS's port {aws_port})" if port != aws_port else ""
            raise EngineError(
                "SandboxUnsupported",
                f"The offline sandbox cannot serve listener port {port}{mapped} of load "
                f"balancer {balancer.name} on {balancer.address}: {exc.strerror.lower()} "
                f"(another program holds {balancer.address}:{port}). Stop that program, or "
                "use another listener port.",
            ) from None
        raise
    server.balancer = balancer
    server.listener_arn = listener_arn
    server.aws_port = aws_port
    threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        name=f"elb {balancer.name}:{aws_port}",
        daemon=True,
    ).start()
    with _lock:
        old = balancer.servers.pop(listener_arn, None)
        balancer.servers[listener_arn] = server
    if old is not None:
        _shutdown(old)
    endpoints.register("elb", _endpoint_name(balancer, aws_port), balancer.address, port, aws_port)
    return port


def close_listener(balancer: Balancer, listener_arn: str) -> None:
    """Stop serving a listener (no error if it was not served)."""
    with _lock:
        server = balancer.servers.pop(listener_arn, None)
    if server is not None:
        endpoints.unregister("elb", _endpoint_name(balancer, server.aws_port))
        _shutdown(server)


def _shutdown(server: Any) -> None:
    server.shutdown()
    server.server_close()


def served_port(balancer: Balancer, listener_arn: str) -> int | None:
    with _lock:
        server = balancer.servers.get(listener_arn)
    return server.server_address[1] if server is not None else None


# -- moto's state -------------------------------------------------------------------------------
def _backend_of(account_id: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account_id][region]


def _backend(balancer: Balancer) -> Any:
    return _backend_of(balancer.account_id, balancer.region)


def _instance_running(account_id: str, region: str, instance_id: str) -> bool:
    record = instances.get(instance_id)
    if record is not None and record.terminated:
        return False
    from moto.ec2.models import ec2_backends

    try:
        instance = ec2_backends[account_id][region].get_instance_by_id(instance_id)
    except Exception:  # an unknown id: not an instance of this account
        return False
    return instance is not None and instance.state == "running"


def target_address(account_id: str, region: str, target_id: str) -> str | None:
    """The loopback address of a target: its instance's ``127.20.x.y`` or a loopback IP."""
    if target_id.startswith("i-"):
        record = instances.get(target_id)
        if record is None or not _instance_running(account_id, region, target_id):
            return None
        return record.address
    if target_id.startswith("127."):  # an ip target: only ever on this machine
        return target_id
    return None


def settings_of(target_group: Any) -> health.Settings:
    """The health check settings of a moto target group."""
    port = target_group.health_check_port
    return health.Settings(
        path=target_group.health_check_path or "/",
        port=None if port in (None, "traffic-port") else int(port),
        interval=float(target_group.health_check_interval_seconds or 30),
        timeout=float(target_group.health_check_timeout_seconds or 5),
        healthy_threshold=int(target_group.healthy_threshold_count or 5),
        unhealthy_threshold=int(target_group.unhealthy_threshold_count or 2),
        matcher=str((target_group.matcher or {}).get("HttpCode") or "200"),
        enabled=bool(target_group.health_check_enabled),
    )


def groups_in_use(backend: Any) -> set[str]:
    """Target group ARNs some listener rule of a served load balancer forwards to."""
    used: set[str] = set()
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            for rule in list(listener.rules.values()):
                for action in rule.actions:
                    used.update(arn for arn, _ in forward_groups(action.data))
    return used


def sync() -> None:
    """Check every registered target of a target group in use; stop checking the others."""
    wanted: set[health.Key] = set()
    drain: dict[health.Key, float] = {}
    seen_backends = {(b.account_id, b.region) for b in all_balancers()}
    for account_id, region in seen_backends:
        try:
            backend = _backend_of(account_id, region)
        except Exception:  # the backend went away (a reset)
            continue
        used = groups_in_use(backend)
        for arn, group in list(backend.target_groups.items()):
            delay = float(group.attributes.get("deregistration_delay.timeout_seconds", 300))
            if arn not in used:
                for target in list(group.targets.values()):
                    drain[(arn, target["Id"], int(target["Port"]))] = 0.0
                continue
            for target in list(group.targets.values()):
                key = (arn, target["Id"], int(target["Port"]))
                wanted.add(key)
                health.watch(
                    key,
                    _address_getter(account_id, region, target["Id"]),
                    _settings_getter(backend, arn),
                )
            for target in list(group.deregistered_targets.values()) + list(
                group.terminated_targets.values()
            ):
                drain[(arn, target["Id"], int(target["Port"]))] = delay
    for key in health.watched() - wanted:
        health.unwatch(key, drain.get(key, 0.0))


def _address_getter(account_id: str, region: str, target_id: str) -> Any:
    return lambda: target_address(account_id, region, target_id)


def _settings_getter(backend: Any, arn: str) -> Any:
    last = [health.Settings()]

    def settings() -> health.Settings:
        group = backend.target_groups.get(arn)
        if group is not None:  # keep the last known settings while it is being deleted
            last[0] = settings_of(group)
        return last[0]

    return settings


def start() -> None:
    """Run :func:`sync` every second (catches instances that stop, CloudFormation's changes)."""
    global _sync_thread, _sync_stop
    with _lock:
        if _sync_thread is not None and not _sync_stop.is_set():
            return
        _sync_stop = threading.Event()  # one per loop: a stopping loop never sees it cleared
        _sync_thread = threading.Thread(
            target=_sync_loop, args=(_sync_stop,), name="elb sync", daemon=True
        )
        _sync_thread.start()


def _sync_loop(stopping: threading.Event) -> None:
    while not stopping.wait(SYNC_INTERVAL_S):
        try:
            sync()
        except Exception:  # moto's state changed under us: the next round sees it settled
            continue


def stop_all() -> None:
    """Close every listener, stop health checks, release every address (stop or reset)."""
    with _lock:
        _sync_stop.set()
    for balancer in all_balancers():
        remove_balancer(balancer.arn)
    health.stop_all()
    POOL.reset()
    with _lock:
        _round_robin.clear()


# -- serving requests ---------------------------------------------------------------------------
def _healthy_targets(balancer: Balancer, group: Any) -> list[tuple[str, int]]:
    """The targets a request may go to: healthy ones, or all when every one is unhealthy."""
    healthy, unhealthy, initial = [], [], []
    for target in list(group.targets.values()):
        pair = (target["Id"], int(target["Port"]))
        if target_address(balancer.account_id, balancer.region, pair[0]) is None:
            continue  # stopped or terminated: out of rotation at once
        state = health.state((group.arn, *pair))
        status = state.state if state else "initial"
        bucket = {"healthy": healthy, "unavailable": healthy, "unhealthy": unhealthy}
        bucket.get(status, initial).append(pair)
    if healthy:
        return healthy
    return unhealthy if unhealthy and not initial else []


def next_target(balancer: Balancer, group: Any) -> tuple[str, int] | None:
    """Round robin over the group's routable targets."""
    targets = _healthy_targets(balancer, group)
    if not targets:
        return None
    with _lock:
        counter = _round_robin.setdefault(group.arn, itertools.count())
    return targets[next(counter) % len(targets)]


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # TCP: a restarted listener may rebind at once
    balancer: Balancer
    listener_arn: str
    aws_port: int

    def server_bind(self) -> None:
        # HTTPServer's own would look the address up in the system's DNS (getfqdn)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


_local = threading.local()  # per handler thread: keep-alive connections to targets


def _connection(address: str, port: int) -> http.client.HTTPConnection:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    connection = pool.get((address, port))
    if connection is None:
        connection = pool[(address, port)] = http.client.HTTPConnection(
            address, port, timeout=IDLE_TIMEOUT_S
        )
    return connection


def _drop_connection(address: str, port: int) -> None:
    connection = getattr(_local, "pool", {}).pop((address, port), None)
    if connection is not None:
        connection.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a kept-alive client would wait for a delayed ACK
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # access logs are an S3 feature of ALBs, not the sandbox log's

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET  # noqa: N815

    def handle_any(self) -> None:
        balancer = self.server.balancer
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        host = (self.headers.get("Host") or balancer.dns_name).rsplit(":", 1)[0]
        request = Request(self.command, url.path or "/", url.query, host, dict(self.headers))
        try:
            listener = (
                _backend(balancer).load_balancers[balancer.arn].listeners[self.server.listener_arn]
            )
            action = choose_action(list(listener.rules.values()), request)
        except KeyError:  # deleted while this request came in
            return self.elb_error(503)
        if action is None:
            return self.elb_error(503)
        kind = action.get("Type")
        if kind == "fixed-response":
            return self.fixed(action.get("FixedResponseConfig") or {})
        if kind == "redirect":
            return self.redirect(action.get("RedirectConfig") or {}, request)
        group_arn = pick_group(forward_groups(action))
        group = _backend(balancer).target_groups.get(group_arn) if group_arn else None
        target = next_target(balancer, group) if group is not None else None
        if target is None:
            return self.elb_error(503)
        address = target_address(balancer.account_id, balancer.region, target[0])
        if address is None:
            return self.elb_error(503)
        self.forward(address, target[1], body)

    def read_body(self) -> bytes:
        """The request body: ``Content-Length`` bytes, or the chunks of a chunked body."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def forward(self, address: str, port: int, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        client = self.client_address[0]
        previous = self.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{previous}, {client}" if previous else client
        headers["X-Forwarded-Proto"] = "http"
        headers["X-Forwarded-Port"] = str(self.server.server_address[1])
        headers.setdefault(
            "X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        )
        for attempt in (1, 2):  # a kept-alive connection the target closed: one fresh retry
            connection = _connection(address, port)
            try:
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                break
            except TimeoutError:
                _drop_connection(address, port)
                return self.elb_error(504)
            except (OSError, http.client.HTTPException):
                _drop_connection(address, port)
                if attempt == 2:
                    return self.elb_error(502)
        self.send_response_only(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self._end_with(payload)
        if response.will_close:
            _drop_connection(address, port)

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response_only(status)
        self.send_header("Server", "awselb/2.0")
        self.send_header("Date", self.date_time_string())
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self._end_with(body)

    def _end_with(self, body: bytes) -> None:
        """End the headers and send the body in one write (one packet for small answers)."""
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def elb_error(self, status: int) -> None:
        title = _ELB_PAGES.get(status, f"{status} Error")
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
        ).encode()
        self._answer(status, page, {"Content-Type": "text/html"})

    def fixed(self, config: dict[str, Any]) -> None:
        body = str(config.get("MessageBody") or "").encode()
        content_type = config.get("ContentType") or "text/plain"
        self._answer(int(config.get("StatusCode") or 200), body, {"Content-Type": content_type})

    def redirect(self, config: dict[str, Any], request: Request) -> None:
        location = redirect_location(
            config,
            protocol="http",
            host=request.host,
            port=self.server.server_address[1],
            path=request.path,
            query=request.query,
        )
        status = 301 if config.get("StatusCode") == "HTTP_301" else 302
        self._answer(status, b"", {"Location": location, "Content-Type": "text/html"})
