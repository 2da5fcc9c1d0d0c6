"""SSH into sandbox instances with the real OpenSSH client: the key pair's key, ec2-user, scp."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import boto3
import pytest

from flovtrain.sandbox import control
from flovtrain.sandbox.engines.frontdoor import endpoints

REGION = "eu-west-1"
AMI = "ami-12c6146b"
pytestmark = pytest.mark.skipif(not shutil.which("ssh"), reason="needs the OpenSSH client")
OPTIONS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
]


@pytest.fixture()
def ec2():
    control.reset()
    return boto3.client("ec2", region_name=REGION)


def port() -> int:
    # the sandbox runs as this user: same rule for whether 22 can be bound
    return endpoints.local_port(22)


def pem(tmp_path: Path, material: str, name: str = "key.pem") -> Path:
    path = tmp_path / name
    path.write_text(material)
    path.chmod(0o600)  # OpenSSH refuses a private key others can read
    return path


def ssh(key: Path, target: str, command: str, **kwargs) -> subprocess.CompletedProcess:
    user_host = target if "@" in target else f"ec2-user@{target}"
    return subprocess.run(
        ["ssh", *OPTIONS, "-p", str(port()), "-i", str(key), user_host, command],
        capture_output=True,
        text=True,
        timeout=30,
        **kwargs,
    )


def launch(ec2, key_name: str | None) -> dict:
    extra = {"KeyName": key_name} if key_name else {}
    (inst,) = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, **extra)["Instances"]
    return inst


def wait_refused(key: Path, address: str) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + 10
    while True:
        result = ssh(key, address, "true")
        if result.returncode == 255 or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_created_key_pair_logs_in_as_ec2_user_into_the_instance(ec2, tmp_path):
    material = ec2.create_key_pair(KeyName="flovtrain-webapp-key")["KeyMaterial"]
    key = pem(tmp_path, material)
    inst = launch(ec2, "flovtrain-webapp-key")
    address, iid = inst["PublicIpAddress"], inst["InstanceId"]

    result = ssh(key, address, 'pwd; echo "$USER $FLOVTRAIN_INSTANCE_ID"; echo oops >&2; exit 3')
    assert result.returncode == 3, result.stderr
    root = Path(os.environ["FLOVTRAIN_HOME"]) / "instances" / iid
    assert result.stdout.splitlines() == [str(root), f"ec2-user {iid}"]
    assert result.stderr == "oops\n"

    status = control.status()
    if "endpoints" in status:  # listed once the sandbox reports its endpoints (issue #10, item 1)
        served = [e for e in status["endpoints"] if e["kind"] == "ssh" and e["name"] == iid]
        assert served == [
            {"kind": "ssh", "name": iid, "address": address, "port": port(), "aws_port": 22}
        ]

    # stdin reaches the command: a file written on "the instance" lands in its folder
    written = ssh(key, address, "cat > note.txt && wc -c < note.txt", input="hello\n")
    assert written.stdout.strip() == "6"
    assert (root / "note.txt").read_text() == "hello\n"


def test_wrong_key_or_user_is_refused_as_openssh_refuses(ec2, tmp_path):
    material = ec2.create_key_pair(KeyName="right")["KeyMaterial"]
    other = ec2.create_key_pair(KeyName="other")["KeyMaterial"]
    right, wrong = pem(tmp_path, material), pem(tmp_path, other, "other.pem")
    address = launch(ec2, "right")["PublicIpAddress"]

    assert ssh(right, address, "true").returncode == 0
    for key, target in ((wrong, address), (right, f"root@{address}")):
        refused = ssh(key, target, "touch pwned")
        assert refused.returncode == 255
        assert refused.stderr.strip().endswith("Permission denied (publickey).")
    # no key pair at launch: nothing listens, as with an instance whose port 22 is closed
    bare = launch(ec2, None)["PublicIpAddress"]
    assert "Connection refused" in ssh(right, bare, "true").stderr


def test_imported_key_pair_and_scp_both_ways(ec2, tmp_path):
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "mine")], check=True
    )
    public = (tmp_path / "mine.pub").read_text()
    ec2.import_key_pair(KeyName="mine", PublicKeyMaterial=public.encode())
    inst = launch(ec2, "mine")
    address, key = inst["PublicIpAddress"], tmp_path / "mine"
    root = Path(os.environ["FLOVTRAIN_HOME"]) / "instances" / inst["InstanceId"]
    (tmp_path / "index.html").write_text("<h1>v2</h1>\n")
    scp = ["scp", *OPTIONS, "-P", str(port()), "-i", str(key)]

    up = subprocess.run(
        [*scp, str(tmp_path / "index.html"), f"ec2-user@{address}:/var/www/"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert up.returncode == 1  # /var/www does not exist yet on the instance
    assert ssh(key, address, "mkdir -p var/www").returncode == 0
    up = subprocess.run(
        [*scp, str(tmp_path / "index.html"), f"ec2-user@{address}:/var/www/"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert up.returncode == 0, up.stderr
    assert (root / "var/www/index.html").read_text() == "<h1>v2</h1>\n"
    for legacy in ([], ["-O"]):  # SFTP (OpenSSH 9's default) and the old scp protocol
        target = tmp_path / f"copy{len(legacy)}.html"
        down = subprocess.run(
            [*scp, *legacy, f"ec2-user@{address}:/var/www/index.html", str(target)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert down.returncode == 0, down.stderr
        assert target.read_text() == "<h1>v2</h1>\n"


def test_stop_start_terminate_and_reset_close_the_server(ec2, tmp_path):
    key = pem(tmp_path, ec2.create_key_pair(KeyName="k")["KeyMaterial"])
    inst = launch(ec2, "k")
    address, iid = inst["PublicIpAddress"], inst["InstanceId"]
    assert ssh(key, address, "true").returncode == 0

    ec2.stop_instances(InstanceIds=[iid])
    assert "Connection refused" in wait_refused(key, address).stderr
    ec2.start_instances(InstanceIds=[iid])
    # the key pair's deletion does not lock the running instance out (authorized_keys stays)
    ec2.delete_key_pair(KeyName="k")
    assert ssh(key, address, "true").returncode == 0
    ec2.terminate_instances(InstanceIds=[iid])
    assert "Connection refused" in wait_refused(key, address).stderr

    key2 = pem(tmp_path, ec2.create_key_pair(KeyName="k2")["KeyMaterial"], "k2.pem")
    again = launch(ec2, "k2")["PublicIpAddress"]
    assert ssh(key2, again, "true").returncode == 0
    control.reset()
    assert "Connection refused" in wait_refused(key2, again).stderr


def test_a_stack_key_pair_pem_from_parameter_store_opens_the_stack_instance(ec2, tmp_path):
    """Chapter 05's path: CloudFormation made the key pair; its private key is in SSM."""
    template = {
        "Resources": {
            "KeyPair": {"Type": "AWS::EC2::KeyPair", "Properties": {"KeyName": "stack-key"}},
            "WebApp": {
                "Type": "AWS::EC2::Instance",
                "Properties": {"ImageId": AMI, "KeyName": {"Ref": "KeyPair"}},
            },
        }
    }
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="ssh-stack", TemplateBody=json.dumps(template))
    resources = cfn.describe_stack_resources(StackName="ssh-stack")["StackResources"]
    iid = next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "WebApp")
    key_id = ec2.describe_key_pairs(KeyNames=["stack-key"])["KeyPairs"][0]["KeyPairId"]
    ssm = boto3.client("ssm", region_name=REGION)
    material = ssm.get_parameter(Name=f"/ec2/keypair/{key_id}", WithDecryption=True)
    key = pem(tmp_path, material["Parameter"]["Value"] + "\n")
    address = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0][
        "PublicIpAddress"
    ]
    result = ssh(key, address, "echo $FLOVTRAIN_INSTANCE_ID")
    assert (result.returncode, result.stdout.strip()) == (0, iid), result.stderr
