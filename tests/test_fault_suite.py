"""A learner's wrong paths and bad inputs: the sandbox refuses them as AWS does and survives.

One table of cases (:data:`CASES`). Each case makes one bad call against the session's
sandbox and must get AWS's error code *and* message (a regular expression searched in the
message); afterwards the sandbox must still answer ``/flovtrain-api/health`` and the resource
the module created before any bad call (one per service, :func:`world`) must still exist.

Every case gets one verdict (:func:`verdict`):

- ``clear``: AWS's code and message, sandbox up, nothing lost;
- ``confusing``: refused, but with another code or message;
- ``silent``: accepted where AWS refuses;
- ``crash``: an internal error (HTTP 5xx, ``InternalFailure``…) or the sandbox stopped answering;
- ``loss``: the resource made beforehand is gone.

Cases whose fix belongs to another part of the sandbox (IAM, Route 53, Athena) are
``xfail(strict=True)`` with the reason. ``FLOVTRAIN_FAULT_REPORT=<file>`` writes every case's
verdict there as JSON (the bad-input table of issue #11).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from provider_fixtures import put_billing_alarm, trust_policy
from sandbox_fixtures import BUILD_ENVIRONMENT, create_build_project

from flovtrain.sandbox import control

REGION = "eu-west-1"
ACCOUNT = "123456789012"
KEEP = "fault-keep"
BUILD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{KEEP}-build"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{KEEP}-deploy"
MB6 = 6 * 1024 * 1024
_verdicts: dict[str, tuple[str, str]] = {}


class Refused(Exception):
    """A refusal seen outside boto3 (git, the flovtrain library): ``code`` and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class Case:
    """One bad input: ``call(world)`` must fail with ``code`` and a message matching ``message``.

    ``keep`` names the resource of :func:`world` that must survive; ``xfail`` the reason a
    case is a known difference owned elsewhere.
    """

    id: str
    keep: str
    call: Callable[[dict[str, Any]], Any]
    code: str
    message: str
    xfail: str | None = None


