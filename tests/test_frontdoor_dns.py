"""Route 53 answers DNS on 127.0.0.1: hosted zones, aliases to load balancers, NXDOMAIN else."""

from __future__ import annotations

import json
import shutil
import subprocess

import boto3
import pytest
from botocore.exceptions import ClientError

import flovtrain
from flovtrain import frontdoor, views
from flovtrain.sandbox import control
from flovtrain.sandbox.engines.frontdoor import dns
from tests.provider_fixtures import FLOVTRAIN

REGION = "us-east-1"
DOMAIN = "flovtec.example"


@pytest.fixture()
def zone() -> dict:
    control.reset()
    flovtrain.connect(quiet=True)
    r53 = boto3.client("route53")
    ec2 = boto3.client("ec2", region_name=REGION)
    elb = boto3.client("elbv2", region_name=REGION)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    alb = elb.create_load_balancer(
        Name="flovtec-prod-alb", Subnets=[s["SubnetId"] for s in subnets["Subnets"]][:2]
    )["LoadBalancers"][0]
    zone_id = r53.create_hosted_zone(Name=DOMAIN, CallerReference="chapter-07")["HostedZone"]["Id"]

    def record(name: str, rtype: str, *values: str, **extra) -> dict:
        rrset = {"Name": name, "Type": rtype, **extra}
        if values:
            rrset.update(TTL=300, ResourceRecords=[{"Value": v} for v in values])
        return {"Action": "UPSERT", "ResourceRecordSet": rrset}

    alias = {"HostedZoneId": alb["CanonicalHostedZoneId"], "DNSName": alb["DNSName"],
             "EvaluateTargetHealth": True}  # fmt: skip
    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                record(f"app.{DOMAIN}", "A", AliasTarget=alias),
                record(f"www.{DOMAIN}", "CNAME", f"app.{DOMAIN}"),
                record(f"db.{DOMAIN}", "A", "127.0.0.9"),
                record(f"db.{DOMAIN}", "AAAA", "::1"),
                record(DOMAIN, "TXT", '"v=spf1 -all"'),
                record(DOMAIN, "MX", f"10 mail.{DOMAIN}"),
            ]
        },
    )
    return {"r53": r53, "zone_id": zone_id, "alb": alb}


def dns_port() -> int:
    return frontdoor.dns_port()


def test_zone_records_alias_and_cname_resolve(zone):
    (alb_address,) = flovtrain.resolve(zone["alb"]["DNSName"])
    assert alb_address.startswith("127.21.")
    assert flovtrain.resolve(f"app.{DOMAIN}") == [alb_address]  # alias -> the ALB's address
    assert flovtrain.resolve(f"WWW.{DOMAIN}.") == [alb_address]  # CNAME chased, any case
    assert flovtrain.resolve(f"www.{DOMAIN}", "CNAME") == [f"app.{DOMAIN}."]
    assert flovtrain.resolve(f"db.{DOMAIN}") == ["127.0.0.9"]
    assert flovtrain.resolve(f"db.{DOMAIN}", "AAAA") == ["::1"]
    assert flovtrain.resolve(DOMAIN, "TXT") == ["v=spf1 -all"]
    assert flovtrain.resolve(DOMAIN, "MX") == [f"10 mail.{DOMAIN}."]
    assert flovtrain.resolve(f"app.{DOMAIN}", "AAAA") == []  # the name exists, no such record


def test_names_outside_every_zone_are_nxdomain_never_forwarded(zone):
    for name in (f"nothing.{DOMAIN}", "example.com", "aws.amazon.com"):
        with pytest.raises(frontdoor.NameNotFound, match="NXDOMAIN"):
            flovtrain.resolve(name)


