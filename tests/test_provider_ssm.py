"""SSM Run Command in the sandbox: shell commands really run inside an instance's root."""

from __future__ import annotations

import time

import boto3
import pytest

from flovtrain.sandbox import control

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def aws():
    control.reset()
    session = boto3.Session(region_name=REGION)
    c = {n: session.client(n) for n in ("ec2", "ssm")}
    c["instance"] = c["ec2"].run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)[
        "Instances"
    ][0]
    return c


def wait_invocation(ssm, command_id: str, instance_id: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inv = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        if inv["Status"] not in ("Pending", "InProgress", "Delayed"):
            return inv
        time.sleep(0.05)
    raise AssertionError(f"command {command_id} still {inv['Status']}")


def test_commands_run_in_the_instance_root(aws):
    ssm, iid = aws["ssm"], aws["instance"]["InstanceId"]
    cmd = ssm.send_command(
        InstanceIds=[iid],
        DocumentName="AWS-RunShellScript",
        Parameters={
            "commands": [
                "mkdir -p srv/app && echo hi > srv/app/index.html",
                "pwd",
                "echo $FLOVTRAIN_INSTANCE_ADDRESS",
                "cat srv/app/index.html",
            ]
        },
    )["Command"]
    assert cmd["Status"] in ("Pending", "InProgress")
    inv = wait_invocation(ssm, cmd["CommandId"], iid)
    assert inv["Status"] == "Success" and inv["ResponseCode"] == 0
    lines = inv["StandardOutputContent"].splitlines()
    assert lines[0].endswith(f"/instances/{iid}")
    assert lines[1:] == [aws["instance"]["PublicIpAddress"], "hi"]
    listed = ssm.list_command_invocations(CommandId=cmd["CommandId"], Details=True)[
        "CommandInvocations"
    ]
    assert listed[0]["Status"] == "Success"
    assert listed[0]["CommandPlugins"][0]["Output"] == inv["StandardOutputContent"]
    assert ssm.list_commands(CommandId=cmd["CommandId"])["Commands"][0]["Status"] == "Success"


def test_failing_command_and_bad_targets(aws):
    ssm, iid = aws["ssm"], aws["instance"]["InstanceId"]
    cmd = ssm.send_command(
        InstanceIds=[iid],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["echo before", "ls /definitely/not/here", "exit 7"]},
    )["Command"]
    inv = wait_invocation(ssm, cmd["CommandId"], iid)
    assert inv["Status"] == "Failed" and inv["ResponseCode"] == 7
    assert "before" in inv["StandardOutputContent"]
    assert "/definitely/not/here" in inv["StandardErrorContent"]
    with pytest.raises(ssm.exceptions.InvalidInstanceId):
        ssm.send_command(
            InstanceIds=["i-0123456789abcdef0"],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": ["true"]},
        )
    with pytest.raises(ssm.exceptions.InvalidDocument):
        ssm.send_command(
            InstanceIds=[iid],
            DocumentName="AWS-RunPowerShellScript",
            Parameters={"commands": ["dir"]},
        )
