"""flovtrain.cleanup: the plan finds what the chapters create, a dry run deletes nothing, a run
deletes exactly the plan (and nothing else), and a second run has nothing to do."""

from __future__ import annotations

import json
import os
import stat
import warnings

import boto3
import pytest
from botocore.exceptions import ClientError
from provider_fixtures import cost_budget, put_billing_alarm, subscribe_queue, trust_policy

from flovtrain import cleanup

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TAGS = [{"Key": "flovtrain:workshop", "Value": "flovtrain"}]
STACK_TEMPLATE = json.dumps(
    {
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": f"flovtrain-test-artifacts-{ACCOUNT}"},
            },
        },
    }
)


pytestmark = pytest.mark.usefixtures("clean_sandbox")


@pytest.fixture
def session() -> boto3.Session:
    return boto3.Session(region_name=REGION)


def _create_workshop_state(s: boto3.Session) -> None:
    """What chapters 01-09 leave behind, in plain boto3 (plus things that are not ours)."""
    iam = s.client("iam")
    iam.create_account_alias(AccountAlias="flovtrain")
    iam.update_account_password_policy(MinimumPasswordLength=14)
    iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    iam.create_group(GroupName="system-admins")
    for user in ("imre", "john"):
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName="system-admins", UserName=user)
        iam.create_access_key(UserName=user)
        iam.create_login_profile(UserName=user, Password="Aa1!aaaaaaaaaaaa")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="imre")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="imre",
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.create_user(UserName="tagged-helper", Tags=TAGS)
    trust = json.dumps(trust_policy("firehose.amazonaws.com"))
    iam.create_role(RoleName="flovtrain-firehose-role", AssumeRolePolicyDocument=trust)
    write = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
    }
    iam.put_role_policy(
        RoleName="flovtrain-firehose-role", PolicyName="write", PolicyDocument=json.dumps(write)
    )

    sns = s.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="billing-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="you@example.com")
    put_billing_alarm(
        s.client("cloudwatch", region_name="us-east-1"),
        topic,
        name="billing-over-10-usd",
        comparison="GreaterThanThreshold",
    )
    s.client("budgets", region_name="us-east-1").create_budget(
        AccountId=ACCOUNT,
        Budget=cost_budget("monthly-cost-budget", "20"),
    )

    cfn = s.client("cloudformation")
    cfn.create_stack(StackName="flovtrain-test", TemplateBody=STACK_TEMPLATE, Tags=TAGS)
    s3 = s.client("s3")
    s3.put_object(Bucket=f"flovtrain-test-artifacts-{ACCOUNT}", Key="build.zip", Body=b"zip")
    location = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket=f"flovtec-marketdata-{ACCOUNT}", CreateBucketConfiguration=location)
    s3.put_bucket_versioning(
        Bucket=f"flovtec-marketdata-{ACCOUNT}", VersioningConfiguration={"Status": "Enabled"}
    )
    for body in (b"1", b"2"):  # two versions
        s3.put_object(Bucket=f"flovtec-marketdata-{ACCOUNT}", Key="klines/a.csv", Body=body)
    s3.create_bucket(Bucket="tagged-data", CreateBucketConfiguration=location)
    s3.put_bucket_tagging(Bucket="tagged-data", Tagging={"TagSet": TAGS})

    ec2 = s.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": TAGS}],
    )
    ec2.create_key_pair(KeyName="flovtrain-extra-key")

    glue = s.client("glue")
    glue.create_database(DatabaseInput={"Name": "marketdata"})
    glue.create_table(DatabaseName="marketdata", TableInput={"Name": "klines"})
    s.client("athena").create_work_group(Name="capped")

    queue = s.client("sqs").create_queue(QueueName="flovtrain-orders")["QueueUrl"]
    assert queue
    s.client("sns").create_topic(Name="flovtrain-orders")
    s.client("ssm").put_parameter(
        Name="/flovtrain/shop/db-password", Value="s3cret", Type="SecureString"
    )
    s.client("glacier").create_vault(vaultName="flovtrain-backup")
    s.client("logs").create_log_group(logGroupName="/aws/codebuild/flovtrain-test")
    # chapter 07's builds log here; its projects are gone by the time the logs are listed
    s.client("logs").create_log_group(logGroupName="/aws/codebuild/flovtec-webapp-publish")
    _create_chapter07_state(s)


