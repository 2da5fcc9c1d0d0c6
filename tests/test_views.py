"""The read-only views against the session sandbox: real resources in, rows and columns out."""

from __future__ import annotations

import datetime as dt
import warnings

import boto3
import pytest
from provider_fixtures import create_cost_budget, put_billing_alarm

import flovtrain
from flovtrain import session as fsession
from flovtrain.exceptions import InvalidAccountAlias, UnknownRegion, UnknownService
from flovtrain.sandbox import control
from flovtrain.views import account, budgets, cloudwatch, iam, regions, sns

ACCOUNT = "123456789012"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _reset() -> None:
    control.reset()
    flovtrain.connect(quiet=True)


@pytest.fixture
def clean():
    """A fresh sandbox for tests that need an empty account."""
    _reset()


@pytest.fixture(scope="module")
def connected():
    """Connected, whatever the state: for views that do not depend on it."""
    flovtrain.connect(quiet=True)


def _all_cells(df) -> list[str]:
    return [str(v) for row in df.itertuples(index=False) for v in row]


# --- regions ---------------------------------------------------------------------------------


def test_region_name_and_unknown_region():
    assert regions.region_name("eu-west-1") == "Europe (Ireland)"
    assert regions.region_name("us-east-1") == "US East (N. Virginia)"
    with pytest.raises(UnknownRegion, match="eu-west-1"):
        regions.region_name("europe-1")


def test_regions_from_ec2(connected):
    df = regions.regions()
    assert df.columns.tolist() == ["region", "name", "opt_in_status"]
    assert df.region.tolist() == sorted(df.region)
    expected = {
        r["RegionName"] for r in boto3.client("ec2").describe_regions(AllRegions=True)["Regions"]
    }
    assert set(df.region) == expected
    row = df.set_index("region").loc["eu-west-1"]
    assert row["name"] == "Europe (Ireland)"
    assert row["opt_in_status"] == "opt-in-not-required"


def test_availability_zones(connected):
    df = regions.availability_zones("eu-west-1")
    assert df.columns.tolist() == ["zone", "zone_id", "region", "zone_type", "state"]
    assert len(df) >= 2
    assert set(df.region) == {"eu-west-1"}
    assert all(z.startswith("eu-west-1") for z in df.zone)


def test_service_availability_matches_botocore():
    data = boto3.Session()
    cloud9 = set(data.get_available_regions("cloud9"))
    every = regions.partition_regions()
    assert "eu-west-1" in cloud9 and set(every) - cloud9, "botocore data changed shape"
    m = regions.service_availability(["cloud9", "codecommit", "athena"])
    assert m.columns.tolist() == ["region", "name", "cloud9", "codecommit", "athena"]
    assert m.region.tolist() == every
    assert set(m.loc[m.cloud9, "region"]) == cloud9
    assert set(m.loc[m.codecommit, "region"]) == set(data.get_available_regions("codecommit"))
    absent = sorted(set(every) - cloud9)[0]
    assert not m.set_index("region").loc[absent, "cloud9"]
    assert m.set_index("region").loc["eu-west-1", "cloud9"]


def test_service_regions_global_and_subset():
    one = regions.service_availability("athena", regions=["us-east-1", "eu-west-1"])
    assert one.region.tolist() == ["eu-west-1", "us-east-1"]
    iam_regions = regions.service_regions("iam")
    assert iam_regions.attrs["global"] is True
    assert iam_regions.region.tolist() == regions.partition_regions()
    cloud9 = regions.service_regions("cloud9")
    assert cloud9.attrs["global"] is False
    assert cloud9.region.tolist() == sorted(boto3.Session().get_available_regions("cloud9"))


def test_unknown_services_are_explained():
    with pytest.raises(UnknownService, match="discontinued"):
        regions.service_regions("codestar")
    with pytest.raises(UnknownService, match="no client"):
        regions.service_availability(["cloud10"])


# --- account ---------------------------------------------------------------------------------


def test_account_id_alias_and_signin_url(clean):
    assert account.account_id() == ACCOUNT
    assert account.account_alias() is None
    assert account.signin_url() == f"https://{ACCOUNT}.signin.aws.amazon.com/console"
    url = account.set_account_alias("flovtrain")
    assert url == "https://flovtrain.signin.aws.amazon.com/console"
    assert account.set_account_alias("flovtrain") == url  # idempotent
    assert boto3.client("iam").list_account_aliases()["AccountAliases"] == ["flovtrain"]
    with pytest.raises(InvalidAccountAlias, match="replace=True"):
        account.set_account_alias("flovtec")
    assert account.account_alias() == "flovtrain"  # refused: nothing lost
    account.set_account_alias("flovtec", replace=True)
    assert boto3.client("iam").list_account_aliases()["AccountAliases"] == ["flovtec"]


