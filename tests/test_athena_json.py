"""JSON tables in the sandbox's Athena through boto3: the OpenX and Hive JSON SerDes (nested
types, gzip, malformed rows both ways), SerDes it cannot read refused clearly, and AWS's
documented CloudTrail table over the logs a trail delivered."""

from __future__ import annotations

import gzip
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from flovtrain import config
from flovtrain.sandbox import control

pytestmark = pytest.mark.usefixtures("clean_sandbox")

BUCKET = "json-data"
RESULTS = f"s3://{BUCKET}/results/"
DEV = config.SANDBOX_ACCOUNT_ID
NO_RETRY = Config(retries={"max_attempts": 1})

EVENTS = [
    {"Id": 1, "User": {"Name": "ana", "Tags": ["a", "b"]}, "Attrs": {"k": "v"}, "Meta": {"x": 1}},
    {"id": 2, "user": {"name": "bo", "tags": []}, "attrs": {}, "meta": "plain", "extra": True},
    {"id": 3},
]
NESTED_COLUMNS = (
    "id INT, user STRUCT<name: STRING, tags: ARRAY<STRING>>, attrs MAP<STRING,STRING>, meta STRING"
)


def run(sql: str, database: str = "default") -> dict:
    """Run one statement; its final execution and, when it succeeded, its rows (header first)."""
    athena = boto3.client("athena")
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        ResultConfiguration={"OutputLocation": RESULTS},
    )["QueryExecutionId"]
    execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    while execution["Status"]["State"] in ("QUEUED", "RUNNING"):
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    if execution["Status"]["State"] == "SUCCEEDED":
        rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        execution["rows"] = [[c.get("VarCharValue") for c in r["Data"]] for r in rows]
    return execution


def ok(sql: str) -> list[list[str | None]]:
    execution = run(sql)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    return execution.get("rows", [])


def failure(sql: str) -> str:
    execution = run(sql)
    assert execution["Status"]["State"] == "FAILED", execution
    return execution["Status"]["StateChangeReason"]


def put(key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)


@pytest.fixture(autouse=True)
def bucket(clean_sandbox):
    create_bucket(BUCKET)


def create_bucket(name: str) -> None:
    s3 = boto3.client("s3")
    region = s3.meta.region_name
    where = {} if region == "us-east-1" else {"LocationConstraint": region}
    s3.create_bucket(Bucket=name, **({"CreateBucketConfiguration": where} if where else {}))


def lines(*rows: object) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.mark.parametrize(
    "serde", ["org.openx.data.jsonserde.JsonSerDe", "org.apache.hive.hcatalog.data.JsonSerDe"]
)
def test_nested_columns_typed_as_the_ddl_says_from_plain_and_gzip_files(serde):
    put("events/2025/a.json", lines(*EVENTS[:2]))
    put("events/2025/01/b.json.gz", gzip.compress(lines(EVENTS[2])))
    ok(
        f"CREATE EXTERNAL TABLE events ({NESTED_COLUMNS}) ROW FORMAT SERDE '{serde}' "
        f"LOCATION 's3://{BUCKET}/events/'"
    )
    rows = ok(
        "SELECT id, user.name, cardinality(user.tags), element_at(attrs, 'k'), meta, typeof(user) "
        "FROM events ORDER BY id"
    )
    # the subscript operator refuses a missing key where element_at gives NULL (as in Trino)
    assert failure("SELECT attrs['k'] FROM events") == (
        "INVALID_FUNCTION_ARGUMENT: Key not present in map: k"
    )
    assert rows == [
        ["id", "name", "_col2", "_col3", "meta", "_col5"],
        ["1", "ana", "2", "v", '{"x":1}', "row(name varchar, tags array(varchar))"],
        ["2", "bo", "0", None, "plain", "row(name varchar, tags array(varchar))"],
        ["3", None, None, None, None, "row(name varchar, tags array(varchar))"],
    ]
    table = boto3.client("glue").get_table(DatabaseName="default", Name="events")["Table"]
    assert table["Parameters"]["classification"] == "json"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == serde


def test_openx_mapping_and_case_sensitivity():
    put("m/a.json", lines({"TS": "2025-01-02 03:04:05", "Name": "x"}))
    ok(
        "CREATE EXTERNAL TABLE m (ts_value TIMESTAMP, name STRING) "
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
        "WITH SERDEPROPERTIES ('mapping.ts_value'='ts', 'case.insensitive'='true') "
        f"LOCATION 's3://{BUCKET}/m/'"
    )
    assert ok("SELECT ts_value, name FROM m")[1] == ["2025-01-02 03:04:05.000", "x"]
    ok(
        "CREATE EXTERNAL TABLE strict_case (name STRING) "
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
        "WITH SERDEPROPERTIES ('case.insensitive'='false') "
        f"LOCATION 's3://{BUCKET}/m/'"
    )
    assert ok("SELECT name FROM strict_case")[1] == [None]  # the key is "Name"


