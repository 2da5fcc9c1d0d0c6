"""EC2 in the sandbox: each instance has its own loopback address and root folder."""

from __future__ import annotations

import ipaddress
import os
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from flovtrain.sandbox import control

REGION = "eu-west-1"


@pytest.fixture()
def ec2():
    control.reset()
    return boto3.client("ec2", region_name=REGION)


def addresses(ec2) -> dict[str, str]:
    return {
        i["InstanceId"]: i.get("PublicIpAddress")
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
    }


def test_instances_get_unique_loopback_addresses_in_launch_order(ec2):
    first = ec2.run_instances(ImageId="ami-12c6146b", MinCount=3, MaxCount=3)["Instances"]
    second = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"]
    launched = [i["PublicIpAddress"] for i in first + second]
    assert len(set(launched)) == 4
    for address in launched:
        ip = ipaddress.ip_address(address)
        assert ip.is_loopback and address != "127.0.0.1"
    assert addresses(ec2) == {i["InstanceId"]: i["PublicIpAddress"] for i in first + second}
    described = ec2.describe_instances(InstanceIds=[first[0]["InstanceId"]])["Reservations"][0][
        "Instances"
    ][0]
    assert described["PublicDnsName"].startswith(
        "ec2-" + first[0]["PublicIpAddress"].replace(".", "-")
    )
    root = os.path.join(os.environ["FLOVTRAIN_HOME"], "instances", first[0]["InstanceId"])
    assert os.path.isdir(root)

    # a reset sandbox hands out the same addresses again (reproducible notebooks)
    control.reset()
    again = ec2.run_instances(ImageId="ami-12c6146b", MinCount=4, MaxCount=4)["Instances"]
    assert [i["PublicIpAddress"] for i in again] == launched
    assert not os.path.isdir(root) or first[0]["InstanceId"] in {i["InstanceId"] for i in again}


def test_stop_start_keeps_the_address_and_stop_ends_processes(ec2):
    ssm = boto3.client("ssm", region_name=REGION)
    (inst,) = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"]
    iid = inst["InstanceId"]
    cmd = ssm.send_command(
        InstanceIds=[iid],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["nohup sleep 300 > /dev/null 2>&1 &", "echo $! > sleeper.pid"]},
    )["Command"]
    pid_file = os.path.join(os.environ["FLOVTRAIN_HOME"], "instances", iid, "sleeper.pid")
    deadline = time.monotonic() + 10
    while not (os.path.exists(pid_file) and open(pid_file).read().strip()):
        assert time.monotonic() < deadline, "the command never ran"
        time.sleep(0.05)
    pid = int(open(pid_file).read())
    os.kill(pid, 0)  # the background process outlived the command
    assert cmd["CommandId"]

    ec2.stop_instances(InstanceIds=[iid])
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.02)
    ec2.start_instances(InstanceIds=[iid])
    assert addresses(ec2)[iid] == inst["PublicIpAddress"]


def test_an_address_something_listens_on_is_skipped():
    """An app left behind by a killed sandbox must not answer for a new instance."""
    import ipaddress
    import socket

    from flovtrain.sandbox import control

    control.reset()
    ec2 = boto3.client("ec2", region_name="eu-west-1")

    def launch() -> str:
        reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
        instance_id = reservation["Instances"][0]["InstanceId"]
        described = ec2.describe_instances(InstanceIds=[instance_id])
        return described["Reservations"][0]["Instances"][0]["PublicIpAddress"]

    first = launch()
    with socket.socket() as squatter:
        for step in range(1, 30):  # the next free address (another run may hold the very next)
            squatted = str(ipaddress.ip_address(first) + step)
            try:
                squatter.bind((squatted, 8090))
                break
            except OSError:
                continue
        squatter.listen()
        second = launch()
    assert second != squatted
    assert ipaddress.ip_address(second).is_loopback


def _refusal(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_run_instances_refuses_unknown_type_ami_and_key_pair(ec2):
    def run(**extra):
        args = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1, **extra}
        return lambda: ec2.run_instances(**args)

    refusals = [
        (
            {"InstanceType": "t9.mega"},
            "InvalidParameterValue",
            "Invalid value 't9.mega' for InstanceType.",
        ),
        (
            {"ImageId": "ami-00000000"},
            "InvalidAMIID.NotFound",
            "The image id '[ami-00000000]' does not exist",
        ),
        (
            {"ImageId": "ami-x"},
            "InvalidAMIID.Malformed",
            'Invalid id: "ami-x" (expecting "ami-...")',
        ),
        ({"KeyName": "ghost"}, "InvalidKeyPair.NotFound", "The key pair 'ghost' does not exist"),
    ]
    for extra, code, message in refusals:
        assert _refusal(run(**extra)) == (code, message), extra
    assert addresses(ec2) == {}  # nothing was launched
    ec2.create_key_pair(KeyName="mine")
    (inst,) = ec2.run_instances(
        ImageId="ami-12c6146b", InstanceType="t3.micro", KeyName="mine", MinCount=1, MaxCount=1
    )["Instances"]
    assert inst["KeyName"] == "mine"


def test_not_found_messages_name_one_value(ec2):
    ec2.create_key_pair(KeyName="mine")
    code, message = _refusal(lambda: ec2.describe_key_pairs(KeyNames=["mine", "ghost"]))
    assert (code, message) == ("InvalidKeyPair.NotFound", "The key pair 'ghost' does not exist")
    code, message = _refusal(
        lambda: ec2.describe_security_groups(GroupIds=["sg-0123456789abcdef0"])
    )
    assert code == "InvalidGroup.NotFound"
    assert message == "The security group 'sg-0123456789abcdef0' does not exist"


def test_bad_cidr_is_refused_in_aws_words(ec2):
    rule = {"GroupName": "default", "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80}
    code, message = _refusal(
        lambda: ec2.authorize_security_group_ingress(**rule, CidrIp="10.0.0.0/33")
    )
    assert code == "InvalidParameterValue"
    assert message == (
        "Value (10.0.0.0/33) for parameter cidrIp is invalid. This is not a valid CIDR block."
    )
    ec2.authorize_security_group_ingress(**rule, CidrIp="192.0.2.0/24")  # a valid one passes
