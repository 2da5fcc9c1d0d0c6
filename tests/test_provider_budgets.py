"""DescribeSubscribersForNotification, which moto 5.2.5 answers with a 500."""

import boto3
import pytest
from botocore.exceptions import ClientError

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
    client = boto3.client("budgets", region_name="us-east-1")
    client.create_budget(
        AccountId=ACCOUNT,
        Budget={
            "BudgetName": "monthly-cost-budget",
            "BudgetLimit": {"Amount": "20", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
        },
        NotificationsWithSubscribers=[
            {
                "Notification": NOTIFICATION,
                "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "you@example.com"}],
            }
        ],
    )
    return client


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