@pytest.mark.parametrize(
    "alias, why",
    [
        ("ab", "3 to 63"),
        ("Flovtrain", "lowercase"),
        ("-flov", "start and end"),
        ("flov--train", "two hyphens"),
        ("flov_train", "lowercase"),
        ("a" * 64, "3 to 63"),
    ],
)
def test_invalid_aliases_are_refused(connected, alias, why):
    before = account.account_alias()
    with pytest.raises(InvalidAccountAlias, match=why):
        account.set_account_alias(alias, replace=True)
    assert account.account_alias() == before


# --- iam -------------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def team():
    _reset()
    client = boto3.client("iam")
    for name in ("john", "imre"):
        client.create_user(UserName=name)
    client.create_group(GroupName="system-admins")
    client.create_group(GroupName="developers")
    client.add_user_to_group(GroupName="system-admins", UserName="imre")
    client.add_user_to_group(GroupName="system-admins", UserName="john")
    client.add_user_to_group(GroupName="developers", UserName="john")
    client.attach_group_policy(GroupName="system-admins", PolicyArn=ADMIN_ARN)
    client.attach_user_policy(UserName="john", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    return client


class TestIamViews:
    """One account with two users and two groups, shared by the class."""

    def test_account_summary_counts(self, team):
        df = account.account_summary()
        assert df.columns.tolist() == ["name", "value"]
        assert df.name.tolist() == sorted(df.name)
        values = df.set_index("name")["value"]
        assert values["Users"] == 2 and values["Groups"] == 2
        assert values["AccountMFAEnabled"] == 0

    def test_users_and_groups(self, team):
        users = iam.users()
        assert users.columns.tolist() == ["user", "user_id", "arn", "path", "created", "groups"]
        assert users.user.tolist() == ["imre", "john"]
        assert users.set_index("user").loc["john", "groups"] == "developers, system-admins"
        assert users.arn.tolist() == [
            f"arn:aws:iam::{ACCOUNT}:user/imre",
            f"arn:aws:iam::{ACCOUNT}:user/john",
        ]
        assert str(users.created.dtype) == "datetime64[us, UTC]"
        groups = iam.groups()
        assert groups.group.tolist() == ["developers", "system-admins"]
        assert groups.set_index("group").loc["system-admins", "members"] == "imre, john"
        members = iam.group_members("system-admins")
        assert members.columns.tolist() == ["user", "arn", "created"]
        assert members.user.tolist() == ["imre", "john"]

    def test_attached_policies(self, team):
        df = iam.attached_policies(group="system-admins")
        assert df.columns.tolist() == ["principal_type", "principal", "policy", "policy_arn"]
        assert df.values.tolist() == [["group", "system-admins", "AdministratorAccess", ADMIN_ARN]]
        everything = iam.attached_policies()
        assert everything[["principal_type", "principal", "policy"]].values.tolist() == [
            ["group", "system-admins", "AdministratorAccess"],
            ["user", "john", "ReadOnlyAccess"],
        ]
        assert iam.attached_policies(user="imre").empty

    def test_login_profiles(self, team):
        team.create_login_profile(UserName="imre", Password="Correct-Horse-9!")
        df = iam.login_profiles()
        assert df.columns.tolist() == ["user", "created", "password_reset_required"]
        assert df.user.tolist() == ["imre"]  # john has no console password
        assert df.password_reset_required.tolist() == [False]

    def test_access_keys_never_show_the_secret(self, team):
        keys = [team.create_access_key(UserName=u)["AccessKey"] for u in ("imre", "imre", "john")]
        df = iam.access_keys()
        assert df.columns.tolist() == ["user", "access_key_id", "status", "created"]
        assert sorted(df.access_key_id) == sorted(k["AccessKeyId"] for k in keys)
        assert df.user.tolist() == ["imre", "imre", "john"]
        cells = " ".join(_all_cells(df))
        for key in keys:
            assert key["SecretAccessKey"] not in cells
            assert key["SecretAccessKey"][:10] not in cells
        team.update_access_key(
            UserName="john", AccessKeyId=keys[2]["AccessKeyId"], Status="Inactive"
        )
        assert iam.access_keys("john").status.tolist() == ["Inactive"]
        assert all("SecretAccessKey" not in k for k in iam.iter_access_keys())

    def test_mfa_views_never_show_the_seed(self, team):
        created = team.create_virtual_mfa_device(VirtualMFADeviceName="imre")["VirtualMFADevice"]
        team.create_virtual_mfa_device(VirtualMFADeviceName="spare")
        seed = created["Base32StringSeed"].decode()
        team.enable_mfa_device(
            UserName="imre",
            SerialNumber=created["SerialNumber"],
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )
        devices = iam.mfa_devices()
        assert devices.columns.tolist() == ["user", "serial_number", "enabled"]
        assert devices[["user", "serial_number"]].values.tolist() == [
            ["imre", f"arn:aws:iam::{ACCOUNT}:mfa/imre"]
        ]
        virtual = iam.virtual_mfa_devices()
        assert virtual.columns.tolist() == ["serial_number", "user", "enabled"]
        assert virtual.serial_number.tolist() == [
            f"arn:aws:iam::{ACCOUNT}:mfa/imre",
            f"arn:aws:iam::{ACCOUNT}:mfa/spare",
        ]
        assert virtual.user.tolist()[0] == "imre" and virtual.user.isna().tolist()[1]
        assert seed[:12] not in " ".join(_all_cells(virtual))
        assert all("Base32StringSeed" not in d for d in iam.iter_virtual_mfa_devices())
        unassigned = iam.virtual_mfa_devices("Unassigned")
        assert unassigned.serial_number.tolist() == [f"arn:aws:iam::{ACCOUNT}:mfa/spare"]


def test_password_policy(clean):
    empty = iam.password_policy()
    assert empty.empty and empty.columns.tolist() == ["setting", "value"]
    boto3.client("iam").update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=5,
    )
    df = iam.password_policy().set_index("setting")["value"]
    assert df["Minimum password length"] == 14
    assert bool(df["Require at least one non-alphanumeric character"]) is True
    assert bool(df["Require at least one uppercase letter (A-Z)"]) is False
    assert df["Password expiration period (days)"] == 90
    assert df["Prevent reuse of the last N passwords"] == 5


