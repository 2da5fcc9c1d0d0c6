"""Cleanup of SNS: chapter 03's billing topic and chapter 09's topics, and their subscriptions.

Subscriptions are found through the topics found (a confirmed one goes first: ``unsubscribe``).
"""

from __future__ import annotations

from typing import Any

from flovtrain._aws import paginate
from flovtrain.cleanup._names import BILLING_TOPIC, ours, tags_say_ours
from flovtrain.cleanup._registry import Found, Kind, Scan, call_with_id, listed, register, rows_of


def _describe_topic(scan: Scan, region: str, topic: dict[str, Any]) -> Found:
    arn = topic["TopicArn"]
    name = arn.rsplit(":", 1)[-1]
    if not (
        name == BILLING_TOPIC
        or ours(name)
        or tags_say_ours(scan.client("sns", region).list_tags_for_resource, ResourceArn=arn)
    ):
        return None
    return {"chapter": "03" if name == BILLING_TOPIC else "09", "name": name, "id": arn}


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


SUBSCRIPTION = register(
    Kind(
        "sns subscription",
        "sns",
        order=10,
        list=rows_of("sns topic"),
        describe=_describe_subscriptions,
        delete=call_with_id("sns", "unsubscribe", "SubscriptionArn"),
        removal="unsubscribe",
    )
)
TOPIC = register(
    Kind(
        "sns topic",
        "sns",
        order=150,
        list=listed("sns", "list_topics", "Topics"),
        describe=_describe_topic,
        delete=call_with_id("sns", "delete_topic", "TopicArn"),
        removal="delete_topic",
    )
)
