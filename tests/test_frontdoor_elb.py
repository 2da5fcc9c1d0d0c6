"""Application Load Balancers serve: listeners forward to healthy targets, checked for real."""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

import flovtrain
from flovtrain.sandbox import control
from flovtrain.sandbox.engines.frontdoor import endpoints

REGION = "us-east-1"
AMI = "ami-12c6146b"


class _App(http.server.BaseHTTPRequestHandler):
    """A stand-in web app on an instance's address: echoes who answered and what it got."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/missing":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(
            {
                "instance": self.server.server_address[0],
                "path": self.path,
                "host": self.headers.get("Host"),
                "xff": self.headers.get("X-Forwarded-For"),
                "proto": self.headers.get("X-Forwarded-Proto"),
                "port": self.headers.get("X-Forwarded-Port"),
                "trace": self.headers.get("X-Amzn-Trace-Id"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[::-1])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def aws() -> Iterator[dict]:
    control.reset()
    flovtrain.connect(quiet=True)
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    apps: list[http.server.HTTPServer] = []
    yield {
        "ec2": ec2,
        "elb": boto3.client("elbv2", region_name=REGION),
        "vpc": vpc["VpcId"],
        "subnets": [s["SubnetId"] for s in subnets["Subnets"]][:2],
        "apps": apps,
    }
    for app in apps:
        app.shutdown()
        app.server_close()


def launch(aws: dict, count: int, port: int = 8090) -> dict[str, str]:
    """Launch ``count`` instances, each with the stand-in app on its address; id -> address."""
    launched = aws["ec2"].run_instances(ImageId=AMI, MinCount=count, MaxCount=count)["Instances"]
    found = {i["InstanceId"]: i["PublicIpAddress"] for i in launched}
    for address in found.values():
        app = http.server.ThreadingHTTPServer((address, port), _App)
        app.handle_error = lambda *args: None  # a client gone mid-request is no test failure
        threading.Thread(target=app.serve_forever, daemon=True).start()
        aws["apps"].append(app)
    return found


def balancer(aws: dict, name: str = "flovtec-prod-alb", **group) -> tuple[dict, dict, dict]:
    """A load balancer, a target group (HTTP 8090) and a listener 80 -> forward to it."""
    elb = aws["elb"]
    alb = elb.create_load_balancer(Name=name, Subnets=aws["subnets"], Type="application")
    alb = alb["LoadBalancers"][0]
    settings = {"HealthCheckPath": "/health", "HealthCheckIntervalSeconds": 5, **group}
    tg = elb.create_target_group(
        Name=f"{name}-tg", Protocol="HTTP", Port=8090, VpcId=aws["vpc"], **settings
    )["TargetGroups"][0]
    listener = elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )["Listeners"][0]
    return alb, tg, listener


def served(alb: dict, aws_port: int = 80) -> tuple[str, int]:
    """Where the listener serves here: the load balancer's DNS name resolved, the mapped port."""
    (address,) = flovtrain.resolve(alb["DNSName"])
    return address, endpoints.local_port(aws_port)


