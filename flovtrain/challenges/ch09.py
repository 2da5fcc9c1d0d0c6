"""Chapter 09 · what comes next: the fan-out's subscribers, a lifecycle rule, a SecureString."""

from __future__ import annotations

import re

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, names, number, paginate

REGION = "eu-west-1"
ORDERS_TOPIC = "flovtrain-orders"
RULE = "archive-clicks"
PARAMS = "/flovtrain/shop/"


def _subscribers(answer: object, session: boto3.Session) -> str | None:
    sns = client(session, "sns", REGION)
    topics = [t["TopicArn"] for t in paginate(sns, "list_topics", "Topics")]
    topic = next((t for t in topics if t.rsplit(":", 1)[-1] == ORDERS_TOPIC), None)
    if topic is None:
        return f"there is no topic {ORDERS_TOPIC} in {REGION}: run section 1"
    subs = paginate(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic)
    expected = {s["Endpoint"] for s in subs}
    given = names(answer)
    if given == expected:
        return None
    if topic in given:
        return "that is the topic itself; its subscribers are the endpoints of its subscriptions"
    if any(re.match(r"https?://", g) for g in given):
        return "those are queue URLs; SNS subscribes a queue by its ARN"
    if given - expected:
        return f"not subscribed to {ORDERS_TOPIC}: {', '.join(sorted(given - expected))}"
    return f"{len(expected - given)} subscriber(s) missing"


def _expiration(answer: object, session: boto3.Session) -> str | None:
    account = client(session, "sts").get_caller_identity()["Account"]
    bucket = f"flovtrain-firehose-{account}-{REGION}"
    rules = client(session, "s3", REGION).get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    rule = next((r for r in rules if r.get("ID") == RULE), None)
    if rule is None:
        return f"the bucket has no lifecycle rule {RULE}: run section 3"
    days = (rule.get("Expiration") or {}).get("Days")
    given = number(answer)
    if given is None:
        return f"{answer!r} is not a number of days"
    if given == days:
        return None
    moved = {t["Days"]: t["StorageClass"] for t in rule.get("Transitions", [])}
    if given in moved:
        return f"after {given:g} days objects move to {moved[given]}; the Expiration deletes them"
    return f"the rule does not delete objects after {given:g} days"


def _secure(answer: object, session: boto3.Session) -> str | None:
    ssm = client(session, "ssm", REGION)
    # no WithDecryption: the names and types are all we need, the secret stays encrypted
    found = {
        p["Name"]: p["Type"]
        for p in paginate(ssm, "get_parameters_by_path", "Parameters", Path=PARAMS, Recursive=True)
    }
    expected = {name for name, kind in found.items() if kind == "SecureString"}
    if not expected:
        return f"there is no SecureString under {PARAMS}: run section 5"
    given = names(answer)
    if given == expected:
        return None
    plain = sorted(g for g in given if found.get(g) == "String")
    if plain:
        return f"{', '.join(plain)} is a String: stored and shown in clear"
    return f"not the SecureString parameter(s) under {PARAMS}"


CHALLENGES = [
    Challenge(
        "09.1",
        f"Which endpoints are subscribed to {ORDERS_TOPIC}?",
        _subscribers,
        "sns.list_subscriptions_by_topic(TopicArn=topic_arn)['Subscriptions']: Endpoint",
    ),
    Challenge(
        "09.2",
        "After how many days does the lifecycle rule delete a click?",
        _expiration,
        "s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)['Rules']: Expiration",
    ),
    Challenge(
        "09.3",
        f"Which parameter under {PARAMS} is a SecureString?",
        _secure,
        "ssm.get_parameters_by_path(Path=PARAMS): Name and Type (no WithDecryption needed)",
    ),
]
