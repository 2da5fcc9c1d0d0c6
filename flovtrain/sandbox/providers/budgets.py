"""Budgets provider: budgets see the simulated spend and send their ACTUAL alerts.

moto stores budgets and their notifications but never computes spend or alerts anyone. When
simulated charges arrive (see :mod:`flovtrain.sandbox.providers.billing`) :func:`on_charges`
sets each of the account's budgets' ``CalculatedSpend.ActualSpend`` and, the first time an
ACTUAL notification's threshold is crossed, e-mails its EMAIL subscribers (into the SNS
provider's inbox) and publishes to its SNS subscribers, with AWS's subject
``AWS Budgets: <name> has exceeded your alert threshold``. A budget or notification created
after charges were simulated is checked against them at once.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from moto.budgets.responses import BudgetsResponse
from moto.core.base_backend import BackendDict
from moto.utilities.utils import PARTITION_NAMES

from flovtrain.sandbox import seam
from flovtrain.sandbox.providers import sns

_lock = threading.RLock()


class BudgetsState(seam.ProviderBackend):
    """One account's simulated spend and the alerts that fired (Budgets is global)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.spend: float | None = None  # the latest month-to-date estimate in USD
        self.alerted: set[tuple[Any, ...]] = set()  # notifications that already fired


# as moto's Budgets: one backend per account and partition
STATE: BackendDict = BackendDict(
    BudgetsState, "budgets", use_boto3_regions=False, additional_regions=PARTITION_NAMES
)


def _state(account_id: str) -> BudgetsState:
    return STATE[account_id]["aws"]


_COMPARE = {
    "GREATER_THAN": (lambda spend, limit: spend > limit, "greater than"),
    "LESS_THAN": (lambda spend, limit: spend < limit, "less than"),
    "EQUAL_TO": (lambda spend, limit: abs(spend - limit) < 0.005, "equal to"),
}


def _budgets(account_id: str) -> list[Any]:
    """Every moto Budget object for ``account_id``, without creating backends."""
    from moto.budgets.models import budgets_backends

    found = []
    for _, partitions in list(dict.items(budgets_backends)):
        for _, backend in list(dict.items(partitions)):
            found.extend(dict(backend.budgets).get(account_id, {}).values())
    return found


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _email(
    account_id: str,
    name: str,
    limit: float,
    details: dict[str, Any],
    alert_at: float,
    spend: float,
    words: str,
) -> str:
    today = datetime.now(UTC).strftime("%B %d, %Y")
    if details.get("ThresholdType") == "ABSOLUTE_VALUE":
        shown = _money(alert_at)
    else:
        shown = f"{float(details.get('Threshold', 0)):g}% ({_money(alert_at)})"
    return (
        f"AWS Budget Notification {today}\n"
        f"AWS Account {account_id}\n\n"
        "Dear AWS Customer,\n\n"
        f"You requested that we alert you when the ACTUAL Cost associated with your {name} "
        f"budget is {words} {_money(alert_at)} for the current month. The ACTUAL Cost "
        f"associated with this budget is {_money(spend)}. You can find additional details "
        "below and by accessing the AWS Budgets dashboard.\n\n"
        f"Budget Name: {name}\n"
        "Budget Type: Cost\n"
        f"Budgeted Amount: {_money(limit)}\n"
        "Alert Type: ACTUAL\n"
        f"Alert Threshold: > {shown}\n"
        f"ACTUAL Amount: {_money(spend)}\n"
    )