# -- the world every case starts from ------------------------------------------------------------
def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "HOME": str(cwd)}
    base = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    return subprocess.run(
        [*base, "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _action(name: str, category: str, provider: str, **extra: Any) -> dict[str, Any]:
    owner = extra.pop("owner", "AWS")
    inputs, outputs = extra.pop("inputs", ()), extra.pop("outputs", ())
    return {
        "name": name,
        "actionTypeId": {
            "category": category,
            "owner": owner,
            "provider": provider,
            "version": extra.pop("version", "1"),
        },
        "configuration": extra.pop("configuration", {}),
        "inputArtifacts": [{"name": n} for n in inputs],
        "outputArtifacts": [{"name": n} for n in outputs],
        **extra,
    }


SOURCE = _action(
    "Source",
    "Source",
    "S3",
    configuration={"S3Bucket": KEEP, "S3ObjectKey": "src.zip", "PollForSourceChanges": "false"},
    outputs=("src",),
)
BUILD = _action("Build", "Build", "CodeBuild", configuration={"ProjectName": KEEP}, inputs=("src",))
APPROVE = _action("Approve", "Approval", "Manual")


def pipeline(name: str, *stages: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A CodePipeline declaration named ``name`` with ``(stage name, actions)`` stages."""
    return {
        "name": name,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{KEEP}-pipeline",
        "artifactStore": {"type": "S3", "location": KEEP},
        "stages": [{"name": n, "actions": a} for n, a in stages],
    }


def _role(iam: Any, name: str, service: str) -> str:
    trust = json.dumps(trust_policy(service))
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Any]:
    """Clients plus one resource per service, made before any bad call (``KEEP`` names them)."""
    control.reset()  # once per module: the cases only add what AWS refuses
    session = boto3.Session(region_name=REGION)
    fast = Config(retries={"max_attempts": 1})
    names = (
        "s3 iam sns cloudwatch codebuild codedeploy ec2 route53 sts codepipeline codecommit "
        "glacier cloudformation athena"
    ).split()
    w: dict[str, Any] = {n: session.client(n, config=fast) for n in names}
    w["budgets"] = boto3.client("budgets", region_name="us-east-1", config=fast)
    s3, iam = w["s3"], w["iam"]
    s3.create_bucket(Bucket=KEEP, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=KEEP, Key="src.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    iam.create_user(UserName=KEEP)
    iam.create_group(GroupName=KEEP)
    iam.add_user_to_group(GroupName=KEEP, UserName=KEEP)
    iam.create_user(UserName=f"{KEEP}-keys")
    for _ in range(2):
        iam.create_access_key(UserName=f"{KEEP}-keys")
    _role(iam, f"{KEEP}-pipeline", "codepipeline.amazonaws.com")
    build_role = _role(iam, f"{KEEP}-build", "codebuild.amazonaws.com")
    deploy_role = _role(iam, f"{KEEP}-deploy", "codedeploy.amazonaws.com")
    iam.create_role(  # one the account's own principals may assume (MaxSessionDuration 1 h)
        RoleName=f"{KEEP}-assumable",
        AssumeRolePolicyDocument=json.dumps(trust_policy(account=ACCOUNT)),
    )
    w["topic"] = w["sns"].create_topic(Name=KEEP)["TopicArn"]
    put_billing_alarm(w["cloudwatch"], None, name=KEEP)
    create_build_project(w["codebuild"], KEEP, "version: 0.2\nphases: {}\n", build_role)
    w["codedeploy"].create_application(applicationName=KEEP, computePlatform="Server")
    w["codedeploy"].create_deployment_group(
        applicationName=KEEP, deploymentGroupName=KEEP, serviceRoleArn=deploy_role
    )
    w["ec2"].create_key_pair(KeyName=KEEP)
    w["zone"] = w["route53"].create_hosted_zone(Name="keep.example.", CallerReference=KEEP)[
        "HostedZone"
    ]["Id"]
    w["route53"].change_resource_record_sets(
        HostedZoneId=w["zone"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "www.keep.example.",
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "192.0.2.10"}],
                    },
                }
            ]
        },
    )
    w["budgets"].create_budget(
        AccountId=ACCOUNT,
        Budget={
            "BudgetName": KEEP,
            "BudgetType": "COST",
            "TimeUnit": "MONTHLY",
            "BudgetLimit": {"Amount": "10", "Unit": "USD"},
        },
    )
    w["codepipeline"].create_pipeline(
        pipeline=pipeline(KEEP, ("Source", [SOURCE]), ("Approve", [APPROVE]))
    )
    w["glacier"].create_vault(vaultName=KEEP)
    w["cloudformation"].create_stack(
        StackName=KEEP, TemplateBody="Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    )
    # a repository whose default branch holds one file CodeCommit's API may not return
    repo = w["codecommit"].create_repository(repositoryName=KEEP)["repositoryMetadata"]
    w["clone_url"] = repo["cloneUrlHttp"]
    work = tmp_path_factory.mktemp("git") / KEEP
    assert _git("clone", repo["cloneUrlHttp"], str(work), cwd=work.parent).returncode == 0
    (work / "big.bin").write_bytes(b"b" * (MB6 + 1))
    (work / "README.md").write_text("keep\n")
    _git("add", ".", cwd=work)
    _git("commit", "-qm", "first", cwd=work)
    assert _git("push", "-q", "origin", "main", cwd=work).returncode == 0
    w["clone"] = work
    _wait_for_approval(w)
    return w


def _wait_for_approval(w: dict[str, Any], timeout: float = 30) -> None:
    """Wait until the kept pipeline's Manual approval waits (its first execution ran Source)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = w["codepipeline"].get_pipeline_state(name=KEEP)["stageStates"]
        latest = state[1]["actionStates"][0].get("latestExecution", {})
        if latest.get("status") == "InProgress" and latest.get("token"):
            return
        time.sleep(0.2)
    raise AssertionError(f"the approval never waited: {state}")


SURVIVORS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "s3": lambda w: w["s3"].head_object(Bucket=KEEP, Key="src.zip"),
    "iam": lambda w: (w["iam"].get_user(UserName=KEEP), w["iam"].get_group(GroupName=KEEP)),
    "sns": lambda w: w["sns"].get_topic_attributes(TopicArn=w["topic"]),
    "cloudwatch": lambda w: w["cloudwatch"].describe_alarms(AlarmNames=[KEEP])["MetricAlarms"][0],
    "codebuild": lambda w: w["codebuild"].batch_get_projects(names=[KEEP])["projects"][0],
    "codedeploy": lambda w: w["codedeploy"].get_deployment_group(
        applicationName=KEEP, deploymentGroupName=KEEP
    ),
    "ec2": lambda w: w["ec2"].describe_key_pairs(KeyNames=[KEEP]),
    "route53": lambda w: w["route53"].get_hosted_zone(Id=w["zone"]),
    "budgets": lambda w: w["budgets"].describe_budget(AccountId=ACCOUNT, BudgetName=KEEP),
    "codepipeline": lambda w: w["codepipeline"].get_pipeline(name=KEEP),
    "codecommit": lambda w: w["codecommit"].get_file(repositoryName=KEEP, filePath="README.md"),
    "glacier": lambda w: w["glacier"].describe_vault(vaultName=KEEP),
    "cloudformation": lambda w: w["cloudformation"].describe_stacks(StackName=KEEP),
}


def verdict(case: Case, w: dict[str, Any]) -> tuple[str, str]:
    """Run ``case`` and return ``(verdict, what happened)`` (see the module's docstring)."""
    try:
        case.call(w)
        got = "accepted"
        outcome = "silent"
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        got = f"{status} {code}: {message}"
        if status >= 500 or code in ("InternalFailure", "InternalError", "SandboxInternalError"):
            outcome = "crash"
        elif code == case.code and re.search(case.message, message):
            outcome = "clear"
        else:
            outcome = "confusing"
    except Refused as exc:
        got = f"{exc.code}: {exc.message}"
        clear = exc.code == case.code and re.search(case.message, exc.message)
        outcome = "clear" if clear else "confusing"
    except Exception as exc:  # anything else a client sees is a crash of the sandbox
        got, outcome = f"{type(exc).__name__}: {exc}", "crash"
    try:
        control.api("health", timeout=10)
    except Exception as exc:
        return "crash", f"{got}; then health failed: {exc}"
    try:
        SURVIVORS[case.keep](w)
    except Exception as exc:
        return "loss", f"{got}; then {case.keep}'s kept resource is gone: {exc}"
    return outcome, got


# -- the cases ------------------------------------------------------------------------------------
def _enum(value: str, member: str, values: str) -> str:
    return re.escape(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{values}]"
    )


def _enum_any(value: str, member: str, *values: str) -> str:
    """AWS's enum message with ``values`` listed in any order."""
    one = "|".join(map(re.escape, values))
    head = _enum(value, member, "")[: -len(re.escape("[]"))]
    return rf"^{head}\[({one})(, ({one})){{{len(values) - 1}}}\]$"


def _alarm(w: dict[str, Any], **overrides: Any) -> Any:
    args = {
        "AlarmName": "fault-alarm",
        "Namespace": "AWS/Billing",
        "MetricName": "EstimatedCharges",
        "Statistic": "Maximum",
        "Period": 21600,
        "EvaluationPeriods": 1,
        "Threshold": 10.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    return w["cloudwatch"].put_metric_alarm(**{**args, **overrides})


def _run(w: dict[str, Any], **overrides: Any) -> Any:
    args = {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1}
    return w["ec2"].run_instances(**{**args, **overrides})


def _rrset(w: dict[str, Any], action: str, name: str) -> Any:
    record = {
        "Name": name,
        "Type": "A",
        "TTL": 60,
        "ResourceRecords": [{"Value": "192.0.2.10"}],
    }
    return w["route53"].change_resource_record_sets(
        HostedZoneId=w["zone"],
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]},
    )


