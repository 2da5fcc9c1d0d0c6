"""The sandbox's DNS resolver: Route 53's hosted zones and the front doors' names, on 127.0.0.1.

One resolver answers over UDP and TCP on one port of ``127.0.0.1`` (``local_port(53)``, or a
free port when another sandbox holds it), registered as the ``dns`` endpoint. It answers

- every record of every Route 53 hosted zone in the sandbox (any account): A, AAAA, CNAME,
  TXT, MX, NS, SOA, ... as stored; an alias record answers with its target's addresses;
- the names front doors register with :func:`register_name`: a load balancer's ``DNSName``, an
  RDS endpoint's ``Address`` (each resolves to its loopback address);
- NXDOMAIN for every other name. Nothing is ever forwarded: the resolver knows no upstream.

Route 53's ``TestDNSAnswer`` calls :func:`answer` in-process, so both see the same records.

Examples
--------
>>> register_name("db.example.internal", "127.22.0.1")
>>> answer("db.example.internal", "A").values
['127.22.0.1']
>>> answer("nowhere.example", "A").rcode
'NXDOMAIN'
>>> unregister_name("db.example.internal")
"""

from __future__ import annotations

import errno
import random
import socketserver
import threading
from dataclasses import dataclass, field
from typing import Any

from flovtrain.sandbox.engines.frontdoor import endpoints

ADDRESS = "127.0.0.1"
ENDPOINT_NAME = "route53-resolver"
#: TTL of answers for registered names and aliases (AWS answers an alias with the target's TTL,
#: 60 s for a load balancer).
ALIAS_TTL = 60
_MAX_CHAIN = 8  # CNAME/alias hops before giving up (a loop in the records)

_lock = threading.Lock()
_names: dict[str, str] = {}  # registered name -> IPv4 address
_servers: list[socketserver.BaseServer] = []
_port: int | None = None


@dataclass
class Answer:
    """What the resolver answers for one question.

    ``rcode`` is ``NOERROR`` or ``NXDOMAIN``; ``records`` are ``(name, type, ttl, value)``
    tuples in answer order (a CNAME chain first); ``values`` are the values of the records of
    the asked type.
    """

    name: str
    qtype: str
    rcode: str = "NOERROR"
    records: list[tuple[str, str, int, str]] = field(default_factory=list)

    @property
    def values(self) -> list[str]:
        return [value for _, rtype, _, value in self.records if rtype == self.qtype]


def _norm(name: str) -> str:
    # Route 53 stores '*' as '\052' and names with a trailing dot; matching is case-insensitive
    return name.replace("\\052", "*").rstrip(".").lower()


# -- names front doors register ---------------------------------------------------------------
def register_name(name: str, address: str) -> None:
    """Answer ``name`` with ``address`` (A record), e.g. a load balancer's ``DNSName``.

    Examples
    --------
    >>> register_name("flovtec-prod-db.abc.us-east-1.rds.amazonaws.com", "127.22.0.1")
    >>> unregister_name("flovtec-prod-db.abc.us-east-1.rds.amazonaws.com")
    """
    with _lock:
        _names[_norm(name)] = address


def unregister_name(name: str) -> None:
    """Stop answering ``name`` (no error if it was never registered)."""
    with _lock:
        _names.pop(_norm(name), None)


def registered_names() -> dict[str, str]:
    with _lock:
        return dict(_names)


# -- Route 53's hosted zones ------------------------------------------------------------------
def _zones() -> list[Any]:
    """Every hosted zone of every account (moto's ``FakeZone`` objects), creating no backend."""
    import sys

    if "moto.route53.models" not in sys.modules:  # no request has touched Route 53 yet
        return []
    from moto.core.base_backend import backend_lock
    from moto.route53.models import route53_backends

    with backend_lock:
        backends = [backend for _, _, backend in route53_backends.iter_backends()]
    return [zone for backend in backends for zone in list(backend.zones.values())]


def _zone_for(name: str, zones: list[Any]) -> Any:
    """The zone with the longest name that ``name`` is in (public before private)."""
    best = None
    for zone in zones:
        zone_name = _norm(zone.name)
        if name == zone_name or name.endswith("." + zone_name):
            key = (len(zone_name), not zone.private_zone)
            if best is None or key > best[0]:
                best = (key, zone)
    return best[1] if best else None