def test_malformed_lines_fail_or_read_as_null_rows():
    put("bad/a.json", b'{"id": 1, "name": "ok"}\n{"id": 2, "name": \n{"id": "three"}\n')
    for name, params in (("strict", ""), ("lenient", "'ignore.malformed.json'='true'")):
        serde_props = f"WITH SERDEPROPERTIES ({params}) " if params else ""
        ok(
            f"CREATE EXTERNAL TABLE {name} (id INT, name STRING) "
            f"ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' {serde_props}"
            f"LOCATION 's3://{BUCKET}/bad/'"
        )
    reason = failure("SELECT * FROM strict")
    assert reason.startswith("HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: ")
    assert "CSV" not in reason
    # the malformed line is a row of NULLs, but "three" cannot be an INT
    assert failure("SELECT id FROM lenient") == (
        "HIVE_BAD_DATA: Error parsing field value 'three' for field 0: For input string: \"three\""
    )
    assert ok("SELECT count(*) FROM lenient")[1] == ["3"]  # reads no column: no value to fail
    put("bad/a.json", b'{"id": 1, "name": "ok"}\n{"id": 2, "name": \n')
    assert ok("SELECT id, name FROM lenient ORDER BY id") == [
        ["id", "name"],
        ["1", "ok"],
        [None, None],
    ]
    ok(
        "CREATE EXTERNAL TABLE hive_strict (id INT) "
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' "
        f"LOCATION 's3://{BUCKET}/bad/'"
    )
    assert failure("SELECT * FROM hive_strict").startswith("HIVE_CURSOR_ERROR: JsonParseException:")


def test_partitions_of_a_json_table_are_read_and_pruned():
    put("p/day=1/a.json", lines({"n": 1}, {"n": 2}))
    put("p/day=2/a.json.gz", gzip.compress(lines({"n": 3})))
    ok(
        "CREATE EXTERNAL TABLE p (n BIGINT) PARTITIONED BY (day INT) "
        f"ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{BUCKET}/p/'"
    )
    ok("MSCK REPAIR TABLE p")
    assert ok("SELECT day, sum(n) FROM p GROUP BY day ORDER BY day")[1:] == [["1", "3"], ["2", "3"]]
    one_day = run("SELECT n FROM p WHERE day = 2")
    assert one_day["rows"][1:] == [["3"]]
    scanned = one_day["Statistics"]["DataScannedInBytes"]
    assert (
        scanned
        == boto3.client("s3").head_object(Bucket=BUCKET, Key="p/day=2/a.json.gz")["ContentLength"]
    )  # only the one gzipped file, counted compressed as Athena bills it


def test_gzipped_csv_files_are_read_too():
    put("csv/a.csv.gz", gzip.compress(b"1,x\n2,y\n"))
    put("csv/b.csv", b"3,z\n")
    ok(
        "CREATE EXTERNAL TABLE c (n INT, s STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
        f"LOCATION 's3://{BUCKET}/csv/'"
    )
    assert ok("SELECT n, s FROM c ORDER BY n")[1:] == [["1", "x"], ["2", "y"], ["3", "z"]]


def test_a_serde_the_sandbox_cannot_read_is_refused_by_name():
    reason = failure(
        "CREATE EXTERNAL TABLE logs (line STRING) "
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe' "
        f"WITH SERDEPROPERTIES ('input.regex'='(.*)') LOCATION 's3://{BUCKET}/logs/'"
    )
    assert reason.startswith(
        "HIVE_UNSUPPORTED_FORMAT: Unable to read SerDe org.apache.hadoop.hive.serde2.RegexSerDe"
    )
    assert "org.openx.data.jsonserde.JsonSerDe" in reason  # says what it reads instead
    assert "STORED AS ORC" in failure(
        f"CREATE EXTERNAL TABLE o (a INT) STORED AS ORC LOCATION 's3://{BUCKET}/o/'"
    )
    # a table made through Glue directly fails at query time, naming it (never a CSV error)
    put("o/a.orc", b"ORC....")
    boto3.client("glue").create_table(
        DatabaseName="default",
        TableInput={
            "Name": "orc_table",
            "StorageDescriptor": {
                "Columns": [{"Name": "a", "Type": "int"}],
                "Location": f"s3://{BUCKET}/o/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
                "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.orc.OrcSerde"},
            },
        },
    )
    reason = failure("SELECT * FROM orc_table")
    assert reason.startswith("HIVE_UNSUPPORTED_FORMAT: Unable to read SerDe")
    assert "OrcSerde" in reason


# -- CloudTrail ------------------------------------------------------------------------------

