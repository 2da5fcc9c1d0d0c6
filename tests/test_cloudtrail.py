"""CloudTrail: who did what, recorded per request as AWS records it, looked up with
``LookupEvents`` (filters, paging, AWS's validation errors) and delivered by trails to S3."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from flovtrain import config
from flovtrain.sandbox import control
from flovtrain.sandbox.engines import audit

pytestmark = pytest.mark.usefixtures("clean_sandbox")

DEV = config.SANDBOX_ACCOUNT_ID
PROD = "210987654321"
REGION = "eu-west-1"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
NO_RETRY = Config(retries={"max_attempts": 1})
LOG_KEY = re.compile(
    rf"^AWSLogs/{DEV}/CloudTrail/(?P<region>[a-z0-9-]+)/\d{{4}}/\d{{2}}/\d{{2}}/"
    rf"{DEV}_CloudTrail_(?P=region)_\d{{8}}T\d{{4}}Z_[A-Za-z0-9]{{16}}\.json\.gz$"
)


def client(service: str, key: dict | None = None, region: str = REGION):
    if key is None:
        return boto3.client(service, region_name=region, config=NO_RETRY)
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=key.get("SessionToken"),
        config=NO_RETRY,
    )


def events(region: str = REGION, key: dict | None = None, **attribute: str) -> list[dict]:
    """Every event of the history (newest first) via boto3's paginator, parsed records."""
    pages = client("cloudtrail", key, region).get_paginator("lookup_events")
    lookup = [{"AttributeKey": k, "AttributeValue": v} for k, v in attribute.items()]
    found = []
    for page in pages.paginate(LookupAttributes=lookup):
        found += [json.loads(e["CloudTrailEvent"]) | {"_entry": e} for e in page["Events"]]
    return found


def create_bucket(s3, name: str) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


def test_a_denial_then_a_success_are_recorded_with_who_asked():
    iam = client("iam")
    iam.create_user(UserName="visitor")
    key = iam.create_access_key(UserName="visitor")["AccessKey"]
    s3 = client("s3", key)
    with pytest.raises(ClientError) as refused:
        create_bucket(s3, "visitor-bucket")
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=ADMIN)
    iam.add_user_to_group(GroupName="admins", UserName="visitor")
    create_bucket(s3, "visitor-bucket")

    allowed, denied = events(Username="visitor")
    assert [allowed["eventName"], denied["eventName"]] == ["CreateBucket", "CreateBucket"]
    assert "errorCode" not in allowed
    assert denied["errorCode"] == "AccessDenied"
    assert denied["errorMessage"] == refused.value.response["Error"]["Message"]
    assert denied["requestID"] == refused.value.response["ResponseMetadata"]["RequestId"]
    user = iam.get_user(UserName="visitor")["User"]
    assert denied["userIdentity"] == {
        "type": "IAMUser",
        "principalId": user["UserId"],
        "arn": user["Arn"],
        "accountId": DEV,
        "accessKeyId": key["AccessKeyId"],
        "userName": "visitor",
    }
    assert denied["eventSource"] == "s3.amazonaws.com"
    assert denied["awsRegion"] == REGION
    assert denied["recipientAccountId"] == DEV
    assert (denied["readOnly"], denied["managementEvent"]) == (False, True)
    assert denied["_entry"]["Resources"] == [
        {"ResourceType": "AWS::S3::Bucket", "ResourceName": "visitor-bucket"}
    ]

    # IAM is global: its events are in us-east-1's history, the root's with type Root
    created = events("us-east-1", EventName="CreateUser")[0]
    assert created["userIdentity"]["type"] == "Root"
    assert created["userIdentity"]["arn"] == f"arn:aws:iam::{DEV}:root"
    assert created["requestParameters"] == {"userName": "visitor"}
    assert created["eventSource"] == "iam.amazonaws.com"
    assert events(REGION, EventName="CreateUser") == []


def prod_admin() -> dict:
    return client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole", RoleSessionName="ops"
    )["Credentials"]


def test_an_assumed_role_is_recorded_in_its_own_account_only():
    session = prod_admin()
    create_bucket(client("s3", session), f"prod-only-{PROD}")

    prod = events(key=session, EventName="CreateBucket")
    assert [e["requestParameters"]["bucketName"] for e in prod] == [f"prod-only-{PROD}"]
    who = prod[0]["userIdentity"]
    assert who["type"] == "AssumedRole"
    assert who["arn"] == f"arn:aws:sts::{PROD}:assumed-role/OrganizationAccountAccessRole/ops"
    assert who["accessKeyId"] == session["AccessKeyId"]
    issuer = who["sessionContext"]["sessionIssuer"]
    assert issuer["arn"] == f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole"
    assert who["principalId"].endswith(":ops") and who["principalId"].startswith(
        issuer["principalId"]
    )
    assert prod[0]["_entry"]["Username"] == "ops"
    assert prod[0]["recipientAccountId"] == PROD
    # DEV's history has the AssumeRole its root called, not PROD's bucket
    assert events(EventName="CreateBucket") == []
    assume = events(EventName="AssumeRole")
    assert [e["userIdentity"]["type"] for e in assume] == ["Root"]


