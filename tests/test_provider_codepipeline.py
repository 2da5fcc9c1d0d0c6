"""CodePipeline in the sandbox: executions run sources, builds, approvals and deployments."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from provider_fixtures import PIPELINE_TRUST, profile_of, with_unique_name
from sandbox_fixtures import create_build_project
from test_provider_codedeploy import app_bundle, fetch, free_port

from flovtrain.sandbox import control

REGION = "eu-west-1"
ACCOUNT = "123456789012"
BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - echo "<p>built by CodeBuild</p>" >> site/index.html
artifacts:
  files:
    - '**/*'
"""


@pytest.fixture(scope="module")
def clients():
    control.reset()  # once per module: names below are unique per test
    session = boto3.Session(region_name=REGION)
    c = {
        n: session.client(n)
        for n in ("s3", "ec2", "codedeploy", "codepipeline", "codebuild", "iam", "codecommit")
    }
    c["iam"].create_role(
        RoleName="pipeline-role", AssumeRolePolicyDocument=json.dumps(PIPELINE_TRUST)
    )
    # the services act as these roles: the pipeline's and the build projects' ("cb")
    builds = {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}}
    c["iam"].create_role(
        RoleName="cb",
        AssumeRolePolicyDocument=json.dumps(
            {"Statement": [{**builds, "Action": "sts:AssumeRole"}]}
        ),
    )
    toolchain = {"Effect": "Allow", "Resource": "*"}
    for role in ("pipeline-role", "cb"):
        c["iam"].put_role_policy(
            RoleName=role,
            PolicyName="toolchain",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            **toolchain,
                            "Action": [
                                "s3:*",
                                "codebuild:*",
                                "codedeploy:*",
                                "codecommit:*",
                                "logs:*",
                            ],
                        }
                    ],
                }
            ),
        )
    for bucket in ("artifacts", "sources"):
        c["s3"].create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    c["profile"] = profile_of(session, ["artifacts"])  # the agent reads BuildOutput
    return c


@pytest.fixture()
def aws(clients):
    """Clients plus a name no other test's pipeline, bucket key or instance tag uses."""
    return with_unique_name(clients, "n", "p")


def stage(
    name: str,
    category: str,
    provider: str,
    configuration: dict,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    action: str | None = None,
) -> dict:
    """A stage of one AWS-owned action (named like the stage unless ``action`` says otherwise)."""
    spec = {
        "name": action or name,
        "actionTypeId": {
            "category": category,
            "owner": "AWS",
            "provider": provider,
            "version": "1",
        },
        "configuration": configuration,
    }
    if inputs:
        spec["inputArtifacts"] = [{"name": a} for a in inputs]
    if outputs:
        spec["outputArtifacts"] = [{"name": a} for a in outputs]
    return {"name": name, "actions": [spec]}


def source_stage(key: str) -> dict:
    configuration = {"S3Bucket": "sources", "S3ObjectKey": key, "PollForSourceChanges": "false"}
    return stage("Source", "Source", "S3", configuration, outputs=("SourceOutput",))


def build_stage(project: str) -> dict:
    return stage(
        "Build",
        "Build",
        "CodeBuild",
        {"ProjectName": project},
        inputs=("SourceOutput",),
        outputs=("BuildOutput",),
    )


def deploy_stage(app: str, group: str, artifact: str = "BuildOutput") -> dict:
    configuration = {"ApplicationName": app, "DeploymentGroupName": group}
    return stage("Deploy", "Deploy", "CodeDeploy", configuration, inputs=(artifact,))


def approval_stage() -> dict:
    configuration = {"CustomData": "Look at the page first"}
    return stage("Approve", "Approval", "Manual", configuration, action="Approval")


def approve(aws, name: str, token: str, summary: str, status: str = "Approved") -> None:
    """Answer the manual approval of ``approval_stage()``."""
    aws["codepipeline"].put_approval_result(
        pipelineName=name,
        stageName="Approve",
        actionName="Approval",
        result={"summary": summary, "status": status},
        token=token,
    )


def create_pipeline(aws, stages: list[dict]) -> str:
    name = aws["n"]
    aws["codepipeline"].create_pipeline(
        pipeline={
            "name": name,
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/pipeline-role",
            "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": stages,
        }
    )
    return name


def executions(aws, name: str) -> list[dict]:
    return aws["codepipeline"].list_pipeline_executions(pipelineName=name)[
        "pipelineExecutionSummaries"
    ]