@pytest.mark.skipif(not shutil.which("dig"), reason="needs dig")
def test_dig_asks_the_same_resolver_over_udp_and_tcp(zone):
    port = str(dns_port())
    for transport in ("+notcp", "+tcp"):
        dig = subprocess.run(
            ["dig", "@127.0.0.1", "-p", port, f"www.{DOMAIN}", "A", "+short", transport],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        assert dig.stdout.split() == [f"app.{DOMAIN}.", *flovtrain.resolve(f"app.{DOMAIN}")]
    missing = subprocess.run(
        ["dig", "@127.0.0.1", "-p", port, "aws.amazon.com"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    assert "status: NXDOMAIN" in missing.stdout


def test_test_dns_answer_uses_the_resolver(zone):
    r53, zone_id = zone["r53"], zone["zone_id"]
    answer = r53.test_dns_answer(HostedZoneId=zone_id, RecordName=f"app.{DOMAIN}", RecordType="A")
    assert answer["RecordData"] == flovtrain.resolve(f"app.{DOMAIN}")
    assert (answer["ResponseCode"], answer["Protocol"], answer["RecordName"]) == (
        "NOERROR", "UDP", f"app.{DOMAIN}.",
    )  # fmt: skip
    served = r53.get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"]
    assert answer["Nameserver"] == served[0]
    missing = r53.test_dns_answer(HostedZoneId=zone_id, RecordName=f"x.{DOMAIN}", RecordType="A")
    assert (missing["ResponseCode"], missing["RecordData"]) == ("NXDOMAIN", [])
    with pytest.raises(ClientError) as error:
        r53.test_dns_answer(HostedZoneId="ZNOTAZONE", RecordName=DOMAIN, RecordType="A")
    assert error.value.response["Error"]["Code"] == "NoSuchHostedZone"


def test_deleted_records_and_load_balancers_stop_resolving(zone):
    elb = boto3.client("elbv2", region_name=REGION)
    elb.delete_load_balancer(LoadBalancerArn=zone["alb"]["LoadBalancerArn"])
    with pytest.raises(frontdoor.NameNotFound):
        flovtrain.resolve(zone["alb"]["DNSName"])
    assert flovtrain.resolve(f"app.{DOMAIN}") == []  # the alias's target is gone
    control.reset()
    with pytest.raises(frontdoor.NameNotFound):
        flovtrain.resolve(f"db.{DOMAIN}")


def test_status_and_the_view_list_the_resolver(zone):
    status = subprocess.run(
        [str(FLOVTRAIN), "sandbox", "status", "--json"], capture_output=True, text=True, check=True
    )
    listed = json.loads(status.stdout)["endpoints"]
    (resolver,) = [e for e in listed if e["kind"] == "dns"]
    assert resolver == {"kind": "dns", "name": dns.ENDPOINT_NAME, "address": "127.0.0.1",
                        "port": dns_port(), "aws_port": 53}  # fmt: skip
    plain = subprocess.run(
        [str(FLOVTRAIN), "sandbox", "status"], capture_output=True, text=True, check=True
    )
    port = dns_port()
    mapped = "" if port == 53 else " (AWS's port 53)"
    assert f"  dns  {dns.ENDPOINT_NAME} on 127.0.0.1:{port}{mapped}\n" in plain.stdout
    table = views.endpoints.endpoints()
    assert list(table.columns) == ["kind", "name", "address", "port", "aws_port"]
    assert table.equals(views.endpoints.endpoints())
    assert "dns" in table.kind.tolist()


def test_registered_names_answer_in_process():
    """The hook other front doors (RDS endpoints) use: a name -> its loopback address."""
    name = "flovtec-prod-db.c0abc.us-east-1.rds.amazonaws.com"
    dns.register_name(name + ".", "127.22.0.1")
    try:
        assert dns.answer(name.upper(), "A").values == ["127.22.0.1"]
        assert dns.answer(name, "AAAA").rcode == "NOERROR"
    finally:
        dns.unregister_name(name)
    assert dns.answer(name, "A").rcode == "NXDOMAIN"
