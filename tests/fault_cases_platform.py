"""Bad calls to the platform services: S3, IAM, STS, SNS, CloudWatch, EC2, Route 53, Budgets,
Glacier, CloudFormation, Athena and flovtrain's own settings.

Each :class:`fault_world.Case`: one bad call, AWS's error code and a regular expression for
its message.
"""

from __future__ import annotations

import re

from fault_world import (
    ACCOUNT,
    KEEP,
    NO_SUCH_POLICY,
    NOT_AUTHORIZED,
    REGION,
    Case,
    bad_account_id,
    change_rrset,
    create_bucket,
    create_stack,
    enum_any_message,
    enum_message,
    put_alarm,
    run_instances,
)

PLATFORM_CASES: list[Case] = [
    # -- S3 ---------------------------------------------------------------------------------------
    Case(
        "s3-bucket-name-uppercase",
        "s3",
        create_bucket("Bad_Bucket"),
        "InvalidBucketName",
        r"^The specified bucket is not valid\.$",
    ),
    Case(
        "s3-bucket-name-too-short",
        "s3",
        create_bucket("ab"),
        "InvalidBucketName",
        r"^The specified bucket is not valid\.$",
    ),
    Case(
        "s3-bucket-twice",
        "s3",
        create_bucket(KEEP),
        "BucketAlreadyOwnedByYou",
        r"^Your previous request to create the named bucket succeeded and you already own it\.$",
    ),
    Case(
        "s3-bucket-no-location",
        "s3",
        create_bucket("fault-noloc", None),
        "IllegalLocationConstraintException",
        r"^The unspecified location constraint is incompatible for the region specific "
        r"endpoint this request was sent to\.$",
    ),
    Case(
        "s3-bucket-other-location",
        "s3",
        create_bucket("fault-other", "us-west-2"),
        "IllegalLocationConstraintException",
        r"^The us-west-2 location constraint is incompatible for the region specific "
        r"endpoint this request was sent to\.$",
    ),
    Case(
        "s3-delete-non-empty",
        "s3",
        lambda w: w["s3"].delete_bucket(Bucket=KEEP),
        "BucketNotEmpty",
        r"^The bucket you tried to delete is not empty$",
    ),
    Case(
        "s3-delete-missing",
        "s3",
        lambda w: w["s3"].delete_bucket(Bucket="fault-ghost"),
        "NoSuchBucket",
        r"^The specified bucket does not exist$",
    ),
    Case(
        "s3-get-missing-key",
        "s3",
        lambda w: w["s3"].get_object(Bucket=KEEP, Key="ghost.txt"),
        "NoSuchKey",
        r"^The specified key does not exist\.$",
    ),
    Case(
        "s3-put-missing-bucket",
        "s3",
        lambda w: w["s3"].put_object(Bucket="fault-ghost", Key="k", Body=b"x"),
        "NoSuchBucket",
        r"^The specified bucket does not exist$",
    ),
    Case(
        "s3-policy-not-json",
        "s3",
        lambda w: w["s3"].put_bucket_policy(Bucket=KEEP, Policy="allow everyone"),
        "MalformedPolicy",
        r"^Policies must be valid JSON and the first byte must be '\{'$",
    ),
    Case(
        "s3-no-policy",
        "s3",
        lambda w: w["s3"].get_bucket_policy(Bucket=KEEP),
        "NoSuchBucketPolicy",
        r"^The bucket policy does not exist$",
    ),
    Case(
        "s3-website-missing",
        "s3",
        lambda w: w["s3"].get_bucket_website(Bucket=KEEP),
        "NoSuchWebsiteConfiguration",
        r"^The specified bucket does not have a website "
        r"configuration$",
    ),
    # -- IAM ------------------------------------------------------------------------------------
    Case(
        "iam-user-twice",
        "iam",
        lambda w: w["iam"].create_user(UserName=KEEP),
        "EntityAlreadyExists",
        rf"^User with name {KEEP} already exists\.$",
    ),
    Case(
        "iam-user-missing",
        "iam",
        lambda w: w["iam"].get_user(UserName="fault-ghost"),
        "NoSuchEntity",
        r"^The user with name fault-ghost cannot be found\.$",
    ),
    Case(
        "iam-user-bad-name",
        "iam",
        lambda w: w["iam"].create_user(UserName="bad name!"),
        "ValidationError",
        re.escape(
            "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        ),
    ),
    Case(
        "iam-group-twice",
        "iam",
        lambda w: w["iam"].create_group(GroupName=KEEP),
        "EntityAlreadyExists",
        rf"^Group with name {KEEP} already exists\.$",
    ),
    Case(
        "iam-group-missing",
        "iam",
        lambda w: w["iam"].add_user_to_group(GroupName="fault-ghost", UserName=KEEP),
        "NoSuchEntity",
        r"^The group with name fault-ghost cannot be found\.$",
    ),
    Case(
        "iam-delete-group-with-members",
        "iam",
        lambda w: w["iam"].delete_group(GroupName=KEEP),
        "DeleteConflict",
        r"^Cannot delete entity, must remove users from group first\.$",
    ),
    Case(
        "iam-delete-user-with-keys",
        "iam",
        lambda w: w["iam"].delete_user(UserName=f"{KEEP}-keys"),
        "DeleteConflict",
        r"^Cannot delete entity, must delete access keys first\.$",
    ),
    Case(
        "iam-third-access-key",
        "iam",
        lambda w: w["iam"].create_access_key(UserName=f"{KEEP}-keys"),
        "LimitExceeded",
        r"^Cannot exceed quota for AccessKeysPerUser: 2$",
    ),
    Case(
        "iam-role-missing",
        "iam",
        lambda w: w["iam"].get_role(RoleName="fault-ghost"),
        "NoSuchEntity",
        r"^The role with name fault-ghost cannot be found\.$",
    ),
    Case(
        "iam-delete-role-missing",
        "iam",
        lambda w: w["iam"].delete_role(RoleName="fault-ghost"),
        "NoSuchEntity",
        r"^The role with name fault-ghost cannot be found\.$",
    ),
    Case(
        "iam-role-trust-not-json",
        "iam",
        lambda w: w["iam"].create_role(RoleName="fault-role", AssumeRolePolicyDocument="{nope"),
        "MalformedPolicyDocument",
        r"^This policy contains invalid Json$",
    ),
    Case(
        "iam-attach-missing-policy",
        "iam",
        lambda w: w["iam"].attach_role_policy(RoleName=f"{KEEP}-build", PolicyArn=NO_SUCH_POLICY),
        "NoSuchEntity",
        re.escape(f"Policy {NO_SUCH_POLICY} does not exist or is not attachable."),
    ),
    Case(
        "iam-policy-not-json",
        "iam",
        lambda w: w["iam"].create_policy(PolicyName="fault-policy", PolicyDocument="nope"),
        "MalformedPolicyDocument",
        r"^Syntax errors in policy\.$",
    ),
    Case(
        "iam-policy-no-statement",
        "iam",
        lambda w: w["iam"].create_policy(
            PolicyName="fault-policy", PolicyDocument='{"Version": "2012-10-17"}'
        ),
        "MalformedPolicyDocument",
        r"^Syntax errors in policy\.$",
    ),
    # -- STS ------------------------------------------------------------------------------------
    Case(
        "sts-assume-missing-role",
        "iam",
        lambda w: w["sts"].assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/fault-ghost", RoleSessionName="fault-session"
        ),
        "AccessDenied",
        re.escape(NOT_AUTHORIZED),
    ),
    Case(
        "sts-duration-over-role-max",
        "iam",
        lambda w: w["sts"].assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{KEEP}-assumable",
            RoleSessionName="fault-session",
            DurationSeconds=43200,
        ),
        "ValidationError",
        r"^The requested DurationSeconds exceeds the MaxSessionDuration set "
        r"for this role\.$",
    ),
    # -- SNS ------------------------------------------------------------------------------------
    Case(
        "sns-publish-missing-topic",
        "sns",
        lambda w: w["sns"].publish(
            TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:fault-ghost", Message="hi"
        ),
        "NotFound",
        r"^Topic does not exist$",
    ),
    Case(
        "sns-topic-bad-name",
        "sns",
        lambda w: w["sns"].create_topic(Name="bad name"),
        "InvalidParameter",
        r"^Invalid parameter: Topic Name$",
    ),
    Case(
        "sns-attributes-missing-topic",
        "sns",
        lambda w: w["sns"].get_topic_attributes(
            TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:fault-ghost"
        ),
        "NotFound",
        r"^Topic does not exist$",
    ),
    Case(
        "sns-bad-protocol",
        "sns",
        lambda w: w["sns"].subscribe(TopicArn=w["topic"], Protocol="pigeon", Endpoint="x"),
        "InvalidParameter",
        r"^Invalid parameter: Amazon SNS does not support this protocol string: pigeon$",
    ),
    Case(
        "sns-subscribe-missing-topic",
        "sns",
        lambda w: w["sns"].subscribe(
            TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:fault-ghost",
            Protocol="email",
            Endpoint="dev@example.com",
        ),
        "NotFound",
        r"^Topic does not exist$",
    ),
    # -- CloudWatch -----------------------------------------------------------------------------
    Case(
        "cw-alarm-bad-operator",
        "cloudwatch",
        lambda w: put_alarm(w, ComparisonOperator="Bigger"),
        "ValidationError",
        enum_message(
            "Bigger",
            "comparisonOperator",
            "GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, "
            "LessThanOrEqualToThreshold, LessThanLowerOrGreaterThanUpperThreshold, "
            "LessThanLowerThreshold, GreaterThanUpperThreshold",
        ),
    ),
    Case(
        "cw-alarm-bad-statistic",
        "cloudwatch",
        lambda w: put_alarm(w, Statistic="Median"),
        "ValidationError",
        enum_message("Median", "statistic", "SampleCount, Average, Sum, Minimum, Maximum"),
    ),
    Case(
        "cw-alarm-odd-period",
        "cloudwatch",
        lambda w: put_alarm(w, Period=45),
        "ValidationError",
        r"Period must be 10, 20, 30 or a multiple of 60",
    ),
    Case(
        "cw-alarm-state-missing",
        "cloudwatch",
        lambda w: w["cloudwatch"].set_alarm_state(
            AlarmName="fault-ghost", StateValue="ALARM", StateReason="test"
        ),
        "ResourceNotFound",
        r"^$",  # AWS answers no message (the AWS CLI prints "Unknown"); moto invents one
    ),
    Case(
        "cw-alarm-bad-state",
        "cloudwatch",
        lambda w: w["cloudwatch"].set_alarm_state(
            AlarmName=KEEP, StateValue="PANIC", StateReason="test"
        ),
        "ValidationError",
        enum_any_message("PANIC", "stateValue", "OK", "ALARM", "INSUFFICIENT_DATA"),
    ),
    Case(
        "cw-put-aws-namespace",
        "cloudwatch",
        lambda w: w["cloudwatch"].put_metric_data(
            Namespace="AWS/Billing", MetricData=[{"MetricName": "EstimatedCharges", "Value": 1.0}]
        ),
        "InvalidParameterValue",
        r"The value AWS/Billing for parameter Namespace is invalid",
    ),
    # -- EC2 ------------------------------------------------------------------------------------
    Case(
        "ec2-key-pair-twice",
        "ec2",
        lambda w: w["ec2"].create_key_pair(KeyName=KEEP),
        "InvalidKeyPair.Duplicate",
        rf"^The keypair '{KEEP}' already exists\.$",
    ),
    Case(
        "ec2-key-pair-missing",
        "ec2",
        lambda w: w["ec2"].describe_key_pairs(KeyNames=["fault-ghost"]),
        "InvalidKeyPair.NotFound",
        r"^The key pair 'fault-ghost' does not exist$",
    ),
    Case(
        "ec2-run-bad-type",
        "ec2",
        lambda w: run_instances(w, InstanceType="t9.mega"),
        "InvalidParameterValue",
        r"^Invalid value 't9\.mega' for InstanceType\.$",
    ),
    Case(
        "ec2-run-missing-ami",
        "ec2",
        lambda w: run_instances(w, ImageId="ami-00000000"),
        "InvalidAMIID.NotFound",
        r"^The image id '\[ami-00000000\]' does not exist$",
    ),
    Case(
        "ec2-run-missing-key",
        "ec2",
        lambda w: run_instances(w, KeyName="fault-ghost"),
        "InvalidKeyPair.NotFound",
        r"^The key pair 'fault-ghost' does not exist$",
    ),
    Case(
        "ec2-terminate-missing",
        "ec2",
        lambda w: w["ec2"].terminate_instances(InstanceIds=["i-0123456789abcdef0"]),
        "InvalidInstanceID.NotFound",
        r"^The instance ID 'i-0123456789abcdef0' does not exist$",
    ),
    Case(
        "ec2-sg-twice",
        "ec2",
        lambda w: [
            w["ec2"].create_security_group(GroupName="fault-sg", Description="d") for _ in range(2)
        ],
        "InvalidGroup.Duplicate",
        r"^The security group 'fault-sg' already exists",
    ),
    Case(
        "ec2-sg-missing",
        "ec2",
        lambda w: w["ec2"].describe_security_groups(GroupIds=["sg-0123456789abcdef0"]),
        "InvalidGroup.NotFound",
        r"^The security group 'sg-0123456789abcdef0' does not exist",
    ),
    Case(
        "ec2-sg-bad-cidr",
        "ec2",
        lambda w: w["ec2"].authorize_security_group_ingress(
            GroupName="default", IpProtocol="tcp", FromPort=80, ToPort=80, CidrIp="10.0.0.0/33"
        ),
        "InvalidParameterValue",
        r"^Value \(10\.0\.0\.0/33\) for parameter cidrIp is invalid\. "
        r"This is not a valid CIDR block\.$",
    ),
    # -- Route 53 -------------------------------------------------------------------------------
    Case(
        "route53-zone-missing",
        "route53",
        lambda w: w["route53"].get_hosted_zone(Id="Z0000000000000000GHOST"),
        "NoSuchHostedZone",
        r"^No hosted zone found with ID: Z0000000000000000GHOST$",
    ),
    Case(
        "route53-delete-missing-record",
        "route53",
        lambda w: change_rrset(w, "DELETE", "ghost.keep.example."),
        "InvalidChangeBatch",
        re.escape(
            "[Tried to delete resource record set [name='ghost.keep.example.', type='A'] but "
            "it was not found]"
        ),
    ),
    Case(
        "route53-create-existing-record",
        "route53",
        lambda w: change_rrset(w, "CREATE", "www.keep.example."),
        "InvalidChangeBatch",
        re.escape(
            "[Tried to create resource record set [name='www.keep.example.', type='A'] but "
            "it already exists]"
        ),
    ),
    Case(
        "route53-delete-non-empty-zone",
        "route53",
        lambda w: w["route53"].delete_hosted_zone(Id=w["zone"]),
        "HostedZoneNotEmpty",
        r"^The specified hosted zone contains non-required resource "
        r"record sets and so cannot be deleted\.$",
    ),
    # -- Budgets --------------------------------------------------------------------------------
    Case(
        "budgets-twice",
        "budgets",
        lambda w: w["budgets"].create_budget(
            AccountId=ACCOUNT,
            Budget={
                "BudgetName": KEEP,
                "BudgetType": "COST",
                "TimeUnit": "MONTHLY",
                "BudgetLimit": {"Amount": "10", "Unit": "USD"},
            },
        ),
        "DuplicateRecordException",
        rf"^Error creating budget: {KEEP} - the budget already exists\.$",
    ),
    Case(
        "budgets-missing",
        "budgets",
        lambda w: w["budgets"].describe_budget(AccountId=ACCOUNT, BudgetName="fault-ghost"),
        "NotFoundException",
        r"^Unable to get budget: fault-ghost - the budget doesn't exist\.$",
    ),
    Case(
        "budgets-delete-missing",
        "budgets",
        lambda w: w["budgets"].delete_budget(AccountId=ACCOUNT, BudgetName="fault-ghost"),
        "NotFoundException",
        r"^Unable to delete budget: fault-ghost - the budget doesn't exist\.",
    ),
    # -- Glacier --------------------------------------------------------------------------------
    *[
        Case(
            f"glacier-{name}-missing-vault",
            "glacier",
            call,
            "ResourceNotFoundException",
            re.escape(
                f"Vault not found for ARN: arn:aws:glacier:{REGION}:{ACCOUNT}:vaults/fault-ghost"
            ),
        )
        for name, call in (
            ("describe", lambda w: w["glacier"].describe_vault(vaultName="fault-ghost")),
            ("delete", lambda w: w["glacier"].delete_vault(vaultName="fault-ghost")),
            ("upload", lambda w: w["glacier"].upload_archive(vaultName="fault-ghost", body=b"x")),
            ("jobs", lambda w: w["glacier"].list_jobs(vaultName="fault-ghost")),
        )
    ],
    # -- flovtrain's own settings ---------------------------------------------------------------
    Case(
        "config-account-not-digits",
        "s3",
        bad_account_id,
        "RealAwsNotAllowed",
        r"^FLOVTRAIN_AWS_ACCOUNT='abc' is not an AWS account id: use the 12 digits",
    ),
    # -- CloudFormation -------------------------------------------------------------------------
    Case(
        "cfn-unknown-type",
        "cloudformation",
        create_stack("fault-stack", "Resources:\n  T:\n    Type: AWS::Fake::Thing\n"),
        "ValidationError",
        re.escape("Template format error: Unrecognized resource types: [AWS::Fake::Thing]"),
    ),
    Case(
        "cfn-bad-yaml",
        "cloudformation",
        create_stack("fault-stack", "Resources: [\n  - nope: {"),
        "ValidationError",
        r"^Template format error: YAML not well-formed\. \(line \d+, "
        r"column \d+\)$",
    ),
    Case(
        "cfn-stack-missing",
        "cloudformation",
        lambda w: w["cloudformation"].describe_stacks(StackName="fault-ghost"),
        "ValidationError",
        r"^Stack with id fault-ghost does not exist$",
    ),
    Case(
        "cfn-stack-twice",
        "cloudformation",
        create_stack(KEEP, "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        "AlreadyExistsException",
        rf"^Stack \[{KEEP}\] already exists$",
    ),
    # -- Athena ---------------------------------------------------------------------------------
    Case(
        "athena-workgroup-missing",
        "s3",
        lambda w: w["athena"].get_work_group(WorkGroup="fault-ghost"),
        "InvalidRequestException",
        r"^WorkGroup fault-ghost is not found\.$",
    ),
    Case(
        "athena-query-missing",
        "s3",
        lambda w: w["athena"].get_query_execution(
            QueryExecutionId="00000000-0000-0000-0000-000000000000"
        ),
        "InvalidRequestException",
        r"^QueryExecution 00000000-0000-0000-0000-000000000000 was not found$",
    ),
]