def test_no_secret_reaches_a_record():
    iam = client("iam")
    iam.create_user(UserName="carol")
    password = "Correct-Horse-Battery-9"
    iam.create_login_profile(UserName="carol", Password=password)
    secret = iam.create_access_key(UserName="carol")["AccessKey"]["SecretAccessKey"]
    token = prod_admin()["SessionToken"]
    recorded = json.dumps(events("us-east-1") + events(REGION), default=str)
    assert "CreateLoginProfile" in recorded and "AssumeRole" in recorded
    for value in (password, secret, token, config.SANDBOX_SECRET_ACCESS_KEY):
        assert value not in recorded
    profile = events("us-east-1", EventName="CreateLoginProfile")[0]
    assert profile["requestParameters"] == {"userName": "carol"}


def test_lookup_filters_and_pages_with_the_paginator():
    iam = client("iam")
    names = [f"user{i}" for i in range(7)]
    for name in names:
        iam.create_user(UserName=name)
    iam.list_users()
    lookup = client("cloudtrail", region="us-east-1")

    pages = lookup.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}],
        PaginationConfig={"PageSize": 3},
    )
    sizes, seen = [], []
    for page in pages:
        sizes.append(len(page["Events"]))
        seen += [e["Resources"][0]["ResourceName"] for e in page["Events"]]
    assert sizes == [3, 3, 1]
    assert seen == names[::-1]  # newest first

    reads = events("us-east-1", ReadOnly="true")
    assert {e["eventName"] for e in reads} >= {"ListUsers"}
    assert all(e["readOnly"] for e in reads)
    assert [e["eventName"] for e in events("us-east-1", ResourceName="user3")] == ["CreateUser"]
    typed = events("us-east-1", ResourceType="AWS::IAM::User")
    assert len(typed) == 7
    assert len(events("us-east-1", EventSource="iam.amazonaws.com")) >= 8
    assert len(events("us-east-1", AccessKeyId=config.SANDBOX_ACCESS_KEY_ID)) >= 8
    first = typed[0]
    assert [e["eventID"] for e in events("us-east-1", EventId=first["eventID"])] == [
        first["eventID"]
    ]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert lookup.lookup_events(StartTime=later)["Events"] == []
    assert len(lookup.lookup_events(EndTime=later, MaxResults=50)["Events"]) >= 8


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "Username", "AttributeValue": "a"},
                    {"AttributeKey": "EventName", "AttributeValue": "b"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "b"}]},
            "InvalidLookupAttributesException",
        ),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
        (
            {
                "StartTime": dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
                "EndTime": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            },
            "InvalidTimeRangeException",
        ),
    ],
)
def test_lookup_refuses_what_aws_refuses(kwargs, code):
    with pytest.raises(ClientError) as refused:
        client("cloudtrail").lookup_events(**kwargs)
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_next_token_only_continues_its_own_query():
    iam = client("iam")
    for i in range(3):
        iam.create_user(UserName=f"paged{i}")
    lookup = client("cloudtrail", region="us-east-1")
    first = lookup.lookup_events(MaxResults=1)
    assert "NextToken" in first
    with pytest.raises(ClientError) as refused:
        lookup.lookup_events(
            MaxResults=1,
            NextToken=first["NextToken"],
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidNextTokenException"


def trail_bucket_policy(bucket: str) -> str:
    """The bucket policy AWS's documentation gives for a trail's bucket."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{DEV}/*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                },
            ],
        }
    )


def delivered(s3, bucket: str) -> dict[str, list[dict]]:
    """Deliver now; every log file in ``bucket``: key -> its records."""
    control.api("cloudtrail/deliver", method="POST")
    files = {}
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="AWSLogs/").get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        files[item["Key"]] = json.loads(gzip.decompress(body))["Records"]
    return files


def test_a_trail_needs_a_bucket_policy_and_delivers_gzipped_json():
    s3, trails = client("s3"), client("cloudtrail")
    create_bucket(s3, "trail-logs")
    with pytest.raises(ClientError) as refused:
        trails.create_trail(Name="main", S3BucketName="trail-logs")
    assert refused.value.response["Error"] == {
        "Code": "InsufficientS3BucketPolicyException",
        "Message": "Incorrect S3 bucket policy is detected for bucket: trail-logs",
    }
    s3.put_bucket_policy(Bucket="trail-logs", Policy=trail_bucket_policy("trail-logs"))
    trails.create_trail(Name="main", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    client("iam").create_user(UserName="before")  # before logging started: not delivered
    trails.start_logging(Name="main")
    create_bucket(s3, "data")
    s3.put_object(Bucket="data", Key="no-selector.txt", Body=b"1")
    client("iam").create_user(UserName="after")

    files = delivered(s3, "trail-logs")
    assert files and all(LOG_KEY.match(key) for key in files)
    by_region = {LOG_KEY.match(k)["region"]: r for k, r in files.items()}
    assert {e["eventName"] for e in by_region["us-east-1"]} == {"CreateUser"}
    assert [e["requestParameters"]["userName"] for e in by_region["us-east-1"]] == ["after"]
    names = [e["eventName"] for e in by_region[REGION]]
    assert "CreateBucket" in names and "PutObject" not in names  # no data events asked for

    trails.put_event_selectors(
        TrailName="main",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::data/"]}],
            }
        ],
    )
    s3.put_object(Bucket="data", Key="a.txt", Body=b"1")
    s3.get_object(Bucket="data", Key="a.txt")["Body"].read()
    s3.list_objects_v2(Bucket="data")
    s3.put_object(Bucket="trail-logs", Key="elsewhere.txt", Body=b"1")  # not selected
    new = {k: r for k, r in delivered(s3, "trail-logs").items() if k not in files}
    data = [e for records in new.values() for e in records if e["eventCategory"] == "Data"]
    assert [(e["eventName"], e["requestParameters"].get("key")) for e in data] == [
        ("PutObject", "a.txt"),
        ("GetObject", "a.txt"),
        ("ListObjectsV2", None),
    ]
    assert all(e["managementEvent"] is False for e in data)
    # the event history has management events only
    assert {e["eventName"] for e in events()} & {"PutObject", "GetObject"} == set()


def test_the_reset_clears_the_history_and_sandbox_calls_are_not_recorded():
    client("iam").create_user(UserName="gone")
    assert events("us-east-1", EventName="CreateUser")
    control.reset()
    control.api("health")
    assert events("us-east-1") == []


def test_the_history_is_a_ring(monkeypatch):
    monkeypatch.setattr(audit, "KEEP", 3)
    log = audit.AuditLog(DEV, REGION)
    for i in range(5):
        record = {"eventName": f"E{i}", "eventID": str(i), "managementEvent": True}
        log.add(record, 1_000.0 + i)
    found = audit.lookup([log], now=2_000.0)
    assert [r["eventName"] for r in found] == ["E4", "E3", "E2"]
    assert audit.lookup([log], now=1_000.0 + audit.HISTORY_S + 3.5) == [found[0]]


def test_the_view_shows_who_did_what():
    from flovtrain.views import cloudtrail as view

    iam = client("iam")
    iam.create_user(UserName="viewer")
    key = iam.create_access_key(UserName="viewer")["AccessKey"]
    with pytest.raises(ClientError):
        client("iam", key).list_users()
    df = view.events(username="viewer", region="us-east-1")
    assert df.columns.tolist() == view.EVENT_COLUMNS
    assert df[["user", "event_source", "event_name", "error_code"]].values.tolist() == [
        ["viewer", "iam.amazonaws.com", "ListUsers", "AccessDenied"]
    ]
    assert str(df.time.dtype) == "datetime64[us, UTC]"
    created = view.events(event_name="CreateAccessKey", region="us-east-1")
    assert created.resource.tolist() == ["viewer"] and created.user.tolist() == ["root"]
    assert view.events(username="nobody").empty
    with pytest.raises(ValueError, match="one filter at a time"):
        view.events(username="viewer", event_name="ListUsers")


def test_a_trail_is_deleted_by_name_or_arn_and_a_missing_one_is_refused():
    s3, trails = client("s3"), client("cloudtrail")
    create_bucket(s3, "trail-gone")
    s3.put_bucket_policy(Bucket="trail-gone", Policy=trail_bucket_policy("trail-gone"))
    arn = trails.create_trail(Name="by-arn", S3BucketName="trail-gone")["TrailARN"]
    trails.create_trail(Name="by-name", S3BucketName="trail-gone")
    trails.delete_trail(Name=arn)
    trails.delete_trail(Name="by-name")
    assert [t["Name"] for t in trails.describe_trails()["trailList"]] == []
    with pytest.raises(ClientError) as refused:
        trails.delete_trail(Name="by-name")
    assert refused.value.response["Error"]["Code"] == "TrailNotFoundException"