def wait_execution(
    aws,
    name: str,
    execution_id: str | None = None,
    until=("Succeeded", "Failed", "Stopped"),
    timeout: float = 30.0,
) -> dict:
    cp = aws["codepipeline"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = executions(aws, name)
        run = (
            next((r for r in runs if r["pipelineExecutionId"] == execution_id), None)
            if execution_id
            else (runs[0] if runs else None)
        )
        if run and run["status"] in until:
            return cp.get_pipeline_execution(
                pipelineName=name, pipelineExecutionId=run["pipelineExecutionId"]
            )["pipelineExecution"]
        time.sleep(0.05)
    raise AssertionError(f"pipeline {name} execution not {until} after {timeout}s: {runs}")


def wait_approval_token(aws, name: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stage in aws["codepipeline"].get_pipeline_state(name=name)["stageStates"]:
            for action in stage["actionStates"]:
                latest = action.get("latestExecution", {})
                if latest.get("token") and latest.get("status") == "InProgress":
                    return latest["token"]
        time.sleep(0.05)
    raise AssertionError("the approval never started waiting")


def deployment_group(aws, tag: str) -> None:
    """Application and deployment group both named ``tag``, for instances tagged app=``tag``."""
    cd = aws["codedeploy"]
    cd.create_application(applicationName=tag, computePlatform="Server")
    cd.create_deployment_group(
        applicationName=tag,
        deploymentGroupName=tag,
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cd",
        ec2TagFilters=[{"Key": "app", "Value": tag, "Type": "KEY_AND_VALUE"}],
    )


def deploy_target(aws, tag: str) -> list[dict]:
    deployment_group(aws, tag)
    return launch(aws, tag)


def launch(aws, tag: str) -> list[dict]:
    return aws["ec2"].run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        IamInstanceProfile=aws["profile"],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "app", "Value": tag}]}],
    )["Instances"]


def build_project(aws, name: str, buildspec: str = BUILDSPEC) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/cb"
    create_build_project(aws["codebuild"], name, buildspec, role, pipeline=True)


def test_s3_source_build_deploy_serves_the_page(aws):
    port = free_port()
    n = aws["n"]
    aws["s3"].put_object(Bucket="sources", Key=f"{n}.zip", Body=app_bundle("<h1>hello</h1>", port))
    build_project(aws, n)
    (instance,) = deploy_target(aws, n)
    name = create_pipeline(aws, [source_stage(f"{n}.zip"), build_stage(n), deploy_stage(n, n)])
    first = executions(aws, name)[0]
    assert first["trigger"]["triggerType"] == "CreatePipeline"
    done = wait_execution(aws, name)
    assert done["status"] == "Succeeded", done
    page = fetch(f"http://{instance['PublicIpAddress']}:{port}/index.html")
    assert page == "<h1>hello</h1><p>built by CodeBuild</p>\n"

    state = aws["codepipeline"].get_pipeline_state(name=name)
    assert [s["latestExecution"]["status"] for s in state["stageStates"]] == ["Succeeded"] * 3
    actions = aws["codepipeline"].list_action_executions(
        pipelineName=name, filter={"pipelineExecutionId": done["pipelineExecutionId"]}
    )["actionExecutionDetails"]
    by_name = {a["actionName"]: a for a in actions}
    assert set(by_name) == {"Source", "Build", "Deploy"}
    build_out = by_name["Build"]["output"]["outputArtifacts"][0]["s3location"]
    assert build_out["bucket"] == "artifacts" and build_out["key"].startswith(
        f"{name}/BuildOutput/"
    )
    assert by_name["Deploy"]["input"]["inputArtifacts"][0]["s3location"] == build_out
    deployment_id = by_name["Deploy"]["output"]["executionResult"]["externalExecutionId"]
    deployment = aws["codedeploy"].get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert deployment["revision"]["s3Location"]["key"] == build_out["key"]
    build_id = by_name["Build"]["output"]["executionResult"]["externalExecutionId"]
    build = aws["codebuild"].batch_get_builds(ids=[build_id])["builds"][0]
    assert build["buildStatus"] == "SUCCEEDED" and build["initiator"] == f"codepipeline/{name}"

    # release change: a new source object reaches the site
    aws["s3"].put_object(Bucket="sources", Key=f"{n}.zip", Body=app_bundle("<h1>v2</h1>", port))
    second = aws["codepipeline"].start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(aws, name, second)["status"] == "Succeeded"
    assert fetch(f"http://{instance['PublicIpAddress']}:{port}/index.html").startswith(
        "<h1>v2</h1>"
    )
    assert [e["pipelineExecutionId"] for e in executions(aws, name)] == [
        second,
        done["pipelineExecutionId"],
    ]


