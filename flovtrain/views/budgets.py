"""AWS Budgets as tables: budgets with actual and forecast spend, and their notifications.

Budgets is a global service (endpoint in us-east-1); every call needs the account id.

Examples
--------
>>> from flovtrain.views import budgets
>>> budgets.budgets()                                 # doctest: +SKIP
>>> budgets.budget_notifications("monthly-20usd")     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import ClientError

from flovtrain._aws import error_code, paginate
from flovtrain.session import current, get_session
from flovtrain.views._frames import frame

BUDGET_COLUMNS = ["name", "type", "time_unit", "limit", "actual", "forecast", "unit"]
NOTIFICATION_COLUMNS = [
    "notification_type",
    "comparison",
    "threshold",
    "threshold_type",
    "state",
    "subscribers",
]
BUDGETS_REGION = "us-east-1"
#: Shown when the sandbox cannot list a notification's subscribers.
SUBSCRIBERS_UNKNOWN = "(not listed by the sandbox)"

COMPARISONS = {"GREATER_THAN": ">", "LESS_THAN": "<", "EQUAL_TO": "="}


def _budgets(session: boto3.Session | None) -> tuple[Any, str]:
    boto = get_session(session, BUDGETS_REGION)
    account = boto.client("sts").get_caller_identity()["Account"]
    return boto.client("budgets", region_name=BUDGETS_REGION), account


def _amount(spend: dict[str, Any] | None) -> float | None:
    return float(spend["Amount"]) if spend and spend.get("Amount") not in (None, "") else None


def iter_budgets(session: boto3.Session | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``describe_budgets`` entries of the caller's account.

    Examples
    --------
    >>> [b["BudgetName"] for b in iter_budgets()]       # doctest: +SKIP
    ['monthly-20usd']
    """
    client, account = _budgets(session)
    yield from paginate(client, "describe_budgets", "Budgets", AccountId=account)


def budgets(session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the account's budgets with limit, actual and forecast spend.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``type`` (COST, USAGE, ...), ``time_unit`` (MONTHLY, ...), ``limit``,
        ``actual``, ``forecast`` (floats) and ``unit`` (USD); sorted by name.

    Examples
    --------
    >>> budgets()[["name", "limit", "actual"]]           # doctest: +SKIP
                name  limit  actual
    0  monthly-20usd   20.0     0.0
    """
    rows = []
    for budget in iter_budgets(session):
        spend = budget.get("CalculatedSpend") or {}
        limit = budget.get("BudgetLimit") or {}
        rows.append(
            {
                "name": budget["BudgetName"],
                "type": budget.get("BudgetType"),
                "time_unit": budget.get("TimeUnit"),
                "limit": _amount(limit),
                "actual": _amount(spend.get("ActualSpend")),
                "forecast": _amount(spend.get("ForecastedSpend")),
                "unit": limit.get("Unit"),
            }
        )
    return frame(rows, BUDGET_COLUMNS, sort=["name"])


def iter_budget_notifications(
    name: str, session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield a budget's notifications, each with its ``Subscribers`` list added.

    ``Subscribers`` is None where the sandbox cannot list them (moto lacks the operation).

    Examples
    --------
    >>> next(iter_budget_notifications("monthly-20usd"))["Threshold"]     # doctest: +SKIP
    80.0
    """
    client, account = _budgets(session)
    for note in paginate(
        client,
        "describe_notifications_for_budget",
        "Notifications",
        AccountId=account,
        BudgetName=name,
    ):
        try:
            subscribers = list(
                paginate(
                    client,
                    "describe_subscribers_for_notification",
                    "Subscribers",
                    AccountId=account,
                    BudgetName=name,
                    Notification=note,
                )
            )
        except ClientError as exc:
            # moto 5.2.5 has no DescribeSubscribersForNotification (HTTP 500): say so, in the
            # sandbox only; a real error on AWS must surface
            if not (current().is_sandbox and error_code(exc) in ("500", "InternalFailure")):
                raise
            subscribers = None
        yield {**note, "Subscribers": subscribers}


def budget_notifications(name: str, session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the notifications of budget ``name`` and who receives them.

    Returns
    -------
    pandas.DataFrame
        Columns ``notification_type`` (ACTUAL / FORECASTED), ``comparison`` (``>``, ...),
        ``threshold``, ``threshold_type`` (PERCENTAGE / ABSOLUTE_VALUE), ``state``
        (OK / ALARM, when reported), ``subscribers`` (``EMAIL:addr, SNS:arn``); sorted.

    Examples
    --------
    >>> budget_notifications("monthly-20usd")[["threshold", "subscribers"]]   # doctest: +SKIP
       threshold             subscribers
    0       80.0  EMAIL:aws1@flovtec.com
    """
    rows = []
    for note in iter_budget_notifications(name, session):
        if note["Subscribers"] is None:
            subs = SUBSCRIBERS_UNKNOWN
        else:
            subs = ", ".join(
                sorted(f"{s['SubscriptionType']}:{s['Address']}" for s in note["Subscribers"])
            )
        comparison = note.get("ComparisonOperator")
        rows.append(
            {
                "notification_type": note.get("NotificationType"),
                "comparison": COMPARISONS.get(comparison, comparison),
                "threshold": float(note["Threshold"]) if "Threshold" in note else None,
                "threshold_type": note.get("ThresholdType", "PERCENTAGE"),
                "state": note.get("NotificationState"),
                "subscribers": subs,
            }
        )
    return frame(rows, NOTIFICATION_COLUMNS, sort=["notification_type", "threshold", "subscribers"])
