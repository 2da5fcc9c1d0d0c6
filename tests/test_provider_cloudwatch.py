"""CloudWatch provider: alarms evaluated like AWS, actions fired, history kept (plain boto3)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from provider_fixtures import put_metric_alarm, subscribe_queue

from flovtrain.sandbox import control

REGION = "eu-west-1"


pytestmark = pytest.mark.usefixtures("clean_sandbox")


@pytest.fixture
def cw():
    return boto3.client("cloudwatch", region_name=REGION)


@pytest.fixture
def topic_queue():
    """An SNS topic with an SQS queue subscribed; returns (topic_arn, receive())."""
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="alarms")["TopicArn"]
    return topic, subscribe_queue(topic, "alarm-inbox", REGION)


def _now() -> datetime:
    return datetime.now(UTC)


def _put_series(cw, values: list[float | None]) -> None:
    """values[0] is the newest minute; None leaves that minute empty."""
    now = _now()
    data = [
        {"MetricName": "Errors", "Value": v, "Timestamp": now - timedelta(seconds=60 * k + 5)}
        for k, v in enumerate(values)
        if v is not None
    ]
    cw.put_metric_data(Namespace="Flovtec/App", MetricData=data)


def _alarm(cw, name: str) -> dict:
    return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def test_new_alarm_starts_insufficient_data_and_is_recorded(cw):
    put_metric_alarm(cw, "errors")
    alarm = _alarm(cw, "errors")
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"
    items = cw.describe_alarm_history(AlarmName="errors")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items] == ['Alarm "errors" created']
    assert json.loads(items[0]["HistoryData"])["type"] == "Create"


def test_data_over_threshold_alarms_and_notifies_sqs(cw, topic_queue):
    topic, receive = topic_queue
    put_metric_alarm(cw, "errors", AlarmActions=[topic], AlarmDescription="too many errors")
    _put_series(cw, [9.0])
    alarm = _alarm(cw, "errors")
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [9.0 (")
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [9.0]
    envelopes = receive()
    assert len(envelopes) == 1
    assert envelopes[0]["Subject"] == 'ALARM: "errors" in Europe (Ireland)'
    note = json.loads(envelopes[0]["Message"])
    assert note["NewStateValue"] == "ALARM" and note["OldStateValue"] == "INSUFFICIENT_DATA"
    assert note["AlarmDescription"] == "too many errors"
    assert note["AWSAccountId"] == "123456789012"
    assert note["Trigger"]["Statistic"] == "SUM"
    assert note["Trigger"]["Threshold"] == 5.0
    assert note["Trigger"]["TreatMissingData"] == "missing"


def test_below_threshold_goes_ok_and_fires_ok_actions(cw, topic_queue):
    topic, receive = topic_queue
    put_metric_alarm(cw, "errors", OKActions=[topic])
    _put_series(cw, [2.0])
    assert _alarm(cw, "errors")["StateValue"] == "OK"
    assert "was not greater than the threshold (5.0)" in _alarm(cw, "errors")["StateReason"]
    assert [json.loads(e["Message"])["NewStateValue"] for e in receive()] == ["OK"]


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([9.0, 1.0, 9.0], "ALARM"),  # 2 of the last 3 breach
        ([9.0, 1.0, 1.0], "OK"),  # only 1 of 3
        ([1.0, 9.0, 9.0], "ALARM"),  # which ones does not matter
    ],
)
def test_m_of_n(cw, series, expected):
    put_metric_alarm(cw, "m-of-n", EvaluationPeriods=3, DatapointsToAlarm=2)
    _put_series(cw, series)
    alarm = _alarm(cw, "m-of-n")
    assert alarm["StateValue"] == expected
    if expected == "ALARM":
        assert "2 out of the last 3 datapoints" in alarm["StateReason"]


@pytest.mark.parametrize(
    ("treat", "series", "expected"),
    [
        ("breaching", [1.0, None, None], "ALARM"),  # 2 missing count as breaching
        ("notBreaching", [9.0, None, None], "OK"),  # 1 breach, 2 missing are fine
        ("missing", [9.0, None, None], "OK"),  # only present data counts: 1 < 2
        ("missing", [9.0, 9.0, None], "ALARM"),
        ("notBreaching", [], "OK"),  # no data at all is fine
        ("breaching", [], "ALARM"),
        ("missing", [], "INSUFFICIENT_DATA"),
        ("ignore", [], "INSUFFICIENT_DATA"),  # keeps its current state
    ],
)
def test_treat_missing_data(cw, treat, series, expected):
    put_metric_alarm(cw, "gaps", EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData=treat)
    if series:
        _put_series(cw, series)
    assert _alarm(cw, "gaps")["StateValue"] == expected


def test_ignore_keeps_alarm_state_when_data_stops(cw):
    put_metric_alarm(cw, "keep", Period=10, TreatMissingData="ignore")
    _put_series(cw, [9.0])
    assert _alarm(cw, "keep")["StateValue"] == "ALARM"
    time.sleep(11)  # the datapoint leaves the 10 s window; a put re-evaluates at once
    cw.put_metric_data(
        Namespace="Flovtec/App",
        MetricData=[
            {"MetricName": "Errors", "Value": 1.0, "Timestamp": _now() - timedelta(hours=1)}
        ],
    )
    assert _alarm(cw, "keep")["StateValue"] == "ALARM"


def test_background_timer_moves_alarm_when_data_ages(cw):
    put_metric_alarm(cw, "ages", Period=10)
    cw.put_metric_data(Namespace="Flovtec/App", MetricData=[{"MetricName": "Errors", "Value": 9.0}])
    assert _alarm(cw, "ages")["StateValue"] == "ALARM"
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and _alarm(cw, "ages")["StateValue"] == "ALARM":
        time.sleep(0.5)
    alarm = _alarm(cw, "ages")
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Insufficient Data: 1 datapoint was unknown."


def test_statistics_and_dimensions(cw):
    dims = [{"Name": "Service", "Value": "web"}]
    put_metric_alarm(cw, "avg", Statistic="Average", Threshold=5.0, Dimensions=dims)
    put_metric_alarm(
        cw,
        "p90",
        ExtendedStatistic="p90",
        Threshold=50.0,
        Dimensions=dims,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    put_metric_alarm(
        cw,
        "count",
        Statistic="SampleCount",
        Threshold=3.0,
        ComparisonOperator="LessThanThreshold",
        Dimensions=dims,
    )
    # other dimensions never reach these alarms
    cw.put_metric_data(
        Namespace="Flovtec/App",
        MetricData=[
            {
                "MetricName": "Errors",
                "Dimensions": [{"Name": "Service", "Value": "db"}],
                "Value": 1000.0,
            }
        ],
    )
    assert _alarm(cw, "avg")["StateValue"] == "INSUFFICIENT_DATA"
    cw.put_metric_data(
        Namespace="Flovtec/App",
        MetricData=[
            {"MetricName": "Errors", "Dimensions": dims, "Values": [1.0, 2.0, 3.0, 4.0, 100.0]}
        ],
    )
    assert _alarm(cw, "avg")["StateValue"] == "ALARM"  # mean 22 > 5
    assert _alarm(cw, "p90")["StateValue"] == "ALARM"  # p90 = 100 >= 50
    assert _alarm(cw, "count")["StateValue"] == "OK"  # 5 samples, not < 3


def test_set_alarm_state_fires_actions_and_records_history(cw, topic_queue):
    topic, receive = topic_queue
    put_metric_alarm(cw, "manual", AlarmActions=[topic])
    cw.set_alarm_state(AlarmName="manual", StateValue="ALARM", StateReason="testing the e-mail")
    notes = [json.loads(e["Message"]) for e in receive()]
    assert [(n["NewStateValue"], n["NewStateReason"]) for n in notes] == [
        ("ALARM", "testing the e-mail")
    ]
    # the same state again is no change: no second notification
    cw.set_alarm_state(AlarmName="manual", StateValue="ALARM", StateReason="again")
    assert receive(wait=1) == []
    types = [
        i["HistoryItemType"]
        for i in cw.describe_alarm_history(AlarmName="manual")["AlarmHistoryItems"]
    ]
    assert types == ["Action", "StateUpdate", "ConfigurationUpdate"]
    # a forced state is kept for a while, as on AWS (evaluated about once a minute)
    _put_series(cw, [1.0])
    assert _alarm(cw, "manual")["StateValue"] == "ALARM"


def test_set_alarm_state_unknown_alarm_is_moto_error(cw):
    with pytest.raises(ClientError) as err:
        cw.set_alarm_state(AlarmName="nope", StateValue="ALARM", StateReason="x")
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"
    # AWS answers no message (its CLI prints "Unknown"), not moto's invented one
    assert err.value.response["Error"].get("Message", "") == ""
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_actions_disabled_changes_state_without_notifying(cw, topic_queue):
    topic, receive = topic_queue
    put_metric_alarm(cw, "quiet", AlarmActions=[topic], ActionsEnabled=False)
    _put_series(cw, [9.0])
    assert _alarm(cw, "quiet")["StateValue"] == "ALARM"
    assert receive(wait=1) == []


def test_missing_topic_is_a_failed_action(cw):
    put_metric_alarm(cw, "lost", AlarmActions=["arn:aws:sns:eu-west-1:123456789012:gone"])
    _put_series(cw, [9.0])
    action = cw.describe_alarm_history(AlarmName="lost", HistoryItemType="Action")[
        "AlarmHistoryItems"
    ][0]
    assert action["HistorySummary"].startswith("Failed to execute action arn:aws:sns:")
    assert json.loads(action["HistoryData"])["actionState"] == "Failed"


def test_put_metric_data_into_aws_namespace_is_refused(cw):
    for namespace in ("AWS/Billing", "AWS/EC2"):
        with pytest.raises(ClientError) as err:
            cw.put_metric_data(
                Namespace=namespace, MetricData=[{"MetricName": "EstimatedCharges", "Value": 1.0}]
            )
        assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
        assert err.value.response["Error"]["Message"] == (
            f"The value {namespace} for parameter Namespace is invalid."
        )
    assert cw.list_metrics(Namespace="AWS/Billing")["Metrics"] == []


def test_put_metric_alarm_twice_duplicates_nothing(cw, topic_queue):
    topic, receive = topic_queue
    for _ in range(2):
        put_metric_alarm(cw, "same", AlarmActions=[topic])
    _put_series(cw, [9.0])
    for _ in range(2):
        put_metric_alarm(cw, "same", AlarmActions=[topic])  # re-running the notebook cell
    assert len(cw.describe_alarms()["MetricAlarms"]) == 1
    assert _alarm(cw, "same")["StateValue"] == "ALARM"  # an update keeps the state
    assert len(receive()) == 1
    items = cw.describe_alarm_history(AlarmName="same")["AlarmHistoryItems"]
    assert [i["HistoryItemType"] for i in items] == ["Action", "StateUpdate", "ConfigurationUpdate"]
    put_metric_alarm(cw, "same", AlarmActions=[topic], Threshold=50.0)  # a real change is recorded
    summaries = [
        i["HistorySummary"]
        for i in cw.describe_alarm_history(AlarmName="same")["AlarmHistoryItems"]
    ]
    assert 'Alarm "same" updated' in summaries


def test_describe_alarm_history_filters_and_pages(cw):
    for name in ("a", "b", "c"):
        put_metric_alarm(cw, name)
    _put_series(cw, [9.0])
    everything = cw.describe_alarm_history()["AlarmHistoryItems"]
    assert len(everything) == 6  # 3 created + 3 state updates
    stamps = [i["Timestamp"] for i in everything]
    assert stamps == sorted(stamps, reverse=True)  # TimestampDescending by default
    ascending = cw.describe_alarm_history(ScanBy="TimestampAscending")["AlarmHistoryItems"]
    assert ascending == list(reversed(everything))
    states = cw.describe_alarm_history(HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert {i["AlarmName"] for i in states} == {"a", "b", "c"}
    assert all(
        i["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM" for i in states
    )
    data = json.loads(states[0]["HistoryData"])
    assert data["oldState"]["stateValue"] == "INSUFFICIENT_DATA"
    assert data["newState"]["stateValue"] == "ALARM"
    page1 = cw.describe_alarm_history(MaxRecords=4)
    page2 = cw.describe_alarm_history(MaxRecords=4, NextToken=page1["NextToken"])
    assert len(page1["AlarmHistoryItems"]) == 4 and "NextToken" not in page2
    assert page1["AlarmHistoryItems"] + page2["AlarmHistoryItems"] == everything
    paginated = [
        i
        for p in cw.get_paginator("describe_alarm_history").paginate(
            PaginationConfig={"PageSize": 2}
        )
        for i in p["AlarmHistoryItems"]
    ]
    assert paginated == everything
    future = cw.describe_alarm_history(StartDate=_now() + timedelta(hours=1))
    assert future["AlarmHistoryItems"] == []
    # regions are separate
    other = boto3.client("cloudwatch", region_name="us-west-2")
    assert other.describe_alarm_history()["AlarmHistoryItems"] == []


def test_delete_alarm_is_recorded(cw):
    put_metric_alarm(cw, "gone")
    cw.delete_alarms(AlarmNames=["gone"])
    assert cw.describe_alarms()["MetricAlarms"] == []
    summaries = [
        i["HistorySummary"]
        for i in cw.describe_alarm_history(AlarmName="gone")["AlarmHistoryItems"]
    ]
    assert summaries == ['Alarm "gone" deleted', 'Alarm "gone" created']


def test_evaluation_without_change_draws_no_random_numbers(cw):
    """Ids handed out after no-op evaluations (data hook and timer) are unchanged.

    Every request draws a request id from moto's seeded generator, so both runs make the
    same requests; only the second one makes them evaluate an alarm without a change.
    """
    sns = boto3.client("sns", region_name=REGION)

    def subscription_arn() -> str:
        topic = sns.create_topic(Name="ids")["TopicArn"]
        return sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")[
            "SubscriptionArn"
        ]

    def run(no_op_evaluations: bool) -> str:
        control.reset()
        put_metric_alarm(cw, "steady")
        _put_series(cw, [1.0])  # INSUFFICIENT_DATA -> OK, no actions configured
        if no_op_evaluations:
            _put_series(cw, [1.0])  # watched metric: evaluates, changes nothing
            time.sleep(6)  # at least one background pass
        else:
            cw.put_metric_data(
                Namespace="Flovtec/Unwatched", MetricData=[{"MetricName": "Errors", "Value": 1.0}]
            )
        assert _alarm(cw, "steady")["StateValue"] == "OK"
        return subscription_arn()

    assert run(no_op_evaluations=True) == run(no_op_evaluations=False)


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            {"Statistic": "Median", "ComparisonOperator": "Bigger"},
            "2 validation errors detected: Value 'Median' at 'statistic' failed to satisfy "
            "constraint: Member must satisfy enum value set: [SampleCount, Average, Sum, Minimum, "
            "Maximum]; Value 'Bigger' at 'comparisonOperator' failed to satisfy constraint: "
            "Member must satisfy enum value set: [GreaterThanOrEqualToThreshold, "
            "GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold, "
            "LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, "
            "GreaterThanUpperThreshold]",
        ),
        ({"Period": 45}, "Period must be 10, 20, 30 or a multiple of 60"),
        ({"Period": 90}, "Period must be 10, 20, 30 or a multiple of 60"),
    ],
)
def test_put_metric_alarm_refuses_what_aws_refuses(cw, extra, message):
    with pytest.raises(ClientError) as err:
        put_metric_alarm(cw, "invalid", **extra)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert err.value.response["Error"]["Message"] == message
    assert cw.describe_alarms(AlarmNames=["invalid"])["MetricAlarms"] == []


@pytest.mark.parametrize("period", [10, 30, 120])
def test_high_resolution_and_minute_periods_are_taken(cw, period):
    put_metric_alarm(cw, f"every-{period}", Period=period)
    assert _alarm(cw, f"every-{period}")["Period"] == period
