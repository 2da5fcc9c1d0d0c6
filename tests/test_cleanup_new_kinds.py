"""flovtrain.cleanup removes what chapters 02, 07 and 09 may now leave behind: CloudTrail trails
(named ``flovtrain-``/``flovtec-`` or tagged), PROD's own admin user in the PROD account,
chapter 07's blue/green deployment group with its green instance, and the instance profile its
instances run with — and nothing of anyone else's.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from cleanup_world import REGION, TAGS

from flovtrain import cleanup, config, flovtec

pytestmark = pytest.mark.usefixtures("clean_sandbox")

DEV = config.SANDBOX_ACCOUNT_ID
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
APP = "flovtec-webapp"


def trail_bucket(s3, bucket: str, account: str = DEV) -> None:
    """A bucket a trail may write into (the policy AWS's documentation gives)."""
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    service = {"Service": "cloudtrail.amazonaws.com"}
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": service,
                        "Action": "s3:GetBucketAcl",
                        "Resource": f"arn:aws:s3:::{bucket}",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": service,
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
                    },
                ],
            }
        ),
    )


def rows(plan, kind: str) -> set[str]:
    return set(plan.loc[plan.kind == kind, "name"])


def test_trails_named_or_tagged_are_stopped_and_deleted_before_their_bucket():
    session = boto3.Session(region_name=REGION)
    s3, trails = session.client("s3"), session.client("cloudtrail")
    trail_bucket(s3, "flovtrain-audit-logs")
    trail_bucket(s3, "someone-elses-logs")
    trails.create_trail(Name="flovtrain-audit", S3BucketName="flovtrain-audit-logs")
    trails.start_logging(Name="flovtrain-audit")
    trails.create_trail(Name="audit-tagged", S3BucketName="flovtrain-audit-logs", TagsList=TAGS)
    trails.create_trail(Name="security-team", S3BucketName="someone-elses-logs")

    plan = cleanup.plan(session, regions=[REGION])
    assert rows(plan, "cloudtrail trail") == {"flovtrain-audit", "audit-tagged"}
    assert cleanup.ORDER.index("cloudtrail trail") < cleanup.ORDER.index("s3 bucket")
    named = plan.set_index("name").loc["flovtrain-audit"]
    assert (named.chapter, named.region) == ("09", REGION)
    assert named.id.startswith(f"arn:aws:cloudtrail:{REGION}:{DEV}:trail/")

    done = cleanup.run(plan, dry_run=False, session=session)
    assert set(done.loc[done.kind == "cloudtrail trail", "result"]) == {"deleted"}
    left = [t["Name"] for t in trails.describe_trails()["trailList"]]
    assert left == ["security-team"]
    assert "someone-elses-logs" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # a stale plan: the trails are gone already
    again = cleanup.run(plan, dry_run=False, session=session)
    assert set(again.loc[again.kind == "cloudtrail trail", "result"]) == {"already gone"}


def test_prods_own_admin_is_removed_from_the_prod_account_and_dev_users_stay():
    prod_account = flovtec.prod_account_id()
    root = flovtec.account_root(prod_account, "us-east-1").client("iam")
    root.create_user(UserName="flovtec-prod-admin", Tags=TAGS)
    root.attach_user_policy(UserName="flovtec-prod-admin", PolicyArn=ADMIN)
    root.create_access_key(UserName="flovtec-prod-admin")
    boto3.client("iam").create_user(UserName="flovtec-prod-admin-lookalike")  # DEV, untagged

    # as chapter 10 does: the cleanup acts in PROD through the role DEV's admin assumes there
    prod = flovtec.assume_role(flovtec.prod_role_arn(), session_name="cleanup", region="us-east-1")
    plan = cleanup.plan(prod, regions=["us-east-1"])
    admin = plan.loc[(plan.kind == "iam user") & (plan.name == "flovtec-prod-admin")]
    assert list(admin.chapter) == ["07"]

    cleanup.run(plan, dry_run=False, session=prod)
    with pytest.raises(ClientError) as gone:
        root.get_user(UserName="flovtec-prod-admin")
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"
    assert boto3.client("iam").get_user(UserName="flovtec-prod-admin-lookalike")
    assert "iam user" not in set(cleanup.plan(prod, regions=["us-east-1"]).kind)


def test_the_blue_green_group_goes_with_its_application_and_green_is_terminated():
    prod = flovtec.assume_role(flovtec.prod_role_arn(), session_name="cleanup", region="us-east-1")
    ec2, cd = prod.client("ec2"), prod.client("codedeploy")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    green = ec2.run_instances(
        ImageId=image,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [
                    {"Key": "Name", "Value": "flovtec-prod"},
                    {"Key": "Slot", "Value": "green"},
                ]
                + TAGS,
            }
        ],
    )["Instances"][0]["InstanceId"]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    prod.client("elbv2").create_target_group(
        Name="lb-of-someone-else", Protocol="HTTP", Port=8090, VpcId=vpc
    )
    role = f"arn:aws:iam::{flovtec.prod_account_id()}:role/flovtec-toolchain"
    cd.create_application(applicationName=APP, computePlatform="Server")
    cd.create_deployment_group(
        applicationName=APP,
        deploymentGroupName="PROD-bluegreen",
        serviceRoleArn=role,
        deploymentStyle={
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        loadBalancerInfo={"targetGroupInfoList": [{"name": "lb-of-someone-else"}]},
    )

    plan = cleanup.plan(prod, regions=["us-east-1"])
    assert rows(plan, "codedeploy application") == {APP}
    assert green in set(plan.loc[plan.kind == "ec2 instance", "id"])
    assert "deployment groups go with it" in plan.set_index("name").loc[APP, "removal"]

    cleanup.run(plan, dry_run=False, session=prod)
    assert cd.list_applications()["applications"] == []
    with pytest.raises(ClientError):
        cd.get_deployment_group(applicationName=APP, deploymentGroupName="PROD-bluegreen")
    state = ec2.describe_instances(InstanceIds=[green])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] in ("shutting-down", "terminated")
    # the target group is not ours: it stays
    assert prod.client("elbv2").describe_target_groups(Names=["lb-of-someone-else"])["TargetGroups"]


def test_the_instance_profile_goes_after_its_instances_and_before_its_role():
    session = boto3.Session(region_name=REGION)
    iam = session.client("iam")
    profile = flovtec.ensure_instance_profile(["flovtec-artifacts-test"], session=session)
    iam.create_instance_profile(InstanceProfileName="someone-elses-profile")
    order = cleanup.ORDER
    assert (
        order.index("ec2 instance") < order.index("iam instance profile") < order.index("iam role")
    )

    plan = cleanup.plan(session, regions=[REGION])
    assert rows(plan, "iam instance profile") == {profile}
    assert profile in rows(plan, "iam role")
    done = cleanup.run(plan, dry_run=False, session=session)
    assert set(done.loc[done.kind.str.startswith("iam "), "result"]) == {"deleted"}
    names = [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]
    assert names == ["someone-elses-profile"]
    assert profile not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
