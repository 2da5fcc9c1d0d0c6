"""Cleanup of AWS Budgets: chapter 03's cost budget (listed once for the account)."""

from __future__ import annotations

from typing import Any

from flovtrain._aws import paginate
from flovtrain.cleanup._names import BUDGETS, ours
from flovtrain.cleanup._registry import Found, Scan, declare, plan_row

#: Budgets has one endpoint.
REGION = "us-east-1"


def _budgets(scan: Scan, region: str) -> Any:
    return paginate(
        scan.client("budgets", REGION), "describe_budgets", "Budgets", AccountId=scan.account()
    )


def _describe(scan: Scan, region: str, budget: dict[str, Any]) -> Found:
    name = budget["BudgetName"]
    if name in BUDGETS or ours(name):
        return plan_row("03", name)
    return None


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    scan.client("budgets", REGION).delete_budget(AccountId=scan.account(), BudgetName=row["id"])


BUDGET = declare("budgets budget", 250, _budgets, _describe, _delete, "delete_budget")
