"""Chapter 09 · what comes next: SNS → SQS fan-out, Firehose to S3, archival storage, a custom
CloudWatch alarm and Parameter Store (all in eu-west-1)."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from flovtrain._aws import paginate
from flovtrain.checks._aws import client, missing, topic_lookup
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


def collect(cl: Checklist, session: boto3.Session) -> None:
    sns = client(session, "sns", REGION)
    sqs = client(session, "sqs", REGION)
    state: dict[str, Any] = {}

    topic_arn = topic_lookup(sns, TOPIC)

    def queue_arn() -> str | None:
        if "queue" not in state:
            try:
                url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
                state["queue"] = attrs["Attributes"]
            except ClientError as exc:
                if not (missing(exc) or "NonExistentQueue" in str(exc)):
                    raise
                state["queue"] = None
        return (state["queue"] or {}).get("QueueArn")

    def subscribed() -> str | None:
        if not topic_arn():
            return f"no SNS topic {TOPIC} in {REGION}"
        if not queue_arn():
            return f"no SQS queue {QUEUE} in {REGION}"
        subs = paginate(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn())
        if not any(s.get("Protocol") == "sqs" and s.get("Endpoint") == queue_arn() for s in subs):
            return f"{QUEUE} is not subscribed to {TOPIC} (protocol sqs)"
        return None

    def policy() -> str | None:
        if not (topic_arn() and queue_arn()):
            return "the topic and the queue must exist first"
        text = (state["queue"] or {}).get("Policy")
        if not text:
            return f"{QUEUE} has no queue policy: SNS may not send to it on AWS"
        statements = json.loads(text).get("Statement", [])
        for st in statements if isinstance(statements, list) else [statements]:
            if st.get("Effect") == "Allow" and topic_arn() in json.dumps(st.get("Condition", {})):
                return None
        return f"the policy of {QUEUE} does not allow {TOPIC} (Condition aws:SourceArn)"

    def stream() -> str | None:
        firehose = client(session, "firehose", REGION)
        try:
            desc = firehose.describe_delivery_stream(DeliveryStreamName=STREAM)
        except ClientError as exc:
            if missing(exc):
                return f"no Firehose delivery stream {STREAM} in {REGION}"
            raise
        dests = desc["DeliveryStreamDescription"].get("Destinations", [])
        buckets = [
            (
                d.get("ExtendedS3DestinationDescription") or d.get("S3DestinationDescription") or {}
            ).get("BucketARN", "")
            for d in dests
        ]
        buckets = [b.split(":::", 1)[-1] for b in buckets if b]
        if not buckets:
            return f"{STREAM} has no S3 destination"
        state["bucket"] = buckets[0]
        return None

    def delivered() -> str | None:
        if stream() or "bucket" not in state:
            return f"no Firehose delivery stream {STREAM} to S3"
        s3 = client(session, "s3", REGION)
        found = s3.list_objects_v2(Bucket=state["bucket"], MaxKeys=1).get("KeyCount", 0)
        return (
            None
            if found
            else (
                f"bucket {state['bucket']} is empty: put_record, then wait "
                "for the buffer (about a minute on AWS)"
            )
        )

    def archive() -> str | None:
        if stream() or "bucket" not in state:
            return f"no Firehose bucket to archive from (create {STREAM} first)"
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
        found = cw.describe_alarms(AlarmNames=[ALARM]).get("MetricAlarms", [])
        if not found:
            return f"no CloudWatch alarm {ALARM} in {REGION}"
        if found[0].get("Namespace", "").startswith("AWS/"):
            return f"{ALARM} watches {found[0]['Namespace']}: use your own namespace"
        if found[0]["StateValue"] != "ALARM":
            return (
                f"{ALARM} is {found[0]['StateValue']}: put_metric_data above its "
                "threshold, then wait a moment"
            )
        return None

    def parameter(name: str, wanted: str) -> str | None:
        ssm = client(session, "ssm", REGION)
        found = list(
            paginate(
                ssm,
                "describe_parameters",
                "Parameters",
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}],
            )
        )
        if not found:
            return f"no parameter {name} in {REGION}"
        if found[0].get("Type") != wanted:
            return f"{name} is a {found[0].get('Type')}, not a {wanted}"
        return None

    cl.add(
        f"SQS queue {QUEUE} is subscribed to SNS topic {TOPIC}",
        subscribed,
        "sns.subscribe(TopicArn=<topic ARN>, Protocol='sqs', Endpoint=<queue ARN>)",
    )
    cl.add(
        f"the policy of {QUEUE} lets {TOPIC} send to it",
        policy,
        "sqs.set_queue_attributes(QueueUrl=..., Attributes={'Policy': json.dumps({... "
        "'Principal': {'Service': 'sns.amazonaws.com'}, 'Action': 'sqs:SendMessage', "
        "'Condition': {'ArnEquals': {'aws:SourceArn': <topic ARN>}}})})",
    )
    cl.add(
        f"Firehose delivery stream {STREAM} delivers to S3",
        stream,
        "firehose.create_delivery_stream(DeliveryStreamName=..., "
        "ExtendedS3DestinationConfiguration={'BucketARN': ..., 'RoleARN': ...})",
    )
    cl.add(
        f"a record sent to {STREAM} arrived in its bucket",
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
        f"custom-metric alarm {ALARM} is in ALARM",
        alarm,
        "cloudwatch.put_metric_alarm(AlarmName=..., Namespace='Flovtec/Shop', ...), then "
        "put_metric_data above the threshold",
    )
    cl.add(
        f"String parameter {PARAMETER_STRING}",
        lambda: parameter(PARAMETER_STRING, "String"),
        f"ssm.put_parameter(Name='{PARAMETER_STRING}', Value=..., Type='String', Overwrite=True)",
    )
    cl.add(
        f"SecureString parameter {PARAMETER_SECRET}",
        lambda: parameter(PARAMETER_SECRET, "SecureString"),
        f"ssm.put_parameter(Name='{PARAMETER_SECRET}', Value=..., Type='SecureString', "
        "Overwrite=True)",
    )
