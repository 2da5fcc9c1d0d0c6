"""The account the cleanup tests start from: what the chapters leave behind (create_workshop_state,
with chapter 07's environments), what someone else made (create_foreign_state) and the check
that it survived (foreign_still_there). Used by test_cleanup.py and test_cleanup_failures.py."""

from __future__ import annotations

import json

import boto3
from provider_fixtures import (
    ACCOUNT,
    cost_budget,
    put_billing_alarm,
    put_metric_alarm,
    trust_policy,
)

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


def create_workshop_state(s: boto3.Session) -> None:
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
    create_chapter07_state(s)


def create_chapter07_state(s: boto3.Session) -> None:
    """Chapter 07's environments outside any stack: pipeline, build, deploy, RDS, ALB, DNS."""
    trust = trust_policy("codepipeline.amazonaws.com")
    trust["Statement"].append(
        {**trust["Statement"][0], "Principal": {"Service": "codebuild.amazonaws.com"}}
    )
    trust = json.dumps(trust)
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


def create_foreign_state(s: boto3.Session) -> None:
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
    put_metric_alarm(
        s.client("cloudwatch"),
        "cpu-high",
        Namespace="Other",
        MetricName="CPU",
        Statistic="Average",
        Threshold=90,
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


def foreign_still_there(s: boto3.Session) -> None:
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