def _values(rrset: Any) -> list[str]:
    # moto keeps plain strings from ChangeResourceRecordSets and {"Value": ...} for its own SOA
    return [v["Value"] if isinstance(v, dict) else str(v) for v in rrset.records or []]


def _rrsets_named(zone: Any, name: str) -> list[Any]:
    exact = [r for r in list(zone.rrsets) if _norm(r.name) == name]
    if exact:
        return exact
    # a wildcard '*.zone' answers names below it that have no records of their own
    zone_name = _norm(zone.name)
    labels = name.split(".")
    for i in range(1, len(labels)):
        parent = ".".join(labels[i:])
        if len(parent) < len(zone_name):
            break
        wild = [r for r in list(zone.rrsets) if _norm(r.name) == "*." + parent]
        if wild:
            return wild
    return []


def _pick(rrsets: list[Any]) -> list[Any]:
    """Route 53's routing policies, reduced to what one answer shows."""
    weighted = [r for r in rrsets if r.weight is not None]
    if weighted:
        live = [r for r in weighted if int(r.weight or 0) > 0] or weighted
        return [random.choices(live, weights=[int(r.weight or 0) or 1 for r in live])[0]]
    failover = [r for r in rrsets if r.failover]
    if failover:
        return [next((r for r in failover if r.failover == "PRIMARY"), failover[0])]
    return rrsets


def answer(name: str, qtype: str = "A", _depth: int = 0) -> Answer:
    """Resolve ``name`` for record type ``qtype`` from the sandbox's zones and names.

    Parameters
    ----------
    name : str
        The name asked for (trailing dot optional, any case).
    qtype : str
        ``A``, ``AAAA``, ``CNAME``, ``TXT``, ``MX``, ... or ``ANY``.

    Returns
    -------
    Answer
        ``rcode`` ``NXDOMAIN`` when no zone holds the name and no front door registered it.

    Examples
    --------
    >>> answer("app.nowhere.example", "A").rcode
    'NXDOMAIN'
    """
    qname, qtype = _norm(name), qtype.upper()
    result = Answer(qname, qtype)
    with _lock:
        address = _names.get(qname)
    if address is not None:
        if qtype in ("A", "ANY"):
            result.records.append((qname, "A", ALIAS_TTL, address))
        return result
    zone = _zone_for(qname, _zones())
    if zone is None:
        result.rcode = "NXDOMAIN"
        return result
    rrsets = _rrsets_named(zone, qname)
    if not rrsets:
        result.rcode = "NXDOMAIN"
        return result
    cname = [r for r in rrsets if r.type == "CNAME"]
    if cname and qtype not in ("CNAME", "ANY") and _depth < _MAX_CHAIN:
        for target in _values(cname[0])[:1]:
            result.records.append((qname, "CNAME", int(cname[0].ttl or 300), _norm(target)))
            chained = answer(target, qtype, _depth + 1)
            result.records += chained.records
        return result
    for rrset in _pick([r for r in rrsets if qtype == "ANY" or r.type == qtype]):
        if rrset.alias_target:
            if _depth >= _MAX_CHAIN:
                continue
            target = rrset.alias_target.get("DNSName", "")
            target = target[len("dualstack.") :] if target.startswith("dualstack.") else target
            aliased = answer(target, rrset.type, _depth + 1)
            result.records += [
                (qname, rtype, ALIAS_TTL, value)
                for _, rtype, _, value in aliased.records
                if rtype == rrset.type
            ]
            continue
        ttl = int(rrset.ttl or 300)
        result.records += [(qname, rrset.type, ttl, value) for value in _values(rrset)]
    return result


def zone_of(name: str) -> Any:
    """Return the hosted zone (moto's) that answers ``name``, or None."""
    return _zone_for(_norm(name), _zones())


