"""Chapter 07 helpers (flovtrain.flovtec) and check ch07 against the session sandbox."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from provider_fixtures import PIPELINE_TRUST

from flovtrain import flovtec
from flovtrain.checks import check
from flovtrain.exceptions import PipelineTimeout
from flovtrain.sandbox import control

REGION = "eu-west-1"


@pytest.fixture
def session() -> boto3.Session:
    control.reset()
    return boto3.Session(region_name=REGION)


def _action(name, category, provider, configuration, inputs=(), outputs=(), run_order=1):
    return {
        "name": name,
        "runOrder": run_order,
        "configuration": configuration,
        "actionTypeId": {
            "category": category,
            "owner": "AWS",
            "provider": provider,
            "version": "1",
        },
        "inputArtifacts": [{"name": n} for n in inputs],
        "outputArtifacts": [{"name": n} for n in outputs],
    }


def _pipeline(s: boto3.Session, name: str, stages: list[dict]) -> None:
    """A pipeline with an S3 source in front of ``stages`` (source object uploaded first)."""
    iam, s3 = s.client("iam"), s.client("s3")
    role = iam.create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(PIPELINE_TRUST)
    )["Role"]["Arn"]
    allow = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}
    iam.put_role_policy(  # CodePipeline reads the source and writes artifacts as this role
        RoleName=f"{name}-role",
        PolicyName="artifacts",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )
    s3.create_bucket(Bucket=f"{name}-src", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=f"{name}-src", Key="app.zip", Body=flovtec.app_zip())
    source = {
        "name": "Source",
        "actions": [
            _action(
                "Source",
                "Source",
                "S3",
                {"S3Bucket": f"{name}-src", "S3ObjectKey": "app.zip"},
                outputs=["BuildOutput"],
            )
        ],
    }
    s.client("codepipeline").create_pipeline(
        pipeline={
            "name": name,
            "roleArn": role,
            "artifactStore": {"type": "S3", "location": f"{name}-src"},
            "stages": [source, *stages],
        }
    )


# -- pure helpers --------------------------------------------------------------------------------
def test_app_zip_is_deterministic_and_holds_what_the_pipeline_needs():
    first, second = flovtec.app_zip(), flovtec.app_zip()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        names = zf.namelist()
        mode = zf.getinfo("scripts/start_server.sh").external_attr >> 16
    wanted = {"buildspec.yml", "appspec.yml", "scripts/start_server.sh", "tests/test_app.py"}
    assert wanted <= set(names)
    assert mode & 0o111, "hook scripts must stay executable"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_app_zip_refuses_a_folder_without_buildspec(tmp_path):
    with pytest.raises(FileNotFoundError, match="buildspec.yml"):
        flovtec.app_zip(tmp_path)


def test_prod_account_names(monkeypatch):
    monkeypatch.delenv(flovtec.PROD_ACCOUNT_VAR, raising=False)
    assert flovtec.prod_account_id() == flovtec.PROD_ACCOUNT_ID
    monkeypatch.setenv(flovtec.PROD_ACCOUNT_VAR, " 999988887777 ")
    assert flovtec.prod_account_id() == "999988887777"
    assert flovtec.staging_bucket_name() == "flovtec-staging-999988887777"
    assert flovtec.prod_role_arn() == (
        "arn:aws:iam::999988887777:role/OrganizationAccountAccessRole"
    )


# -- against the sandbox -------------------------------------------------------------------------
def test_assume_role_acts_in_the_other_account_and_region(session):
    prod = flovtec.assume_role(
        flovtec.prod_role_arn("210987654321"), region="us-east-1", session=session
    )
    assert prod.region_name == "us-east-1"
    assert prod.client("sts").get_caller_identity()["Account"] == "210987654321"
    prod.client("s3").create_bucket(Bucket="only-in-prod")
    dev_buckets = [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    assert "only-in-prod" not in dev_buckets


def test_environments_lists_tagged_instances_in_environment_order(session):
    ec2 = session.client("ec2")
    for tags in (
        [{"Key": "Environment", "Value": "PROD"}],
        [{"Key": "Environment", "Value": "DEV"}],
        [{"Key": "Name", "Value": "other"}],
    ):
        ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
    frame = flovtec.environments(session=session)
    assert frame.columns.tolist() == flovtec.ENV_COLUMNS
    assert frame.environment.tolist() == ["DEV", "PROD"]
    assert frame.public_ip.str.startswith("127.20.").all()
    empty = flovtec.environments(session=session, region="eu-central-1")
    assert empty.empty and empty.columns.tolist() == flovtec.ENV_COLUMNS


def test_wait_stops_at_the_approval_and_finishes_after_it(session):
    _pipeline(
        session,
        "gated",
        [
            {
                "name": "Gate",
                "actions": [_action("Approve", "Approval", "Manual", {"CustomData": "ok?"})],
            }
        ],
    )
    assert flovtec.wait_for_pipeline("gated", timeout=20, session=session) == (
        "waiting for approval in Gate"
    )
    states = flovtec.stage_states("gated", session=session)
    assert states.columns.tolist() == flovtec.STAGE_COLUMNS
    assert states.set_index("stage").status.to_dict() == {
        "Source": "Succeeded",
        "Gate": "InProgress",
    }
    waiting = flovtec.waiting_approval("gated", session=session)
    assert waiting["stageName"] == "Gate" and waiting["actionName"] == "Approve"
    session.client("codepipeline").put_approval_result(
        pipelineName="gated",
        stageName="Gate",
        actionName="Approve",
        token=waiting["token"],
        result={"status": "Approved", "summary": "fine"},
    )
    assert flovtec.wait_for_pipeline("gated", timeout=20, session=session) == "Succeeded"
    assert flovtec.waiting_approval("gated", session=session) is None
    assert flovtec.stage_states("gated", session=session).summary.tolist()[-1] == "fine"


def test_wait_reports_a_failed_execution(session):
    _pipeline(
        session,
        "broken",
        [
            {
                "name": "Deploy",
                "actions": [
                    _action(
                        "Deploy",
                        "Deploy",
                        "CodeDeploy",
                        {"ApplicationName": "nope", "DeploymentGroupName": "nope"},
                        ["BuildOutput"],
                    )
                ],
            }
        ],
    )
    assert flovtec.wait_for_pipeline("broken", timeout=20, session=session) == "Failed"


def test_wait_ignores_an_older_executions_approval_and_times_out_with_a_hint(session):
    _pipeline(
        session,
        "held",
        [{"name": "Gate", "actions": [_action("Approve", "Approval", "Manual", {})]}],
    )
    cp = session.client("codepipeline")
    assert flovtec.wait_for_pipeline("held", timeout=20, session=session).startswith("waiting")
    first = flovtec.waiting_approval("held", session=session)["pipelineExecutionId"]
    # hold the next execution before Gate: it is InProgress and no approval of its own waits
    cp.disable_stage_transition(
        pipelineName="held", stageName="Gate", transitionType="Inbound", reason="hold"
    )
    second = cp.start_pipeline_execution(name="held")["pipelineExecutionId"]
    assert second != first
    with pytest.raises(PipelineTimeout, match=r"stage_states\('held'\)"):
        flovtec.wait_for_pipeline("held", second, timeout=1, session=session)
    cp.stop_pipeline_execution(pipelineName="held", pipelineExecutionId=second, abandon=True)
    assert flovtec.wait_for_pipeline("held", second, timeout=5, session=session) == "Stopped"


# -- check ch07 ------------------------------------------------------------------------------------
def test_check_fails_every_item_on_an_empty_sandbox(session):
    result = check("07", session=session)
    assert len(result) == 14 and not result.passed
    assert not [i for i in result if i.passed]
    assert result["pipeline flovtec-webapp exists in eu-west-1"].why == (
        "no pipeline flovtec-webapp in eu-west-1"
    )


def test_check_judges_the_separation_and_prods_own_admin(session):
    """DEV/UAT may only put releases into PROD's staging bucket; PROD has an admin of its own."""
    denied = "the DEV/UAT account is denied reading the staging bucket (AccessDenied)"
    own_admin = "PROD has its own admin: an IAM user in the PROD account with AdministratorAccess"
    prod = flovtec.assume_role(flovtec.prod_role_arn(), region="us-east-1", session=session)
    staging = flovtec.staging_bucket_name()
    prod.client("s3").create_bucket(Bucket=staging)
    dev = session.client("sts").get_caller_identity()["Account"]

    def grant(actions: list[str]) -> None:
        statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{dev}:root"},
                     "Action": actions, "Resource": [f"arn:aws:s3:::{staging}",
                                                     f"arn:aws:s3:::{staging}/*"]}  # fmt: skip
        policy = {"Version": "2012-10-17", "Statement": [statement]}
        prod.client("s3").put_bucket_policy(Bucket=staging, Policy=json.dumps(policy))

    grant(["s3:PutObject"])
    result = check("07", session=session)
    assert result[denied].passed and not result[own_admin].passed
    assert result[own_admin].why == (
        f"no IAM user in the PROD account ({flovtec.PROD_ACCOUNT_ID}) has AdministratorAccess"
    )
    grant(["s3:PutObject", "s3:ListBucket"])  # more than the publish needs
    assert check("07", session=session)[denied].why == (
        f"the DEV/UAT account may list {staging}: PROD's bucket policy grants it more than "
        "s3:PutObject on releases/*"
    )
    root = flovtec.account_root(region="us-east-1").client("iam")
    root.create_user(UserName="prod-admin")
    root.attach_user_policy(
        UserName="prod-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    assert check("07", session=session)[own_admin].passed


def test_check_names_what_is_wrong_with_the_stages(session):
    deploy = lambda g, order=1: _action(  # noqa: E731
        f"Deploy{g}",
        "Deploy",
        "CodeDeploy",
        {"ApplicationName": "flovtec-webapp", "DeploymentGroupName": g},
        ["BuildOutput"],
        run_order=order,
    )
    approval = _action("Approve", "Approval", "Manual", {})
    _pipeline(
        session,
        "flovtec-webapp",
        [
            {"name": "DEV", "actions": [approval, deploy("DEV", 2)]},  # DEV must not wait
            {"name": "UAT", "actions": [approval, deploy("UAT")]},  # approval not before deploy
            {"name": "PROD", "actions": [deploy("PROD")]},
        ],
    )  # no approval at all
    result = check("07", session=session)
    assert result["pipeline flovtec-webapp exists in eu-west-1"].passed
    why = {i.item.split(":")[0]: i.why for i in result if not i.passed}
    assert "DEV deploys every change" in result[1].why
    assert why["stage UAT"] == "in stage UAT the approval does not run before the action (runOrder)"
    assert why["stage PROD"] == "stage PROD has no Manual approval action"


def test_check_load_balancer_items_follow_the_listener(session):
    prod = flovtec.assume_role(flovtec.prod_role_arn(), region="us-east-1", session=session)
    ec2, elb = prod.client("ec2"), prod.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    alb = elb.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0]
    tg = elb.create_target_group(Name="tg", Protocol="HTTP", Port=8080, VpcId=vpc)["TargetGroups"][
        0
    ]
    elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )
    item = "a load balancer listener on port 80 forwards to a target group on port 8090"
    assert not check("07", session=session)[item].passed  # 8080 is not 8090
    tg2 = elb.create_target_group(Name="tg2", Protocol="HTTP", Port=8090, VpcId=vpc)[
        "TargetGroups"
    ][0]
    elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=81,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg2["TargetGroupArn"]}],
    )
    assert not check("07", session=session)[item].passed  # port 81 is not 80
    listener = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    on_80 = next(x for x in listener if x["Port"] == 80)
    elb.modify_listener(
        ListenerArn=on_80["ListenerArn"],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg2["TargetGroupArn"]}],
    )
    result = check("07", session=session)
    assert result[item].passed
    registered = result["the PROD instance is registered in the 8090 target group"]
    assert registered.why == "no running instance tagged Environment=PROD in the PROD account"
