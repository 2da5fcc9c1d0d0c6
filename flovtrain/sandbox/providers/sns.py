"""SNS provider: an inbox for every message SNS would e-mail, and in-process publishing.

moto confirms e-mail subscriptions at once but delivers nothing for protocols ``email`` and
``email-json``. We wrap moto's ``Subscription.publish`` so that each such delivery is kept in an
inbox per account and region; ``GET /flovtrain-api/sns/inbox[?endpoint=addr]`` returns every
inbox's messages, in arrival order, as JSON. Every other protocol (SQS, HTTP, Lambda) keeps
moto's behaviour. CreateTopic, Publish and Subscribe refuse a bad topic name, a missing topic and
an unknown protocol with SNS's codes and words.

Other providers (CloudWatch alarm actions, Budgets alerts) publish through :func:`publish`, which
calls moto's SNS backend in-process, so SQS subscribers get the message at once.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict

from flovtrain.sandbox.seam import AwsError, Call, Provider, ProviderBackend, existing

EMAIL_PROTOCOLS = ("email", "email-json")
_PATCH_MARK = "_flovtrain_inbox"


class SnsState(ProviderBackend):
    """The e-mails SNS (and Budgets) sent from one account and region: (arrival, message)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.inbox: list[tuple[int, dict[str, Any]]] = []


STATE: BackendDict = BackendDict(SnsState, "sns")
_inbox_lock = threading.Lock()
_arrivals = itertools.count()  # one order across every inbox: the inbox route merges them


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def deliver_email(
    *,
    account_id: str,
    region: str,
    endpoint: str,
    subject: str | None,
    message: str,
    message_id: str,
    topic_arn: str | None = None,
    subscription_arn: str | None = None,
) -> dict[str, Any]:
    """Put one e-mail into the inbox (used by the SNS hook and by Budgets' direct e-mails)."""
    item = {
        "timestamp": _now_iso(),
        "account_id": account_id,
        "region": region,
        "topic_arn": topic_arn,
        "subscription_arn": subscription_arn,
        "endpoint": endpoint,
        "subject": subject,
        "message": message,
        "message_id": message_id,
    }
    with _inbox_lock:
        STATE[account_id][region].inbox.append((next(_arrivals), item))
    return item


def inbox(endpoint: str | None = None) -> list[dict[str, Any]]:
    """Return every inbox's messages in arrival order, optionally only those to ``endpoint``."""
    with _inbox_lock:
        items = [item for _, item in sorted(e for s in existing(STATE) for e in s.inbox)]
    if endpoint:
        items = [i for i in items if i["endpoint"].lower() == endpoint.lower()]
    return [dict(i) for i in items]


def _email_body(subscription: Any, message: str, message_id: str, subject: str | None) -> str:
    """What the recipient reads: the message (``email``) or SNS's JSON envelope (``email-json``)."""
    if subscription.protocol != "email-json":
        return message
    envelope = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": subscription.topic.arn,
        "Message": message,
        "Timestamp": _now_iso(),
    }
    if subject:
        envelope["Subject"] = subject
    return json.dumps(envelope, indent=2)


def install_inbox_hook() -> None:
    """Wrap moto's ``Subscription.publish`` once so e-mail deliveries land in the inbox."""
    from moto.sns.models import Subscription

    if getattr(Subscription.publish, _PATCH_MARK, False):
        return
    original = Subscription.publish

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if self.protocol not in EMAIL_PROTOCOLS:
            return original(
                self,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
        # same filtering and per-protocol message selection as moto applies to other protocols
        matcher = getattr(self, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        backend = self.topic.sns_backend
        deliver_email(
            account_id=self.topic.account_id,
            region=backend.region_name,
            endpoint=self.endpoint,
            subject=subject,
            message=_email_body(self, message, message_id, subject),
            message_id=message_id,
            topic_arn=self.topic.arn,
            subscription_arn=self.arn,
        )
        return None

    setattr(publish, _PATCH_MARK, True)
    publish.__wrapped__ = original  # type: ignore[attr-defined]
    Subscription.publish = publish  # type: ignore[method-assign]


def publish(
    topic_arn: str, message: str, subject: str | None = None, message_structure: str | None = None
) -> str:
    """Publish to an SNS topic in-process (account and region from the ARN); return the id.

    Raises
    ------
    LookupError
        When the topic does not exist (the caller records a failed action).
    """
    from moto.sns.exceptions import SNSNotFoundError
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    if len(parts) < 6 or parts[2] != "sns":
        raise LookupError(f"{topic_arn} is not an SNS topic ARN")
    region, account_id = parts[3], parts[4]
    if account_id not in dict.keys(sns_backends):
        raise LookupError("Resource not found")
    backend = sns_backends[account_id][region]
    if topic_arn not in backend.topics:
        raise LookupError("Resource not found")
    try:
        return backend.publish(
            message, arn=topic_arn, subject=subject, message_structure=message_structure
        )
    except SNSNotFoundError as exc:
        raise LookupError("Resource not found") from exc


# -- refusing what SNS refuses, in its words -----------------------------------------------
PROTOCOLS = (
    "http",
    "https",
    "email",
    "email-json",
    "sms",
    "sqs",
    "application",
    "lambda",
    "firehose",
)
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _topic_exists(call: Call, arn: str) -> bool:
    from moto.sns.models import sns_backends

    return arn in sns_backends[call.account_id][call.region].topics


def create_topic(call: Call) -> Any:
    """CreateTopic refuses a name SNS does not take with SNS's own short message.

    Examples
    --------
    ``sns.create_topic(Name="bad name")`` answers ``InvalidParameter: Invalid parameter: Topic
    Name`` (moto explains the naming rules instead).
    """
    name = call.params.get("Name") or ""
    fifo = str((call.params.get("Attributes") or {}).get("FifoTopic", "")).lower() == "true"
    base = name[: -len(".fifo")] if fifo and name.endswith(".fifo") else name
    if not _TOPIC_NAME.match(base):
        raise AwsError("InvalidParameter", "Invalid parameter: Topic Name")
    return call.moto()


def publish_to_topic(call: Call) -> Any:
    """Publish to a missing topic is ``NotFound: Topic does not exist`` (moto says Endpoint)."""
    arn = call.params.get("TopicArn")
    if arn and not _topic_exists(call, arn):
        raise AwsError("NotFound", "Topic does not exist", 404)
    return call.moto()


def subscribe(call: Call) -> Any:
    """Subscribe refuses a protocol SNS does not have (moto subscribes any string)."""
    protocol = call.params.get("Protocol") or ""
    arn = call.params.get("TopicArn") or ""
    if _topic_exists(call, arn) and protocol not in PROTOCOLS:
        message = f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}"
        raise AwsError("InvalidParameter", message)
    return call.moto()


def _inbox_route(request: Any) -> Any:
    from werkzeug.wrappers import Response

    items = inbox(request.args.get("endpoint"))
    return Response(json.dumps(items), mimetype="application/json")


def _setup() -> None:
    # patch Subscription.publish when moto first loads SNS (not at import: keeps start fast)
    from flovtrain.sandbox import seam

    seam.after_import("moto.sns.models", install_inbox_hook)


PROVIDER = Provider(
    name="sns",
    response_class="moto.sns.responses.SNSResponse",
    service="sns",
    operations={"CreateTopic": create_topic, "Publish": publish_to_topic, "Subscribe": subscribe},
    routes={"inbox": _inbox_route},
    setup=_setup,
)
