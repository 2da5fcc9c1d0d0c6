"""CodeDeploy in the sandbox: revisions from S3 really run their hooks on the sandbox instances."""

from __future__ import annotations

import io
import json
import socket
import time
import urllib.request
import zipfile

import boto3
import pytest
from provider_fixtures import profile_of, with_unique_name

from flovtrain.sandbox import control

REGION = "eu-west-1"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

APPSPEC = """version: 0.0
os: linux
files:
  - source: site
    destination: /srv/app
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
      timeout: 10
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 10
  ValidateService:
    - location: scripts/validate.sh
      timeout: 10
"""
STOP = """#!/bin/bash
if [ -f "$FLOVTRAIN_INSTANCE_ROOT/srv/app.pid" ]; then
  kill "$(cat "$FLOVTRAIN_INSTANCE_ROOT/srv/app.pid")" 2>/dev/null || true
  sleep 0.2
fi
"""
START = """#!/bin/bash
cd "$FLOVTRAIN_INSTANCE_ROOT/srv/app"
echo "starting $APPLICATION_NAME/$DEPLOYMENT_GROUP_NAME $DEPLOYMENT_ID in $LIFECYCLE_EVENT"
nohup python -m http.server {port} --bind "$FLOVTRAIN_INSTANCE_ADDRESS" > ../app.log 2>&1 &
echo $! > "$FLOVTRAIN_INSTANCE_ROOT/srv/app.pid"
"""
VALIDATE = """#!/bin/bash
for i in $(seq 50); do
  if python -c "{probe}" 2>/dev/null; then
    echo "service answers"; exit 0
  fi
  if ! kill -0 "$(cat "$FLOVTRAIN_INSTANCE_ROOT/srv/app.pid")" 2>/dev/null; then
    echo "the app exited:" >&2; cat "$FLOVTRAIN_INSTANCE_ROOT/srv/app.log" >&2; exit 1
  fi
  sleep 0.1
done
echo "no answer on port {port}" >&2; exit 1
"""


PROBE = (
    "import urllib.request as u, os; u.build_opener(u.ProxyHandler({{}})).open("
    "'http://' + os.environ['FLOVTRAIN_INSTANCE_ADDRESS'] + ':{port}/', timeout=1)"
)


def bundle(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


def app_bundle(page: str, port: int, appspec: str = APPSPEC, **extra: str) -> bytes:
    files = {
        "appspec.yml": appspec,
        "site/index.html": page,
        "scripts/stop.sh": STOP,
        "scripts/start.sh": START.format(port=port),
        "scripts/validate.sh": VALIDATE.format(port=port, probe=PROBE.format(port=port)),
    }
    files.update(extra)
    return bundle(files)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, timeout: float = 2.0) -> str:
    with OPENER.open(url, timeout=timeout) as response:
        return response.read().decode()


def wait_deployment(cd, deployment_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info
        time.sleep(0.05)
    raise AssertionError(f"deployment {deployment_id} still {info['status']} after {timeout}s")


@pytest.fixture(scope="module")
def clients():
    control.reset()  # once per module: a reset after EC2 use costs moto ~4 s
    session = boto3.Session(region_name=REGION)
    clients = {name: session.client(name) for name in ("s3", "ec2", "codedeploy", "iam")}
    clients["profile"] = profile_of(session, ["revs"])  # the agent reads revs
    return clients


@pytest.fixture()
def aws(clients):
    """Clients plus a tag value no other test's instances carry."""
    return with_unique_name(clients, "tag", "web")


def make_group(aws, app="web", group="web-group", tag=None) -> None:
    tag = tag or ("app", aws["tag"])
    aws["codedeploy"].create_application(applicationName=app + aws["tag"], computePlatform="Server")
    aws["codedeploy"].create_deployment_group(
        applicationName=app + aws["tag"],
        deploymentGroupName=group,
        serviceRoleArn="arn:aws:iam::123456789012:role/cd",
        ec2TagFilters=[{"Key": tag[0], "Value": tag[1], "Type": "KEY_AND_VALUE"}],
    )


def launch(aws, count=1, tags=None) -> list[dict]:
    tags = tags or (("app", aws["tag"]),)
    r = aws["ec2"].run_instances(
        ImageId="ami-12c6146b",
        MinCount=count,
        MaxCount=count,
        InstanceType="t2.micro",
        IamInstanceProfile=aws["profile"],
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags]}
        ],
    )
    return r["Instances"]