def _check(account_id: str, budget: Any, spend: float) -> list[dict[str, Any]]:
    from moto.moto_api._internal import mock_random

    body = budget.budget
    name = body.get("BudgetName", "")
    calculated = body.setdefault(
        "CalculatedSpend",
        {
            "ForecastedSpend": {"Amount": "0", "Unit": "USD"},
        },
    )
    calculated["ActualSpend"] = {"Amount": f"{spend:g}", "Unit": "USD"}
    try:
        limit = float((body.get("BudgetLimit") or {}).get("Amount", 0))
    except (TypeError, ValueError):
        limit = 0.0
    sent = []
    for notification in budget.notifications:
        details = notification.details
        if details.get("NotificationType", "ACTUAL") != "ACTUAL":
            continue  # forecasts need a cost history the sandbox does not have
        compare, words = _COMPARE.get(
            details.get("ComparisonOperator", "GREATER_THAN"), _COMPARE["GREATER_THAN"]
        )
        threshold = float(details.get("Threshold", 0))
        if details.get("ThresholdType", "PERCENTAGE") == "ABSOLUTE_VALUE":
            alert_at = threshold
        else:
            alert_at = limit * threshold / 100.0
        key = (
            account_id,
            name,
            details.get("NotificationType", "ACTUAL"),
            details.get("ComparisonOperator"),
            threshold,
            details.get("ThresholdType"),
        )
        alerted = _state(account_id).alerted
        if key in alerted or not compare(spend, alert_at):
            continue
        alerted.add(key)
        details["NotificationState"] = "ALARM"
        subject = f"AWS Budgets: {name} has exceeded your alert threshold"
        message = _email(account_id, name, limit, details, alert_at, spend, words)
        delivered = []
        for subscriber in notification.subscribers or []:
            kind, address = subscriber.get("SubscriptionType"), subscriber.get("Address", "")
            if kind == "EMAIL":
                sns.deliver_email(
                    account_id=account_id,
                    region="us-east-1",
                    endpoint=address,
                    subject=subject,
                    message=message,
                    message_id=str(mock_random.uuid4()),
                )
                delivered.append({"type": "EMAIL", "address": address, "ok": True})
            elif kind == "SNS":
                try:
                    sns.publish(address, message, subject[:100])
                    delivered.append({"type": "SNS", "address": address, "ok": True})
                except Exception as exc:
                    delivered.append(
                        {"type": "SNS", "address": address, "ok": False, "error": str(exc)}
                    )
        sent.append(
            {
                "budget_name": name,
                "threshold": threshold,
                "threshold_type": details.get("ThresholdType", "PERCENTAGE"),
                "alert_at_usd": alert_at,
                "actual_usd": spend,
                "subscribers": delivered,
            }
        )
    return sent


def on_charges(account_id: str, usd: float) -> list[dict[str, Any]]:
    """Apply a new month-to-date estimate to the account's budgets; return alerts sent."""
    with _lock:
        _state(account_id).spend = float(usd)
        sent = []
        for budget in _budgets(account_id):
            sent.extend(_check(account_id, budget, float(usd)))
        return sent


def _after(call: seam.Call) -> Any:
    """CreateBudget / CreateNotification: check the new definitions against known spend."""
    result = call.moto()
    account_id = call.params.get("AccountId") or call.account_id
    with _lock:
        spend = _state(account_id).spend
        if spend is not None:
            on_charges(account_id, spend)
    return result


def _same_notification(details: dict[str, Any], wanted: dict[str, Any]) -> bool:
    try:
        same_threshold = float(details.get("Threshold", 0)) == float(wanted.get("Threshold", 0))
    except (TypeError, ValueError):
        return False
    return (
        same_threshold
        and details.get("NotificationType") == wanted.get("NotificationType")
        and details.get("ComparisonOperator") == wanted.get("ComparisonOperator")
        and details.get("ThresholdType", "PERCENTAGE") == wanted.get("ThresholdType", "PERCENTAGE")
    )


def _describe_subscribers(call: seam.Call) -> dict[str, Any]:
    """DescribeSubscribersForNotification, which moto lacks: the notification's subscribers."""
    params = call.params
    name = params.get("BudgetName", "")
    account_id = params.get("AccountId") or call.account_id
    budget = next((b for b in _budgets(account_id) if b.budget.get("BudgetName") == name), None)
    if budget is None:
        raise seam.AwsError(
            "NotFoundException", f"Unable to get budget: {name} - the budget doesn't exist."
        )
    wanted = params.get("Notification", {})
    for notification in budget.notifications:
        if _same_notification(notification.details, wanted):
            return {"Subscribers": list(notification.subscribers)}
    raise seam.AwsError(
        "NotFoundException",
        f"Unable to find notification {wanted} for budget {name}: "
        "create it with create_notification.",
    )


PROVIDER = seam.Provider(
    name="budgets",
    response_class=BudgetsResponse,
    service="budgets",
    operations={
        "CreateBudget": _after,
        "CreateNotification": _after,
        "DescribeSubscribersForNotification": _describe_subscribers,
    },
)
