"""Route 53 provider: the hosted zones answer DNS, and ``TestDNSAnswer`` asks the same resolver.

moto stores hosted zones and records; nothing resolves them. The sandbox's resolver
(:mod:`flovtrain.sandbox.engines.frontdoor.dns`) serves them on 127.0.0.1 from the moment the
sandbox starts, and ``TestDNSAnswer`` (which moto lacks) answers in-process from it.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines.frontdoor import dns
from flovtrain.sandbox.seam import AwsError, Call, Provider, after_import

#: moto routes no URL to TestDNSAnswer; added to its Route 53 paths before its app is built.
TEST_DNS_ANSWER_PATH = r"{0}/(?P<api_version>[\d_-]+)/testdnsanswer$"
RECORD_TYPES = {"A", "AAAA", "CAA", "CNAME", "DS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF", "SRV",
                "TXT", "TLSA", "SSHFP", "SVCB", "HTTPS"}  # fmt: skip


def setup() -> None:
    after_import("moto.route53.urls", _route_test_dns_answer)
    after_import("moto.route53.exceptions", _reword_zone_not_empty)


def _reword_zone_not_empty() -> None:
    from moto.route53 import exceptions

    def init(self: Any) -> None:
        super(exceptions.HostedZoneNotEmpty, self).__init__(
            "HostedZoneNotEmpty",
            "The specified hosted zone contains non-required resource record sets and so "
            "cannot be deleted.",  # AWS's words (moto: "...not SOA or NS records.")
        )

    exceptions.HostedZoneNotEmpty.__init__ = init  # type: ignore[method-assign]


def _fqdn(name: str) -> str:
    return name.lower().rstrip(".") + "."


def change_resource_record_sets(call: Call) -> Any:
    """Refuse a CREATE of a record set that exists and a DELETE of one that does not, in one
    ``InvalidChangeBatch`` listing every such change as Route 53 does (moto words the first
    differently and answers the second with an unrelated ``InvalidInput``)."""
    from moto.route53.models import route53_backends

    zone_id = str(call.params.get("HostedZoneId", "")).rsplit("/", 1)[-1]
    backend = route53_backends[call.account_id][call.response.partition]
    zone = backend.get_hosted_zone(zone_id)  # NoSuchHostedZone
    existing = {(_fqdn(r.name), r.type, r.set_identifier or None) for r in zone.rrsets}
    problems = []
    for change in (call.params.get("ChangeBatch") or {}).get("Changes") or []:
        rrset = change.get("ResourceRecordSet") or {}
        key = (_fqdn(str(rrset.get("Name", ""))), rrset.get("Type"), rrset.get("SetIdentifier"))
        named = f"[name='{key[0]}', type='{key[1]}'"
        named += f", set-identifier='{key[2]}']" if key[2] else "]"
        if change.get("Action") == "DELETE" and key not in existing:
            problems.append(f"Tried to delete resource record set {named} but it was not found")
        elif change.get("Action") == "CREATE" and key in existing:
            problems.append(f"Tried to create resource record set {named} but it already exists")
    if problems:
        raise AwsError("InvalidChangeBatch", "[" + ", ".join(problems) + "]")
    return call.moto()


def _route_test_dns_answer() -> None:
    from moto.route53 import urls
    from moto.route53.responses import Route53

    urls.url_paths.setdefault(TEST_DNS_ANSWER_PATH, Route53.dispatch)


def test_dns_answer(call: Call) -> dict[str, Any]:
    """``TestDNSAnswer``: what the zone's name server answers for a name and type."""
    from moto.route53.models import route53_backends

    params = call.params
    zone_id = str(params.get("HostedZoneId", "")).rsplit("/", 1)[-1]
    name = str(params.get("RecordName", ""))
    record_type = str(params.get("RecordType", "")).upper()
    if record_type not in RECORD_TYPES:
        raise AwsError("InvalidInput", f"Invalid record type: {record_type or 'null'}")
    backend = route53_backends[call.account_id][call.response.partition]
    zone = backend.get_hosted_zone(zone_id)  # NoSuchHostedZone, worded by moto
    found = dns.answer(name, record_type)
    in_zone = dns.zone_of(name)
    if in_zone is not zone:  # the question belongs to another zone (or to none)
        found = dns.Answer(found.name, record_type, "NXDOMAIN")
    servers = zone.delegation_set.name_servers if zone.delegation_set else []
    return {
        "Nameserver": servers[0] if servers else "ns-0.awsdns-00.com",
        "RecordName": name if name.endswith(".") else name + ".",
        "RecordType": record_type,
        "RecordData": found.values,
        "ResponseCode": found.rcode,
        "Protocol": "UDP",
    }


PROVIDER = Provider(
    name="route53",
    response_class="moto.route53.responses.Route53",
    service="route53",
    operations={
        "TestDNSAnswer": test_dns_answer,
        "ChangeResourceRecordSets": change_resource_record_sets,
    },
    setup=setup,
    start=dns.start,  # the resolver serves from the moment the sandbox starts
    reset=dns.reset,
    stop=dns.stop,
)
