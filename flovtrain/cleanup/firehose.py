"""Cleanup of Data Firehose: chapter 09's delivery streams (named or tagged)."""

from __future__ import annotations

from flovtrain.cleanup._names import ours, tagged
from flovtrain.cleanup._registry import Found, Kind, Scan, call_with_id, listed, register


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
        return {"chapter": "09", "name": name, "id": name}
    return None


STREAM = register(
    Kind(
        "firehose delivery stream",
        "firehose",
        order=170,
        list=listed(
            "firehose", "list_delivery_streams", "DeliveryStreamNames", paged=False, Limit=1000
        ),
        describe=_describe,
        delete=call_with_id("firehose", "delete_delivery_stream", "DeliveryStreamName"),
        removal="delete_delivery_stream",
    )
)