def _create_chapter07_state(s: boto3.Session) -> None:
    """Chapter 07's environments outside any stack: pipeline, build, deploy, RDS, ALB, DNS."""
    trust = json.dumps(trust_policy("codepipeline.amazonaws.com"))
    role = s.client("iam").create_role(
        RoleName="flovtec-toolchain", AssumeRolePolicyDocument=trust, Tags=TAGS
    )["Role"]["Arn"]
    s3 = s.client("s3")
    s3.create_bucket(
        Bucket="flovtec-artifacts-test", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s.client("codebuild").create_project(
        name="flovtec-webapp-build",
        source={"type": "CODEPIPELINE", "location": "x"},
        artifacts={"type": "CODEPIPELINE"},
        serviceRole=role,
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
    )
    s.client("codedeploy").create_application(
        applicationName="flovtec-webapp", computePlatform="Server"
    )
    s.client("codepipeline").create_pipeline(
        pipeline={
            "name": "flovtec-webapp",
            "roleArn": role,
            "artifactStore": {"type": "S3", "location": "flovtec-artifacts-test"},
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        {
                            "name": "Source",
                            "actionTypeId": {
                                "category": "Source",
                                "owner": "AWS",
                                "provider": "S3",
                                "version": "1",
                            },
                            "configuration": {
                                "S3Bucket": "flovtec-artifacts-test",
                                "S3ObjectKey": "src.zip",
                                "PollForSourceChanges": "false",
                            },
                            "outputArtifacts": [{"name": "SourceOutput"}],
                        }
                    ],
                },
                {
                    "name": "Approve",
                    "actions": [
                        {
                            "name": "Approve",
                            "actionTypeId": {
                                "category": "Approval",
                                "owner": "AWS",
                                "provider": "Manual",
                                "version": "1",
                            },
                        }
                    ],
                },
            ],
        }
    )
    s.client("rds").create_db_instance(
        DBInstanceIdentifier="flovtec-prod-db",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="Secret-123456",
    )
    ec2 = s.client("ec2")
    default = [{"Name": "is-default", "Values": ["true"]}]
    vpc = ec2.describe_vpcs(Filters=default)["Vpcs"][0]["VpcId"]
    subnets = [
        n["SubnetId"]
        for n in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    ][:2]
    sg = ec2.create_security_group(GroupName="flovtec-alb", Description="http", VpcId=vpc)[
        "GroupId"
    ]
    elb = s.client("elbv2")
    elb.create_load_balancer(Name="flovtec-prod-alb", Subnets=subnets, SecurityGroups=[sg])
    elb.create_target_group(Name="flovtec-prod-8090", Protocol="HTTP", Port=8090, VpcId=vpc)
    route53 = s.client("route53")
    zone = route53.create_hosted_zone(
        Name="flovtec.example",
        CallerReference="flovtrain-test",
        HostedZoneConfig={"Comment": "flovtrain chapter 07"},
    )
    route53.change_resource_record_sets(
        HostedZoneId=zone["HostedZone"]["Id"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": "app.flovtec.example",
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "192.0.2.1"}],
                    },
                }
            ]
        },
    )


