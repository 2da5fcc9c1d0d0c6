"""CloudFormation as tables: what a stack created and what happened while it did; and waiting
until a stack is gone.

Examples
--------
>>> from flovtrain.views import cloudformation
>>> cloudformation.stack_resources("flovtrain-webapp")[["logical_id", "type"]]   # doctest: +SKIP
>>> cloudformation.stack_events("flovtrain-webapp").head()                      # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import ClientError

from flovtrain._aws import client, paginate
from flovtrain.exceptions import ProjectFailed, ProjectTimeout
from flovtrain.views._frames import frame, renamed, to_utc_column

#: The columns of :func:`stack_resources` and the keys of ``list_stack_resources`` they show.
RESOURCE_FIELDS = {
    "logical_id": "LogicalResourceId",
    "type": "ResourceType",
    "physical_id": "PhysicalResourceId",
    "status": "ResourceStatus",
}
#: The columns of :func:`stack_events` and the keys of ``describe_stack_events`` they show.
STACK_EVENT_FIELDS = {
    "time": "Timestamp",
    "logical_id": "LogicalResourceId",
    "type": "ResourceType",
    "status": "ResourceStatus",
    "reason": "ResourceStatusReason",
}
RESOURCE_COLUMNS = list(RESOURCE_FIELDS)
STACK_EVENT_COLUMNS = list(STACK_EVENT_FIELDS)
#: Seconds between two looks while waiting.
POLL_SECONDS = 0.2


def iter_stack_resources(
    stack: str, session: boto3.Session | None = None, region: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``list_stack_resources`` summaries of ``stack``.

    Examples
    --------
    >>> [r["ResourceType"] for r in iter_stack_resources("flovtrain-webapp")][:1]  # doctest: +SKIP
    ['AWS::CodeBuild::Project']
    """
    cfn = client("cloudformation", session, region)
    yield from paginate(cfn, "list_stack_resources", "StackResourceSummaries", StackName=stack)


def stack_resources(
    stack: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return what the stack created (CodeStar's *Project resources*), by logical id.

    Sorted by logical id.

    Examples
    --------
    >>> stack_resources("flovtrain-webapp")[["logical_id", "type", "status"]]  # doctest: +SKIP
    """
    rows = (renamed(r, RESOURCE_FIELDS) for r in iter_stack_resources(stack, session, region))
    return frame(rows, RESOURCE_COLUMNS, sort=["logical_id"])


def iter_stack_events(
    stack: str, session: boto3.Session | None = None, region: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``describe_stack_events`` events of ``stack``, newest first.

    Examples
    --------
    >>> next(iter_stack_events("flovtrain-webapp"))["ResourceStatus"]   # doctest: +SKIP
    'CREATE_COMPLETE'
    """
    cfn = client("cloudformation", session, region)
    yield from paginate(cfn, "describe_stack_events", "StackEvents", StackName=stack)


def stack_events(
    stack: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the stack's events, newest first (what happened while it was created).

    Examples
    --------
    >>> stack_events("flovtrain-webapp")[["logical_id", "status"]]   # doctest: +SKIP
    """
    rows = (renamed(e, STACK_EVENT_FIELDS) for e in iter_stack_events(stack, session, region))
    return to_utc_column(frame(rows, STACK_EVENT_COLUMNS), "time")


def wait_for_stack_deleted(
    stack: str,
    timeout: float = 300,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> None:
    """Wait until ``stack`` (a name or a stack id) is deleted, or was never there.

    Parameters
    ----------
    stack : str
        The stack's name, or its id (an id also finds a stack deleted already).
    timeout : float
        Seconds.
    session : boto3.Session, optional
        Default: the current connection.
    region : str, optional
        Default: the session's region.

    Raises
    ------
    ProjectFailed
        The deletion failed (``DELETE_FAILED``): a resource could not be deleted.
    ProjectTimeout
        Still there after ``timeout`` seconds.

    Examples
    --------
    >>> boto3.client("cloudformation").delete_stack(StackName="flovtrain-webapp")  # doctest: +SKIP
    >>> wait_for_stack_deleted("flovtrain-webapp")                                # doctest: +SKIP
    """
    cfn = client("cloudformation", session, region)
    deadline = time.monotonic() + timeout
    while True:
        try:
            stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return
            raise
        status = next(
            (s["StackStatus"] for s in stacks if s.get("StackStatus") != "DELETE_COMPLETE"),
            "DELETE_COMPLETE",
        )
        if status == "DELETE_COMPLETE":
            return
        if status == "DELETE_FAILED":
            raise ProjectFailed(
                f"stack {stack} is DELETE_FAILED: look at its events "
                f"(devtools.stack_events({stack!r})), fix the resource that "
                "could not be deleted, then delete the stack again"
            )
        if time.monotonic() > deadline:
            raise ProjectTimeout(f"stack {stack} is still {status} after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