def test_credential_kinds_is_the_talks_table():
    df = iam.credential_kinds()
    assert df.columns.tolist() == ["credential", "used_for", "looks_like", "where_to_manage"]
    text = " ".join(df.credential)
    for kind in ("Console password", "Access keys", "Git credentials", "SSH"):
        assert kind.lower() in text.lower()
    assert df.where_to_manage.str.contains("Security credentials").all()


def test_empty_views_keep_their_columns(clean):
    cases = {
        iam.users: iam.USER_COLUMNS,
        iam.groups: iam.GROUP_COLUMNS,
        iam.attached_policies: iam.POLICY_COLUMNS,
        iam.login_profiles: iam.LOGIN_COLUMNS,
        iam.access_keys: iam.KEY_COLUMNS,
        iam.mfa_devices: iam.MFA_COLUMNS,
        iam.virtual_mfa_devices: iam.VIRTUAL_MFA_COLUMNS,
        lambda: cloudwatch.alarms("us-east-1"): cloudwatch.ALARM_COLUMNS,
        cloudwatch.estimated_charges: cloudwatch.CHARGES_COLUMNS,
        lambda: sns.topics("us-east-1"): sns.TOPIC_COLUMNS,
        lambda: sns.subscriptions(region="us-east-1"): sns.SUBSCRIPTION_COLUMNS,
        sns.inbox: sns.INBOX_COLUMNS,
        budgets.budgets: budgets.BUDGET_COLUMNS,
    }
    for view, columns in cases.items():
        df = view()
        assert df.empty, view
        assert df.columns.tolist() == columns, view


# --- cloudwatch, sns, budgets ----------------------------------------------------------------


@pytest.fixture(scope="class")
def billing_alarm():
    _reset()
    topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="billing-alarm")[
        "TopicArn"
    ]
    boto3.client("sns", region_name="us-east-1").subscribe(
        TopicArn=topic, Protocol="email", Endpoint="aws1@flovtec.com"
    )
    put_billing_alarm(boto3.client("cloudwatch", region_name="us-east-1"), topic)
    return topic


def _charges(values: list[float]) -> list[dt.datetime]:
    from flovtrain.billing import simulate_charges

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    times = [now - dt.timedelta(hours=6 * (len(values) - 1 - i)) for i in range(len(values))]
    for when, usd in zip(times, values, strict=True):
        simulate_charges(usd, timestamp=when)
    return times


