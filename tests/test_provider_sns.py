"""SNS provider: e-mails land in the sandbox inbox; other protocols keep moto's behaviour."""

from __future__ import annotations

import json

import boto3
import pytest
from provider_fixtures import subscribe_queue

from flovtrain.sandbox import control

REGION = "eu-west-1"


pytestmark = pytest.mark.usefixtures("clean_sandbox")


@pytest.fixture
def sns():
    return boto3.client("sns", region_name=REGION)


def _inbox(endpoint: str | None = None) -> list[dict]:
    return control.api("sns/inbox" + (f"?endpoint={endpoint}" if endpoint else ""))


def test_publish_reaches_email_inbox_in_order(sns):
    topic = sns.create_topic(Name="news")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ana@example.com")
    ids = [
        sns.publish(TopicArn=topic, Subject=f"hello {i}", Message=f"body {i}")["MessageId"]
        for i in range(3)
    ]
    items = _inbox()
    assert [i["subject"] for i in items] == ["hello 0", "hello 1", "hello 2"]
    assert [i["message_id"] for i in items] == ids
    first = items[0]
    assert first["message"] == "body 0"
    assert first["endpoint"] == "ana@example.com"
    assert first["topic_arn"] == topic
    assert first["subscription_arn"] == sub["SubscriptionArn"]
    assert first["account_id"] == "123456789012" and first["region"] == REGION
    assert first["timestamp"].endswith("Z")


def test_inbox_filters_by_endpoint_and_email_json_gets_envelope(sns):
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ana@example.com")
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="bot@example.com")
    message_id = sns.publish(TopicArn=topic, Subject="s", Message="m")["MessageId"]
    assert len(_inbox()) == 2
    [bot] = _inbox("bot@example.com")
    envelope = json.loads(bot["message"])
    assert envelope["Type"] == "Notification"
    assert envelope["Message"] == "m" and envelope["Subject"] == "s"
    assert envelope["MessageId"] == message_id and envelope["TopicArn"] == topic
    assert [i["message"] for i in _inbox("ana@example.com")] == ["m"]
    assert _inbox("nobody@example.com") == []


def test_message_structure_and_filter_policy_apply_to_email(sns):
    topic = sns.create_topic(Name="news")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ana@example.com")
    sns.set_subscription_attributes(
        SubscriptionArn=sub["SubscriptionArn"],
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"kind": ["billing"]}),
    )
    sns.publish(
        TopicArn=topic,
        Message="skipped",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "other"}},
    )
    sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "plain", "email": "for e-mail"}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "billing"}},
    )
    assert [i["message"] for i in _inbox()] == ["for e-mail"]


def test_sqs_subscribers_still_get_messages(sns):
    topic = sns.create_topic(Name="news")["TopicArn"]
    receive = subscribe_queue(topic, "q", REGION)
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ana@example.com")
    sns.publish(TopicArn=topic, Message="both")
    body = receive()[0]
    assert body["Message"] == "both"
    assert [i["message"] for i in _inbox()] == ["both"]


def test_reset_clears_inbox(sns):
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ana@example.com")
    sns.publish(TopicArn=topic, Message="x")
    assert len(_inbox()) == 1
    control.reset()
    assert _inbox() == []


def test_hook_is_installed_once():
    from moto.sns.models import Subscription

    from flovtrain.sandbox.providers import sns as provider

    provider.install_inbox_hook()
    first = Subscription.publish
    provider.install_inbox_hook()
    assert Subscription.publish is first
    assert not getattr(first.__wrapped__, "_flovtrain_inbox", False)


def _refusal(call) -> tuple[str, str]:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_bad_topic_name_missing_topic_and_unknown_protocol_are_refused(sns):
    assert _refusal(lambda: sns.create_topic(Name="bad name")) == (
        "InvalidParameter",
        "Invalid parameter: Topic Name",
    )
    fifo = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})
    assert fifo["TopicArn"].endswith(":orders.fifo")
    ghost = f"arn:aws:sns:{REGION}:123456789012:ghost"
    assert _refusal(lambda: sns.publish(TopicArn=ghost, Message="hi")) == (
        "NotFound",
        "Topic does not exist",
    )
    topic = sns.create_topic(Name="news")["TopicArn"]
    assert _refusal(lambda: sns.subscribe(TopicArn=topic, Protocol="pigeon", Endpoint="x")) == (
        "InvalidParameter",
        "Invalid parameter: Amazon SNS does not support this protocol string: pigeon",
    )
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
