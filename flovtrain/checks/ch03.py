"""Chapter 03 · billing alarm: SNS topic, CloudWatch alarm in us-east-1 and an AWS Budget."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from flovtrain._aws import error_code, paginate
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist, Failed

TITLE = "billing alarm and budget"
BILLING_REGION = "us-east-1"  # AWS publishes billing metrics only here
TOPIC = "billing-alerts"
#: Names a topic gets before any alarm notifies it: ours, and the console's default when you
#: pick "Create new topic" in the alarm wizard.
USUAL_TOPICS = (TOPIC, "Default_CloudWatch_Alarms_Topic")
#: Subscriptions that reach a person's inbox.
EMAIL_PROTOCOLS = ("email", "email-json")
#: Regions scanned for a misplaced billing alarm, besides the session's own.
OTHER_REGIONS = ("eu-west-1",)
WRONG_REGION_HINT = "billing metrics exist only in us-east-1: this alarm can never fire"


def _is_billing(alarm: dict[str, Any]) -> bool:
    return alarm.get("Namespace") == "AWS/Billing" and alarm.get("MetricName") == "EstimatedCharges"


def _problems(alarm: dict[str, Any]) -> list[str]:
    """What keeps a billing alarm from being the one the chapter builds."""
    problems = []
    dims = {d.get("Name"): d.get("Value") for d in alarm.get("Dimensions", [])}
    if dims.get("Currency") != "USD":
        problems.append("no dimension Currency=USD")
    if alarm.get("Statistic") != "Maximum":
        problems.append(f"Statistic is {alarm.get('Statistic') or 'unset'} (needs Maximum)")
    if not (alarm.get("Threshold") or 0) > 0:
        problems.append(f"threshold is {alarm.get('Threshold')} (needs > 0)")
    return problems


def collect(cl: Checklist, session: boto3.Session) -> None:
    sns = client(session, "sns", BILLING_REGION)
    cloudwatch = client(session, "cloudwatch", BILLING_REGION)

    @cache
    def billing_alarms() -> list[dict[str, Any]]:
        alarms = paginate(cloudwatch, "describe_alarms", "MetricAlarms")
        return sorted((a for a in alarms if _is_billing(a)), key=lambda a: a["AlarmName"])

    def good_alarms() -> list[dict[str, Any]]:
        return [a for a in billing_alarms() if not _problems(a)]

    @cache
    def topics() -> tuple[str, ...]:
        return tuple(sorted(t["TopicArn"] for t in paginate(sns, "list_topics", "Topics")))

    @cache
    def emailed(arn: str) -> bool:
        subs = paginate(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn)
        return any(s.get("Protocol") in EMAIL_PROTOCOLS for s in subs)

    def alarm_topics() -> list[str]:
        """The existing topics a billing alarm notifies: whatever their names."""
        actions = (arn for a in billing_alarms() for arn in a.get("AlarmActions", []))
        return [arn for arn in dict.fromkeys(actions) if arn in topics()]

    def candidates() -> list[str]:
        """The alarm's topics or, before there is an alarm action, the usual names."""
        named = [arn for arn in topics() if arn.rsplit(":", 1)[-1] in USUAL_TOPICS]
        return alarm_topics() or named

    no_topic = (
        f"no SNS topic in {BILLING_REGION} that a billing alarm notifies, nor one named "
        + " or ".join(USUAL_TOPICS)
    )

    def topic() -> str | None:
        return None if candidates() else no_topic

    def email() -> str | None:
        found = candidates()
        if not found:
            return no_topic
        if any(emailed(arn) for arn in found):
            return None
        names = ", ".join(arn.rsplit(":", 1)[-1] for arn in found)
        return f"no email subscription on {names}"

    def alarm() -> str | None:
        alarms = billing_alarms()
        if not alarms:
            return f"no CloudWatch alarm on AWS/Billing EstimatedCharges in {BILLING_REGION}"
        if not good_alarms():
            first = alarms[0]
            return f"alarm {first['AlarmName']}: " + "; ".join(_problems(first))
        return None

    def action() -> str | None:
        good = good_alarms()
        if not good:
            return "no complete billing alarm in us-east-1 (see the item above)"
        if any(arn in topics() for a in good for arn in a.get("AlarmActions", [])):
            return None
        actions = ", ".join(good[0].get("AlarmActions", [])) or "none"
        return (
            f"alarm {good[0]['AlarmName']} notifies no SNS topic in {BILLING_REGION} "
            f"(its alarm actions: {actions})"
        )

    state: dict[str, Any] = {}  # the budgets, their account and client: asked once

    def budgets() -> list[dict[str, Any]]:
        if "budgets" not in state:
            account = client(session, "sts").get_caller_identity()["Account"]
            api = client(session, "budgets", BILLING_REGION)
            try:
                found = list(paginate(api, "describe_budgets", "Budgets", AccountId=account))
            except ClientError as exc:
                if error_code(exc) != "NotFoundException":  # AWS's answer when there are none
                    raise
                found = []
            state.update(
                account=account,
                api=api,
                budgets=[b for b in found if b.get("BudgetType") == "COST"],
            )
        return state["budgets"]

    def budget() -> str | None:
        return None if budgets() else "no COST budget in AWS Budgets"

    def subscriber() -> str | None:
        if not budgets():
            return "no COST budget in AWS Budgets to notify from"
        api, account = state["api"], state["account"]
        notified = 0
        for b in sorted(budgets(), key=lambda b: b["BudgetName"]):
            notes = api.describe_notifications_for_budget(
                AccountId=account, BudgetName=b["BudgetName"]
            ).get("Notifications", [])
            for note in notes:
                notified += 1
                try:
                    subs = api.describe_subscribers_for_notification(
                        AccountId=account, BudgetName=b["BudgetName"], Notification=note
                    ).get("Subscribers", [])
                except ClientError as exc:
                    raise Failed(
                        f"could not list the subscribers of budget {b['BudgetName']}: "
                        f"DescribeSubscribersForNotification answered "
                        f"{error_code(exc)}"
                    ) from None
                if subs:
                    return None
        if not notified:
            return "no COST budget has a notification"
        return "the budget notifications have no subscriber"

    def elsewhere() -> str | None:
        regions = list(dict.fromkeys([*OTHER_REGIONS, session.region_name or ""]))
        found = []
        for region in (r for r in regions if r and r != BILLING_REGION):
            cw = client(session, "cloudwatch", region)
            found += [
                f"{a['AlarmName']} in {region}"
                for a in paginate(cw, "describe_alarms", "MetricAlarms")
                if a.get("Namespace") == "AWS/Billing"
            ]
        return f"billing alarm {', '.join(sorted(found))}" if found else None

    cl.add(
        f"an SNS topic in {BILLING_REGION} for billing alerts",
        topic,
        f"boto3.client('sns', region_name='{BILLING_REGION}').create_topic(Name='{TOPIC}') "
        "(any name will do once the alarm notifies it)",
    )
    cl.add(
        "the alerts topic has an email subscription",
        email,
        "sns.subscribe(TopicArn=<the topic's ARN>, Protocol='email', "
        "Endpoint='you@example.com') — then confirm the e-mail",
    )
    cl.add(
        f"a billing alarm on EstimatedCharges (Currency=USD, Maximum, threshold > 0) "
        f"in {BILLING_REGION}",
        alarm,
        f"boto3.client('cloudwatch', region_name='{BILLING_REGION}').put_metric_alarm("
        "Namespace='AWS/Billing', MetricName='EstimatedCharges', "
        "Dimensions=[{'Name': 'Currency', 'Value': 'USD'}], Statistic='Maximum', "
        "Period=21600, EvaluationPeriods=1, Threshold=10, "
        "ComparisonOperator='GreaterThanOrEqualToThreshold', ...)",
    )
    cl.add(
        f"the billing alarm notifies an SNS topic in {BILLING_REGION}",
        action,
        "put_metric_alarm(..., AlarmActions=[<the topic's ARN>]) in us-east-1",
    )
    cl.add(
        "a COST budget exists in AWS Budgets",
        budget,
        "budgets.create_budget(AccountId=..., Budget={'BudgetName': 'monthly', "
        "'BudgetType': 'COST', 'TimeUnit': 'MONTHLY', 'BudgetLimit': {'Amount': '10', "
        "'Unit': 'USD'}}, NotificationsWithSubscribers=[...])",
    )
    cl.add(
        "a COST budget notification has a subscriber",
        subscriber,
        "budgets.create_notification(AccountId=..., BudgetName=..., Notification={...}, "
        "Subscribers=[{'SubscriptionType': 'EMAIL', 'Address': 'you@example.com'}])",
    )
    cl.add(
        f"no AWS/Billing alarm outside {BILLING_REGION}",
        elsewhere,
        f"{WRONG_REGION_HINT}; delete it there (cloudwatch.delete_alarms) and create it in "
        f"{BILLING_REGION}",
    )
