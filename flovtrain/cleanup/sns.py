"""Cleanup of SNS: chapter 03's billing topic and chapter 09's topics, and their subscriptions.

Subscriptions are found through the topics found (a confirmed one goes first: ``unsubscribe``).
"""

from __future__ import annotations

from typing import Any

from flovtrain._aws import paginate
from flovtrain.cleanup._names import BILLING_TOPIC, ours, tags_say_ours
from flovtrain.cleanup._registry import Found, Scan, declare, plan_row, rows_of


def _describe_topic(scan: Scan, region: str, topic: dict[str, Any]) -> Found:
    arn = topic["TopicArn"]
    name = arn.rsplit(":", 1)[-1]
    if not (
        name == BILLING_TOPIC
        or ours(name)
        or tags_say_ours(scan.client("sns", region).list_tags_for_resource, ResourceArn=arn)
    ):
        return None
    return plan_row("03" if name == BILLING_TOPIC else "09", name, arn)


def _describe_subscriptions(scan: Scan, region: str, topic: dict[str, Any]) -> Found:
    rows = []
    for sub in paginate(
        scan.client("sns", region),
        "list_subscriptions_by_topic",
        "Subscriptions",
        TopicArn=topic["id"],
    ):
        if sub["SubscriptionArn"].startswith("arn:"):  # pending ones cannot be unsubscribed
            rows.append(
                {
                    "chapter": topic["chapter"],
                    "id": sub["SubscriptionArn"],
                    "name": f"{topic['name']} → {sub['Protocol']}:"
                    f"{sub['Endpoint'].rsplit(':', 1)[-1]}",
                }
            )
    return rows


SUBSCRIPTION = declare(
    "sns subscription",
    10,
    rows_of("sns topic"),
    _describe_subscriptions,
    ("unsubscribe", "SubscriptionArn"),
)
TOPIC = declare(
    "sns topic", 150, ("list_topics", "Topics"), _describe_topic, ("delete_topic", "TopicArn")
)