def test_manual_approval_waits_approves_and_rejects(aws):
    n = aws["n"]
    aws["s3"].put_object(Bucket="sources", Key=f"{n}.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    name = create_pipeline(aws, [source_stage(f"{n}.zip"), approval_stage()])
    cp = aws["codepipeline"]
    token = wait_approval_token(aws, name)
    assert executions(aws, name)[0]["status"] == "InProgress"
    with pytest.raises(cp.exceptions.InvalidApprovalTokenException):
        approve(aws, name, "00000000-0000-4000-8000-000000000000", "ok")
    approve(aws, name, token, "looks good")
    done = wait_execution(aws, name)
    assert done["status"] == "Succeeded"
    with pytest.raises(cp.exceptions.ApprovalAlreadyCompletedException):
        approve(aws, name, token, "again")
    state = cp.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]["latestExecution"]
    assert state["status"] == "Succeeded" and state["summary"] == "looks good"

    run = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    token = wait_approval_token(aws, name)
    approve(aws, name, token, "not yet", "Rejected")
    rejected = wait_execution(aws, name, run)
    assert rejected["status"] == "Failed"
    assert "not yet" in rejected["statusSummary"]


def test_retry_failed_stage_after_fixing_it(aws):
    port = free_port()
    n = aws["n"]
    aws["s3"].put_object(Bucket="sources", Key=f"{n}.zip", Body=app_bundle("<h1>retry</h1>", port))
    deployment_group(aws, n)  # no instance yet: the first deployment fails
    name = create_pipeline(aws, [source_stage(f"{n}.zip"), deploy_stage(n, n, "SourceOutput")])
    failed = wait_execution(aws, name)
    assert failed["status"] == "Failed"
    assert "NO_INSTANCES" in failed["statusSummary"]
    cp = aws["codepipeline"]
    with pytest.raises(cp.exceptions.StageNotRetryableException):
        cp.retry_stage_execution(
            pipelineName=name,
            stageName="Source",
            retryMode="FAILED_ACTIONS",
            pipelineExecutionId=failed["pipelineExecutionId"],
        )

    (instance,) = launch(aws, n)  # the fix: an instance the deployment group matches
    cp.retry_stage_execution(
        pipelineName=name,
        stageName="Deploy",
        retryMode="FAILED_ACTIONS",
        pipelineExecutionId=failed["pipelineExecutionId"],
    )
    done = wait_execution(aws, name, failed["pipelineExecutionId"], until=("Succeeded", "Failed"))
    assert done["status"] == "Succeeded"
    assert fetch(f"http://{instance['PublicIpAddress']}:{port}/index.html") == "<h1>retry</h1>"
    deploys = [
        a
        for a in cp.list_action_executions(pipelineName=name)["actionExecutionDetails"]
        if a["actionName"] == "Deploy"
    ]
    assert [a["status"] for a in deploys] == ["Succeeded", "Failed"]
    sources = [
        a
        for a in cp.list_action_executions(pipelineName=name)["actionExecutionDetails"]
        if a["actionName"] == "Source"
    ]
    assert len(sources) == 1  # the retry reused the source artifact


def test_stop_and_transitions(aws):
    n = aws["n"]
    aws["s3"].put_object(Bucket="sources", Key=f"{n}.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    name = create_pipeline(aws, [source_stage(f"{n}.zip"), approval_stage()])
    cp = aws["codepipeline"]
    wait_approval_token(aws, name)
    run = executions(aws, name)[0]["pipelineExecutionId"]
    cp.stop_pipeline_execution(
        pipelineName=name, pipelineExecutionId=run, abandon=True, reason="changed my mind"
    )
    stopped = wait_execution(aws, name, run)
    assert stopped["status"] == "Stopped"
    with pytest.raises(cp.exceptions.PipelineExecutionNotStoppableException):
        cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=run)
    action = cp.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]
    assert action["latestExecution"]["status"] == "Abandoned"

    cp.disable_stage_transition(
        pipelineName=name, stageName="Approve", transitionType="Inbound", reason="freeze"
    )
    held = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    time.sleep(0.5)
    state = cp.get_pipeline_state(name=name)["stageStates"][1]
    assert state["inboundTransitionState"]["enabled"] is False
    assert state["inboundTransitionState"]["disabledReason"] == "freeze"
    assert state["inboundExecution"]["pipelineExecutionId"] == held
    assert state["latestExecution"]["pipelineExecutionId"] == run
    cp.enable_stage_transition(pipelineName=name, stageName="Approve", transitionType="Inbound")
    token = wait_approval_token(aws, name)
    approve(aws, name, token, "go")
    assert wait_execution(aws, name, held)["status"] == "Succeeded"