class TestBillingViews:
    """A billing alarm with an e-mail subscription, shared by the class (order matters)."""

    def test_alarms(self, billing_alarm):
        df = cloudwatch.alarms("us-east-1")
        assert df.columns.tolist() == cloudwatch.ALARM_COLUMNS
        row = df.iloc[0].to_dict()
        assert row["name"] == "billing-10usd" and row["namespace"] == "AWS/Billing"
        assert row["metric"] == "EstimatedCharges" and row["dimensions"] == "Currency=USD"
        assert row["statistic"] == "Maximum" and row["threshold"] == 10.0
        assert row["comparison"] == ">=" and row["period"] == 21600
        assert row["actions"] == billing_alarm
        assert cloudwatch.alarms("eu-west-1").empty  # alarms are regional

    def test_estimated_charges_and_history(self, billing_alarm):
        times = _charges([1.0, 3.5, 12.0])
        series = cloudwatch.estimated_charges()
        assert series.columns.tolist() == ["timestamp", "usd"]
        assert series.usd.tolist() == [1.0, 3.5, 12.0]
        assert [t.to_pydatetime() for t in series.timestamp] == times
        assert cloudwatch.alarms("us-east-1").state.tolist() == ["ALARM"]
        history = cloudwatch.alarm_history("billing-10usd", region="us-east-1")
        assert history.columns.tolist() == ["timestamp", "alarm", "type", "summary"]
        assert history.timestamp.is_monotonic_increasing
        assert "StateUpdate" in history.type.tolist()
        assert history.summary.str.contains("to ALARM").any()

    def test_topics_subscriptions_and_inbox(self, billing_alarm):
        client = boto3.client("sns", region_name="us-east-1")
        client.subscribe(TopicArn=billing_alarm, Protocol="email", Endpoint="john@flovtec.com")
        topics = sns.topics("us-east-1")
        assert topics[["topic", "arn"]].values.tolist() == [["billing-alarm", billing_alarm]]
        subs = sns.subscriptions(region="us-east-1")
        assert subs.columns.tolist() == ["topic", "protocol", "endpoint", "arn", "pending"]
        assert subs.endpoint.tolist() == ["aws1@flovtec.com", "john@flovtec.com"]
        assert subs.pending.tolist() == [False, False]
        assert subs.arn.str.startswith(billing_alarm + ":").all()
        client.publish(TopicArn=billing_alarm, Subject="hello", Message="line one\nline two " * 20)
        mail = sns.inbox("aws1@flovtec.com")
        assert mail.columns.tolist() == ["time", "to", "subject", "message", "topic"]
        # the alarm fired in the test before: its e-mail comes first, oldest first
        assert mail.to.tolist() == ["aws1@flovtec.com", "aws1@flovtec.com"]
        assert mail.subject.str.startswith('ALARM: "billing-10usd"').tolist() == [True, False]
        last = mail.iloc[-1]
        assert last.subject == "hello" and last.topic == "billing-alarm"
        assert "\n" not in last.message and len(last.message) == sns.PREVIEW_CHARS
        assert last.message.endswith("…")
        full = sns.inbox("aws1@flovtec.com", full=True).message.iloc[-1]
        assert full.count("line two") == 20
        assert sns.inbox("JOHN@flovtec.com").subject.tolist() == ["hello"]
        assert len(sns.inbox()) == 3


def test_inbox_on_real_aws_is_empty_with_a_warning(monkeypatch):
    real = fsession.Connection("aws", "111122223333", "eu-west-1", None)
    monkeypatch.setitem(fsession._current, "conn", real)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = sns.inbox()
    assert df.empty and df.columns.tolist() == sns.INBOX_COLUMNS
    assert "real" in df.attrs["note"] and caught


def test_budgets_and_notifications(clean):
    create_cost_budget("monthly-20usd", "20", 80, ("EMAIL", "aws1@flovtec.com"))
    df = budgets.budgets()
    assert df.columns.tolist() == budgets.BUDGET_COLUMNS
    row = df.iloc[0].to_dict()
    assert row["name"] == "monthly-20usd" and row["limit"] == 20.0 and row["unit"] == "USD"
    assert row["time_unit"] == "MONTHLY" and row["type"] == "COST"
    notes = budgets.budget_notifications("monthly-20usd")
    assert notes.columns.tolist() == budgets.NOTIFICATION_COLUMNS
    assert notes[
        ["notification_type", "comparison", "threshold", "threshold_type"]
    ].values.tolist() == [["ACTUAL", ">", 80.0, "PERCENTAGE"]]
    assert notes.subscribers.iloc[0] in ("EMAIL:aws1@flovtec.com", budgets.SUBSCRIBERS_UNKNOWN)