def _create_foreign_state(s: boto3.Session) -> None:
    """Things the workbook did not create: they must survive every run."""
    iam = s.client("iam")
    iam.create_user(UserName="someone-else")
    iam.create_group(GroupName="other-admins")
    iam.create_role(RoleName="other-role", AssumeRolePolicyDocument="{}")
    s.client("s3").create_bucket(
        Bucket="someone-elses-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s.client("sqs").create_queue(QueueName="payments")
    s.client("ssm").put_parameter(Name="/other/setting", Value="x", Type="String")
    s.client("cloudwatch").put_metric_alarm(
        AlarmName="cpu-high",
        Namespace="Other",
        MetricName="CPU",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=90,
        ComparisonOperator="GreaterThanThreshold",
    )
    s.client("cloudformation").create_stack(
        StackName="not-ours",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "not-ours-b"}}
                }
            }
        ),
    )


def _foreign_still_there(s: boto3.Session) -> None:
    iam = s.client("iam")
    assert "someone-else" in [u["UserName"] for u in iam.list_users()["Users"]]
    assert "other-admins" in [g["GroupName"] for g in iam.list_groups()["Groups"]]
    assert "other-role" in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    buckets = [b["Name"] for b in s.client("s3").list_buckets()["Buckets"]]
    assert {"someone-elses-bucket", "not-ours-b"} <= set(buckets)
    assert s.client("sqs").get_queue_url(QueueName="payments")["QueueUrl"]
    assert s.client("ssm").get_parameter(Name="/other/setting")["Parameter"]["Value"] == "x"
    assert s.client("cloudwatch").describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"]
    stacks = s.client("cloudformation").describe_stacks(StackName="not-ours")["Stacks"]
    assert stacks[0]["StackStatus"] == "CREATE_COMPLETE"


def test_empty_account_has_an_empty_plan_with_fixed_columns(session):
    df = cleanup.plan(session)
    assert list(df.columns) == cleanup.COLUMNS
    assert len(df) == 0
    result = cleanup.run(df, dry_run=False, session=session)
    assert list(result.columns) == cleanup.RESULT_COLUMNS and len(result) == 0
    assert cleanup.summary(result) == "nothing to do"


def test_plan_lists_what_the_workbook_created_and_nothing_else(session):
    _create_workshop_state(session)
    _create_foreign_state(session)
    df = cleanup.plan(session)
    found = set(zip(df.kind, df.name, strict=True))
    expected = {
        ("iam user", "imre"),
        ("iam user", "john"),
        ("iam user", "tagged-helper"),
        ("iam group", "system-admins"),
        ("iam role", "flovtrain-firehose-role"),
        ("iam virtual mfa device", "root-account-mfa-device"),
        ("iam virtual mfa device", "imre"),
        ("iam account alias", "flovtrain"),
        ("iam password policy", "password policy"),
        ("sns topic", "billing-alerts"),
        ("cloudwatch alarm", "billing-over-10-usd"),
        ("budgets budget", "monthly-cost-budget"),
        ("cloudformation stack", "flovtrain-test"),
        ("s3 bucket", f"flovtrain-test-artifacts-{ACCOUNT}"),
        ("s3 bucket", f"flovtec-marketdata-{ACCOUNT}"),
        ("s3 bucket", "tagged-data"),
        ("ec2 key pair", "flovtrain-extra-key"),
        ("glue database", "marketdata"),
        ("glue table", "marketdata.klines"),
        ("athena workgroup", "capped"),
        ("sqs queue", "flovtrain-orders"),
        ("sns topic", "flovtrain-orders"),
        ("ssm parameter", "/flovtrain/shop/db-password"),
        ("glacier vault", "flovtrain-backup"),
        ("logs log group", "/aws/codebuild/flovtrain-test"),
        ("logs log group", "/aws/codebuild/flovtec-webapp-publish"),
        ("iam role", "flovtec-toolchain"),
        ("s3 bucket", "flovtec-artifacts-test"),
        ("codebuild project", "flovtec-webapp-build"),
        ("codedeploy application", "flovtec-webapp"),
        ("codepipeline pipeline", "flovtec-webapp"),
        ("rds db instance", "flovtec-prod-db"),
        ("ec2 security group", "flovtec-alb"),
        ("elbv2 load balancer", "flovtec-prod-alb"),
        ("elbv2 target group", "flovtec-prod-8090"),
        ("route53 hosted zone", "flovtec.example."),
    }
    assert expected <= found, expected - found
    assert (df.kind == "ec2 instance").sum() == 1
    assert (df.kind == "sns subscription").sum() == 1
    names = set(df.name)
    for foreign in (
        "someone-else",
        "other-admins",
        "other-role",
        "someone-elses-bucket",
        "not-ours-b",
        "payments",
        "/other/setting",
        "cpu-high",
        "not-ours",
    ):
        assert foreign not in names
    # kept by default: alias and password policy; regions as asked
    assert set(df[df.keep].kind) == {"iam account alias", "iam password policy"}
    assert set(df.region) <= {"eu-west-1", "us-east-1", "global"}
    assert df.loc[df.kind == "cloudformation stack", "billable"].all()
    # the order removes dependencies first
    kinds = list(df.kind)
    assert kinds.index("sns subscription") < kinds.index("sns topic")
    assert kinds.index("cloudwatch alarm") < kinds.index("sns topic")
    assert kinds.index("iam user") < kinds.index("iam group")
    assert kinds.index("elbv2 load balancer") < kinds.index("ec2 security group")