def _create_pipeline(*stages: tuple[str, list[dict[str, Any]]]) -> Callable[[dict], Any]:
    return lambda w: w["codepipeline"].create_pipeline(pipeline=pipeline("fault-pipe", *stages))


def _create_bucket(name: str, location: str | None = REGION) -> Callable[[dict], Any]:
    """Create bucket ``name`` constrained to ``location`` (``None``: no constraint given)."""
    where = {"CreateBucketConfiguration": {"LocationConstraint": location}} if location else {}
    return lambda w: w["s3"].create_bucket(Bucket=name, **where)


def _create_group(app: str, group: str, **extra: str) -> Callable[[dict], Any]:
    """Create deployment group ``group`` of ``app`` with the world's deploy role."""
    return lambda w: w["codedeploy"].create_deployment_group(
        applicationName=app, deploymentGroupName=group, serviceRoleArn=DEPLOY_ROLE, **extra
    )


def _create_stack(name: str, template: str) -> Callable[[dict], Any]:
    return lambda w: w["cloudformation"].create_stack(StackName=name, TemplateBody=template)


def _approval_token(w: dict[str, Any]) -> str:
    state = w["codepipeline"].get_pipeline_state(name=KEEP)["stageStates"]
    return state[1]["actionStates"][0]["latestExecution"]["token"]


def _approve(w: dict[str, Any], status: str, token: str | None = None, **where: str) -> Any:
    args = {"pipelineName": KEEP, "stageName": "Approve", "actionName": "Approve", **where}
    return w["codepipeline"].put_approval_result(
        **args,
        result={"summary": "fault suite", "status": status},
        token=token if token is not None else _approval_token(w),
    )


