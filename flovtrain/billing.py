"""Billing in the sandbox: simulate the charges AWS would publish by itself.

On AWS the month-to-date estimate appears as the CloudWatch metric ``AWS/Billing``
``EstimatedCharges`` (``Currency=USD``, us-east-1 only) a few times a day, and nobody may
write into an ``AWS/...`` namespace. In the sandbox :func:`simulate_charges` plays AWS's part:
the datapoint lands in us-east-1, billing alarms are evaluated at once and budgets see the spend.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from flovtrain import config
from flovtrain.exceptions import InvalidCharges


@dataclass(frozen=True)
class ChargesResult:
    """What simulated charges did: the datapoint, alarm state changes and budget alerts.

    Attributes
    ----------
    usd : float
        The month-to-date estimate published.
    account_id, region : str
        Where the datapoint landed (always us-east-1, as on AWS).
    timestamp : str
        The datapoint's time.
    alarm_changes : list of dict
        ``alarm_name``, ``region``, ``old_state``, ``new_state``, ``reason`` per change.
    budget_alerts : list of dict
        ``budget_name``, ``alert_at_usd``, ``actual_usd``, ``subscribers`` per alert sent.
    raw : dict
        The sandbox's full JSON answer.
    """

    usd: float
    account_id: str
    region: str
    timestamp: str
    alarm_changes: list[dict[str, Any]] = field(default_factory=list)
    budget_alerts: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChargesResult:
        point = data["datapoint"]
        return cls(
            usd=float(point["value"]),
            account_id=point["account_id"],
            region=point["region"],
            timestamp=point["timestamp"],
            alarm_changes=list(data.get("alarm_changes") or []),
            budget_alerts=list(data.get("budget_alerts") or []),
            raw=data,
        )

    def lines(self) -> list[str]:
        """The summary, one line per fact."""
        out = [
            f"AWS/Billing EstimatedCharges = ${self.usd:,.2f} "
            f"(account {self.account_id}, {self.region})"
        ]
        for change in self.alarm_changes:
            out.append(
                f"  alarm {change['alarm_name']} ({change['region']}): "
                f"{change['old_state']} -> {change['new_state']}"
            )
        for alert in self.budget_alerts:
            who = ", ".join(s["address"] for s in alert.get("subscribers", [])) or "nobody"
            out.append(
                f"  budget {alert['budget_name']}: alert at "
                f"${alert['alert_at_usd']:,.2f} sent to {who}"
            )
        if not self.alarm_changes and not self.budget_alerts:
            out.append("  no alarm changed state, no budget alert sent")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _account_of(session: boto3.Session | None) -> str:
    if session is None:
        return config.SANDBOX_ACCOUNT_ID
    return session.client("sts").get_caller_identity()["Account"]


def simulate_charges(
    usd: float, session: boto3.Session | None = None, timestamp: datetime | None = None
) -> ChargesResult:
    """Publish a month-to-date billing estimate, as AWS does by itself (sandbox only).

    The datapoint (``AWS/Billing`` ``EstimatedCharges``, ``Currency=USD``) lands in us-east-1
    of the session's account; alarms watching it are evaluated at once (their SNS actions
    fire), and the account's budgets see the spend and send their alerts.

    Parameters
    ----------
    usd : float
        The month-to-date total in US dollars (0 or more). Charges only grow within a
        month: pass the new total, not the increment.
    session : boto3.Session, optional
        Whose account gets the charges (default: the sandbox's account).
    timestamp : datetime, optional
        When AWS would have published it (default: now).

    Returns
    -------
    ChargesResult
        The datapoint, alarm state changes and budget alerts; prints as a short summary.

    Raises
    ------
    SandboxOnly
        On real AWS, where billing data is published by AWS itself.
    InvalidCharges
        ``usd`` is negative or not a number (also a ``ValueError``).

    Examples
    --------
    >>> from flovtrain.billing import simulate_charges
    >>> print(simulate_charges(12.5))      # doctest: +SKIP
    AWS/Billing EstimatedCharges = $12.50 (account 123456789012, us-east-1)
      alarm billing-over-10-usd (us-east-1): INSUFFICIENT_DATA -> ALARM
    """
    from flovtrain.sandbox import control
    from flovtrain.session import require_sandbox

    if (
        isinstance(usd, bool)
        or not isinstance(usd, (int, float))
        or math.isnan(float(usd))
        or math.isinf(float(usd))
    ):
        raise InvalidCharges(f"usd must be a number of US dollars, e.g. 12.5; got {usd!r}.")
    if usd < 0:
        raise InvalidCharges(
            f"usd must be 0 or more: EstimatedCharges is the month-to-date total; got {usd}."
        )
    require_sandbox("Simulated charges")
    body: dict[str, Any] = {"usd": float(usd), "account_id": _account_of(session)}
    if timestamp is not None:
        body["timestamp"] = timestamp.isoformat()
    try:
        data = control.api(
            "billing/simulate-charges", method="POST", data=json.dumps(body).encode()
        )
    except ValueError as exc:  # the sandbox's 400 answer, already worded for people
        raise InvalidCharges(str(exc)) from None
    return ChargesResult.from_json(data)