def test_dry_run_deletes_nothing(session):
    _create_workshop_state(session)
    before = cleanup.plan(session)
    result = cleanup.run(before, session=session)  # dry_run defaults to True
    assert set(result.result) == {"would delete", "kept"}
    after = cleanup.plan(session)
    assert after[["kind", "name"]].equals(before[["kind", "name"]])


def test_run_deletes_the_plan_and_a_second_run_has_nothing_to_do(session):
    _create_workshop_state(session)
    _create_foreign_state(session)
    todo = cleanup.plan(session)
    result = cleanup.run(todo, dry_run=False, session=session)
    failed = result[result.result.str.startswith("failed")]
    assert failed.empty, failed[["kind", "name", "result"]].to_string()
    assert set(result.result) <= {"deleted", "kept", "already gone"}
    assert (result.result == "kept").sum() == 2

    left = cleanup.plan(session)
    assert set(left.kind) == {"iam account alias", "iam password policy"}
    assert left.keep.all()
    # AWS agrees: the users, the stack, the buckets, the instance are gone
    iam = session.client("iam")
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    assert not {"imre", "john", "tagged-helper"} & set(users)
    buckets = [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    assert not [b for b in buckets if b.startswith(("flovtrain-", "flovtec-"))]
    assert "tagged-data" not in buckets
    states = [
        i["State"]["Name"]
        for r in session.client("ec2").describe_instances()["Reservations"]
        for i in r["Instances"]
    ]
    assert states and set(states) <= {"terminated", "shutting-down"}
    assert not session.client("codepipeline").list_pipelines()["pipelines"]
    assert not session.client("route53").list_hosted_zones()["HostedZones"]
    assert not session.client("elbv2").describe_load_balancers()["LoadBalancers"]
    _foreign_still_there(session)

    again = cleanup.run(dry_run=False, session=session)  # fresh plan: only kept rows
    assert set(again.result) == {"kept"}
    stale = cleanup.run(todo, dry_run=False, session=session)  # an old plan: all gone, no error
    assert set(stale.result) == {"already gone", "kept"}
    _foreign_still_there(session)


def test_keep_billing_alerts_and_run_only_touches_rows_of_the_plan(session):
    _create_workshop_state(session)
    todo = cleanup.plan(session, keep=(*cleanup.DEFAULT_KEEP, "billing-alerts"))
    kept = set(todo[todo.keep].name)
    assert {"billing-alerts", "billing-over-10-usd", "monthly-cost-budget"} <= kept
    only_sqs = todo[todo.kind == "sqs queue"]
    cleanup.run(only_sqs, dry_run=False, session=session)
    after = cleanup.plan(session)
    assert "sqs queue" not in set(after.kind)
    assert len(after) == len(todo) - 1  # nothing else was touched

    cleanup.run(todo, dry_run=False, session=session)
    left = cleanup.plan(session, keep=())
    assert {"billing-alerts", "billing-over-10-usd", "monthly-cost-budget", "flovtrain"} <= set(
        left.name
    )
    assert "imre" not in set(left.name)


def test_run_rejects_a_frame_that_is_not_a_plan(session):
    import pandas as pd

    with pytest.raises(ValueError, match="cleanup.plan"):
        cleanup.run(pd.DataFrame({"name": ["imre"]}), session=session)


def test_plan_needs_a_region(session):
    with pytest.raises(ValueError, match="regions"):
        cleanup.plan(session, regions=())


def test_local_credentials_listed_and_removed_only_when_asked(tmp_path):
    folder = tmp_path / "credentials"
    folder.mkdir()
    for name in (
        "imre_accessKeys.csv",
        "john_credentials.csv",
        "flovtrain-webapp-key.pem",
        "notes.txt",
    ):
        path = folder / name
        path.write_text("secret")
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    listed = cleanup.local_credentials(folder)
    assert list(listed.columns) == cleanup.LOCAL_COLUMNS
    assert set(listed.file) == {
        "imre_accessKeys.csv",
        "john_credentials.csv",
        "flovtrain-webapp-key.pem",
    }
    assert "secret" not in listed.to_string()
    dry = cleanup.remove_local_credentials(folder=folder)
    assert set(dry.result) == {"would delete"}
    assert len(list(folder.iterdir())) == 4
    done = cleanup.remove_local_credentials(dry_run=False, folder=folder)
    assert set(done.result) == {"deleted"}
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert cleanup.local_credentials(folder).empty


# ---------------------------------------------------------------- checks 09 and 10
def test_check10_fails_on_leftovers_and_passes_when_only_keepable_things_remain(session):
    from flovtrain.checks import check

    assert check("10", session=session).passed  # an empty account: nothing left
    _create_workshop_state(session)
    dirty = check("10", session=session)
    assert not dirty.passed
    failed = {i.item for i in dirty.failed}
    assert "no iam resources of the workbook left" in failed
    assert "no elbv2 resources of the workbook left" in failed
    assert all(i.hint for i in dirty.failed)
    assert "user imre" in dirty["no iam resources of the workbook left"].why

    cleanup.run(
        cleanup.plan(session, keep=(*cleanup.DEFAULT_KEEP, "billing-alerts")),
        dry_run=False,
        session=session,
    )
    assert check("10", session=session).passed  # billing alerts, alias, policy may stay
    # something new of ours appears: the check notices
    session.client("sqs").create_queue(QueueName="flovtrain-late")
    late = check("10", session=session)
    assert [i.item for i in late.failed] == ["no sqs resources of the workbook left"]


def test_check09_fails_item_by_item_with_hints(session):
    from flovtrain.checks import check

    empty = check("09", session=session)
    assert not any(i.passed for i in empty) and all(i.why and i.hint for i in empty)
    topic = session.client("sns").create_topic(Name="flovtrain-orders")["TopicArn"]
    subscribe_queue(topic, "flovtrain-orders-billing", session.region_name)
    session.client("ssm").put_parameter(
        Name="/flovtrain/shop/db-password", Value="x", Type="String"
    )
    partial = check("09", session=session)
    assert partial[
        "SQS queue flovtrain-orders-billing is subscribed to SNS topic flovtrain-orders"
    ].passed
    policy = partial["the policy of flovtrain-orders-billing lets flovtrain-orders send to it"]
    assert not policy.passed and "no queue policy" in policy.why
    secret = partial["SecureString parameter /flovtrain/shop/db-password"]
    assert not secret.passed and "is a String" in secret.why


# ---------------------------------------------------------------- one item at a time
def _before(session: boto3.Session, operation: str, action) -> None:
    """Run ``action(params)`` before every ``operation`` call (``"sqs.ListQueueTags"``) that
    clients of ``session`` make; it may raise, or change the account meanwhile."""
    session.events.register(
        f"before-parameter-build.{operation}", lambda params, **_: action(params)
    )


def _refuse(code: str, message: str, operation: str):
    def refuse(params: dict) -> None:
        raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

    return refuse


def test_the_kinds_declare_the_removal_order_and_cover_every_checked_service():
    from flovtrain.checks import ch10

    assert cleanup.ORDER == [
        "sns subscription",
        "cloudwatch alarm",
        "cloudformation stack",
        "codepipeline pipeline",
        "codebuild project",
        "codedeploy application",
        "ec2 instance",
        "elbv2 load balancer",
        "elbv2 target group",
        "rds db instance",
        "ec2 key pair",
        "ec2 security group",
        "route53 hosted zone",
        "s3 bucket",
        "sns topic",
        "sqs queue",
        "firehose delivery stream",
        "glacier vault",
        "ssm parameter",
        "logs log group",
        "athena named query",
        "athena workgroup",
        "glue table",
        "glue database",
        "budgets budget",
        "iam role",
        "iam user",
        "iam group",
        "iam virtual mfa device",
        "iam account alias",
        "iam password policy",
    ]
    assert {k.service for k in cleanup.KINDS.values()} == set(ch10.SERVICES)
    assert all(k.name.startswith(k.service + " ") for k in cleanup.KINDS.values())


def test_items_that_vanish_while_the_plan_is_made_leave_the_rest_of_their_service(session):
    _create_workshop_state(session)
    sqs = session.client("sqs")
    sqs.create_queue(QueueName="tagged-queue", tags={"flovtrain:workshop": "flovtrain"})
    session.client("cloudformation").create_stack(
        StackName="flovtrain-second",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "second-q"}}
                }
            }
        ),
        Tags=TAGS,
    )
    other = boto3.Session(region_name=REGION)  # not hooked: it changes the account meanwhile

    def remove_queue(params: dict) -> None:  # really gone: the sandbox answers as AWS would
        if params["QueueUrl"].endswith("/tagged-queue"):
            other.client("sqs").delete_queue(QueueUrl=params["QueueUrl"])

    def remove_user(params: dict) -> None:
        if params["UserName"] == "tagged-helper":
            other.client("iam").delete_user(UserName="tagged-helper")

    def stack_gone(params: dict) -> None:
        if "flovtrain-second" in params["StackName"]:
            _refuse(
                "ValidationError",
                "Stack with id flovtrain-second does not exist",
                "DescribeStackResources",
            )(params)

    _before(session, "sqs.ListQueueTags", remove_queue)
    _before(session, "iam.ListUserTags", remove_user)
    _before(session, "cloudformation.DescribeStackResources", stack_gone)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cleanup.CleanupWarning)  # vanished is not an error
        df = cleanup.plan(session)
    found = set(zip(df.kind, df.name, strict=True))
    assert ("sqs queue", "tagged-queue") not in found
    assert ("sqs queue", "flovtrain-orders") in found
    assert ("iam user", "tagged-helper") not in found
    assert {
        ("iam user", "imre"),
        ("iam user", "john"),
        ("iam group", "system-admins"),
        ("iam role", "flovtrain-firehose-role"),
        ("iam account alias", "flovtrain"),
    } <= found
    assert ("cloudformation stack", "flovtrain-second") not in found
    assert ("cloudformation stack", "flovtrain-test") in found