def ensure_bucket(aws, name="revs") -> None:
    s3 = aws["s3"]
    try:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


def deploy(aws, data: bytes, key="rev.zip", app="web", group="web-group") -> str:
    app += aws["tag"]
    ensure_bucket(aws)
    aws["s3"].put_object(Bucket="revs", Key=key, Body=data)
    return aws["codedeploy"].create_deployment(
        applicationName=app,
        deploymentGroupName=group,
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "revs", "key": key, "bundleType": "zip"},
        },
    )["deploymentId"]


def test_deployment_serves_the_page_on_the_instance_address(aws):
    port = free_port()
    make_group(aws)
    tagged = launch(aws, 2)
    other = launch(aws, 1, tags=(("app", "other"),))
    cd = aws["codedeploy"]

    dep = deploy(aws, app_bundle("<h1>v1</h1>", port))
    assert dep.startswith("d-")
    info = wait_deployment(cd, dep)
    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert info["deploymentOverview"]["Succeeded"] == 2
    assert "errorInformation" not in info
    assert sorted(cd.list_deployment_instances(deploymentId=dep)["instancesList"]) == sorted(
        i["InstanceId"] for i in tagged
    )
    for inst in tagged:
        assert fetch(f"http://{inst['PublicIpAddress']}:{port}/index.html") == "<h1>v1</h1>"
    with pytest.raises(OSError):
        fetch(f"http://{other[0]['PublicIpAddress']}:{port}/index.html", timeout=0.5)

    summary = cd.get_deployment_instance(deploymentId=dep, instanceId=tagged[0]["InstanceId"])[
        "instanceSummary"
    ]
    events = {e["lifecycleEventName"]: e for e in summary["lifecycleEvents"]}
    assert list(events) == [
        "ApplicationStop",
        "DownloadBundle",
        "BeforeInstall",
        "Install",
        "AfterInstall",
        "ApplicationStart",
        "ValidateService",
    ]
    assert all(e["status"] == "Succeeded" for e in events.values())
    assert (
        f"starting web{aws['tag']}/web-group {dep} in ApplicationStart"
        in events["ApplicationStart"]["diagnostics"]["logTail"]
    )
    assert "service answers" in events["ValidateService"]["diagnostics"]["logTail"]
    assert events["ApplicationStart"]["startTime"] <= events["ApplicationStart"]["endTime"]

    # a second revision: ApplicationStop of the first stops the old server, the new one serves
    dep2 = deploy(aws, app_bundle("<h1>v2</h1>", port), key="rev2.zip")
    assert wait_deployment(cd, dep2)["status"] == "Succeeded"
    assert fetch(f"http://{tagged[0]['PublicIpAddress']}:{port}/index.html") == "<h1>v2</h1>"
    assert set(
        cd.list_deployments(applicationName="web" + aws["tag"], deploymentGroupName="web-group")[
            "deployments"
        ]
    ) == {dep, dep2}
    revisions = cd.list_application_revisions(applicationName="web" + aws["tag"])["revisions"]
    assert [r["s3Location"]["key"] for r in revisions] == ["rev.zip", "rev2.zip"]
    group = cd.get_deployment_group(
        applicationName="web" + aws["tag"], deploymentGroupName="web-group"
    )["deploymentGroupInfo"]
    assert group["lastSuccessfulDeployment"]["deploymentId"] == dep2

    # terminating an instance stops the app its hooks started
    aws["ec2"].terminate_instances(InstanceIds=[tagged[0]["InstanceId"]])
    with pytest.raises(OSError):
        fetch(f"http://{tagged[0]['PublicIpAddress']}:{port}/index.html", timeout=0.5)
    assert fetch(f"http://{tagged[1]['PublicIpAddress']}:{port}/index.html") == "<h1>v2</h1>"


