"""Cleanup of Data Firehose: chapter 09's delivery streams (named or tagged)."""

from __future__ import annotations

from flovtrain.cleanup._names import ours, tagged
from flovtrain.cleanup._registry import Found, Scan, declare, listed, plan_row


def _describe(scan: Scan, region: str, name: str) -> Found:
    firehose = scan.client("firehose", region)
    status = firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"
    ]["DeliveryStreamStatus"]
    if status == "DELETING":  # on AWS deletion takes a while: it is on its way out
        return None
    if ours(name) or tagged(
        firehose.list_tags_for_delivery_stream(DeliveryStreamName=name).get("Tags", [])
    ):
        return plan_row("09", name)
    return None


STREAM = declare(
    "firehose delivery stream",
    170,
    listed("firehose", "list_delivery_streams", "DeliveryStreamNames", Limit=1000),
    _describe,
    ("delete_delivery_stream", "DeliveryStreamName"),
)