def test_an_item_that_cannot_be_read_is_reported_and_the_others_are_listed(session):
    _create_workshop_state(session)
    _before(
        session,
        "iam.ListUserTags",
        _refuse("AccessDenied", "not allowed to read the tags of tagged-helper", "ListUserTags"),
    )
    with pytest.warns(cleanup.CleanupWarning, match="iam user tagged-helper.*AccessDenied"):
        df = cleanup.plan(session)
    users = set(df[df.kind == "iam user"].name)
    assert users == {"imre", "john"}
    assert {"iam group", "iam role", "iam virtual mfa device", "sqs queue"} <= set(df.kind)


def test_a_run_that_cannot_read_an_item_says_so_and_leaves_it(session):
    _create_workshop_state(session)
    todo = cleanup.plan(session)
    users = todo[todo.kind == "iam user"]
    assert set(users.name) == {"imre", "john", "tagged-helper"}
    _before(
        session,
        "iam.ListUserTags",
        _refuse("AccessDenied", "not allowed to read the tags of tagged-helper", "ListUserTags"),
    )
    with pytest.warns(cleanup.CleanupWarning, match="tagged-helper"):
        result = cleanup.run(users, dry_run=False, session=session)
    outcome = result.set_index("name").result
    assert outcome["tagged-helper"] == (
        "failed: could not read it (AccessDenied: not allowed to read the tags of tagged-helper)"
    )
    assert outcome["imre"] == outcome["john"] == "deleted"
    left = [u["UserName"] for u in session.client("iam").list_users()["Users"]]
    assert "tagged-helper" in left and "imre" not in left


