"""Cleanup of EC2: instances (tagged), key pairs and security groups (named or tagged).

What a planned stack owns is left to the stack.
"""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import ours, tagged
from flovtrain.cleanup._registry import Found, Scan, call_with_id, declare, plan_row
from flovtrain.views import ec2


def _instances(scan: Scan, region: str) -> Any:
    return ec2.iter_instances(session=scan.session, region=region)


def _describe_instance(scan: Scan, region: str, instance: dict[str, Any]) -> Found:
    if instance["State"]["Name"] in ("terminated", "shutting-down"):
        return None
    if instance["InstanceId"] in scan.owned(region) or not tagged(instance.get("Tags")):
        return None
    name = ec2.tags(instance).get("Name", "")
    return {
        "chapter": "07" if name.startswith("flovtec-") else "04",
        "name": name,
        "id": instance["InstanceId"],
    }


def _terminate(scan: Scan, row: dict[str, Any]) -> None:
    client = scan.client("ec2", row["region"])
    client.terminate_instances(InstanceIds=[row["id"]])
    # security groups can go only once their instances are gone (a minute or two on AWS)
    client.get_waiter("instance_terminated").wait(
        InstanceIds=[row["id"]], WaiterConfig={"Delay": 5, "MaxAttempts": 60}
    )


def _describe_key_pair(scan: Scan, region: str, key: dict[str, Any]) -> Found:
    name = key["KeyName"]
    if name in scan.owned(region) or key.get("KeyPairId") in scan.owned(region):
        return None
    if ours(name) or tagged(key.get("Tags")):
        return plan_row("04", name, key.get("KeyPairId", name))
    return None


def _describe_group(scan: Scan, region: str, group: dict[str, Any]) -> Found:
    if ours(group["GroupName"]) and group["GroupId"] not in scan.owned(region):
        return plan_row("07", group["GroupName"], group["GroupId"])
    return None


INSTANCE = declare(
    "ec2 instance",
    70,
    _instances,
    _describe_instance,
    _terminate,
    "terminate_instances",
    billable=True,
)
KEY_PAIR = declare(
    "ec2 key pair",
    110,
    ("describe_key_pairs", "KeyPairs"),
    _describe_key_pair,
    call_with_id("ec2", "delete_key_pair", "KeyName", column="name"),
    "delete_key_pair (delete the saved .pem too)",
)
SECURITY_GROUP = declare(
    "ec2 security group",
    120,
    ("describe_security_groups", "SecurityGroups"),
    _describe_group,
    ("delete_security_group", "GroupId"),
    "delete_security_group (after its instances and load balancers are gone)",
)
