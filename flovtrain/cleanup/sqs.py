"""Cleanup of SQS: chapter 09's queues (named or tagged)."""

from __future__ import annotations

from flovtrain.cleanup._names import ours, tagged
from flovtrain.cleanup._registry import Found, Scan, declare, plan_row


def _describe(scan: Scan, region: str, url: str) -> Found:
    name = url.rsplit("/", 1)[-1]
    if ours(name) or tagged(
        scan.client("sqs", region).list_queue_tags(QueueUrl=url).get("Tags", {})
    ):
        return plan_row("09", name, url)
    return None


QUEUE = declare(
    "sqs queue", 160, ("list_queues", "QueueUrls"), _describe, ("delete_queue", "QueueUrl")
)