def test_a_failure_on_one_item_is_reported_and_the_run_goes_on(session):
    _create_workshop_state(session)
    sqs = session.client("sqs")
    sqs.create_queue(QueueName="flovtrain-orders-billing")
    todo = cleanup.plan(session)
    queues = todo[todo.kind == "sqs queue"]
    assert set(queues.name) == {"flovtrain-orders", "flovtrain-orders-billing"}

    def refuse_one(params: dict) -> None:
        if params["QueueUrl"].endswith("/flovtrain-orders-billing"):
            _refuse("AccessDenied", "no sqs:DeleteQueue on it", "DeleteQueue")(params)

    _before(session, "sqs.DeleteQueue", refuse_one)
    result = cleanup.run(todo, dry_run=False, session=session)
    outcome = result.set_index(["kind", "name"]).result
    assert outcome["sqs queue", "flovtrain-orders-billing"] == (
        "failed: AccessDenied: no sqs:DeleteQueue on it"
    )
    assert outcome["sqs queue", "flovtrain-orders"] == "deleted"
    others = outcome.drop(("sqs queue", "flovtrain-orders-billing"))
    assert set(others) <= {"deleted", "kept", "already gone"}, others.to_string()
    assert "failed 1" in cleanup.summary(result)

    left = cleanup.plan(session)
    assert set(left[~left.keep].name) == {"flovtrain-orders-billing"}
    fresh = boto3.Session(region_name=REGION)  # the refusal is lifted: the next run removes it
    again = cleanup.run(cleanup.plan(fresh), dry_run=False, session=fresh)
    assert set(again.result) == {"deleted", "kept"}


def test_an_item_removed_between_plan_and_run_is_already_gone(session):
    _create_workshop_state(session)
    todo = cleanup.plan(session)
    todo = todo[todo.service.isin(["sqs", "ssm", "glacier"])]
    session.client("ssm").delete_parameter(Name="/flovtrain/shop/db-password")  # before the run
    other = boto3.Session(region_name=REGION)

    def remove_first(params: dict) -> None:  # while the run is at it
        other.client("sqs").delete_queue(QueueUrl=params["QueueUrl"])

    _before(session, "sqs.DeleteQueue", remove_first)
    result = cleanup.run(todo, dry_run=False, session=session).set_index("kind")
    assert result.loc["ssm parameter", "result"] == "already gone"
    assert result.loc["sqs queue", "result"] == "already gone"
    assert result.loc["glacier vault", "result"] == "deleted"