def test_failing_hook_fails_the_deployment_with_its_output(aws):
    make_group(aws)
    launch(aws)
    cd = aws["codedeploy"]
    broken = APPSPEC.replace("scripts/validate.sh", "scripts/check.sh")
    dep = deploy(
        aws,
        app_bundle(
            "x",
            free_port(),
            appspec=broken,
            **{
                "scripts/check.sh": (
                    "#!/bin/bash\necho checking the app\necho 'config missing' >&2\nexit 3\n"
                )
            },
        ),
    )
    info = wait_deployment(cd, dep)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "SCRIPT_FAILED"
    assert "scripts/check.sh" in info["errorInformation"]["message"]
    assert "exit code 3" in info["errorInformation"]["message"]
    assert "config missing" in info["errorInformation"]["message"]
    inst = cd.list_deployment_instances(deploymentId=dep)["instancesList"][0]
    events = cd.get_deployment_instance(deploymentId=dep, instanceId=inst)["instanceSummary"][
        "lifecycleEvents"
    ]
    validate = events[-1]
    assert validate["status"] == "Failed"
    assert validate["diagnostics"]["errorCode"] == "ScriptFailed"
    assert validate["diagnostics"]["scriptName"] == "scripts/check.sh"
    assert "[stdout]checking the app" in validate["diagnostics"]["logTail"]
    assert "[stderr]config missing" in validate["diagnostics"]["logTail"]


@pytest.mark.parametrize(
    "files, message",
    [
        ({"readme.txt": "no appspec"}, "did not find an AppSpec file"),
        ({"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  - bad: [\n"}, "not valid YAML"),
        ({"appspec.yml": "version: 1.0\nos: linux\n"}, "invalid version value (1.0)"),
    ],
)
def test_missing_or_invalid_appspec(aws, files, message):
    make_group(aws)
    launch(aws)
    cd = aws["codedeploy"]
    info = wait_deployment(cd, deploy(aws, bundle(files)))
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "INVALID_REVISION"
    assert message in info["errorInformation"]["message"]


def test_port_already_taken_shows_in_the_hook_output(aws):
    port = free_port()
    make_group(aws)
    (inst,) = launch(aws)
    with socket.socket() as squatter:
        squatter.bind((inst["PublicIpAddress"], port))
        squatter.listen()
        info = wait_deployment(aws["codedeploy"], deploy(aws, app_bundle("x", port)))
    assert info["status"] == "Failed"
    assert "Address already in use" in info["errorInformation"]["message"]


def test_no_matching_instance_and_refused_revisions(aws):
    make_group(aws)
    launch(aws, tags=(("app", "other"),))
    cd = aws["codedeploy"]
    info = wait_deployment(cd, deploy(aws, app_bundle("x", free_port())))
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "NO_INSTANCES"
    with pytest.raises(cd.exceptions.InvalidRevisionException, match="GitHub"):
        cd.create_deployment(
            applicationName="web" + aws["tag"],
            deploymentGroupName="web-group",
            revision={
                "revisionType": "GitHub",
                "gitHubLocation": {"repository": "a/b", "commitId": "1" * 40},
            },
        )


