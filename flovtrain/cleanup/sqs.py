"""Cleanup of SQS: chapter 09's queues (named or tagged)."""

from __future__ import annotations

from flovtrain.cleanup._names import ours, tagged
from flovtrain.cleanup._registry import Found, Kind, Scan, call_with_id, listed, register


def _describe(scan: Scan, region: str, url: str) -> Found:
    name = url.rsplit("/", 1)[-1]
    if ours(name) or tagged(
        scan.client("sqs", region).list_queue_tags(QueueUrl=url).get("Tags", {})
    ):
        return {"chapter": "09", "name": name, "id": url}
    return None


QUEUE = register(
    Kind(
        "sqs queue",
        "sqs",
        order=160,
        list=listed("sqs", "list_queues", "QueueUrls"),
        describe=_describe,
        delete=call_with_id("sqs", "delete_queue", "QueueUrl"),
        removal="delete_queue",
    )
)
