"""Chapter checks against the session sandbox: ✗ on a reset sandbox, ✓ once plain boto3 built
the state, and each item flips on its own."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest
from provider_fixtures import cost_budget, run_flovtrain
from provider_fixtures import put_billing_alarm as billing_alarm

import flovtrain
from flovtrain.checks import Checklist, Item, chapters, check, normalize_chapter
from flovtrain.exceptions import UnknownChapter
from flovtrain.sandbox import control

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def session() -> boto3.Session:
    control.reset()
    return boto3.Session(region_name="eu-west-1")


def build_ch01(s: boto3.Session) -> None:
    iam = s.client("iam")
    iam.create_account_alias(AccountAlias="flovtrain")
    iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")


def build_ch02(s: boto3.Session) -> None:
    iam = s.client("iam")
    iam.create_group(GroupName="system-admins")
    iam.attach_group_policy(GroupName="system-admins", PolicyArn=ADMIN)
    for name in ("imre", "john"):
        iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName="system-admins", UserName=name)
        iam.create_login_profile(
            UserName=name, Password="Sup3r-Secret-Pass!", PasswordResetRequired=True
        )
        iam.create_access_key(UserName=name)
    iam.update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
    )


def build_ch03(s: boto3.Session) -> str:
    sns = s.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="billing-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="imre@example.com")
    put_billing_alarm(s, "us-east-1", topic)
    account = s.client("sts").get_caller_identity()["Account"]
    s.client("budgets", region_name="us-east-1").create_budget(
        AccountId=account,
        Budget=cost_budget("monthly", "10"),
        NotificationsWithSubscribers=[
            {
                "Notification": {
                    "NotificationType": "ACTUAL",
                    "ComparisonOperator": "GREATER_THAN",
                    "Threshold": 80,
                },
                "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "imre@example.com"}],
            }
        ],
    )
    return topic


def put_billing_alarm(s: boto3.Session, region: str, topic: str, **overrides) -> None:
    overrides.setdefault("AlarmName", "billing-10-usd")
    billing_alarm(s.client("cloudwatch", region_name=region), topic, **overrides)


def failing(cl: Checklist) -> list[str]:
    return [i.item for i in cl if not i.passed]


# ---------------------------------------------------------------- registry and Checklist


def test_chapter_ids_normalize():
    assert normalize_chapter(2) == normalize_chapter("2") == normalize_chapter("02") == "02"
    assert {"01", "02", "03"} <= set(chapters())
    with pytest.raises(UnknownChapter, match="not a chapter number"):
        normalize_chapter("two")


def test_unknown_chapter_lists_valid_ones(session):
    with pytest.raises(UnknownChapter, match=r"chapter 99.*01, 02, 03"):
        check(99, session=session)


def test_lazy_export():
    assert flovtrain.check is check


def test_checklist_renders_text_html_and_frame():
    cl = Checklist(
        "02",
        "IAM",
        [
            Item("user imre exists", True),
            Item(
                "user john exists",
                False,
                "no IAM user named john",
                "iam.create_user(UserName='john')",
            ),
        ],
    )
    assert not cl.passed
    assert (
        str(cl)
        == repr(cl)
        == (
            "Chapter 02 · IAM: 1/2 passed\n"
            "  ✓ user imre exists\n"
            "  ✗ user john exists\n"
            "      why: no IAM user named john\n"
            "      fix: iam.create_user(UserName='john')"
        )
    )
    page = cl._repr_html_()
    assert "<table>" in page and "#2e7d32" in page and "#c62828" in page
    assert "iam.create_user(UserName=&#x27;john&#x27;)" in page
    frame = cl.to_frame()
    assert frame.columns.tolist() == ["item", "passed", "why", "hint"]
    assert frame["passed"].tolist() == [True, False]
    assert Checklist("01", "empty").to_frame().columns.tolist() == ["item", "passed", "why", "hint"]
    assert not Checklist("01", "empty").passed  # nothing checked is not a pass


# ---------------------------------------------------------------- empty sandbox: all ✗


@pytest.mark.parametrize("chapter", ["01", "02", "03"])
def test_reset_sandbox_fails_every_item_with_a_hint(session, chapter):
    cl = check(chapter, session=session)
    assert not cl.passed
    negative = {"no AWS/Billing alarm outside us-east-1"}  # nothing there is the good state
    for item in cl:
        if item.item in negative:
            assert item.passed
            continue
        assert not item.passed, item
        assert item.why and item.hint, item


def test_text_output_is_deterministic(session):
    assert str(check("02", session=session)) == str(check(2, session=session))


# ---------------------------------------------------------------- chapter 01


def test_ch01_all_pass_and_each_item_flips(session):
    build_ch01(session)
    assert check("01", session=session).passed
    iam = session.client("iam")
    iam.delete_account_alias(AccountAlias="flovtrain")
    assert failing(check(1, session=session)) == ["an account alias is set"]
    iam.create_account_alias(AccountAlias="flovtrain")
    iam.delete_virtual_mfa_device(
        SerialNumber="arn:aws:iam::123456789012:mfa/root-account-mfa-device"
    )
    cl = check(1, session=session)
    assert failing(cl) == ["the root user has an MFA device"]
    assert cl[1].why == "the account has no MFA device for the root user"
    assert "console" in cl[1].hint
    iam.create_virtual_mfa_device(VirtualMFADeviceName="some-other-device")  # any name will do
    assert check(1, session=session).passed


# ---------------------------------------------------------------- chapter 02


def test_ch02_all_pass(session):
    build_ch02(session)
    cl = check("02", session=session)
    assert cl.passed, str(cl)
    assert len(cl) == 11


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (
            lambda iam: iam.remove_user_from_group(GroupName="system-admins", UserName="john"),
            ["john is a member of system-admins"],
        ),
        (
            lambda iam: iam.detach_group_policy(
                GroupName="system-admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
            ),
            ["system-admins has AdministratorAccess attached"],
        ),
        (lambda iam: iam.delete_login_profile(UserName="imre"), ["imre has a console password"]),
        (
            lambda iam: [
                iam.update_access_key(
                    UserName="john", AccessKeyId=k["AccessKeyId"], Status="Inactive"
                )
                for k in iam.list_access_keys(UserName="john")["AccessKeyMetadata"]
            ],
            ["john has an active access key"],
        ),
        (
            lambda iam: iam.update_account_password_policy(
                MinimumPasswordLength=8,
                RequireSymbols=True,
                RequireNumbers=True,
                RequireUppercaseCharacters=True,
                RequireLowercaseCharacters=True,
            ),
            ["password policy: >= 14 characters with symbols, numbers, upper and lower case"],
        ),
    ],
)
def test_ch02_each_item_flips_alone(session, breakage, expected):
    build_ch02(session)
    breakage(session.client("iam"))
    assert failing(check("02", session=session)) == expected


def test_ch02_password_policy_names_each_missing_rule(session):
    build_ch02(session)
    session.client("iam").update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=False,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=False,
    )
    why = check("02", session=session)[-1].why
    assert why == "RequireSymbols is false; RequireLowercaseCharacters is false"


def test_ch02_missing_user_explains_dependent_items(session):
    build_ch02(session)
    iam = session.client("iam")
    iam.remove_user_from_group(GroupName="system-admins", UserName="john")
    iam.delete_login_profile(UserName="john")
    for key in iam.list_access_keys(UserName="john")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="john", AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName="john")
    cl = check("02", session=session)
    assert failing(cl) == [
        "user john exists",
        "john is a member of system-admins",
        "john has a console password",
        "john has an active access key",
    ]
    assert {i.why for i in cl if not i.passed} == {"no IAM user named john"}


# ---------------------------------------------------------------- chapter 03

CH03_ITEMS = [
    "an SNS topic in us-east-1 for billing alerts",
    "the alerts topic has an email subscription",
    "a billing alarm on EstimatedCharges (Currency=USD, Maximum, threshold > 0) in us-east-1",
    "the billing alarm notifies an SNS topic in us-east-1",
    "a COST budget exists in AWS Budgets",
    "a COST budget notification has a subscriber",
    "no AWS/Billing alarm outside us-east-1",
]


def test_ch03_items_and_partial_state(session):
    topic = build_ch03(session)
    cl = check("03", session=session)
    assert [i.item for i in cl] == CH03_ITEMS
    # the sandbox's budgets provider answers DescribeSubscribersForNotification (moto lacks it)
    assert failing(cl) == []
    # the alarm with the wrong statistic and no action
    put_billing_alarm(session, "us-east-1", topic, Statistic="Average", AlarmActions=[])
    cl = check("03", session=session)
    assert not cl[2].passed and cl[2].why == (
        "alarm billing-10-usd: Statistic is Average (needs Maximum)"
    )
    assert not cl[3].passed


def test_ch03_all_pass(session):
    build_ch03(session)
    cl = check("03", session=session)
    assert cl.passed, str(cl)


def test_ch03_alarm_without_topic_action(session):
    topic = build_ch03(session)
    put_billing_alarm(session, "us-east-1", topic, AlarmActions=[])
    cl = check("03", session=session)
    assert cl[2].passed
    assert not cl[3].passed
    assert cl[3].why == (
        "alarm billing-10-usd notifies no SNS topic in us-east-1 (its alarm actions: none)"
    )


def test_ch03_email_subscription_flips(session):
    topic = build_ch03(session)
    sns = session.client("sns", region_name="us-east-1")
    for sub in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    cl = check("03", session=session)
    assert not cl[1].passed and cl[0].passed and cl[3].passed


def test_ch03_console_way_with_its_default_topic_passes(session):
    """The console's alarm wizard: "Create new topic" names it Default_CloudWatch_Alarms_Topic;
    the budget wizard picks its own names and thresholds."""
    sns = session.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="Default_CloudWatch_Alarms_Topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="imre@example.com")
    put_billing_alarm(
        session,
        "us-east-1",
        topic,
        AlarmName="BillingAlarm",
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    account = session.client("sts").get_caller_identity()["Account"]
    session.client("budgets", region_name="us-east-1").create_budget(
        AccountId=account,
        Budget=cost_budget("My Monthly Cost Budget", "25"),
        NotificationsWithSubscribers=[
            {
                "Notification": {
                    "NotificationType": "FORECASTED",
                    "ComparisonOperator": "GREATER_THAN",
                    "Threshold": 100,
                },
                "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "imre@example.com"}],
            }
        ],
    )
    cl = check("03", session=session)
    assert cl.passed, str(cl)


def test_ch03_any_topic_the_alarm_notifies_counts_and_its_subscription_decides(session):
    build_ch03(session)
    sns = session.client("sns", region_name="us-east-1")
    ops = sns.create_topic(Name="ops-pager")["TopicArn"]
    put_billing_alarm(session, "us-east-1", ops)  # the alarm now notifies ops-pager only
    cl = check("03", session=session)
    assert failing(cl) == ["the alerts topic has an email subscription"]
    assert cl[1].why == "no email subscription on ops-pager"  # billing-alerts' e-mail is moot
    sns.subscribe(TopicArn=ops, Protocol="email", Endpoint="ops@example.com")
    assert check("03", session=session).passed


def test_ch03_missing_topic_is_one_cause_shown_once(session):
    put_billing_alarm(session, "us-east-1", None)
    cl = check("03", session=session)
    assert failing(cl)[:2] == CH03_ITEMS[:2] and cl[0].why == cl[1].why
    text = str(cl)
    assert text.count(cl[0].why) == 1
    assert f"✗ {CH03_ITEMS[1]} (same cause as: {CH03_ITEMS[0]})" in text


def test_ch03_billing_alarm_in_wrong_region_fails_its_item(session):
    topic = build_ch03(session)
    put_billing_alarm(session, "eu-west-1", topic, AlarmName="billing-in-ireland")
    cl = check("03", session=session)
    item = cl["no AWS/Billing alarm outside us-east-1"]
    assert not item.passed
    assert item.why == "billing alarm billing-in-ireland in eu-west-1"
    assert item.hint.startswith(
        "billing metrics exist only in us-east-1: this alarm can never fire"
    )
    assert cl[2].passed  # the us-east-1 alarm still counts


def test_ch03_only_wrong_region_alarm(session):
    sns = session.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="billing-alerts")["TopicArn"]
    put_billing_alarm(session, "eu-west-1", topic)
    cl = check("03", session=session)
    assert not cl[2].passed and "no CloudWatch alarm" in cl[2].why
    assert not cl[-1].passed


# ---------------------------------------------------------------- CLI exit codes


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return run_flovtrain(*args, cwd=ROOT)


def test_cli_exit_codes(session):
    failed = run_cli("check", "02")
    assert failed.returncode == 1, failed.stderr
    assert "✗ user john exists" in failed.stdout
    build_ch02(session)
    passed = run_cli("check", "2")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.startswith("Chapter 02 · IAM users, group and password policy: 11/11")
    unknown = run_cli("check", "99")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("flovtrain: there is no check for chapter 99")
    assert "01, 02, 03" in unknown.stderr


# ---------------------------------------------------------------- chapter 04: the saved key


def _other_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def test_ch04_key_is_judged_by_fingerprint_not_by_file_name(tmp_path):
    from provider_fixtures import learner_project

    from flovtrain.credentials import credentials_folder

    key_item = "the key pair's private key is saved in credentials/ (any .pem name, mode 600)"
    with learner_project(tmp_path) as p:
        s = boto3.Session(region_name="eu-west-1")
        assert check("04", session=s).passed, str(check("04", session=s))
        folder = credentials_folder()
        saved = p.key_file.read_text()
        for pem in folder.glob("*.pem"):
            pem.unlink()
        # the console's way: the CLI reads the key from SSM into a file of one's own naming
        key_id = p.outputs["KeyPairId"]
        value = s.client("ssm").get_parameter(Name=f"/ec2/keypair/{key_id}", WithDecryption=True)
        mine = folder / "laptop.pem"
        mine.write_text(value["Parameter"]["Value"])
        mine.chmod(0o600)
        assert mine.read_text().strip() == saved.strip()
        assert check("04", session=s).passed
        mine.chmod(0o644)
        assert check("04", session=s)[key_item].why == (
            "laptop.pem has mode 644: others can read it (needs 600)"
        )
        mine.write_text(_other_private_key())  # a key, but not this key pair's
        mine.chmod(0o600)
        why = check("04", session=s)[key_item].why
        assert why == "none of laptop.pem holds the private key of key pair flovtrain-webapp-key"
