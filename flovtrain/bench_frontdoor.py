"""Front door benchmark (issue #10): what the sandbox's ALB, DNS resolver and RDS cost per call.

Three rows, in :mod:`flovtrain.bench_athena`'s dict shape (``name``, ``seconds``, ``value``,
``target``, ``ok``, ``note``):

- **ALB request overhead**: the median of ``N`` GETs through the load balancer minus the median
  of ``N`` GETs straight to the instance's app, interleaved (a new connection per request both
  ways, as a browser without keep-alive); target ≤ 2 ms.
- **DNS answer time**: the median time the sandbox's Route 53 resolver takes to answer an
  ``A`` query for a record of a hosted zone (over UDP, as ``dig`` asks).
- **RDS connect time**: the median of PyMySQL ``connect`` + ``SELECT 1`` + close against a DB
  instance's endpoint.

Runs against the sandbox only: it resets it first (like the Athena benchmark).

Examples
--------
>>> from flovtrain import bench_frontdoor
>>> for row in bench_frontdoor.rows():          # doctest: +SKIP
...     print(row["name"], row["value"], row["ok"])
ALB request overhead (median of 200) 0.61 ms True
"""

from __future__ import annotations

import http.client
import statistics
import time
from collections.abc import Callable
from typing import Any

REGION = "us-east-1"
REQUESTS = 200
DNS_QUERIES = 200
DB_CONNECTS = 20
ALB_TARGET_MS = 2.0
APP_PORT = 8090
_APP = f"nohup python3 -m http.server {APP_PORT} --bind $FLOVTRAIN_INSTANCE_ADDRESS >app.log 2>&1 &"
_PASSWORD = "Bench-only-secret-1"  # a throwaway sandbox database's, never a real one


def _median_ms(call: Callable[[], Any], times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _get(address: str, port: int) -> None:
    connection = http.client.HTTPConnection(address, port, timeout=10)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET http://{address}:{port}/ answered {response.status}")
    finally:
        connection.close()


def _until(condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"bench_frontdoor: timed out waiting for {what}")


def _row(name: str, ms: float, target: str = "", ok: bool | None = None, note: str = "") -> dict:
    return {
        "name": name,
        "seconds": round(ms / 1000, 6),
        "value": f"{ms:.2f} ms",
        "target": target,
        "ok": ok,
        "note": note,
    }


def _alb_row(session: Any) -> dict:
    import flovtrain
    from flovtrain.sandbox.engines.frontdoor import endpoints

    ec2, elb, ssm = (session.client(s, region_name=REGION) for s in ("ec2", "elbv2", "ssm"))
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    address = instance["PublicIpAddress"]
    ssm.send_command(InstanceIds=[instance["InstanceId"]], DocumentName="AWS-RunShellScript",
                     Parameters={"commands": [_APP]})  # fmt: skip
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    alb = elb.create_load_balancer(
        Name="bench-alb", Subnets=[s["SubnetId"] for s in subnets["Subnets"]][:2]
    )["LoadBalancers"][0]
    tg = elb.create_target_group(Name="bench-tg", Protocol="HTTP", Port=APP_PORT,
                                 VpcId=vpc["VpcId"])["TargetGroups"][0]  # fmt: skip
    forward = [{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}]
    elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=forward
    )
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": instance["InstanceId"], "Port": APP_PORT}])  # fmt: skip

    def healthy() -> bool:
        found = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
        return found["TargetHealthDescriptions"][0]["TargetHealth"]["State"] == "healthy"

    _until(healthy, "the bench target to turn healthy")
    (alb_address,) = flovtrain.resolve(alb["DNSName"])
    alb_port = endpoints.local_port(80)
    for _ in range(20):  # warm both paths (imports, first connections)
        _get(address, APP_PORT)
        _get(alb_address, alb_port)
    # interleaved, so both paths see the same load on a shared machine
    direct_s, through_s = [], []
    for _ in range(REQUESTS):
        direct_s.append(_median_ms(lambda: _get(address, APP_PORT), 1))
        through_s.append(_median_ms(lambda: _get(alb_address, alb_port), 1))
    direct, through = statistics.median(direct_s), statistics.median(through_s)
    overhead = through - direct
    return _row(
        f"ALB request overhead (median of {REQUESTS})",
        overhead,
        f"≤ {ALB_TARGET_MS:.0f} ms",
        overhead <= ALB_TARGET_MS,
        f"through the ALB {through:.2f} ms, straight to the instance {direct:.2f} ms; "
        "a new connection per request",
    )


