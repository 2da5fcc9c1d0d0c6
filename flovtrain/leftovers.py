"""What chapters 01-09 leave behind, built in one call: chapter 10's catch-up (sandbox only).

Every notebook starts on a reset sandbox, so chapter 10 would have nothing to clean up. Running
all nine solutions (``flovtrain.catch_up("10")``) takes minutes; :func:`build_leftovers` makes
the same *kinds* of resources in seconds, with plain boto3 and the names the chapters use. On
real AWS your account holds what you built yourself: it refuses to run there.

Examples
--------
>>> from flovtrain import leftovers
>>> leftovers.build_leftovers()          # doctest: +SKIP
'state of chapters 01-09 built: 9 chapters'
"""

from __future__ import annotations

import boto3

from flovtrain import config

MARKET_DB = "marketdata"


def _chapters_01_03(session: boto3.Session, tags: list[dict[str, str]]) -> None:
    iam = session.client("iam")
    if not iam.list_account_aliases()["AccountAliases"]:
        iam.create_account_alias(AccountAlias="flovtrain")
        iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True)
    if "system-admins" not in [g["GroupName"] for g in iam.list_groups()["Groups"]]:
        iam.create_group(GroupName="system-admins")
    for user in ("imre", "john"):
        if user not in [u["UserName"] for u in iam.list_users()["Users"]]:
            iam.create_user(UserName=user, Tags=tags)
            iam.add_user_to_group(GroupName="system-admins", UserName=user)
            iam.create_access_key(UserName=user)  # the secret is not kept: it is about to go
    sns = session.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="billing-alerts", Tags=tags)["TopicArn"]
    if not sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="you@example.com")
    session.client("cloudwatch", region_name="us-east-1").put_metric_alarm(
        AlarmName="billing-over-10-usd",
        Namespace="AWS/Billing",
        MetricName="EstimatedCharges",
        Dimensions=[{"Name": "Currency", "Value": "USD"}],
        Statistic="Maximum",
        Period=21600,
        EvaluationPeriods=1,
        Threshold=10.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
    )
    budgets = session.client("budgets", region_name="us-east-1")
    account = session.client("sts").get_caller_identity()["Account"]
    try:
        budgets.create_budget(
            AccountId=account,
            Budget={
                "BudgetName": "monthly-cost-budget",
                "BudgetType": "COST",
                "TimeUnit": "MONTHLY",
                "BudgetLimit": {"Amount": "20", "Unit": "USD"},
            },
        )
    except budgets.exceptions.DuplicateRecordException:
        pass  # a re-run


def _chapters_08_09(session: boto3.Session, tags: list[dict[str, str]]) -> None:
    s3 = session.client("s3")
    account = session.client("sts").get_caller_identity()["Account"]
    market = f"flovtec-marketdata-{account}"
    if market not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        region = session.region_name or "eu-west-1"
        s3.create_bucket(Bucket=market, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_object(
            Bucket=market, Key="klines/BTCUSDT/2025-01-01.csv", Body=b"1735689600000,93576.0\n"
        )
        session.client("glue").create_database(DatabaseInput={"Name": MARKET_DB})
        session.client("glue").create_table(DatabaseName=MARKET_DB, TableInput={"Name": "klines"})
        session.client("athena").create_work_group(Name="capped", Tags=tags)
    session.client("sqs").create_queue(QueueName="flovtrain-orders-billing")
    session.client("sns").create_topic(Name="flovtrain-orders", Tags=tags)
    session.client("ssm").put_parameter(
        Name="/flovtrain/shop/db-host", Value="shop-db.internal", Type="String", Overwrite=True
    )


def _chapter_07_prod(tags: list[dict[str, str]]) -> None:
    from flovtrain import flovtec

    prod = flovtec.assume_role(
        flovtec.prod_role_arn(), session_name="prod-admin", region="us-east-1"
    )
    staging = flovtec.staging_bucket_name()
    if staging not in [b["Name"] for b in prod.client("s3").list_buckets()["Buckets"]]:
        prod.client("s3").create_bucket(Bucket=staging)
        prod.client("rds").create_db_instance(
            DBInstanceIdentifier="flovtec-prod-db",
            Engine="mysql",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="flovtec_admin",
            ManageMasterUserPassword=True,
            Tags=tags,
        )


def build_leftovers(session: boto3.Session | None = None) -> str:
    """Build in the sandbox what chapters 01-09 leave behind; safe to run twice.

    IAM users, group and password policy (01-02), the billing topic, alarm and budget (03), the
    project stack (04-06), PROD's staging bucket and database (07), the market data bucket,
    Glue tables and Athena workgroup (08), a queue, a topic and a parameter (09).

    Parameters
    ----------
    session : boto3.Session, optional
        Default: the current connection's session.

    Returns
    -------
    str
        One line saying what was built (the project's own line is printed as it is made).

    Raises
    ------
    SandboxOnly
        On real AWS: there your account holds what you built yourself.

    Examples
    --------
    >>> build_leftovers()          # doctest: +SKIP
    'state of chapters 01-09 built'
    """
    from flovtrain import project
    from flovtrain.exceptions import SandboxOnly
    from flovtrain.session import current, get_session

    if not current().is_sandbox:
        raise SandboxOnly(
            "build_leftovers works in the sandbox only: on real AWS your account already holds "
            "what you built in chapters 01-09 (skip this cell)."
        )
    session = get_session(session)
    tags = config.workshop_tags()
    _chapters_01_03(session, tags)
    print(project.create_project(save_key=False, session=session))
    _chapters_08_09(session, tags)
    _chapter_07_prod(tags)
    return "state of chapters 01-09 built"