#: AWS's documented manual CloudTrail table ("Create a table for CloudTrail logs in Athena using
#: manual partitioning"), without its PARTITIONED BY clause.
CLOUDTRAIL_DDL = """CREATE EXTERNAL TABLE cloudtrail_logs (
eventversion STRING,
useridentity STRUCT<
               type:STRING,
               principalid:STRING,
               arn:STRING,
               accountid:STRING,
               invokedby:STRING,
               accesskeyid:STRING,
               username:STRING,
               onbehalfof: STRUCT<
                    userid: STRING,
                    identitystorearn: STRING>,
  sessioncontext:STRUCT<
    attributes:STRUCT<
               mfaauthenticated:STRING,
               creationdate:STRING>,
    sessionissuer:STRUCT<
               type:STRING,
               principalid:STRING,
               arn:STRING,
               accountid:STRING,
               username:STRING>,
    ec2roledelivery:string,
    webidfederationdata: STRUCT<
               federatedprovider: STRING,
               attributes: map<string,string>>
  >
>,
eventtime STRING,
eventsource STRING,
eventname STRING,
awsregion STRING,
sourceipaddress STRING,
useragent STRING,
errorcode STRING,
errormessage STRING,
requestparameters STRING,
responseelements STRING,
additionaleventdata STRING,
requestid STRING,
eventid STRING,
resources ARRAY<STRUCT<
               arn:STRING,
               accountid:STRING,
               type:STRING>>,
eventtype STRING,
apiversion STRING,
readonly STRING,
recipientaccountid STRING,
serviceeventdetails STRING,
sharedeventid STRING,
vpcendpointid STRING,
vpcendpointaccountid STRING,
eventcategory STRING,
addendum STRUCT<
  reason:STRING,
  updatedfields:STRING,
  originalrequestid:STRING,
  originaleventid:STRING>,
sessioncredentialfromconsole STRING,
edgedevicedetails STRING,
tlsdetails STRUCT<
  tlsversion:STRING,
  ciphersuite:STRING,
  clientprovidedhostheader:STRING>
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://{bucket}/AWSLogs/{account}/'"""


def trail_bucket_policy(bucket: str) -> str:
    """The bucket policy AWS's documentation gives for a trail's bucket."""
    service = {"Service": "cloudtrail.amazonaws.com"}
    return json.dumps(
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
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{DEV}/*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                },
            ],
        }
    )


def test_the_documented_cloudtrail_table_finds_a_denied_call():
    s3 = boto3.client("s3")
    create_bucket("trail-logs")
    s3.put_bucket_policy(Bucket="trail-logs", Policy=trail_bucket_policy("trail-logs"))
    trails = boto3.client("cloudtrail")
    trails.create_trail(Name="main", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    trails.start_logging(Name="main")
    iam = boto3.client("iam")
    iam.create_user(UserName="intern")
    key = iam.create_access_key(UserName="intern")["AccessKey"]
    intern = boto3.client(
        "iam",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=NO_RETRY,
    )
    with pytest.raises(ClientError) as refused:
        intern.list_users()  # a management event: recorded without any event selector
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    control.api("cloudtrail/deliver", method="POST")
    logs = s3.list_objects_v2(Bucket="trail-logs", Prefix="AWSLogs/")["Contents"]
    assert logs and all(o["Key"].endswith(".json.gz") for o in logs)

    ok(CLOUDTRAIL_DDL.format(bucket="trail-logs", account=DEV))
    rows = ok(
        "SELECT useridentity.username, eventname, errorcode, useridentity.type "
        "FROM cloudtrail_logs WHERE errorcode = 'AccessDenied'"
    )
    assert rows == [
        ["username", "eventname", "errorcode", "type"],
        ["intern", "ListUsers", "AccessDenied", "IAMUser"],
    ]
    # requestParameters stays JSON text, as in the log file: json_extract reads it
    created = ok(
        "SELECT json_extract_scalar(requestparameters, '$.userName'), readonly "
        "FROM cloudtrail_logs WHERE eventname = 'CreateUser'"
    )
    assert created[1:] == [["intern", "false"]]
    # the older documented form: CloudTrailSerde, with the input format it is paired with
    ok(
        "CREATE EXTERNAL TABLE old_trail (eventname STRING, errorcode STRING, "
        "useridentity STRUCT<username:STRING>) "
        "ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde' "
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat' "
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat' "
        "LOCATION 's3://trail-logs/AWSLogs/'"
    )
    assert ok("SELECT useridentity.username FROM old_trail WHERE errorcode = 'AccessDenied'") == [
        ["username"],
        ["intern"],
    ]
    table = boto3.client("glue").get_table(DatabaseName="default", Name="cloudtrail_logs")
    descriptor = table["Table"]["StorageDescriptor"]
    assert descriptor["InputFormat"] == "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