# -- the server ---------------------------------------------------------------------------------
class _Resolver:
    """dnslib's resolver interface over :func:`answer`."""

    def resolve(self, request: Any, handler: Any) -> Any:
        from dnslib import QTYPE, RCODE, RR

        reply = request.reply()  # aa=1, ra=1: we are the authority and answer everything here
        reply.header.ra = 0  # nothing is looked up elsewhere
        question = request.q
        qtype = QTYPE.get(question.qtype, "A")
        found = answer(str(question.qname), str(qtype))
        if found.rcode == "NXDOMAIN":
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for owner, rtype, ttl, value in found.records:
            try:
                reply.add_answer(
                    *RR.fromZone(f"{owner}. {ttl} IN {rtype} {_zone_value(rtype, value)}")
                )
            except Exception:  # a value dnslib cannot encode: leave it out, answer the rest
                continue
        return reply


def _zone_value(rtype: str, value: str) -> str:
    if rtype == "TXT" and not value.startswith('"'):
        return f'"{value}"'
    if rtype in ("CNAME", "NS", "MX", "PTR") and not value.endswith("."):
        return value + "."
    return value


class _QuietLogger:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    allow_reuse_address = False  # SO_REUSEADDR on UDP would let two sandboxes share the port
    daemon_threads = True


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def _bind_pair(port: int) -> tuple[socketserver.BaseServer, socketserver.BaseServer]:
    from dnslib.server import DNSHandler

    udp = _UDPServer((ADDRESS, port), DNSHandler)
    try:
        tcp = _TCPServer((ADDRESS, udp.server_address[1]), DNSHandler)
    except OSError:
        udp.server_close()
        raise
    for server in (udp, tcp):
        server.resolver = _Resolver()  # type: ignore[attr-defined]
        server.logger = _QuietLogger()  # type: ignore[attr-defined]
    return udp, tcp


def start() -> int:
    """Serve DNS on ``127.0.0.1`` (UDP and TCP, one port); return the port. Idempotent."""
    global _port
    with _lock:
        if _port is not None:
            return _port
        pair = None
        for candidate in [endpoints.local_port(53)] + [0] * 20:
            try:
                pair = _bind_pair(candidate)
                break
            except OSError as exc:  # taken (another sandbox): any free port will do
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
        if pair is None:
            raise OSError(errno.EADDRINUSE, "no free port for the sandbox's DNS resolver")
        for server in pair:
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
            ).start()
        _servers[:] = list(pair)
        _port = pair[0].server_address[1]
    endpoints.register("dns", ENDPOINT_NAME, ADDRESS, _port, 53)
    return _port


def port() -> int | None:
    """Return the resolver's port, or None when it is not running."""
    return _port


def stop() -> None:
    """Stop serving and forget the registered names."""
    global _port
    with _lock:
        servers, _servers[:] = list(_servers), []
        _port = None
        _names.clear()
    for server in servers:
        server.shutdown()
        server.server_close()
    endpoints.unregister("dns", ENDPOINT_NAME)


def reset() -> None:
    """Forget registered names; the resolver keeps serving (it reads the zones live)."""
    with _lock:
        _names.clear()
        running = _port
    if running is not None:  # a reset may have cleared the endpoint list
        endpoints.register("dns", ENDPOINT_NAME, ADDRESS, running, 53)


def query(name: str, qtype: str = "A", port_: int | None = None, tcp: bool = False) -> Answer:
    """Ask the running resolver over the network (as ``dig`` does); for tests and benches."""
    from dnslib import QTYPE, RCODE, DNSRecord

    request = DNSRecord.question(name, qtype)
    data = request.send(ADDRESS, port_ or _port or 53, tcp=tcp, timeout=2)
    reply = DNSRecord.parse(data)
    result = Answer(_norm(name), qtype.upper(), RCODE.get(reply.header.rcode))
    for rr in reply.rr:
        rtype = QTYPE.get(rr.rtype)
        result.records.append((_norm(str(rr.rname)), str(rtype), rr.ttl, _rdata(rtype, rr)))
    return result


def _rdata(rtype: Any, rr: Any) -> str:
    text = str(rr.rdata)
    if str(rtype) == "TXT":
        return text.strip('"')
    return text.rstrip(".") if str(rtype) in ("CNAME", "NS", "PTR") else text
