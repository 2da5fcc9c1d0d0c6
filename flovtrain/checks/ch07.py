"""Chapter 07 · Flovtec's set-up: DEV/UAT/PROD pipeline with approvals, PROD in its own account.

The DEV/UAT items are read with the caller's session (eu-west-1); the PROD items with a session
in the PROD account (``sts.assume_role`` into its OrganizationAccountAccessRole, us-east-1).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from flovtrain import flovtec
from flovtrain._aws import error_code, paginate
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist, Failed

TITLE = "Flovtec's DEV/UAT/PROD set-up"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


def _type(action: dict[str, Any]) -> tuple[str, str]:
    t = action.get("actionTypeId", {})
    return t.get("category", ""), t.get("provider", "")


def _approved_before(stage: dict[str, Any], wanted: Any) -> str | None:
    """None when a Manual approval runs before an action ``wanted`` accepts; else the reason."""
    actions = stage.get("actions", [])
    approvals = [a.get("runOrder", 1) for a in actions if _type(a) == ("Approval", "Manual")]
    targets = [a.get("runOrder", 1) for a in actions if wanted(a)]
    if not targets:
        return f"stage {stage['name']} has no such action"
    if not approvals:
        return f"stage {stage['name']} has no Manual approval action"
    if min(approvals) >= max(targets):
        return f"in stage {stage['name']} the approval does not run before the action (runOrder)"
    return None


def _deploys(group: str) -> Any:
    def match(action: dict[str, Any]) -> bool:
        return (
            _type(action) == ("Deploy", "CodeDeploy")
            and action.get("configuration", {}).get("DeploymentGroupName") == group
        )

    return match


def collect(cl: Checklist, session: boto3.Session) -> None:
    state: dict[str, Any] = {}
    prod_account = flovtec.prod_account_id()
    staging = flovtec.staging_bucket_name(prod_account)

    def pipeline(name: str, prod: bool = False) -> dict[str, Any]:
        key = ("pipeline", name)
        if key not in state:
            cp = (
                client(prod_session(), "codepipeline")
                if prod
                else client(session, "codepipeline", flovtec.DEV_REGION)
            )
            try:
                state[key] = cp.get_pipeline(name=name)["pipeline"]
            except ClientError as exc:
                if error_code(exc) != "PipelineNotFoundException":
                    raise
                where = (
                    f"the PROD account ({prod_account}) in {flovtec.PROD_REGION}"
                    if prod
                    else flovtec.DEV_REGION
                )
                raise Failed(f"no pipeline {name} in {where}") from None
        return state[key]

    def stage(name: str) -> dict[str, Any]:
        found = [s for s in pipeline(flovtec.PIPELINE)["stages"] if s["name"] == name]
        if not found:
            names = " → ".join(s["name"] for s in pipeline(flovtec.PIPELINE)["stages"])
            raise Failed(f"{flovtec.PIPELINE} has no stage {name} (its stages: {names})")
        return found[0]

    def prod_session() -> boto3.Session:
        if "prod" not in state:
            state["prod"] = flovtec.assume_role(
                flovtec.prod_role_arn(prod_account),
                session_name="flovtrain-check",
                region=flovtec.PROD_REGION,
                session=session,
            )
        return state["prod"]

    def has_pipeline() -> str | None:
        pipeline(flovtec.PIPELINE)
        return None

    def dev() -> str | None:
        s = stage("DEV")
        if not any(_deploys("DEV")(a) for a in s["actions"]):
            return "stage DEV has no CodeDeploy action on deployment group DEV"
        if any(_type(a)[0] == "Approval" for a in s["actions"]):
            return "stage DEV waits for an approval: DEV deploys every change"
        return None

    def uat() -> str | None:
        return _approved_before(stage("UAT"), _deploys("UAT"))

    def prod_release() -> str | None:
        return _approved_before(stage("PROD"), lambda a: _type(a)[0] != "Approval")

    def bucket() -> str | None:
        s3 = client(prod_session(), "s3")
        if staging not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
            return f"the PROD account ({prod_account}) owns no bucket {staging}"
        return None

    def bucket_policy() -> str | None:
        s3 = client(prod_session(), "s3")
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=staging)["Policy"])
        except ClientError as exc:
            if error_code(exc) in ("NoSuchBucketPolicy", "NoSuchBucket"):
                return f"{staging} has no bucket policy"
            raise
        dev_account = client(session, "sts").get_caller_identity()["Account"]
        for st in policy.get("Statement", []):
            principals = st.get("Principal") or {}
            principals = principals.get("AWS", []) if isinstance(principals, dict) else principals
            principals = [principals] if isinstance(principals, str) else principals
            actions = st.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if (
                st.get("Effect") == "Allow"
                and any(dev_account in p for p in principals)
                and any(a in ("s3:PutObject", "s3:*") for a in actions)
            ):
                return None
        return f"no Allow of s3:PutObject for the DEV/UAT account {dev_account} on {staging}"

    def prod_admin() -> str | None:
        iam = client(prod_session(), "iam")
        for user in paginate(iam, "list_users", "Users"):
            attached = iam.list_attached_user_policies(UserName=user["UserName"])
            if any(p["PolicyArn"] == ADMIN_POLICY for p in attached["AttachedPolicies"]):
                return None
        return f"no IAM user in the PROD account ({prod_account}) has AdministratorAccess"

    def dev_denied_in_prod() -> str | None:
        s3 = client(session, "s3", flovtec.DEV_REGION)
        try:
            s3.list_objects_v2(Bucket=staging, MaxKeys=1)
        except ClientError as exc:
            if error_code(exc) == "AccessDenied":
                return None
            if error_code(exc) == "NoSuchBucket":
                return f"there is no bucket {staging}"
            raise
        return (
            f"the DEV/UAT account may list {staging}: PROD's bucket policy grants it more than "
            "s3:PutObject on releases/*"
        )

    def prod_pipeline() -> str | None:
        p = pipeline(flovtec.PROD_PIPELINE, prod=True)
        actions = [a for s in p["stages"] for a in s["actions"]]
        if not any(
            _type(a) == ("Source", "S3") and a.get("configuration", {}).get("S3Bucket") == staging
            for a in actions
        ):
            return f"{flovtec.PROD_PIPELINE} has no S3 source on {staging}"
        if not any(_deploys("PROD")(a) for a in actions):
            return f"{flovtec.PROD_PIPELINE} has no CodeDeploy action on deployment group PROD"
        return None

    def prod_deployed() -> str | None:
        cd = client(prod_session(), "codedeploy")
        try:
            ids = list(
                paginate(
                    cd,
                    "list_deployments",
                    "deployments",
                    applicationName=flovtec.APPLICATION,
                    deploymentGroupName="PROD",
                    includeOnlyStatuses=["Succeeded"],
                )
            )
        except ClientError as exc:
            if "NotExist" in error_code(exc) or "NotFound" in error_code(exc):
                return (
                    f"no CodeDeploy application {flovtec.APPLICATION} with group PROD "
                    f"in the PROD account"
                )
            raise
        return None if ids else "no deployment to group PROD has succeeded yet"

    def prod_instances() -> list[str]:
        if "instances" not in state:
            ec2 = client(prod_session(), "ec2")
            state["instances"] = [
                i["InstanceId"]
                for r in paginate(
                    ec2,
                    "describe_instances",
                    "Reservations",
                    Filters=[
                        {"Name": "tag:Environment", "Values": ["PROD"]},
                        {"Name": "instance-state-name", "Values": ["pending", "running"]},
                    ],
                )
                for i in r["Instances"]
            ]
        return state["instances"]

    def forwarding() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(load balancer, target group) pairs where a listener on 80 forwards to port 8090."""
        if "forwarding" not in state:
            elb = client(prod_session(), "elbv2")
            pairs = []
            for lb in paginate(elb, "describe_load_balancers", "LoadBalancers"):
                for listener in paginate(
                    elb, "describe_listeners", "Listeners", LoadBalancerArn=lb["LoadBalancerArn"]
                ):
                    if listener.get("Port") != 80:
                        continue
                    for act in listener.get("DefaultActions", []):
                        arns = [act.get("TargetGroupArn")] + [
                            t.get("TargetGroupArn")
                            for t in (act.get("ForwardConfig") or {}).get("TargetGroups", [])
                        ]
                        for arn in filter(None, dict.fromkeys(arns)):
                            tg = elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][
                                0
                            ]
                            if tg.get("Port") == 8090:
                                pairs.append((lb, tg))
            state["forwarding"] = pairs
        return state["forwarding"]

    def listener() -> str | None:
        if not forwarding():
            return (
                f"no load balancer in the PROD account ({flovtec.PROD_REGION}) has a "
                "listener on port 80 forwarding to a target group on port 8090"
            )
        return None

    def registered() -> str | None:
        if not forwarding():
            return "no listener 80 -> target group 8090 to register the instance in"
        wanted = set(prod_instances())
        if not wanted:
            return "no running instance tagged Environment=PROD in the PROD account"
        elb = client(prod_session(), "elbv2")
        for _, tg in forwarding():
            targets = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])[
                "TargetHealthDescriptions"
            ]
            if wanted & {t["Target"]["Id"] for t in targets}:
                return None
        return f"instance {sorted(wanted)[0]} is not registered in the 8090 target group"

    def alias() -> str | None:
        if not forwarding():
            return "no load balancer with the 80 -> 8090 listener to point a record at"
        names = {lb["DNSName"].rstrip(".").lower() for lb, _ in forwarding()}
        r53 = client(prod_session(), "route53")
        for zone in paginate(r53, "list_hosted_zones", "HostedZones"):
            for record in paginate(
                r53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone["Id"]
            ):
                target = (record.get("AliasTarget") or {}).get("DNSName", "")
                if target.rstrip(".").lower().removeprefix("dualstack.") in names:
                    return None
        return "no Route 53 alias record (A) points to the load balancer"

    def database() -> str | None:
        for where in (prod_session(), session):
            region = flovtec.PROD_REGION if where is not session else flovtec.DEV_REGION
            rds = client(where, "rds", region)
            for db in paginate(rds, "describe_db_instances", "DBInstances"):
                if db.get("Engine") == "mysql":
                    return None
        return (
            f"no RDS MySQL instance in the PROD account ({flovtec.PROD_REGION}) or in "
            f"{flovtec.DEV_REGION}"
        )

    cl.add(
        f"pipeline {flovtec.PIPELINE} exists in {flovtec.DEV_REGION}",
        has_pipeline,
        "codepipeline.create_pipeline(pipeline={'name': 'flovtec-webapp', ...}) in eu-west-1",
    )
    cl.add(
        "stage DEV deploys every change to deployment group DEV (no approval)",
        dev,
        "a stage 'DEV' with a CodeDeploy action, DeploymentGroupName 'DEV'",
    )
    cl.add(
        "stage UAT: a manual approval, then a deployment to group UAT",
        uat,
        "stage 'UAT': a Manual approval action (runOrder 1) and a CodeDeploy action on "
        "group 'UAT' (runOrder 2); then codepipeline.update_pipeline(...)",
    )
    cl.add(
        "stage PROD: a manual approval, then the release to PROD",
        prod_release,
        "stage 'PROD': a Manual approval (runOrder 1), then the publish action (runOrder 2)",
    )
    cl.add(
        f"staging bucket {staging} is owned by the PROD account",
        bucket,
        "prod.client('s3').create_bucket(Bucket=flovtec.staging_bucket_name()) "
        "with the PROD account's session (us-east-1)",
    )
    cl.add(
        "the staging bucket's policy lets the DEV/UAT account put releases",
        bucket_policy,
        "prod.client('s3').put_bucket_policy(Bucket=..., Policy=<Allow s3:PutObject for "
        "arn:aws:iam::<DEV account>:root>)",
    )
    cl.add(
        "the DEV/UAT account is denied reading the staging bucket (AccessDenied)",
        dev_denied_in_prod,
        "grant the DEV/UAT account s3:PutObject on arn:aws:s3:::<staging>/releases/* only",
    )
    cl.add(
        "PROD has its own admin: an IAM user in the PROD account with AdministratorAccess",
        prod_admin,
        "as PROD's root: iam.create_user(UserName='flovtec-prod-admin'), then "
        "iam.attach_user_policy(UserName=..., PolicyArn='arn:aws:iam::aws:policy/"
        "AdministratorAccess')",
    )
    cl.add(
        f"PROD pipeline {flovtec.PROD_PIPELINE} (PROD account, {flovtec.PROD_REGION}) "
        "deploys the staged release to group PROD",
        prod_pipeline,
        "create it with the PROD session: S3 source on the staging bucket, CodeDeploy on PROD",
    )
    cl.add(
        "a deployment to PROD succeeded",
        prod_deployed,
        "approve the PROD release in flovtec-webapp, then run flovtec-webapp-prod",
    )
    cl.add(
        "a load balancer listener on port 80 forwards to a target group on port 8090",
        listener,
        "elbv2.create_target_group(Port=8090, ...), elbv2.create_listener(Port=80, "
        "DefaultActions=[{'Type': 'forward', 'TargetGroupArn': ...}])",
    )
    cl.add(
        "the PROD instance is registered in the 8090 target group",
        registered,
        "elbv2.register_targets(TargetGroupArn=..., Targets=[{'Id': <PROD instance id>, "
        "'Port': 8090}])",
    )
    cl.add(
        "a Route 53 alias record points to the load balancer",
        alias,
        "route53.change_resource_record_sets(... 'AliasTarget': {'DNSName': <ALB DNSName>, "
        "'HostedZoneId': <ALB CanonicalHostedZoneId>, ...})",
    )
    cl.add(
        "an RDS MySQL instance exists",
        database,
        "rds.create_db_instance(DBInstanceIdentifier='flovtec-prod-db', Engine='mysql', "
        "DBInstanceClass='db.t3.micro', ...)",
    )