def _dns_row(session: Any) -> dict:
    from flovtrain.sandbox import control
    from flovtrain.sandbox.engines.frontdoor import dns

    r53 = session.client("route53")
    zone = r53.create_hosted_zone(Name="bench.example", CallerReference="bench-frontdoor")
    r53.change_resource_record_sets(HostedZoneId=zone["HostedZone"]["Id"], ChangeBatch={
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "app.bench.example", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.10"}]}}]})  # fmt: skip
    (entry,) = [e for e in control.status()["endpoints"] if e["kind"] == "dns"]
    port = int(entry["port"])

    def ask() -> None:
        answer = dns.query("app.bench.example", "A", port_=port)
        if not answer.records:
            raise RuntimeError(f"the resolver did not answer app.bench.example: {answer}")

    ask()
    ms = _median_ms(ask, DNS_QUERIES)
    return _row(f"DNS answer time (median of {DNS_QUERIES})", ms,
                note=f"A record of a hosted zone, UDP, resolver on 127.0.0.1:{port}")  # fmt: skip


def _rds_row(session: Any) -> dict:
    import pymysql

    import flovtrain
    from flovtrain.sandbox.engines.frontdoor import mysql

    rds = session.client("rds", region_name=REGION)
    rds.create_db_instance(
        DBInstanceIdentifier="bench-db", Engine="mysql", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword=_PASSWORD,
    )  # fmt: skip

    def available() -> dict | None:
        db = rds.describe_db_instances(DBInstanceIdentifier="bench-db")["DBInstances"][0]
        return db if db["DBInstanceStatus"] == "available" else None

    db = _until(available, "the bench database", timeout=120)
    (address,) = flovtrain.resolve(db["Endpoint"]["Address"])

    def connect() -> None:
        conn = pymysql.connect(host=address, port=db["Endpoint"]["Port"], user="admin",
                               password=_PASSWORD, connect_timeout=10)  # fmt: skip
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
        finally:
            conn.close()

    connect()
    ms = _median_ms(connect, DB_CONNECTS)
    return _row(f"RDS connect + SELECT 1 (median of {DB_CONNECTS})", ms,
                note=f"PyMySQL against the {mysql.flavour()} server")  # fmt: skip


def rows(session: Any = None) -> list[dict]:
    """Measure the front doors in a freshly reset sandbox; one dict per measurement.

    Parameters
    ----------
    session : boto3.Session, optional
        Default: the sandbox connection (``flovtrain.connect``). Real AWS is refused: the
        benchmark resets the sandbox and creates a load balancer and a database.

    Returns
    -------
    list of dict
        ``name``, ``seconds``, ``value`` (e.g. ``"0.61 ms"``), ``target``, ``ok``, ``note``.

    Examples
    --------
    >>> [r["name"].split(" (")[0] for r in rows()]                       # doctest: +SKIP
    ['ALB request overhead', 'DNS answer time', 'RDS connect + SELECT 1']
    """
    import boto3

    import flovtrain
    from flovtrain.sandbox import control

    conn = flovtrain.connect(quiet=True)
    if not conn.is_sandbox:
        raise RuntimeError(
            "bench_frontdoor measures the offline sandbox (it resets it): unset "
            "FLOVTRAIN_BACKEND=aws and run it again."
        )
    control.reset()
    session = session or boto3.Session(region_name=REGION)
    try:
        return [_alb_row(session), _dns_row(session), _rds_row(session)]
    finally:
        control.reset()  # end the bench's instance app, listener and database
