"""DescribeSubscribersForNotification, which moto 5.2.5 answers with a 500."""

import pytest
from botocore.exceptions import ClientError
from provider_fixtures import create_cost_budget

from flovtrain.sandbox import control

ACCOUNT = "123456789012"
NOTIFICATION = {
    "NotificationType": "ACTUAL",
    "ComparisonOperator": "GREATER_THAN",
    "Threshold": 80.0,
    "ThresholdType": "PERCENTAGE",
}


@pytest.fixture()
def budgets():
    control.reset()
    return create_cost_budget(
        "monthly-cost-budget",
        "20",
        NOTIFICATION["Threshold"],
        ("EMAIL", "you@example.com"),
        NOTIFICATION["ThresholdType"],
    )


def test_subscribers_of_a_notification_are_listed(budgets):
    got = budgets.describe_subscribers_for_notification(
        AccountId=ACCOUNT, BudgetName="monthly-cost-budget", Notification=NOTIFICATION
    )
    assert got["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "you@example.com"}]


def test_unknown_notification_or_budget_is_not_found(budgets):
    other = {**NOTIFICATION, "Threshold": 50.0}
    for name, notification in (("monthly-cost-budget", other), ("nope", NOTIFICATION)):
        with pytest.raises(ClientError) as err:
            budgets.describe_subscribers_for_notification(
                AccountId=ACCOUNT, BudgetName=name, Notification=notification
            )
        assert err.value.response["Error"]["Code"] == "NotFoundException"
