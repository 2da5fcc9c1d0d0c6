"""Chapter 09 · what comes next: SNS → SQS fan-out, Firehose to S3, archival storage, a custom
CloudWatch alarm and Parameter Store (all in eu-west-1).

Judged by intent, not by the chapter's names (the talk fixed none): any topic fanned out to a
queue, any delivery stream to S3, any alarm on a custom metric, any String and SecureString
parameter. The chapter's resources are looked at first, so its messages name them.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from flovtrain._aws import paginate
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist

TITLE = "messaging, streaming, archive, monitoring, parameters"
REGION = "eu-west-1"
TOPIC = "flovtrain-orders"
QUEUE = "flovtrain-orders-billing"
STREAM = "flovtrain-clicks"
ALARM = "flovtrain-orders-backlog"
PARAMETER_STRING = "/flovtrain/shop/db-host"
PARAMETER_SECRET = "/flovtrain/shop/db-password"
ARCHIVE_CLASSES = {"GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"}


def _name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def _allows(policy: str | None, topic_arn: str) -> bool:
    """True when a queue policy has an Allow statement conditioned on the topic's ARN."""
    statements = json.loads(policy).get("Statement", []) if policy else []
    for st in statements if isinstance(statements, list) else [statements]:
        if st.get("Effect") == "Allow" and topic_arn in json.dumps(st.get("Condition", {})):
            return True
    return False