def get(where: tuple[str, int], path: str = "/", host: str | None = None):
    connection = http.client.HTTPConnection(*where, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def states(aws: dict, tg: dict) -> dict[str, dict]:
    found = aws["elb"].describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
    return {t["Target"]["Id"]: t["TargetHealth"] for t in found["TargetHealthDescriptions"]}


def wait_for(aws: dict, tg: dict, state: str, timeout: float = 20.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = states(aws, tg)
        if found and all(h["State"] == state for h in found.values()):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def test_listener_forwards_round_robin_to_healthy_targets_with_forwarded_headers(aws):
    alb, tg, _ = balancer(aws)
    where = served(alb)
    assert where[0].startswith("127.21.")
    status, headers, body = get(where)
    assert status == 503 and headers["Server"] == "awselb/2.0"  # nothing registered yet
    assert b"503 Service Temporarily Unavailable" in body

    ids = launch(aws, 2)
    aws["elb"].register_targets(
        TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": i, "Port": 8090} for i in ids]
    )
    first = states(aws, tg)
    assert {h["State"] for h in first.values()} <= {"initial", "healthy"}
    wait_for(aws, tg, "healthy")

    answers = [json.loads(get(where, "/orders?limit=2", host="app.flovtec.example")[2])
               for _ in range(4)]  # fmt: skip
    assert [a["instance"] for a in answers[:2]] == [a["instance"] for a in answers[2:]]
    assert {a["instance"] for a in answers} == set(ids.values())
    answer = answers[0]
    assert answer["path"] == "/orders?limit=2" and answer["host"] == "app.flovtec.example"
    assert answer["xff"] == "127.0.0.1" and answer["proto"] == "http"
    assert answer["port"] == str(where[1]) and answer["trace"].startswith("Root=1-")
    entry = next(e for e in control.status()["endpoints"] if e["kind"] == "elb")
    assert entry == {
        "kind": "elb",
        "name": "flovtec-prod-alb:80",
        "address": where[0],
        "port": where[1],
        "aws_port": 80,
    }


def test_a_failing_health_check_makes_the_target_unhealthy_and_the_alb_fails_open(aws):
    alb, tg, _ = balancer(aws, HealthCheckPath="/missing", UnhealthyThresholdCount=2)
    (iid,) = launch(aws, 1)
    aws["elb"].register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": iid}])
    health = states(aws, tg)[iid]
    assert health["State"] == "initial"
    assert health["Reason"] in ("Elb.RegistrationInProgress", "Elb.InitialHealthChecking")
    health = wait_for(aws, tg, "unhealthy", timeout=15)[iid]
    assert health["Reason"] == "Target.ResponseCodeMismatch"
    assert health["Description"] == "Health checks failed with these codes: [404]"
    # every registered target unhealthy: an ALB routes to all of them (fail open)
    status, _, body = get(served(alb))
    assert status == 200 and json.loads(body)["path"] == "/"


def test_a_target_that_refuses_connections_fails_its_checks(aws):
    alb, tg, _ = balancer(aws, UnhealthyThresholdCount=2)
    (iid,) = aws["ec2"].run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"]
    aws["elb"].register_targets(
        TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": iid["InstanceId"]}]
    )
    health = wait_for(aws, tg, "unhealthy", timeout=15)[iid["InstanceId"]]
    assert health["Reason"] == "Target.FailedHealthChecks"
    status, headers, _ = get(served(alb))  # fails open to a target that refuses: 502
    assert status == 502 and headers["Server"] == "awselb/2.0"


def test_stopped_and_deregistered_instances_leave_the_rotation(aws):
    alb, tg, _ = balancer(aws)
    ids = launch(aws, 2)
    first, second = ids
    aws["elb"].register_targets(
        TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": i} for i in ids]
    )
    wait_for(aws, tg, "healthy")
    aws["ec2"].stop_instances(InstanceIds=[first])
    where = served(alb)
    assert {json.loads(get(where)[2])["instance"] for _ in range(4)} == {ids[second]}
    assert states(aws, tg)[first]["Reason"] == "Target.InvalidState"

    aws["elb"].deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": second}])
    draining = states(aws, tg)[second]
    assert draining == {
        "State": "draining",
        "Reason": "Target.DeregistrationInProgress",
        "Description": "Target deregistration is in progress",
    }
    assert get(where)[0] == 503


def test_listener_rules_path_host_fixed_response_redirect_and_weights(aws):
    alb, tg, listener = balancer(aws)
    elb = aws["elb"]
    ids = launch(aws, 1)
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": i} for i in ids])
    empty = elb.create_target_group(Name="empty", Protocol="HTTP", Port=8090, VpcId=aws["vpc"])
    empty_arn = empty["TargetGroups"][0]["TargetGroupArn"]
    arn = listener["ListenerArn"]
    elb.create_rule(
        ListenerArn=arn,
        Priority=10,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["admin.*"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "403", "ContentType": "text/plain", "MessageBody": "no admins here"}}],
    )  # fmt: skip
    elb.create_rule(
        ListenerArn=arn,
        Priority=20,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/old/*"]}}],
        Actions=[{"Type": "redirect", "RedirectConfig": {
            "Path": "/new/#{path}", "StatusCode": "HTTP_301"}}],
    )  # fmt: skip
    elb.create_rule(  # all the weight on the group with the app, none on the empty one
        ListenerArn=arn,
        Priority=30,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tg["TargetGroupArn"], "Weight": 1},
            {"TargetGroupArn": empty_arn, "Weight": 0}]}}],
    )  # fmt: skip
    wait_for(aws, tg, "healthy")
    where = served(alb)
    assert get(where, "/", host="ADMIN.flovtec.example")[0:3:2] == (403, b"no admins here")
    status, headers, _ = get(where, "/old/page?x=1", host="app.flovtec.example")
    assert status == 301
    assert headers["Location"] == f"http://app.flovtec.example:{where[1]}/new/old/page?x=1"
    assert all(json.loads(get(where, "/api/v1")[2])["path"] == "/api/v1" for _ in range(5))
    elb.modify_listener(  # the default action now goes to the empty group: 503
        ListenerArn=arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": empty_arn}]
    )
    assert get(where, "/")[0] == 503
    assert get(where, "/api/v1")[0] == 200


def fixed_200_listener(elb, alb: dict, port: int) -> dict:
    """Add an HTTP listener on ``port`` to ``alb`` that answers 200 itself."""
    return elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=port,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
    )


def test_a_taken_listener_port_is_a_clear_error(aws):
    elb = aws["elb"]
    alb, _, listener = balancer(aws)
    address, _ = served(alb)
    with pytest.raises(ClientError) as duplicate:
        fixed_200_listener(elb, alb, 80)
    assert duplicate.value.response["Error"]["Code"] == "DuplicateListener"
    port = endpoints.local_port(8081)
    with socket.socket() as holder:
        holder.bind((address, port))
        holder.listen()
        with pytest.raises(ClientError) as taken:
            fixed_200_listener(elb, alb, 8081)
    error = taken.value.response["Error"]
    assert error["Code"] == "SandboxUnsupported"
    assert f"port {port}" in error["Message"] and address in error["Message"]
    listed = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert [entry["ListenerArn"] for entry in listed] == [listener["ListenerArn"]]


def test_reset_and_delete_close_the_listeners(aws):
    alb, _, _ = balancer(aws)
    where = served(alb)
    assert get(where)[0] == 503
    aws["elb"].delete_load_balancer(LoadBalancerArn=alb["LoadBalancerArn"])
    with pytest.raises(ConnectionRefusedError):
        get(where)
    assert not [e for e in control.status()["endpoints"] if e["kind"] == "elb"]
    alb, _, _ = balancer(aws, name="again")
    where = served(alb)
    control.reset()
    with pytest.raises(ConnectionRefusedError):
        get(where)
    kinds = [e["kind"] for e in control.status()["endpoints"] if e["kind"] in ("dns", "elb")]
    assert kinds == ["dns"]


def test_shifting_the_listener_from_blue_to_green_fails_no_request(aws):
    """Blue/green's traffic shift on the ALB: weighted steps, then green only, blue terminated;
    a client polling all the while (new connections and kept-alive ones) sees no failure."""
    elb = aws["elb"]
    alb, blue, listener = balancer(aws, name="bluegreen")
    green = elb.create_target_group(
        Name="green", Protocol="HTTP", Port=8091, VpcId=aws["vpc"], HealthCheckPath="/health"
    )["TargetGroups"][0]
    blue_ids, green_ids = launch(aws, 2), launch(aws, 2, port=8091)
    elb.register_targets(
        TargetGroupArn=blue["TargetGroupArn"], Targets=[{"Id": i} for i in blue_ids]
    )
    elb.register_targets(
        TargetGroupArn=green["TargetGroupArn"], Targets=[{"Id": i} for i in green_ids]
    )
    wait_for(aws, blue, "healthy")
    where = served(alb)
    seen: list[tuple[str, int]] = []
    failures: list[str] = []
    stop = threading.Event()

    def poll(keep_alive: bool) -> None:
        connection = None
        while not stop.is_set():
            try:
                if connection is None or not keep_alive:
                    connection = http.client.HTTPConnection(*where, timeout=10)
                connection.request("GET", "/")
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    failures.append(f"{response.status} {body[:80]!r}")
                else:
                    seen.append((json.loads(body)["instance"], time.monotonic()))
            except Exception as exc:  # noqa: BLE001 - any failure counts
                failures.append(repr(exc))
                connection = None
            finally:
                if not keep_alive and connection is not None:
                    connection.close()

    pollers = [threading.Thread(target=poll, args=(k,)) for k in (False, True)]
    for poller in pollers:
        poller.start()
    elb.create_rule(  # a test route puts green in use: its health checks start
        ListenerArn=listener["ListenerArn"],
        Priority=1,
        Conditions=[{"Field": "http-header",
                     "HttpHeaderConfig": {"HttpHeaderName": "X-Green", "Values": ["1"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": green["TargetGroupArn"]}],
    )  # fmt: skip
    wait_for(aws, green, "healthy")
    status, _, body = get(where, "/")
    assert status == 200 and json.loads(body)["instance"] in blue_ids.values()
    test_route = http.client.HTTPConnection(*where, timeout=10)
    test_route.request("GET", "/", headers={"X-Green": "1"})
    assert json.loads(test_route.getresponse().read())["instance"] in green_ids.values()
    test_route.close()

    def forward(blue_weight: int, green_weight: int) -> None:
        groups = [{"TargetGroupArn": blue["TargetGroupArn"], "Weight": blue_weight},
                  {"TargetGroupArn": green["TargetGroupArn"], "Weight": green_weight}]  # fmt: skip
        elb.modify_listener(
            ListenerArn=listener["ListenerArn"],
            DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
        )
        time.sleep(0.5)

    for weights in ((90, 10), (50, 50), (0, 100)):
        forward(*weights)
    switched = time.monotonic()
    elb.deregister_targets(
        TargetGroupArn=blue["TargetGroupArn"], Targets=[{"Id": i} for i in blue_ids]
    )
    aws["ec2"].terminate_instances(InstanceIds=list(blue_ids))
    time.sleep(0.5)
    stop.set()
    for poller in pollers:
        poller.join(15)
    assert not failures, failures[:5]
    assert len(seen) > 20
    assert {who for who, _ in seen[:5]} <= set(blue_ids.values())
    after = {who for who, when in seen if when > switched + 0.05}
    assert after and after <= set(green_ids.values())


def test_request_bodies_reach_the_target_plain_and_chunked(aws):
    alb, tg, _ = balancer(aws)
    (iid,) = launch(aws, 1)
    aws["elb"].register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": iid}])
    wait_for(aws, tg, "healthy")
    for chunked in (False, True):
        connection = http.client.HTTPConnection(*served(alb), timeout=10)
        body = iter([b"buy ", b"0.1 BTC"]) if chunked else b"buy 0.1 BTC"
        connection.request("POST", "/orders", body=body, encode_chunked=chunked)
        response = connection.getresponse()
        assert (response.status, response.read()) == (201, b"CTB 1.0 yub")
        connection.close()
