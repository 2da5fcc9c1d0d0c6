"""SNS as tables: topics, subscriptions, and (sandbox only) the e-mail inbox.

The sandbox cannot send e-mail, so it keeps every message SNS would have e-mailed in an inbox;
:func:`inbox` shows it. On real AWS the messages are in your real mailbox: ``inbox`` then
returns an empty frame and warns (so a notebook still runs top to bottom).

Examples
--------
>>> from flovtrain.views import sns
>>> sns.subscriptions(region="us-east-1")      # doctest: +SKIP
>>> sns.inbox("aws1@flovtec.com")              # doctest: +SKIP
"""

from __future__ import annotations

import urllib.parse
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain._aws import paginate
from flovtrain.session import current, get_session
from flovtrain.views._frames import frame, to_utc_column

TOPIC_COLUMNS = ["topic", "arn", "display_name", "subscriptions_confirmed", "subscriptions_pending"]
SUBSCRIPTION_COLUMNS = ["topic", "protocol", "endpoint", "arn", "pending"]
INBOX_COLUMNS = ["time", "to", "subject", "message", "topic"]
PREVIEW_CHARS = 80
#: What real AWS shows instead of a subscription ARN until the recipient confirms.
PENDING = "PendingConfirmation"


def _sns(region: str | None, session: boto3.Session | None) -> Any:
    return get_session(session, region).client("sns", region_name=region)


def _topic_name(arn: str | None) -> str | None:
    return arn.rsplit(":", 1)[-1] if arn else None


def iter_topics(
    region: str | None = None, session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``list_topics`` entries (``TopicArn``).

    Examples
    --------
    >>> [t["TopicArn"] for t in iter_topics("us-east-1")]      # doctest: +SKIP
    ['arn:aws:sns:us-east-1:123456789012:billing-alarm']
    """
    yield from paginate(_sns(region, session), "list_topics", "Topics")


def topics(region: str | None = None, session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the SNS topics of ``region`` with their subscription counts.

    Returns
    -------
    pandas.DataFrame
        Columns ``topic`` (name), ``arn``, ``display_name``, ``subscriptions_confirmed``,
        ``subscriptions_pending``; sorted by topic.

    Examples
    --------
    >>> topics("us-east-1").topic.tolist()         # doctest: +SKIP
    ['billing-alarm']
    """
    client = _sns(region, session)
    rows = []
    for item in iter_topics(region, session):
        attrs = client.get_topic_attributes(TopicArn=item["TopicArn"])["Attributes"]
        rows.append(
            {
                "topic": _topic_name(item["TopicArn"]),
                "arn": item["TopicArn"],
                "display_name": attrs.get("DisplayName", ""),
                "subscriptions_confirmed": int(attrs.get("SubscriptionsConfirmed", 0)),
                "subscriptions_pending": int(attrs.get("SubscriptionsPending", 0)),
            }
        )
    return frame(rows, TOPIC_COLUMNS, sort=["topic", "arn"])


def iter_subscriptions(
    topic_arn: str | None = None, region: str | None = None, session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``list_subscriptions`` (or ``list_subscriptions_by_topic``) entries.

    Examples
    --------
    >>> next(iter_subscriptions(region="us-east-1"))["Protocol"]     # doctest: +SKIP
    'email'
    """
    client = _sns(region, session)
    if topic_arn:
        yield from paginate(
            client, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn
        )
    else:
        yield from paginate(client, "list_subscriptions", "Subscriptions")


def subscriptions(
    topic_arn: str | None = None, region: str | None = None, session: boto3.Session | None = None
) -> pd.DataFrame:
    """Return the subscriptions of one topic or of every topic in ``region``.

    Returns
    -------
    pandas.DataFrame
        Columns ``topic`` (name), ``protocol``, ``endpoint`` (e.g. the e-mail address),
        ``arn`` (None while pending), ``pending`` (True until the recipient confirms);
        sorted by topic, protocol, endpoint.

    Examples
    --------
    >>> subscriptions(region="us-east-1")[["topic", "endpoint", "pending"]]   # doctest: +SKIP
               topic          endpoint  pending
    0  billing-alarm  aws1@flovtec.com    False
    """
    rows = []
    for sub in iter_subscriptions(topic_arn, region, session):
        arn = sub.get("SubscriptionArn")
        pending = arn in (PENDING, "pending confirmation")
        rows.append(
            {
                "topic": _topic_name(sub.get("TopicArn")),
                "protocol": sub.get("Protocol"),
                "endpoint": sub.get("Endpoint"),
                "arn": None if pending else arn,
                "pending": pending,
            }
        )
    return frame(rows, SUBSCRIPTION_COLUMNS, sort=["topic", "protocol", "endpoint"])


def iter_inbox(endpoint: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the sandbox inbox's messages, oldest first (raw JSON items).

    Each item has ``timestamp``, ``account_id``, ``region``, ``topic_arn``,
    ``subscription_arn``, ``endpoint``, ``subject``, ``message``, ``message_id``.

    Raises
    ------
    SandboxOnly
        On real AWS (the mail is in your real mailbox there).

    Examples
    --------
    >>> [m["subject"] for m in iter_inbox("aws1@flovtec.com")]     # doctest: +SKIP
    ['ALARM: "billing-10usd" in US East (N. Virginia)']
    """
    from flovtrain.sandbox import control
    from flovtrain.session import require_sandbox

    require_sandbox("The e-mail inbox")
    query = f"?{urllib.parse.urlencode({'endpoint': endpoint})}" if endpoint else ""
    yield from control.api(f"sns/inbox{query}") or []


def _preview(message: str | None) -> str:
    text = " ".join((message or "").split())  # one line: newlines make tables unreadable
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def inbox(endpoint: str | None = None, full: bool = False) -> pd.DataFrame:
    """Return the e-mails SNS sent in the sandbox, oldest first.

    Parameters
    ----------
    endpoint : str, optional
        Only messages to this address (case-insensitive).
    full : bool
        Keep the whole message instead of a one-line preview.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (UTC), ``to``, ``subject``, ``message`` (a one-line preview of at
        most 80 characters unless ``full``), ``topic`` (name). On real AWS: empty, with a
        warning, and ``attrs["note"]`` saying where the mail went.

    Examples
    --------
    >>> inbox("aws1@flovtec.com")[["to", "subject"]]      # doctest: +SKIP
                     to                                        subject
    0  aws1@flovtec.com  ALARM: "billing-10usd" in US East (N. Virginia)
    """
    if not current().is_sandbox:
        note = (
            "inbox() shows the sandbox's e-mails; on real AWS, SNS e-mails go to the real "
            "mailbox of each subscribed address."
        )
        warnings.warn(note, stacklevel=2)
        df = frame([], INBOX_COLUMNS)
        df.attrs["note"] = note
        return to_utc_column(df, "time")
    rows = [
        {
            "time": m.get("timestamp"),
            "to": m.get("endpoint"),
            "subject": m.get("subject"),
            "message": m.get("message") if full else _preview(m.get("message")),
            "topic": _topic_name(m.get("topic_arn")),
        }
        for m in iter_inbox(endpoint)
    ]
    return to_utc_column(frame(rows, INBOX_COLUMNS), "time")
