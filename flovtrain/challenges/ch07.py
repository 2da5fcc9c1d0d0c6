"""Chapter 07 · Flovtec: what PROD's staging bucket allows, the PROD approval, the front door."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import boto3

from flovtrain import flovtec
from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, names, paginate, text

RECORD = "app"  # app.<domain>
PROD_STAGE = "PROD"


def _prod(session: boto3.Session) -> boto3.Session:
    """PROD's account, entered as the chapter does: through its OrganizationAccountAccessRole."""
    return flovtec.assume_role(
        flovtec.prod_role_arn(), "flovtrain-challenge", flovtec.PROD_REGION, session
    )


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _principal_accounts(principal: Any) -> set[str]:
    if principal == "*":
        return {"*"}
    arns = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    return {arn.split(":")[4] if arn.startswith("arn:") else arn for arn in arns}


def _staging_action(answer: object, session: boto3.Session) -> str | None:
    dev = client(session, "sts").get_caller_identity()["Account"]
    policy = client(_prod(session), "s3").get_bucket_policy(Bucket=flovtec.staging_bucket_name())
    allowed: set[str] = set()
    for statement in _as_list(json.loads(policy["Policy"]).get("Statement")):
        accounts = _principal_accounts(statement.get("Principal", {}))
        if statement.get("Effect") == "Allow" and accounts & {dev, "*"}:
            allowed |= set(_as_list(statement.get("Action")))
    given = names(answer)
    if not allowed:
        return f"the staging bucket's policy allows the DEV/UAT account {dev} nothing"
    if {g.lower() for g in given} == {a.lower() for a in allowed}:
        return None  # IAM action names are case-insensitive
    if "s3:GetObject".lower() in {g.lower() for g in given} - {a.lower() for a in allowed}:
        return "DEV/UAT may not read the staging bucket: its get_object was denied above"
    missing = sorted(allowed - given)
    if missing:
        return f"the policy allows {len(allowed)} action(s): {len(missing)} missing from yours"
    return f"the policy does not allow {', '.join(sorted(given - allowed))}"


def _approvals(session: boto3.Session) -> dict[str, str | None]:
    """stage -> summary of its approval action's latest execution (None: not approved yet)."""
    cp = client(session, "codepipeline", flovtec.DEV_REGION)
    definition = cp.get_pipeline(name=flovtec.PIPELINE)["pipeline"]
    approval_actions = {
        (stage["name"], action["name"])
        for stage in definition["stages"]
        for action in stage["actions"]
        if action["actionTypeId"]["category"] == "Approval"
    }
    found: dict[str, str | None] = {}
    for stage in cp.get_pipeline_state(name=flovtec.PIPELINE)["stageStates"]:
        for action in stage.get("actionStates", []):
            if (stage["stageName"], action["actionName"]) in approval_actions:
                latest = action.get("latestExecution") or {}
                done = latest.get("status") == "Succeeded"
                found[stage["stageName"]] = latest.get("summary") if done else None
    return found


def _approval_summary(answer: object, session: boto3.Session) -> str | None:
    approvals = _approvals(session)
    if PROD_STAGE not in approvals:
        return f"the pipeline {flovtec.PIPELINE} has no approval in its {PROD_STAGE} stage"
    summary = approvals[PROD_STAGE]
    if summary is None:
        return f"nobody has approved the release to {PROD_STAGE} yet"
    given = text(answer)
    if given == summary:
        return None
    others = [stage for stage, s in approvals.items() if s == given and stage != PROD_STAGE]
    if others:
        return f"that is the summary of the {others[0]} approval; the question asks for PROD's"
    return f"{given!r} is not the summary the {PROD_STAGE} approval was given"


def _dns(name: str) -> str:
    name = name.lower().rstrip(".")
    return name.removeprefix("dualstack.")  # Route 53 may return the alias with this prefix


def _alias_target(answer: object, session: boto3.Session) -> str | None:
    prod = _prod(session)
    r53 = client(prod, "route53")
    targets: dict[str, str] = {}  # record name -> alias target
    for zone in paginate(r53, "list_hosted_zones", "HostedZones"):
        for record in paginate(
            r53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone["Id"]
        ):
            if record["Name"] == f"{RECORD}.{zone['Name']}" and "AliasTarget" in record:
                targets[_dns(record["Name"])] = _dns(record["AliasTarget"]["DNSName"])
    if not targets:
        return f"no hosted zone of PROD has an alias record {RECORD}.<domain> yet"
    given = _dns(text(answer))
    if given in targets.values():
        return None
    if given in targets:
        return "that is the record's name; the question asks where its alias points"
    try:
        ipaddress.ip_address(given)
        return "an alias names the load balancer's DNS name, not an address (its IPs change)"
    except ValueError:
        pass
    elb = client(prod, "elbv2")
    balancers = {_dns(b["DNSName"]) for b in elb.describe_load_balancers()["LoadBalancers"]}
    if given in balancers:
        return "that load balancer exists, but app.<domain> does not point at it"
    return f"{RECORD}.<domain> does not point at {given!r}"


CHALLENGES = [
    Challenge(
        "07.1",
        "Which action does the staging bucket's policy allow the DEV/UAT account?",
        _staging_action,
        "prod.client('s3').get_bucket_policy(Bucket=STAGING)['Policy']: the Allow for DEV/UAT",
    ),
    Challenge(
        "07.2",
        "Which summary came with the approval of the release to PROD?",
        _approval_summary,
        "codepipeline.get_pipeline_state(name=PIPELINE): in stage PROD, the approval's summary",
    ),
    Challenge(
        "07.3",
        "Which DNS name does app.<domain> point at?",
        _alias_target,
        "route53 list_resource_record_sets(HostedZoneId=zone_id): app.<domain>'s AliasTarget",
    ),
]