def _git_push_delete_default(w: dict[str, Any]) -> None:
    result = _git("push", "origin", ":main", cwd=w["clone"])
    if result.returncode != 0:
        found = re.search(r"\[remote rejected\] main \((.+)\)", result.stderr)
        raise Refused("remote rejected", found.group(1) if found else result.stderr.strip())


def _git_with_credentials(w: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{w['clone_url']}/info/refs?service=git-upload-pack")
    token = base64.b64encode(b"alice:not-a-password").decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:
        raise Refused(str(exc.code), exc.read().decode(errors="replace")) from None


def _bad_account_id(w: dict[str, Any]) -> None:
    """``FLOVTRAIN_AWS_ACCOUNT=abc``: refused before any call to STS (none may happen)."""
    from flovtrain import session
    from flovtrain.exceptions import RealAwsNotAllowed

    original = boto3.Session.client
    saved = {k: os.environ.get(k) for k in ("FLOVTRAIN_BACKEND", "FLOVTRAIN_AWS_ACCOUNT")}

    def no_client(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        # never build the client: a real STS call would leave the machine
        raise Refused(f"made a {name} client", "the account id was not checked first")

    os.environ.update(FLOVTRAIN_BACKEND="aws", FLOVTRAIN_AWS_ACCOUNT="abc")
    boto3.Session.client = no_client
    try:
        session.connect(quiet=True)
    except RealAwsNotAllowed as exc:
        raise Refused("RealAwsNotAllowed", str(exc)) from None
    finally:
        boto3.Session.client = original
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        session.connect(quiet=True)


_NO_SUCH_POLICY = "arn:aws:iam::aws:policy/GhostPolicy"
# CodeDeploy's runtime wording, or its API reference's (which the sandbox uses)
_NO_APP = (
    r"^(No application found for name: fault-ghost|The application fault-ghost does not exist "
    r"with the user or AWS account\.)$"
)
_NO_GROUP = (
    r"^(No Deployment Group found for name: fault-ghost|The deployment group fault-ghost does "
    r"not exist with the user or AWS account\.)$"
)
_NOT_AUTHORIZED = "is not authorized to perform: sts:AssumeRole"
CFN = "CloudFormation validation belongs to the CloudFormation engineer"
ATHENA = "Athena belongs to the Athena engineer"
IAM_WORDS = "moto's IAM words differ from AWS's (IAM belongs to the IAM engineer)"
IAM_CHECKS = "moto's IAM does not validate names or JSON (IAM belongs to the IAM engineer)"
R53 = "moto's Route 53 words change batches differently (not in this task)"

CASES: list[Case] = [
    # -- S3 ---------------------------------------------------------------------------------------
    Case(
        "s3-bucket-name-uppercase",
        "s3",
        _create_bucket("Bad_Bucket"),
        "InvalidBucketName",
        r"^The specified bucket is not valid\.$",
    ),
    Case(
        "s3-bucket-name-too-short",
        "s3",
        _create_bucket("ab"),
        "InvalidBucketName",
        r"^The specified bucket is not valid\.$",
    ),
    Case(
        "s3-bucket-twice",
        "s3",
        _create_bucket(KEEP),
        "BucketAlreadyOwnedByYou",
        r"^Your previous request to create the named bucket succeeded and you already own it\.$",
    ),
    Case(
        "s3-bucket-no-location",
        "s3",
        _create_bucket("fault-noloc", None),
        "IllegalLocationConstraintException",
        r"^The unspecified location constraint is incompatible for the region specific "
        r"endpoint this request was sent to\.$",
    ),
    Case(
        "s3-bucket-other-location",
        "s3",
        _create_bucket("fault-other", "us-west-2"),
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
        xfail=IAM_WORDS,
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
        xfail=IAM_CHECKS,
    ),
    Case(
        "iam-group-twice",
        "iam",
        lambda w: w["iam"].create_group(GroupName=KEEP),
        "EntityAlreadyExists",
        rf"^Group with name {KEEP} already exists\.$",
        xfail=IAM_WORDS,
    ),
    Case(
        "iam-group-missing",
        "iam",
        lambda w: w["iam"].add_user_to_group(GroupName="fault-ghost", UserName=KEEP),
        "NoSuchEntity",
        r"^The group with name fault-ghost cannot be found\.$",
        xfail=IAM_WORDS,
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
        xfail=IAM_WORDS,
    ),
    Case(
        "iam-delete-role-missing",
        "iam",
        lambda w: w["iam"].delete_role(RoleName="fault-ghost"),
        "NoSuchEntity",
        r"^The role with name fault-ghost cannot be found\.$",
        xfail=IAM_WORDS,
    ),
    Case(
        "iam-role-trust-not-json",
        "iam",
        lambda w: w["iam"].create_role(RoleName="fault-role", AssumeRolePolicyDocument="{nope"),
        "MalformedPolicyDocument",
        r"^This policy contains invalid Json$",
        xfail=IAM_CHECKS,
    ),
    Case(
        "iam-attach-missing-policy",
        "iam",
        lambda w: w["iam"].attach_role_policy(RoleName=f"{KEEP}-build", PolicyArn=_NO_SUCH_POLICY),
        "NoSuchEntity",
        re.escape(f"Policy {_NO_SUCH_POLICY} does not exist or is not attachable."),
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
        re.escape(_NOT_AUTHORIZED),
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
        lambda w: _alarm(w, ComparisonOperator="Bigger"),
        "ValidationError",
        _enum(
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
        lambda w: _alarm(w, Statistic="Median"),
        "ValidationError",
        _enum("Median", "statistic", "SampleCount, Average, Sum, Minimum, Maximum"),
    ),
    Case(
        "cw-alarm-odd-period",
        "cloudwatch",
        lambda w: _alarm(w, Period=45),
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
        _enum_any("PANIC", "stateValue", "OK", "ALARM", "INSUFFICIENT_DATA"),
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
    # -- CodeBuild ------------------------------------------------------------------------------
    Case(
        "codebuild-project-twice",
        "codebuild",
        lambda w: create_build_project(w["codebuild"], KEEP, "version: 0.2", BUILD_ROLE),
        "ResourceAlreadyExistsException",
        re.escape(f"Project already exists: arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{KEEP}"),
    ),
    Case(
        "codebuild-start-missing",
        "codebuild",
        lambda w: w["codebuild"].start_build(projectName="fault-ghost"),
        "ResourceNotFoundException",
        re.escape(
            f"Project cannot be found: arn:aws:codebuild:{REGION}:{ACCOUNT}:project/fault-ghost"
        ),
    ),
    Case(
        "codebuild-bad-compute-type",
        "codebuild",
        lambda w: create_build_project(
            w["codebuild"],
            "fault-build",
            "version: 0.2",
            BUILD_ROLE,
            environment={**BUILD_ENVIRONMENT, "computeType": "HUGE"},
        ),
        "InvalidInputException",
        r"HUGE",
    ),
    Case(
        "codebuild-stop-missing",
        "codebuild",
        lambda w: w["codebuild"].stop_build(id=f"{KEEP}:00000000-0000-0000-0000-000000000000"),
        "ResourceNotFoundException",
        r"^Build .+ does not exist$|^Build cannot be found",
    ),
    # -- CodeDeploy -----------------------------------------------------------------------------
    Case(
        "codedeploy-app-twice",
        "codedeploy",
        lambda w: w["codedeploy"].create_application(applicationName=KEEP),
        "ApplicationAlreadyExistsException",
        rf"{KEEP} already exists",
    ),
    Case(
        "codedeploy-app-missing",
        "codedeploy",
        lambda w: w["codedeploy"].get_application(applicationName="fault-ghost"),
        "ApplicationDoesNotExistException",
        _NO_APP,
    ),
    Case(
        "codedeploy-group-missing-app",
        "codedeploy",
        _create_group("fault-ghost", "g"),
        "ApplicationDoesNotExistException",
        _NO_APP,
    ),
    Case(
        "codedeploy-deploy-missing-group",
        "codedeploy",
        lambda w: w["codedeploy"].create_deployment(
            applicationName=KEEP,
            deploymentGroupName="fault-ghost",
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": KEEP, "key": "src.zip", "bundleType": "zip"},
            },
        ),
        "DeploymentGroupDoesNotExistException",
        _NO_GROUP,
    ),
    Case(
        "codedeploy-group-missing",
        "codedeploy",
        lambda w: w["codedeploy"].get_deployment_group(
            applicationName=KEEP, deploymentGroupName="fault-ghost"
        ),
        "DeploymentGroupDoesNotExistException",
        _NO_GROUP,
    ),
    Case(
        "codedeploy-deployment-missing",
        "codedeploy",
        lambda w: w["codedeploy"].get_deployment(deploymentId="d-AAAAAAAAA"),
        "DeploymentDoesNotExistException",
        r"^The deployment d-AAAAAAAAA (could not be found|does not exist with the user or AWS "
        r"account\.)",
    ),
    Case(
        "codedeploy-config-missing",
        "codedeploy",
        _create_group(KEEP, "fault-group", deploymentConfigName="Ghost.Config"),
        "DeploymentConfigDoesNotExistException",
        r"^No deployment configuration found for name: Ghost\.Config$",
    ),
    Case(
        "codedeploy-group-twice",
        "codedeploy",
        _create_group(KEEP, KEEP),
        "DeploymentGroupAlreadyExistsException",
        rf"{KEEP} already exists",
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
        lambda w: _run(w, InstanceType="t9.mega"),
        "InvalidParameterValue",
        r"^Invalid value 't9\.mega' for InstanceType\.$",
    ),
    Case(
        "ec2-run-missing-ami",
        "ec2",
        lambda w: _run(w, ImageId="ami-00000000"),
        "InvalidAMIID.NotFound",
        r"^The image id '\[ami-00000000\]' does not exist$",
    ),
    Case(
        "ec2-run-missing-key",
        "ec2",
        lambda w: _run(w, KeyName="fault-ghost"),
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
        lambda w: _rrset(w, "DELETE", "ghost.keep.example."),
        "InvalidChangeBatch",
        re.escape(
            "[Tried to delete resource record set [name='ghost.keep.example.', type='A'] but "
            "it was not found]"
        ),
        xfail=R53,
    ),
    Case(
        "route53-create-existing-record",
        "route53",
        lambda w: _rrset(w, "CREATE", "www.keep.example."),
        "InvalidChangeBatch",
        re.escape(
            "[Tried to create resource record set [name='www.keep.example.', type='A'] but "
            "it already exists]"
        ),
        xfail=R53,
    ),
    Case(
        "route53-delete-non-empty-zone",
        "route53",
        lambda w: w["route53"].delete_hosted_zone(Id=w["zone"]),
        "HostedZoneNotEmpty",
        r"^The specified hosted zone contains non-required resource "
        r"record sets and so cannot be deleted\.$",
        xfail=R53,
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
    # -- CodePipeline ---------------------------------------------------------------------------
    Case(
        "pipeline-one-stage",
        "codepipeline",
        _create_pipeline(("Source", [SOURCE])),
        "InvalidStructureException",
        r"^Pipeline has only 1 stage\(s\)\. There should be a minimum of 2 stages in a "
        r"pipeline$",
    ),
    Case(
        "pipeline-no-source",
        "codepipeline",
        _create_pipeline(("Approve", [APPROVE]), ("Approve2", [APPROVE])),
        "InvalidStructureException",
        r"^The first stage of a pipeline must contain at least one source action$",
    ),
    Case(
        "pipeline-first-stage-mixed",
        "codepipeline",
        _create_pipeline(("Source", [SOURCE, BUILD]), ("Approve", [APPROVE])),
        "InvalidStructureException",
        r"^The first stage of a pipeline must contain only source actions$",
    ),
    Case(
        "pipeline-source-later",
        "codepipeline",
        _create_pipeline(
            ("Source", [SOURCE]),
            ("More", [{**SOURCE, "name": "Again", "outputArtifacts": [{"name": "more"}]}]),
        ),
        "InvalidStructureException",
        r"^Source actions can only be included in the first stage of the pipeline$",
    ),
    Case(
        "pipeline-unknown-provider",
        "codepipeline",
        _create_pipeline(
            ("Source", [SOURCE]), ("Build", [_action("Build", "Build", "Jenkinz", inputs=("src",))])
        ),
        "InvalidActionDeclarationException",
        re.escape(
            "ActionType (Category: 'Build', Provider: 'Jenkinz', Owner: 'AWS', Version: '1') "
            "in action 'Build' is not available in region 'EU_WEST_1'"
        ),
    ),
    Case(
        "pipeline-wrong-owner",
        "codepipeline",
        _create_pipeline(
            (
                "Source",
                [{**SOURCE, "actionTypeId": {**SOURCE["actionTypeId"], "owner": "ThirdParty"}}],
            ),
            ("Approve", [APPROVE]),
        ),
        "InvalidActionDeclarationException",
        re.escape(
            "ActionType (Category: 'Source', Provider: 'S3', Owner: 'ThirdParty', "
            "Version: '1') in action 'Source' is not available in region 'EU_WEST_1'"
        ),
    ),
    Case(
        "pipeline-wrong-category",
        "codepipeline",
        _create_pipeline(
            ("Source", [SOURCE]),
            ("Deploy", [_action("Deploy", "Deploy", "CodeBuild", inputs=("src",))]),
        ),
        "InvalidActionDeclarationException",
        re.escape(
            "ActionType (Category: 'Deploy', Provider: 'CodeBuild', Owner: 'AWS', "
            "Version: '1') in action 'Deploy' is not available in region 'EU_WEST_1'"
        ),
    ),
    Case(
        "pipeline-input-nobody-makes",
        "codepipeline",
        _create_pipeline(
            ("Source", [SOURCE]), ("Build", [{**BUILD, "inputArtifacts": [{"name": "ghost"}]}])
        ),
        "InvalidStructureException",
        r"^Input artifact ghost of action Build in stage Build "
        r"does not match the output artifact of an action earlier in the pipeline$",
    ),
    Case(
        "pipeline-input-made-later",
        "codepipeline",
        _create_pipeline(
            ("Source", [SOURCE]),
            (
                "Build",
                [
                    {**BUILD, "inputArtifacts": [{"name": "built"}], "runOrder": 1},
                    {
                        **BUILD,
                        "name": "Make",
                        "outputArtifacts": [{"name": "built"}],
                        "runOrder": 2,
                    },
                ],
            ),
        ),
        "InvalidStructureException",
        r"^Input artifact built of action Build in stage Build "
        r"does not match",
    ),
    Case(
        "pipeline-stage-twice",
        "codepipeline",
        _create_pipeline(("Source", [SOURCE]), ("Build", [BUILD]), ("Build", [APPROVE])),
        "InvalidStageDeclarationException",
        r"^Stage name Build is already in use\. Stage names must be unique within a pipeline$",
    ),
    Case(
        "pipeline-action-twice",
        "codepipeline",
        _create_pipeline(("Source", [SOURCE]), ("Build", [BUILD, {**APPROVE, "name": "Build"}])),
        "InvalidActionDeclarationException",
        r"^Action name Build is already in use in stage "
        r"Build\. Action names must be unique within a stage$",
    ),
    Case(
        "pipeline-output-twice",
        "codepipeline",
        _create_pipeline(
            ("Source", [SOURCE]), ("Build", [{**BUILD, "outputArtifacts": [{"name": "src"}]}])
        ),
        "InvalidStructureException",
        r"^Output artifact name src is already in use\. Every "
        r"output artifact in the pipeline must have a unique name$",
    ),
    Case(
        "pipeline-deploy-without-input",
        "codepipeline",
        _create_pipeline(
            ("Source", [SOURCE]),
            (
                "Deploy",
                [
                    _action(
                        "Deploy",
                        "Deploy",
                        "CodeDeploy",
                        configuration={"ApplicationName": KEEP, "DeploymentGroupName": KEEP},
                    )
                ],
            ),
        ),
        "InvalidActionDeclarationException",
        r"^Action Deploy declares 0 input artifacts which is less than the minimum count "
        r"\(1\)$",
    ),
    Case(
        "pipeline-empty-stage",
        "codepipeline",
        _create_pipeline(("Source", [SOURCE]), ("Build", [])),
        "InvalidStageDeclarationException",
        r"^Stage Build must contain at least one action$",
    ),
    Case(
        "pipeline-update-one-stage",
        "codepipeline",
        lambda w: w["codepipeline"].update_pipeline(pipeline=pipeline(KEEP, ("Source", [SOURCE]))),
        "InvalidStructureException",
        r"^Pipeline has only 1 stage\(s\)\. There should be a minimum of 2 stages",
    ),
    Case(
        "pipeline-update-unknown-provider",
        "codepipeline",
        lambda w: w["codepipeline"].update_pipeline(
            pipeline=pipeline(
                KEEP,
                ("Source", [SOURCE]),
                (
                    "Approve",
                    [
                        {
                            **APPROVE,
                            "actionTypeId": {**APPROVE["actionTypeId"], "provider": "Automatic"},
                        }
                    ],
                ),
            )
        ),
        "InvalidActionDeclarationException",
        r"Provider: 'Automatic'.+is not available",
    ),
    Case(
        "pipeline-twice",
        "codepipeline",
        lambda w: w["codepipeline"].create_pipeline(
            pipeline=pipeline(KEEP, ("Source", [SOURCE]), ("Approve", [APPROVE]))
        ),
        "PipelineNameInUseException",
        rf"^A pipeline with name '{KEEP}' already exists in account '{ACCOUNT}'$",
    ),
    Case(
        "pipeline-missing",
        "codepipeline",
        lambda w: w["codepipeline"].get_pipeline(name="fault-ghost"),
        "PipelineNotFoundException",
        rf"^Account '{ACCOUNT}' does not have a pipeline with name 'fault-ghost'$",
    ),
    Case(
        "approval-status-maybe",
        "codepipeline",
        lambda w: _approve(w, "Maybe"),
        "ValidationException",
        _enum("Maybe", "result.status", "Approved, Rejected"),
    ),
    Case(
        "approval-wrong-token",
        "codepipeline",
        lambda w: _approve(w, "Approved", token="00000000-0000-0000-0000-000000000000"),
        "InvalidApprovalTokenException",
        r"^The approval token is not valid for action Approve in stage Approve",
    ),
    Case(
        "approval-missing-action",
        "codepipeline",
        lambda w: _approve(w, "Approved", actionName="Ghost"),
        "ActionNotFoundException",
        r"Ghost",
    ),
    # -- CodeCommit -----------------------------------------------------------------------------
    Case(
        "codecommit-repo-twice",
        "codecommit",
        lambda w: w["codecommit"].create_repository(repositoryName=KEEP),
        "RepositoryNameExistsException",
        rf"^Repository named {KEEP} already exists$",
    ),
    Case(
        "codecommit-repo-missing",
        "codecommit",
        lambda w: w["codecommit"].get_repository(repositoryName="fault-ghost"),
        "RepositoryDoesNotExistException",
        r"^fault-ghost does not exist$",
    ),
    Case(
        "codecommit-delete-default-branch",
        "codecommit",
        lambda w: w["codecommit"].delete_branch(repositoryName=KEEP, branchName="main"),
        "DefaultBranchCannotBeDeletedException",
        r"^The specified branch is the default branch for the repository, and cannot be "
        r"deleted\. To delete this branch, you must first set another branch as the default "
        r"branch\.$",
    ),
    Case(
        "codecommit-push-delete-default",
        "codecommit",
        _git_push_delete_default,
        "remote rejected",
        r"^deletion of the current branch prohibited$",
    ),
    Case(
        "codecommit-file-too-large",
        "codecommit",
        lambda w: w["codecommit"].get_file(repositoryName=KEEP, filePath="big.bin"),
        "FileTooLargeException",
        r"^The specified file exceeds the file size limit for CodeCommit\.",
    ),
    Case(
        "codecommit-bad-git-credentials",
        "codecommit",
        _git_with_credentials,
        "403",
        r"^Access denied: the git credentials are not valid",
    ),
    Case(
        "codecommit-branch-missing",
        "codecommit",
        lambda w: w["codecommit"].get_branch(repositoryName=KEEP, branchName="ghost"),
        "BranchDoesNotExistException",
        r"ghost",
    ),
    Case(
        "codecommit-file-missing",
        "codecommit",
        lambda w: w["codecommit"].get_file(repositoryName=KEEP, filePath="ghost.txt"),
        "FileDoesNotExistException",
        r"ghost\.txt",
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
        _bad_account_id,
        "RealAwsNotAllowed",
        r"^FLOVTRAIN_AWS_ACCOUNT='abc' is not an AWS account id: use the 12 digits",
    ),
    # -- CloudFormation -------------------------------------------------------------------------
    Case(
        "cfn-unknown-type",
        "cloudformation",
        _create_stack("fault-stack", "Resources:\n  T:\n    Type: AWS::Fake::Thing\n"),
        "ValidationError",
        re.escape("Template format error: Unrecognized resource types: [AWS::Fake::Thing]"),
    ),
    Case(
        "cfn-bad-yaml",
        "cloudformation",
        _create_stack("fault-stack", "Resources: [\n  - nope: {"),
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
        _create_stack(KEEP, "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"),
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
        xfail=ATHENA,
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


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def test_the_table_is_big_and_unique():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.keep for c in CASES} <= set(SURVIVORS)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_refused_as_aws_refuses(case: Case, world):
    outcome, got = verdict(case, world)
    _verdicts[case.id] = (outcome, got)
    assert outcome == "clear", f"{outcome}: {got}"


def test_everything_made_beforehand_survived(world):
    for name, check in SURVIVORS.items():
        assert check(world), name


def teardown_module() -> None:
    target = os.environ.get("FLOVTRAIN_FAULT_REPORT")
    if target:
        Path(target).write_text(
            json.dumps(
                {
                    "counts": Counter(outcome for outcome, _ in _verdicts.values()),
                    "verdicts": _verdicts,
                },
                indent=1,
            )
        )
