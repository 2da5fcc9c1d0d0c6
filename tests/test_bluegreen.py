"""CodeDeploy blue/green on EC2: green is installed, takes the ALB's traffic, blue goes — and a
client polling the load balancer the whole time sees no failed request."""

from __future__ import annotations

import io
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from provider_fixtures import profile_of

import flovtrain
from flovtrain.sandbox import control
from flovtrain.sandbox.engines.frontdoor import endpoints

REGION = "us-east-1"
AMI = "ami-12c6146b"
PORT = 8090
BLUE_GREEN = {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

APPSPEC = """version: 0.0
os: linux
files:
  - source: site
    destination: /srv/site
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
  ApplicationStart:
    - location: scripts/start.sh
  ValidateService:
    - location: scripts/validate.sh
      timeout: 20
  BeforeBlockTraffic:
    - location: scripts/note.sh
  AfterAllowTraffic:
    - location: scripts/note.sh
"""
STOP = """#!/bin/bash
pid="$FLOVTRAIN_INSTANCE_ROOT/srv/app.pid"
if [ -f "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null || true; sleep 0.2; fi
"""
START = f"""#!/bin/bash
cd "$FLOVTRAIN_INSTANCE_ROOT/srv/site"
nohup python -m http.server {PORT} --bind "$FLOVTRAIN_INSTANCE_ADDRESS" > ../app.log 2>&1 &
echo $! > "$FLOVTRAIN_INSTANCE_ROOT/srv/app.pid"
"""
VALIDATE = f"""#!/bin/bash
for i in $(seq 100); do
  if python -c "import urllib.request as u, os; u.build_opener(u.ProxyHandler({{}})).open(
'http://' + os.environ['FLOVTRAIN_INSTANCE_ADDRESS'] + ':{PORT}/health', timeout=1)" 2>/dev/null
  then echo "answers"; exit 0; fi
  sleep 0.1
done
echo "no answer" >&2; exit 1
"""
NOTE = """#!/bin/bash
echo "$LIFECYCLE_EVENT on $FLOVTRAIN_INSTANCE_ID"
"""


def revision(version: str, validate: str = VALIDATE) -> bytes:
    """An app bundle whose page is ``version`` (served by python -m http.server)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in {
            "appspec.yml": APPSPEC,
            "site/index.html": version,
            "site/health": "ok",
            "scripts/stop.sh": STOP,
            "scripts/start.sh": START,
            "scripts/validate.sh": validate,
            "scripts/note.sh": NOTE,
        }.items():
            archive.writestr(name, text)
    return buf.getvalue()


@pytest.fixture()
def aws() -> Iterator[dict]:
    """A fresh sandbox with an ALB (80 -> target group on 8090) and a CodeDeploy app."""
    control.reset()
    flovtrain.connect(quiet=True)
    session = boto3.Session(region_name=REGION)
    ec2, elb = session.client("ec2"), session.client("elbv2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    alb = elb.create_load_balancer(
        Name="bg-alb", Subnets=[s["SubnetId"] for s in subnets["Subnets"]][:2]
    )["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name="bg-tg", Protocol="HTTP", Port=PORT, VpcId=vpc["VpcId"],
        HealthCheckPath="/health", HealthCheckIntervalSeconds=5,
    )["TargetGroups"][0]  # fmt: skip
    elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )  # fmt: skip
    s3, cd = session.client("s3"), session.client("codedeploy")
    s3.create_bucket(Bucket="bg-revisions")
    cd.create_application(applicationName="bg-app", computePlatform="Server")
    cd.create_deployment_group(
        applicationName="bg-app", deploymentGroupName="in-place",
        serviceRoleArn="arn:aws:iam::123456789012:role/cd",
        ec2TagFilters=[{"Key": "Environment", "Value": "PROD", "Type": "KEY_AND_VALUE"}],
    )  # fmt: skip
    profile = profile_of(session, ["bg-revisions"])
    yield {"ec2": ec2, "elb": elb, "s3": s3, "cd": cd, "alb": alb, "tg": tg, "profile": profile}
    control.reset()


def launch(aws: dict, **tags: str) -> str:
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    return aws["ec2"].run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
        IamInstanceProfile=aws["profile"],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}],
    )["Instances"][0]["InstanceId"]  # fmt: skip


def deploy(aws: dict, group: str, data: bytes, **extra) -> str:
    key = f"rev-{time.monotonic_ns()}.zip"
    aws["s3"].put_object(Bucket="bg-revisions", Key=key, Body=data)
    return aws["cd"].create_deployment(
        applicationName="bg-app", deploymentGroupName=group,
        revision={"revisionType": "S3",
                  "s3Location": {"bucket": "bg-revisions", "key": key, "bundleType": "zip"}},
        **extra,
    )["deploymentId"]  # fmt: skip


def wait_status(aws: dict, deployment_id: str, wanted: tuple[str, ...], timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = aws["cd"].get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] in wanted:
            return info
        time.sleep(0.05)
    raise AssertionError(f"{deployment_id} still {info['status']}: {info.get('errorInformation')}")


def health(aws: dict) -> dict[str, str]:
    found = aws["elb"].describe_target_health(TargetGroupArn=aws["tg"]["TargetGroupArn"])
    return {
        t["Target"]["Id"]: t["TargetHealth"]["State"] for t in found["TargetHealthDescriptions"]
    }


def serving_blue(aws: dict) -> str:
    """A PROD instance running version "blue" behind the load balancer, healthy."""
    blue = launch(aws, Environment="PROD", Name="bg-blue")
    info = wait_status(aws, deploy(aws, "in-place", revision("blue")), ("Succeeded", "Failed"))
    assert info["status"] == "Succeeded", info.get("errorInformation")
    aws["elb"].register_targets(
        TargetGroupArn=aws["tg"]["TargetGroupArn"], Targets=[{"Id": blue, "Port": PORT}]
    )
    deadline = time.monotonic() + 20
    while health(aws).get(blue) != "healthy":
        assert time.monotonic() < deadline, health(aws)
        time.sleep(0.1)
    return blue


def blue_green_group(aws: dict, name: str = "blue-green", **config) -> None:
    settings = {
        "greenFleetProvisioningOption": {"action": "DISCOVER_EXISTING"},
        "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        "terminateBlueInstancesOnDeploymentSuccess": {
            "action": "TERMINATE", "terminationWaitTimeInMinutes": 0},
        **config.pop("settings", {}),
    }  # fmt: skip
    aws["cd"].create_deployment_group(
        applicationName="bg-app", deploymentGroupName=name,
        serviceRoleArn="arn:aws:iam::123456789012:role/cd",
        ec2TagFilters=[{"Key": "Environment", "Value": "PROD", "Type": "KEY_AND_VALUE"}],
        deploymentStyle=BLUE_GREEN,
        loadBalancerInfo={"targetGroupInfoList": [{"name": aws["tg"]["TargetGroupName"]}]},
        blueGreenDeploymentConfiguration=settings, **config,
    )  # fmt: skip


class Poller:
    """GETs the load balancer's page without pause, from DescribeLoadBalancers' DNS name."""

    def __init__(self, aws: dict) -> None:
        (address,) = flovtrain.resolve(aws["alb"]["DNSName"])
        self.url = f"http://{address}:{endpoints.local_port(80)}/"
        self.bodies: list[str] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with OPENER.open(self.url, timeout=10) as response:
                    self.bodies.append(response.read().decode())
            except (urllib.error.URLError, OSError) as exc:
                self.failures.append(repr(exc))

    def __enter__(self) -> Poller:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(15)


def _events(aws: dict, deployment_id: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    cd = aws["cd"]
    ids = cd.list_deployment_targets(deploymentId=deployment_id)["targetIds"]
    out = {}
    for iid in ids:
        summary = cd.get_deployment_instance(deploymentId=deployment_id, instanceId=iid)
        s = summary["instanceSummary"]
        events = [(e["lifecycleEventName"], e["status"]) for e in s["lifecycleEvents"]]
        out[iid] = (s["instanceType"], events)
    return out


def test_blue_green_moves_the_traffic_to_green_without_a_failed_request(aws):
    blue = serving_blue(aws)
    blue_green_group(aws)
    green = launch(aws, Environment="PROD", Slot="green", Name="bg-green")
    with Poller(aws) as poller:
        time.sleep(0.5)
        deployment = deploy(
            aws,
            "blue-green",
            revision("green"),
            targetInstances={
                "tagFilters": [{"Key": "Slot", "Value": "green", "Type": "KEY_AND_VALUE"}]
            },
        )
        info = wait_status(aws, deployment, ("Succeeded", "Failed", "Stopped"))
        time.sleep(0.5)
    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert poller.failures == [] and len(poller.bodies) > 20
    assert poller.bodies[0] == "blue" and set(poller.bodies[-5:]) == {"green"}
    assert set(poller.bodies) == {"blue", "green"}
    # what GetDeployment shows of a blue/green deployment
    assert info["deploymentStyle"] == BLUE_GREEN
    assert info["blueGreenDeploymentConfiguration"]["terminateBlueInstancesOnDeploymentSuccess"][
        "action"] == "TERMINATE"  # fmt: skip
    assert info["instanceTerminationWaitTimeStarted"] is True
    events = _events(aws, deployment)
    assert events[green][0] == "Green" and events[blue][0] == "Blue"
    assert [n for n, _ in events[green][1]][-3:] == [
        "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]  # fmt: skip
    assert events[blue][1] == [
        ("BeforeBlockTraffic", "Succeeded"), ("BlockTraffic", "Succeeded"),
        ("AfterBlockTraffic", "Succeeded")]  # fmt: skip
    assert all(status == "Succeeded" for _, status in events[green][1])
    # blue is terminated; the target group routes to green only (blue may still be draining)
    state = aws["ec2"].describe_instances(InstanceIds=[blue])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "terminated"
    assert {i for i, s in health(aws).items() if s != "draining"} == {green}
    assert health(aws)[green] == "healthy"


def test_green_failing_validate_service_leaves_the_traffic_on_blue(aws):
    blue = serving_blue(aws)
    blue_green_group(aws)
    green = launch(aws, Environment="PROD", Slot="green")
    broken = "#!/bin/bash\necho 'green does not answer' >&2\nexit 3\n"
    with Poller(aws) as poller:
        deployment = deploy(
            aws,
            "blue-green",
            revision("green", validate=broken),
            targetInstances={"tagFilters": [{"Key": "Slot", "Value": "green"}]},
        )
        info = wait_status(aws, deployment, ("Succeeded", "Failed", "Stopped"))
        time.sleep(0.5)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "SCRIPT_FAILED"
    assert "ValidateService failed" in info["errorInformation"]["message"]
    assert poller.failures == [] and set(poller.bodies) == {"blue"}
    assert health(aws) == {blue: "healthy"}  # green never joined the target group
    events = _events(aws, deployment)
    assert dict(events[green][1])["AllowTraffic"] == "Skipped"
    assert all(status == "Skipped" for _, status in events[blue][1])
    state = aws["ec2"].describe_instances(InstanceIds=[blue])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "running"


def test_stop_deployment_waits_ready_for_continue_and_keep_alive_keeps_blue(aws):
    blue = serving_blue(aws)
    blue_green_group(aws, name="copying", autoScalingGroups=["bg-asg"], settings={
        "greenFleetProvisioningOption": {"action": "COPY_AUTO_SCALING_GROUP"},
        "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60},
        "terminateBlueInstancesOnDeploymentSuccess": {"action": "KEEP_ALIVE"}})  # fmt: skip
    cd = aws["cd"]
    with Poller(aws) as poller:
        deployment = deploy(aws, "copying", revision("green"))
        wait_status(aws, deployment, ("Ready",))
        assert set(poller.bodies) == {"blue"}  # green is installed, and takes no traffic yet
        with pytest.raises(ClientError) as not_yet:
            cd.continue_deployment(deploymentId=deployment, deploymentWaitType="TERMINATION_WAIT")
        assert not_yet.value.response["Error"]["Code"] == "DeploymentIsNotInReadyStateException"
        cd.continue_deployment(deploymentId=deployment, deploymentWaitType="READY_WAIT")
        info = wait_status(aws, deployment, ("Succeeded", "Failed", "Stopped"))
        time.sleep(0.3)
    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert poller.failures == [] and poller.bodies[-1] == "green"
    (green,) = [i for i, (kind, _) in _events(aws, deployment).items() if kind == "Green"]
    tags = aws["ec2"].describe_instances(InstanceIds=[green])["Reservations"][0]["Instances"][0]
    assert {"Key": "Environment", "Value": "PROD"} in tags["Tags"]  # a copy of blue
    state = aws["ec2"].describe_instances(InstanceIds=[blue])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "running"  # KEEP_ALIVE: deregistered, not terminated
    assert {i for i, s in health(aws).items() if s != "draining"} == {green}
    with pytest.raises(ClientError) as done:
        cd.continue_deployment(deploymentId=deployment)
    assert done.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"loadBalancerInfo": None}, "InvalidLoadBalancerInfoException",
         "The deploymentOption value is set to WITH_TRAFFIC_CONTROL, but either no load "
         "balancer was specified in elbInfoList or no target group was specified in "
         "targetGroupInfoList."),
        ({"blueGreenDeploymentConfiguration": {
            "greenFleetProvisioningOption": {"action": "COPY_AUTO_SCALING_GROUP"}}},
         "InvalidBlueGreenDeploymentConfigurationException",
         "Exactly one AutoScaling group must be specifed when selecting the "
         "COPY_AUTO_SCALING_GROUP green fleet provisioning option."),
    ],
)  # fmt: skip
def test_blue_green_groups_aws_refuses(aws, changes, code, message):
    params = {
        "applicationName": "bg-app", "deploymentGroupName": "refused",
        "serviceRoleArn": "arn:aws:iam::123456789012:role/cd",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN",
                            "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "loadBalancerInfo": {"targetGroupInfoList": [{"name": "bg-tg"}]},
    }  # fmt: skip
    params.update(changes)
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(ClientError) as refused:
        aws["cd"].create_deployment_group(**params)
    assert refused.value.response["Error"]["Code"] == code
    assert message in refused.value.response["Error"]["Message"]
    groups = aws["cd"].list_deployment_groups(applicationName="bg-app")["deploymentGroups"]
    assert "refused" not in groups


def test_discover_existing_without_target_instances_fails_with_a_clear_error(aws):
    blue = serving_blue(aws)
    blue_green_group(aws)
    info = wait_status(aws, deploy(aws, "blue-green", revision("green")), ("Failed",))
    assert info["errorInformation"]["code"] == "NO_INSTANCES"
    assert "targetInstances" in info["errorInformation"]["message"]
    assert health(aws) == {blue: "healthy"}


def test_ready_wait_times_out_to_stopped_and_termination_wait_can_be_cut_short(aws):
    blue = serving_blue(aws)
    ready = {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 1}
    blue_green_group(aws, name="waits-1-minute", settings={"deploymentReadyOption": ready})
    green = launch(aws, Environment="PROD", Slot="green")
    select_green = {"tagFilters": [{"Key": "Slot", "Value": "green", "Type": "KEY_AND_VALUE"}]}
    deployment = deploy(aws, "waits-1-minute", revision("green"), targetInstances=select_green)
    info = wait_status(aws, deployment, ("Succeeded", "Failed", "Stopped"))
    assert info["status"] == "Stopped"  # nobody continued within the (scaled) minute
    assert info["errorInformation"]["code"] == "TIMEOUT"
    assert health(aws) == {blue: "healthy"}
    # terminate blue only after an hour, unless someone says go on
    blue_green_group(aws, name="waits-an-hour", settings={
        "terminateBlueInstancesOnDeploymentSuccess": {
            "action": "TERMINATE", "terminationWaitTimeInMinutes": 60}})  # fmt: skip
    deployment = deploy(aws, "waits-an-hour", revision("green"), targetInstances=select_green)

    def termination_wait() -> bool:
        info = aws["cd"].get_deployment(deploymentId=deployment)["deploymentInfo"]
        return info["instanceTerminationWaitTimeStarted"] and info["status"] == "InProgress"

    deadline = time.monotonic() + 60
    while not termination_wait():
        assert time.monotonic() < deadline, "the deployment never reached its termination wait"
        time.sleep(0.05)
    assert {i for i, s in health(aws).items() if s != "draining"} == {green}
    aws["cd"].continue_deployment(deploymentId=deployment, deploymentWaitType="TERMINATION_WAIT")
    info = wait_status(aws, deployment, ("Succeeded", "Failed", "Stopped"), timeout=10)
    assert info["status"] == "Succeeded", info.get("errorInformation")
    state = aws["ec2"].describe_instances(InstanceIds=[blue])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "terminated"