def collect(cl: Checklist, session: boto3.Session) -> None:
    sns = client(session, "sns", REGION)
    sqs = client(session, "sqs", REGION)
    state: dict[str, Any] = {}

    def fanouts() -> list[tuple[str, str, dict]]:
        """(topic ARN, queue name, attributes) of every SQS subscription, the chapter's first."""
        if "fanouts" not in state:
            pairs = [
                (topic["TopicArn"], sub["Endpoint"])
                for topic in paginate(sns, "list_topics", "Topics")
                for sub in paginate(
                    sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic["TopicArn"]
                )
                if sub.get("Protocol") == "sqs"
            ]
            pairs.sort(key=lambda p: (_name(p[0]) != TOPIC, _name(p[1]) != QUEUE))
            found = []
            for topic_arn, queue_arn in pairs:
                try:
                    url = sqs.get_queue_url(QueueName=_name(queue_arn))["QueueUrl"]
                except ClientError:
                    continue  # subscribed, but the queue is gone
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
                found.append((topic_arn, _name(queue_arn), attrs["Attributes"]))
            state["fanouts"] = found
        return state["fanouts"]

    def subscribed() -> str | None:
        if fanouts():
            return None
        return f"no SQS queue in {REGION} is subscribed to an SNS topic (protocol sqs)"

    def policy() -> str | None:
        if not fanouts():
            return "a topic and a queue subscribed to it must exist first"
        if any(_allows(attrs.get("Policy"), topic) for topic, _, attrs in fanouts()):
            return None
        topic, queue, attrs = fanouts()[0]
        if not attrs.get("Policy"):
            return f"{queue} has no queue policy: SNS may not send to it on AWS"
        return f"the policy of {queue} does not allow {_name(topic)} (Condition aws:SourceArn)"

    def stream() -> str | None:
        if "stream" in state:
            return state["stream"]
        firehose = client(session, "firehose", REGION)
        names = firehose.list_delivery_streams().get("DeliveryStreamNames", [])
        state["stream"] = f"no Firehose delivery stream in {REGION}"
        for name in sorted(names, key=lambda n: n != STREAM):
            desc = firehose.describe_delivery_stream(DeliveryStreamName=name)
            for d in desc["DeliveryStreamDescription"].get("Destinations", []):
                s3 = d.get("ExtendedS3DestinationDescription") or d.get("S3DestinationDescription")
                if s3 and s3.get("BucketARN"):
                    state["bucket"], state["stream_name"] = (
                        s3["BucketARN"].split(":::", 1)[-1],
                        name,
                    )
                    state["stream"] = None
                    return None
            state["stream"] = f"{', '.join(names)}: no S3 destination"
        return state["stream"]

    def delivered() -> str | None:
        if stream():
            return "no Firehose delivery stream to S3"
        s3 = client(session, "s3", REGION)
        found = s3.list_objects_v2(Bucket=state["bucket"], MaxKeys=1).get("KeyCount", 0)
        if found:
            return None
        return (
            f"bucket {state['bucket']} of {state['stream_name']} is empty: put_record, then "
            "wait for the buffer (about a minute on AWS)"
        )

    def archive() -> str | None:
        if stream():
            return "no Firehose bucket to archive from (create a delivery stream to S3 first)"
        s3 = client(session, "s3", REGION)
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=state["bucket"]).get("Rules", [])
        except ClientError as exc:
            if "NoSuchLifecycleConfiguration" in str(exc):
                rules = []
            else:
                raise
        for rule in rules:
            classes = {t.get("StorageClass") for t in rule.get("Transitions", [])}
            if rule.get("Status") == "Enabled" and classes & ARCHIVE_CLASSES:
                return None
        return f"bucket {state['bucket']} has no enabled lifecycle rule to a Glacier class"

    def alarm() -> str | None:
        cw = client(session, "cloudwatch", REGION)
        alarms = list(paginate(cw, "describe_alarms", "MetricAlarms"))
        custom = [a for a in alarms if not a.get("Namespace", "AWS/").startswith("AWS/")]
        if any(a["StateValue"] == "ALARM" for a in custom):
            return None
        if not custom:
            return f"no CloudWatch alarm on a custom metric (a namespace not AWS/...) in {REGION}"
        first = sorted(custom, key=lambda a: a["AlarmName"] != ALARM)[0]
        return (
            f"{first['AlarmName']} is {first['StateValue']}: put_metric_data above its "
            "threshold, then wait a moment"
        )

    def parameter(wanted: str) -> str | None:
        ssm = client(session, "ssm", REGION)
        found = [
            p["Name"]
            for p in paginate(
                ssm,
                "describe_parameters",
                "Parameters",
                ParameterFilters=[{"Key": "Type", "Option": "Equals", "Values": [wanted]}],
            )
            if not p["Name"].startswith("/aws/")
        ]
        if found:
            return None
        chapter = PARAMETER_SECRET if wanted == "SecureString" else PARAMETER_STRING
        named = ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [chapter]}]
        ).get("Parameters", [])
        also = f"; {chapter} is a {named[0].get('Type')}, not a {wanted}" if named else ""
        return f"no {wanted} parameter in {REGION}{also}"

    cl.add(
        "an SQS queue is subscribed to an SNS topic",
        subscribed,
        "sns.subscribe(TopicArn=<topic ARN>, Protocol='sqs', Endpoint=<queue ARN>)",
    )
    cl.add(
        "the queue's policy lets the topic send to it",
        policy,
        "sqs.set_queue_attributes(QueueUrl=..., Attributes={'Policy': json.dumps({... "
        "'Principal': {'Service': 'sns.amazonaws.com'}, 'Action': 'sqs:SendMessage', "
        "'Condition': {'ArnEquals': {'aws:SourceArn': <topic ARN>}}})})",
    )
    cl.add(
        "a Firehose delivery stream delivers to S3",
        stream,
        "firehose.create_delivery_stream(DeliveryStreamName=..., "
        "ExtendedS3DestinationConfiguration={'BucketARN': ..., 'RoleARN': ...})",
    )
    cl.add(
        "a record sent to the stream arrived in its bucket",
        delivered,
        "firehose.put_record(DeliveryStreamName=..., Record={'Data': b'...'})",
    )
    cl.add(
        "its bucket archives old objects to a Glacier storage class",
        archive,
        "s3.put_bucket_lifecycle_configuration(Bucket=..., LifecycleConfiguration={'Rules': "
        "[{'ID': 'archive', 'Status': 'Enabled', 'Filter': {'Prefix': ''}, "
        "'Transitions': [{'Days': 30, 'StorageClass': 'GLACIER'}]}]})",
    )
    cl.add(
        "an alarm on a custom metric is in ALARM",
        alarm,
        "cloudwatch.put_metric_alarm(AlarmName=..., Namespace='Flovtec/Shop', ...), then "
        "put_metric_data above the threshold",
    )
    cl.add(
        "a String parameter in Parameter Store",
        lambda: parameter("String"),
        f"ssm.put_parameter(Name='{PARAMETER_STRING}', Value=..., Type='String', Overwrite=True)",
    )
    cl.add(
        "a SecureString parameter in Parameter Store",
        lambda: parameter("SecureString"),
        f"ssm.put_parameter(Name='{PARAMETER_SECRET}', Value=..., Type='SecureString', "
        "Overwrite=True)",
    )
