"""What the sandbox serves, from the client side: its endpoints and its DNS resolver.

:func:`resolve` asks the sandbox's resolver over DNS (UDP on 127.0.0.1, as ``dig @127.0.0.1
-p PORT name`` does), so a name of a Route 53 hosted zone, a load balancer's ``DNSName`` or an
RDS endpoint resolves to the loopback address that serves it. On real AWS it asks the system's
resolver instead (A and AAAA only).

Examples
--------
>>> import flovtrain
>>> flovtrain.resolve("app.flovtec.example")          # doctest: +SKIP
['127.21.0.1']
>>> dns_port()                                        # doctest: +SKIP
10053
"""

from __future__ import annotations

import socket
from typing import Any

from flovtrain.exceptions import FlovtrainError

DNS_TIMEOUT_S = 2.0


class NameNotFound(FlovtrainError, LookupError):
    """The resolver answered NXDOMAIN: no hosted zone or front door has this name."""


def endpoints() -> list[dict[str, Any]]:
    """Return the sandbox's served front doors (``kind``, ``name``, ``address``, ``port``,
    ``aws_port``), as ``flovtrain sandbox status --json`` lists them.

    Examples
    --------
    >>> [e["kind"] for e in endpoints()]                 # doctest: +SKIP
    ['dns', 'elb']
    """
    from flovtrain.sandbox import control
    from flovtrain.session import require_sandbox

    require_sandbox("The list of served front doors")
    return list(control.api("endpoints", timeout=5.0) or [])


def dns_port() -> int:
    """Return the port of the sandbox's DNS resolver on 127.0.0.1.

    Raises
    ------
    LookupError
        When the sandbox serves no resolver (an older sandbox: restart it).
    """
    for endpoint in endpoints():
        if endpoint["kind"] == "dns":
            return int(endpoint["port"])
    raise LookupError("the sandbox serves no DNS resolver; restart it: flovtrain sandbox stop")


def resolve(name: str, record_type: str = "A") -> list[str]:
    """Resolve ``name`` with the sandbox's DNS resolver (the system's on real AWS).

    Parameters
    ----------
    name : str
        e.g. ``app.flovtec.example`` or a load balancer's ``DNSName``.
    record_type : str
        ``A`` (default), ``AAAA``, ``CNAME``, ``TXT``, ``MX``, ...

    Returns
    -------
    list of str
        The values of the answer's records of ``record_type`` (empty when the name exists
        without such records).

    Raises
    ------
    NameNotFound
        NXDOMAIN: no hosted zone holds the name and no front door has it.

    Examples
    --------
    >>> resolve("app.flovtec.example")                    # doctest: +SKIP
    ['127.21.0.1']
    >>> resolve("flovtec.example", "MX")                  # doctest: +SKIP
    ['10 mail.flovtec.example.']
    """
    from flovtrain.session import current

    if not current().is_sandbox:
        return _system_resolve(name, record_type)
    from dnslib import QTYPE, RCODE, DNSRecord

    question = DNSRecord.question(name, record_type.upper())
    reply = DNSRecord.parse(question.send("127.0.0.1", dns_port(), timeout=DNS_TIMEOUT_S))
    if reply.header.rcode == RCODE.NXDOMAIN:
        raise NameNotFound(f"{name}: NXDOMAIN (no hosted zone or front door has this name)")
    values = []
    for record in reply.rr:
        if QTYPE.get(record.rtype) == record_type.upper():
            text = str(record.rdata)
            values.append(text.strip('"') if record_type.upper() == "TXT" else text)
    return values


def _system_resolve(name: str, record_type: str) -> list[str]:
    families = {"A": socket.AF_INET, "AAAA": socket.AF_INET6}
    if record_type.upper() not in families:
        raise ValueError("on real AWS resolve() asks the system resolver: A or AAAA only")
    try:
        infos = socket.getaddrinfo(name, None, families[record_type.upper()], socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameNotFound(f"{name}: {exc.strerror}") from None
    return sorted({info[4][0] for info in infos})
