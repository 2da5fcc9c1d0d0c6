"""The names the chapters give their resources, and how the cleanup tells AWS's answers apart.

A resource is the workbook's when its name starts with one of :data:`PREFIXES` (or is one of the
fixed names below) or when it carries the tag ``flovtrain:workshop``. An error whose code is in
:data:`GONE` (or that says "does not exist" / "not found") means the thing is not there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from flovtrain import config
from flovtrain._aws import error_code

# -- the names the chapters use --------------------------------------------------------------
#: Every name the workbook gives its own resources starts with one of these (chapters 04, 07, 09).
PREFIX = "flovtrain-"
PREFIXES = (PREFIX, "flovtec-")
USERS = ("imre", "john", "visitor")
GROUPS = ("system-admins",)
ROOT_MFA_DEVICE = "root-account-mfa-device"
BILLING_TOPIC = "billing-alerts"
BILLING_ALARMS = ("billing-over-10-usd", "billing-over-10-usd-in-ireland")
BUDGETS = ("monthly-cost-budget",)
BUCKET_PREFIXES = PREFIXES
WORKGROUPS = ("capped",)
GLUE_DATABASES = ("marketdata",)
PARAMETER_PATH = "/flovtrain/"
#: Build and delivery logs of every project the chapters name (04: flovtrain-…, 07: flovtec-…).
LOG_GROUP_PREFIXES = tuple(
    f"/aws/{service}/{prefix}"
    for service in ("codebuild", "kinesisfirehose")
    for prefix in PREFIXES
)

#: Error codes that mean "it is not there (any more)".
GONE = {
    "NoSuchBucket",
    "NoSuchEntity",
    "NotFound",
    "NotFoundException",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "InvalidInstanceID.NotFound",
    "InvalidKeyPair.NotFound",
    "ParameterNotFound",
    "EntityNotFoundException",
    "404",
    "NoSuchKey",
    "PipelineNotFoundException",
    "ApplicationDoesNotExistException",
    "DBInstanceNotFound",
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "InvalidGroup.NotFound",
    "NoSuchHostedZone",
    "TrailNotFoundException",
}
#: Error codes of a list call that mean "this account or region does not offer the service".
UNAVAILABLE = {"UnrecognizedClientException", "OptInRequired", "SubscriptionRequiredException"}


def gone(exc: ClientError) -> bool:
    """True when AWS answered that the thing is not there (any more)."""
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) in GONE or "does not exist" in message or "not found" in message


def why(exc: ClientError) -> str:
    """``<code>: <message>`` of an AWS error, as the ``result`` column shows it."""
    return f"{error_code(exc)}: {exc.response.get('Error', {}).get('Message')}"


def ours(name: str) -> bool:
    """True when ``name`` starts with a prefix the workbook uses."""
    return name.startswith(PREFIXES)


def tagged(tags: Any) -> bool:
    """True when ``tags`` (a list of Key/Value dicts, or a dict) holds the workshop tag key."""
    if isinstance(tags, dict):
        return config.WORKSHOP_TAG_KEY in tags
    return any((t.get("Key") or t.get("key")) == config.WORKSHOP_TAG_KEY for t in tags or [])


def tags_say_ours(
    call: Callable[..., dict[str, Any]], tags_key: str = "Tags", **kwargs: Any
) -> bool:
    """True when the tags ``call(**kwargs)`` answers hold the workshop tag key.

    An error (no tags, or a resource in a region we cannot read) means: not ours.
    """
    try:
        return tagged(call(**kwargs).get(tags_key, []))
    except ClientError:
        return False
