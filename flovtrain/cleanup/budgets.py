"""Cleanup of AWS Budgets: chapter 03's cost budget (listed once for the account)."""

from __future__ import annotations

from typing import Any

from flovtrain._aws import paginate
from flovtrain.cleanup._names import BUDGETS, ours
from flovtrain.cleanup._registry import Found, Kind, Scan, register

#: Budgets has one endpoint.
REGION = "us-east-1"


def _budgets(scan: Scan, region: str) -> Any:
    return paginate(
        scan.client("budgets", REGION), "describe_budgets", "Budgets", AccountId=scan.account()
    )


def _describe(scan: Scan, region: str, budget: dict[str, Any]) -> Found:
    name = budget["BudgetName"]
    if name in BUDGETS or ours(name):
        return {"chapter": "03", "name": name, "id": name}
    return None


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    scan.client("budgets", REGION).delete_budget(AccountId=scan.account(), BudgetName=row["id"])


BUDGET = register(
    Kind(
        "budgets budget",
        "budgets",
        order=250,
        list=_budgets,
        describe=_describe,
        delete=_delete,
        removal="delete_budget",
        regional=False,
    )
)
