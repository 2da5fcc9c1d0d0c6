"""EC2 as a table: the instances that carry a tag (the workbook's, by default).

Examples
--------
>>> from flovtrain.views import ec2
>>> ec2.instances()[["name", "state", "public_ip"]]                        # doctest: +SKIP
>>> ec2.instances("Environment", "PROD", region="us-east-1")               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain import config
from flovtrain._aws import client, paginate
from flovtrain.views._frames import frame

EC2_COLUMNS = ["instance_id", "name", "state", "type", "public_ip", "key_name"]
#: Every state but the ones on the way out (``shutting-down``, ``terminated``).
NOT_TERMINATED = ["pending", "running", "stopping", "stopped"]


def iter_instances(
    filters: list[dict[str, Any]] | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the ``describe_instances`` instances (of every reservation) that match ``filters``.

    Examples
    --------
    >>> running = [{"Name": "instance-state-name", "Values": ["running"]}]
    >>> [i["InstanceId"] for i in iter_instances(running)]                # doctest: +SKIP
    ['i-0123456789abcdef0']
    """
    kwargs = {"Filters": filters} if filters else {}
    for reservation in paginate(
        client("ec2", session, region), "describe_instances", "Reservations", **kwargs
    ):
        yield from reservation.get("Instances", [])


def tags(instance: dict[str, Any]) -> dict[str, str]:
    """Return an instance's (or any resource's) ``Tags`` list as a dict."""
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}


def instances(
    tag_key: str = config.WORKSHOP_TAG_KEY,
    tag_value: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Return EC2 instances carrying tag ``tag_key`` (=``tag_value`` if given), not terminated.

    Sorted by name, then id.

    Examples
    --------
    >>> instances()[["instance_id", "name", "state"]]                     # doctest: +SKIP
    """
    filters = [
        {"Name": "instance-state-name", "Values": NOT_TERMINATED},
        {"Name": f"tag:{tag_key}", "Values": [tag_value]}
        if tag_value
        else {"Name": "tag-key", "Values": [tag_key]},
    ]
    rows = []
    for i in iter_instances(filters, session, region):
        rows.append(
            {
                "instance_id": i["InstanceId"],
                "name": tags(i).get("Name"),
                "state": (i.get("State") or {}).get("Name"),
                "type": i.get("InstanceType"),
                "public_ip": i.get("PublicIpAddress"),
                "key_name": i.get("KeyName"),
            }
        )
    return frame(rows, EC2_COLUMNS, sort=["name", "instance_id"])
