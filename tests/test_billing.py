"""Billing as on AWS: simulated charges in us-east-1 fire billing alarms and budget alerts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from provider_fixtures import create_cost_budget, put_billing_alarm, subscribe_queue

from flovtrain.billing import ChargesResult, simulate_charges
from flovtrain.exceptions import InvalidCharges
from flovtrain.sandbox import control

ACCOUNT = "123456789012"


pytestmark = pytest.mark.usefixtures("clean_sandbox")


def _billing_alarm(region: str, topic: str | None = None, threshold: float = 10.0) -> None:
    put_billing_alarm(
        boto3.client("cloudwatch", region_name=region),
        topic,
        name="billing-over-10-usd",
        threshold=threshold,
        comparison="GreaterThanThreshold",
    )


def _state(region: str) -> str:
    cw = boto3.client("cloudwatch", region_name=region)
    return cw.describe_alarms(AlarmNames=["billing-over-10-usd"])["MetricAlarms"][0]["StateValue"]


def _raw_post(body: bytes) -> tuple[int, dict]:
    url = f"{control.endpoint()}/flovtrain-api/billing/simulate-charges"
    request = urllib.request.Request(url, data=body, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def alert_topic():
    """us-east-1 topic with an e-mail and an SQS subscriber; returns (arn, receive())."""
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="billing-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="founder@flovtec.example")
    return topic, subscribe_queue(topic, "billing-alerts", "us-east-1", wait=3)


def test_billing_alarm_fires_on_simulated_charges(alert_topic):
    topic, receive = alert_topic
    _billing_alarm("us-east-1", topic)
    assert _state("us-east-1") == "INSUFFICIENT_DATA"

    result = simulate_charges(12.5)

    assert _state("us-east-1") == "ALARM"
    assert [(c["alarm_name"], c["old_state"], c["new_state"]) for c in result.alarm_changes] == [
        ("billing-over-10-usd", "INSUFFICIENT_DATA", "ALARM")
    ]
    # the SQS subscriber has AWS's notification at once
    [envelope] = receive()
    assert envelope["Subject"] == 'ALARM: "billing-over-10-usd" in US East (N. Virginia)'
    note = json.loads(envelope["Message"])
    assert note["NewStateValue"] == "ALARM"
    assert note["Region"] == "US East (N. Virginia)"
    assert note["Trigger"]["MetricName"] == "EstimatedCharges"
    assert note["Trigger"]["Namespace"] == "AWS/Billing"
    assert note["Trigger"]["Statistic"] == "MAXIMUM"
    assert note["Trigger"]["Dimensions"] == [{"value": "USD", "name": "Currency"}]
    assert note["Trigger"]["Period"] == 21600
    # ... the e-mail subscriber's inbox has it
    [mail] = control.api("sns/inbox?endpoint=founder@flovtec.example")
    assert mail["subject"] == envelope["Subject"]
    # e-mail subscribers get CloudWatch's readable text, not the JSON
    assert mail["message"].startswith(
        "You are receiving this email because your Amazon CloudWatch Alarm "
        '"billing-over-10-usd" in the US East (N. Virginia) region has entered the ALARM '
        'state, because "Threshold Crossed: 1 datapoint [12.5 ('
    )
    assert "- State Change:               INSUFFICIENT_DATA -> ALARM" in mail["message"]
    # ... and the history shows the transition
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    summaries = [
        i["HistorySummary"]
        for i in cw.describe_alarm_history(AlarmName="billing-over-10-usd")["AlarmHistoryItems"]
    ]
    assert "Alarm updated from INSUFFICIENT_DATA to ALARM" in summaries
    assert f"Successfully executed action {topic}" in summaries
    # the datapoint is visible like AWS's own billing data
    stats = cw.get_metric_statistics(
        Namespace="AWS/Billing",
        MetricName="EstimatedCharges",
        Dimensions=[{"Name": "Currency", "Value": "USD"}],
        Statistics=["Maximum"],
        StartTime=result.timestamp[:10] + "T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
        Period=86400,
    )
    assert [p["Maximum"] for p in stats["Datapoints"]] == [12.5]


def test_charges_below_threshold_go_ok():
    _billing_alarm("us-east-1")
    result = simulate_charges(4.0)
    assert _state("us-east-1") == "OK"
    assert result.alarm_changes[0]["new_state"] == "OK"


def test_billing_alarm_outside_us_east_1_never_fires():
    _billing_alarm("eu-west-1")
    result = simulate_charges(500.0)
    assert result.region == "us-east-1"
    assert result.alarm_changes == []
    assert _state("eu-west-1") == "INSUFFICIENT_DATA"


def test_summary_prints_readably():
    _billing_alarm("us-east-1")
    result = simulate_charges(12.5)
    assert isinstance(result, ChargesResult)
    assert str(result).splitlines() == [
        "AWS/Billing EstimatedCharges = $12.50 (account 123456789012, us-east-1)",
        "  alarm billing-over-10-usd (us-east-1): INSUFFICIENT_DATA -> ALARM",
    ]
    assert str(simulate_charges(13.0)).splitlines()[1] == (
        "  no alarm changed state, no budget alert sent"
    )


def test_budget_alert_reaches_inbox_once():
    budgets = create_cost_budget("monthly", "10", 80.0, ("EMAIL", "cfo@flovtec.example"))
    assert simulate_charges(5.0).budget_alerts == []
    assert control.api("sns/inbox") == []
    spend = budgets.describe_budget(AccountId=ACCOUNT, BudgetName="monthly")["Budget"][
        "CalculatedSpend"
    ]["ActualSpend"]
    assert (float(spend["Amount"]), spend["Unit"]) == (5.0, "USD")

    first = simulate_charges(9.0)  # 90 % of 10 USD > 80 %
    assert [a["budget_name"] for a in first.budget_alerts] == ["monthly"]
    simulate_charges(11.0)  # still over: no second e-mail
    [mail] = control.api("sns/inbox?endpoint=cfo@flovtec.example")
    assert mail["subject"] == "AWS Budgets: monthly has exceeded your alert threshold"
    assert "ACTUAL Amount: $9.00" in mail["message"]
    assert "Budgeted Amount: $10.00" in mail["message"]
    spend = budgets.describe_budget(AccountId=ACCOUNT, BudgetName="monthly")["Budget"][
        "CalculatedSpend"
    ]["ActualSpend"]
    assert float(spend["Amount"]) == 11.0


def test_budget_absolute_threshold_and_sns_subscriber(alert_topic):
    topic, receive = alert_topic
    simulate_charges(30.0)  # charges before the budget exists are applied when it is created
    create_cost_budget("hard-cap", "100", 25.0, ("SNS", topic), "ABSOLUTE_VALUE")
    [envelope] = receive()
    assert envelope["Subject"] == "AWS Budgets: hard-cap has exceeded your alert threshold"
    assert "ACTUAL Amount: $30.00" in envelope["Message"]
    assert len(control.api("sns/inbox?endpoint=founder@flovtec.example")) == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"usd": -1}', "usd must be 0 or more"),
        (b'{"usd": "lots"}', "usd must be a number"),
        (b'{"usd": true}', "usd must be a number"),
        (b'{"dollars": 3}', 'e.g. {"usd": 12.5}'),
        (b"not json", "must be JSON"),
        (b'{"usd": 3, "account_id": "42"}', "12-digit"),
        (b'{"usd": 3, "timestamp": "yesterday"}', "ISO 8601"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(body, fragment):
    status, answer = _raw_post(body)
    assert status == 400
    assert fragment in answer["error"]
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    assert cw.list_metrics(Namespace="AWS/Billing")["Metrics"] == []


def test_client_refuses_bad_usd_before_calling():
    with pytest.raises(InvalidCharges, match="0 or more"):
        simulate_charges(-5)
    with pytest.raises(InvalidCharges, match="must be a number"):
        simulate_charges("5")  # type: ignore[arg-type]


def test_other_account_gets_its_own_billing_data():
    other = "210987654321"
    status, answer = _raw_post(json.dumps({"usd": 50.0, "account_id": other}).encode())
    assert status == 200 and answer["datapoint"]["account_id"] == other
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    assert cw.list_metrics(Namespace="AWS/Billing")["Metrics"] == []  # not in our account


def test_reset_clears_inbox_and_history(alert_topic):
    topic, _ = alert_topic
    _billing_alarm("us-east-1", topic)
    simulate_charges(12.5)
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    assert cw.describe_alarm_history()["AlarmHistoryItems"]
    assert control.api("sns/inbox")
    control.reset()
    assert cw.describe_alarm_history()["AlarmHistoryItems"] == []
    assert control.api("sns/inbox") == []
