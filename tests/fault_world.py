"""The fault suite's world and vocabulary: the cases' record type, the resources made before any
bad call (one per service, :func:`build_world`), what must survive them (:data:`SURVIVORS`), the
verdict of one case (:func:`verdict`) and the small builders the case tables use.

The tables are :mod:`fault_cases_platform` and :mod:`fault_cases_devtools`; the tests are in
``test_fault_suite.py`` (see its docstring for the verdicts).
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from provider_fixtures import put_billing_alarm, trust_policy
from sandbox_fixtures import create_build_project

from flovtrain.sandbox import control

REGION = "eu-west-1"
ACCOUNT = "123456789012"
KEEP = "fault-keep"
BUILD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{KEEP}-build"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{KEEP}-deploy"
MB6 = 6 * 1024 * 1024


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


def action(name: str, category: str, provider: str, **extra: Any) -> dict[str, Any]:
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


SOURCE = action(
    "Source",
    "Source",
    "S3",
    configuration={"S3Bucket": KEEP, "S3ObjectKey": "src.zip", "PollForSourceChanges": "false"},
    outputs=("src",),
)
BUILD = action("Build", "Build", "CodeBuild", configuration={"ProjectName": KEEP}, inputs=("src",))
APPROVE = action("Approve", "Approval", "Manual")


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
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    acts = ["s3:*", "logs:*", "codebuild:*", "codedeploy:*", "codecommit:*"]
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": acts, "Resource": "*"}],
    }
    iam.put_role_policy(  # the services act as their roles (as on AWS)
        RoleName=name, PolicyName="service", PolicyDocument=json.dumps(allow)
    )
    return arn


def build_world(tmp_path_factory: Any) -> dict[str, Any]:
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
def enum_message(value: str, member: str, values: str) -> str:
    return re.escape(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{values}]"
    )


def enum_any_message(value: str, member: str, *values: str) -> str:
    """AWS's enum message with ``values`` listed in any order."""
    one = "|".join(map(re.escape, values))
    head = enum_message(value, member, "")[: -len(re.escape("[]"))]
    return rf"^{head}\[({one})(, ({one})){{{len(values) - 1}}}\]$"


def put_alarm(w: dict[str, Any], **overrides: Any) -> Any:
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


def run_instances(w: dict[str, Any], **overrides: Any) -> Any:
    args = {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1}
    return w["ec2"].run_instances(**{**args, **overrides})


def change_rrset(w: dict[str, Any], action: str, name: str) -> Any:
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


def create_pipeline(*stages: tuple[str, list[dict[str, Any]]]) -> Callable[[dict], Any]:
    return lambda w: w["codepipeline"].create_pipeline(pipeline=pipeline("fault-pipe", *stages))


def create_bucket(name: str, location: str | None = REGION) -> Callable[[dict], Any]:
    """Create bucket ``name`` constrained to ``location`` (``None``: no constraint given)."""
    where = {"CreateBucketConfiguration": {"LocationConstraint": location}} if location else {}
    return lambda w: w["s3"].create_bucket(Bucket=name, **where)


def create_group(app: str, group: str, **extra: str) -> Callable[[dict], Any]:
    """Create deployment group ``group`` of ``app`` with the world's deploy role."""
    return lambda w: w["codedeploy"].create_deployment_group(
        applicationName=app, deploymentGroupName=group, serviceRoleArn=DEPLOY_ROLE, **extra
    )


def create_stack(name: str, template: str) -> Callable[[dict], Any]:
    return lambda w: w["cloudformation"].create_stack(StackName=name, TemplateBody=template)


def _approval_token(w: dict[str, Any]) -> str:
    state = w["codepipeline"].get_pipeline_state(name=KEEP)["stageStates"]
    return state[1]["actionStates"][0]["latestExecution"]["token"]


def approve(w: dict[str, Any], status: str, token: str | None = None, **where: str) -> Any:
    args = {"pipelineName": KEEP, "stageName": "Approve", "actionName": "Approve", **where}
    return w["codepipeline"].put_approval_result(
        **args,
        result={"summary": "fault suite", "status": status},
        token=token if token is not None else _approval_token(w),
    )


def git_push_delete_default(w: dict[str, Any]) -> None:
    result = _git("push", "origin", ":main", cwd=w["clone"])
    if result.returncode != 0:
        found = re.search(r"\[remote rejected\] main \((.+)\)", result.stderr)
        raise Refused("remote rejected", found.group(1) if found else result.stderr.strip())


def git_with_credentials(w: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{w['clone_url']}/info/refs?service=git-upload-pack")
    token = base64.b64encode(b"alice:not-a-password").decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:
        raise Refused(str(exc.code), exc.read().decode(errors="replace")) from None


def bad_account_id(w: dict[str, Any]) -> None:
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


NO_SUCH_POLICY = "arn:aws:iam::aws:policy/GhostPolicy"
# CodeDeploy's runtime wording, or its API reference's (which the sandbox uses)
NO_APP = (
    r"^(No application found for name: fault-ghost|The application fault-ghost does not exist "
    r"with the user or AWS account\.)$"
)
NO_GROUP = (
    r"^(No Deployment Group found for name: fault-ghost|The deployment group fault-ghost does "
    r"not exist with the user or AWS account\.)$"
)
NOT_AUTHORIZED = "is not authorized to perform: sts:AssumeRole"