def test_missing_bundle_and_stop_deployment(aws):
    make_group(aws)
    launch(aws)
    cd = aws["codedeploy"]
    ensure_bucket(aws)
    dep = cd.create_deployment(
        applicationName="web" + aws["tag"],
        deploymentGroupName="web-group",
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "revs", "key": "nope.zip", "bundleType": "zip"},
        },
    )["deploymentId"]
    info = wait_deployment(cd, dep)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "REVISION_MISSING"
    assert "nope.zip" in info["errorInformation"]["message"]

    slow = APPSPEC.replace(
        "scripts/start.sh\n      timeout: 10", "scripts/slow.sh\n      timeout: 30"
    )
    dep = deploy(
        aws,
        app_bundle(
            "x", free_port(), appspec=slow, **{"scripts/slow.sh": "#!/bin/bash\nsleep 20\n"}
        ),
    )
    time.sleep(0.5)
    assert cd.stop_deployment(deploymentId=dep)["status"] == "Pending"
    started = time.monotonic()
    info = wait_deployment(cd, dep, timeout=10)
    assert time.monotonic() - started < 5
    assert info["status"] == "Stopped"
    with pytest.raises(cd.exceptions.DeploymentAlreadyCompletedException):
        cd.stop_deployment(deploymentId=dep)


def test_hook_timeout_and_configs(aws):
    make_group(aws)
    launch(aws)
    cd = aws["codedeploy"]
    slow = APPSPEC.replace(
        "scripts/start.sh\n      timeout: 10", "scripts/slow.sh\n      timeout: 1"
    )
    info = wait_deployment(
        cd,
        deploy(
            aws,
            app_bundle(
                "x",
                free_port(),
                appspec=slow,
                **{"scripts/slow.sh": "#!/bin/bash\necho waiting\nsleep 20\n"},
            ),
        ),
    )
    assert info["status"] == "Failed"
    assert "failed to complete in 1 seconds" in info["errorInformation"]["message"]
    assert "CodeDeployDefault.OneAtATime" in cd.list_deployment_configs()["deploymentConfigsList"]
    cfg = cd.get_deployment_config(deploymentConfigName="CodeDeployDefault.AllAtOnce")
    assert cfg["deploymentConfigInfo"]["minimumHealthyHosts"] == {"type": "HOST_COUNT", "value": 0}


def test_register_and_get_application_revision(aws):
    make_group(aws)
    cd = aws["codedeploy"]
    rev = {
        "revisionType": "S3",
        "s3Location": {"bucket": "revs", "key": "a.zip", "bundleType": "zip", "eTag": "abc"},
    }
    app = "web" + aws["tag"]
    cd.register_application_revision(applicationName=app, revision=rev, description="first")
    got = cd.get_application_revision(applicationName=app, revision=rev)
    assert got["revisionInfo"]["description"] == "first"
    assert got["revisionInfo"]["deploymentGroups"] == []
    other = json.loads(json.dumps(rev))
    other["s3Location"]["key"] = "b.zip"
    with pytest.raises(cd.exceptions.RevisionDoesNotExistException):
        cd.get_application_revision(applicationName=app, revision=other)
    assert cd.list_application_revisions(applicationName=app, deployed="exclude")["revisions"] == [
        rev
    ]
    with pytest.raises(cd.exceptions.ApplicationDoesNotExistException):
        cd.list_application_revisions(applicationName="nope")


def test_unknown_deployment_config_is_refused(aws):
    from botocore.exceptions import ClientError

    cd = aws["codedeploy"]
    app = "configs" + aws["tag"]
    cd.create_application(applicationName=app, computePlatform="Server")
    role = "arn:aws:iam::123456789012:role/cd"
    with pytest.raises(ClientError) as err:
        cd.create_deployment_group(
            applicationName=app,
            deploymentGroupName="g",
            deploymentConfigName="Ghost.Config",
            serviceRoleArn=role,
        )
    assert err.value.response["Error"]["Code"] == "DeploymentConfigDoesNotExistException"
    assert err.value.response["Error"]["Message"] == (
        "No deployment configuration found for name: Ghost.Config"
    )
    assert cd.list_deployment_groups(applicationName=app)["deploymentGroups"] == []
    cd.create_deployment_group(
        applicationName=app,
        deploymentGroupName="g",
        deploymentConfigName="CodeDeployDefault.HalfAtATime",
        serviceRoleArn=role,
    )
    info = cd.get_deployment_group(applicationName=app, deploymentGroupName="g")
    assert info["deploymentGroupInfo"]["deploymentConfigName"] == "CodeDeployDefault.HalfAtATime"