def test_codecommit_push_starts_the_pipeline(aws):
    n = aws["n"]
    cc = aws["codecommit"]
    cc.create_repository(repositoryName=n)

    def write(branch: str, content: bytes, message: str, **parent: str) -> str:
        """Commit ``content`` as a.txt on ``branch``; return the commit id."""
        return cc.put_file(
            repositoryName=n,
            branchName=branch,
            fileContent=content,
            filePath="a.txt",
            commitMessage=message,
            **parent,
        )["commitId"]

    first = write("main", b"one", "first")
    name = create_pipeline(
        aws,
        [
            stage(
                "Source",
                "Source",
                "CodeCommit",
                {"RepositoryName": n, "BranchName": "main", "PollForSourceChanges": "false"},
                outputs=("SourceOutput",),
            ),
            approval_stage(),
        ],
    )
    token = wait_approval_token(aws, name)
    assert executions(aws, name)[0]["sourceRevisions"][0]["revisionId"] == first
    approve(aws, name, token, "ok")
    wait_execution(aws, name)

    second = write("main", b"two", "second", parentCommitId=first)
    deadline = time.monotonic() + 10
    while len(executions(aws, name)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    runs = executions(aws, name)
    assert len(runs) == 2
    assert runs[0]["trigger"]["triggerType"] == "CloudWatchEvent"
    wait_approval_token(aws, name)
    assert executions(aws, name)[0]["sourceRevisions"][0]["revisionId"] == second

    cc.create_branch(repositoryName=n, branchName="feature", commitId=second)
    write("feature", b"three", "on a branch nobody watches", parentCommitId=second)
    time.sleep(0.5)
    assert len(executions(aws, name)) == 2


def test_structure_refused_as_aws_refuses_and_update_checks_too(aws):
    cp = aws["codepipeline"]

    def refused(stages: list[dict]) -> tuple[str, str]:
        with pytest.raises(cp.exceptions.ClientError) as info:
            create_pipeline(aws, stages)
        error = info.value.response["Error"]
        return error["Code"], error["Message"]

    assert refused([source_stage("k.zip")]) == (
        "InvalidStructureException",
        "Pipeline has only 1 stage(s). There should be a minimum of 2 stages in a pipeline",
    )
    assert refused([build_stage("p"), source_stage("k.zip")])[0] == "InvalidStructureException"
    code, message = refused([source_stage("k.zip"), deploy_stage("app", "group", "Nobody")])
    assert code == "InvalidStructureException" and "Input artifact Nobody" in message
    unknown = stage("Build", "Build", "Jenkinz", {}, inputs=("SourceOutput",))
    assert refused([source_stage("k.zip"), unknown]) == (
        "InvalidActionDeclarationException",
        "ActionType (Category: 'Build', Provider: 'Jenkinz', Owner: 'AWS', Version: '1') in "
        "action 'Build' is not available in region 'EU_WEST_1'",
    )
    assert aws["n"] not in {p["name"] for p in cp.list_pipelines()["pipelines"]}

    name = create_pipeline(aws, [source_stage("k.zip"), approval_stage()])
    declared = cp.get_pipeline(name=name)["pipeline"]
    with pytest.raises(cp.exceptions.InvalidStructureException):
        cp.update_pipeline(pipeline={**declared, "stages": declared["stages"][:1]})
    assert len(cp.get_pipeline(name=name)["pipeline"]["stages"]) == 2  # nothing half-applied
    renamed = [declared["stages"][0], {**declared["stages"][1], "name": "Check"}]
    updated = cp.update_pipeline(pipeline={**declared, "stages": renamed})["pipeline"]
    assert [s["name"] for s in updated["stages"]] == ["Source", "Check"]
    with pytest.raises(cp.exceptions.PipelineNameInUseException):
        cp.create_pipeline(pipeline={**declared, "stages": renamed})


def test_approval_result_must_be_approved_or_rejected(aws):
    aws["s3"].put_object(Bucket="sources", Key=f"{aws['n']}.zip", Body=app_bundle("v1", 1))
    name = create_pipeline(aws, [source_stage(f"{aws['n']}.zip"), approval_stage()])
    token = wait_approval_token(aws, name)
    with pytest.raises(aws["codepipeline"].exceptions.ClientError) as info:
        approve(aws, name, token, "not sure", status="Maybe")
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "1 validation error detected: Value 'Maybe' at 'result.status' failed to "
        "satisfy constraint: Member must satisfy enum value set: [Approved, Rejected]",
    )
    with pytest.raises(aws["codepipeline"].exceptions.InvalidApprovalTokenException):
        approve(aws, name, "00000000-0000-0000-0000-000000000000", "wrong token")
    approve(aws, name, token, "fine")  # the approval still waits, untouched by the refusals
    assert wait_execution(aws, name)["status"] == "Succeeded"
    with pytest.raises(aws["codepipeline"].exceptions.ApprovalAlreadyCompletedException):
        approve(aws, name, token, "again")
