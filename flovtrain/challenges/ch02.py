"""Chapter 02 · IAM: where imre's permissions come from, the password rule, the simulator's say."""

from __future__ import annotations

from typing import Any

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, number, paginate, text

USER, OTHER = "imre", "john"
ACTION = "s3:CreateBucket"
DECISIONS = ("allowed", "explicitDeny", "implicitDeny")  # the simulator's EvalDecision values


def _has_policies(iam: Any, group: str) -> bool:
    attached = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    inline = iam.list_group_policies(GroupName=group)["PolicyNames"]
    return bool(attached or inline)


def _group(answer: object, session: boto3.Session) -> str | None:
    iam = client(session, "iam")
    groups = [
        g["GroupName"] for g in paginate(iam, "list_groups_for_user", "Groups", UserName=USER)
    ]
    if not groups:
        return f"{USER} is in no group yet: run section 2 first"
    given = text(answer)
    if given in groups and _has_policies(iam, given):
        return None
    if given in groups:
        return f"{USER} is in {given}, but no policy is attached to it: it gives no permission"
    if given.startswith("arn:aws:iam::aws:policy/") or given == "AdministratorAccess":
        return "that is the policy; the question asks for the group that passes it on to imre"
    if given in {
        p["PolicyName"]
        for p in paginate(iam, "list_attached_user_policies", "AttachedPolicies", UserName=USER)
    }:
        return f"{given} is attached to {USER} directly; the question asks for a group"
    return f"{USER} is not a member of a group named {given!r}"


def _min_length(answer: object, session: boto3.Session) -> str | None:
    given = number(answer)
    if given is None:
        return f"{answer!r} is not a number: give the minimum length"
    policy = client(session, "iam").get_account_password_policy()["PasswordPolicy"]
    minimum = policy.get("MinimumPasswordLength")
    if given == minimum:
        return None
    if given > minimum:
        return f"passwords of {given:g} characters are allowed, but so are shorter ones"
    return f"the policy refuses passwords of {given:g} characters: its minimum is higher"


def _decision(answer: object, session: boto3.Session) -> str | None:
    iam = client(session, "iam")
    arn = iam.get_user(UserName=OTHER)["User"]["Arn"]
    result = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=[ACTION])
    decision = result["EvaluationResults"][0]["EvalDecision"]
    given = text(answer)
    if given == decision:
        return None
    known = {d.lower(): d for d in DECISIONS}
    if given.lower() in known and known[given.lower()] == decision:
        return f"the simulator spells it {decision} (EvalDecision is case-sensitive)"
    if given.lower() not in known:
        return f"{given!r} is not an EvalDecision; the simulator answers {', '.join(DECISIONS)}"
    if given == "implicitDeny":
        return "implicitDeny means no policy allows it; look at what john's group gives him"
    return f"the simulator does not answer {given} for {OTHER} and {ACTION}"


CHALLENGES = [
    Challenge(
        "02.1",
        "Which group gives imre his permissions?",
        _group,
        "iam.list_groups_for_user(UserName='imre'), then list_attached_group_policies(...)",
    ),
    Challenge(
        "02.2",
        "How long must a password be at least?",
        _min_length,
        "iam.get_account_password_policy()['PasswordPolicy']: the account's rule, not your choice",
    ),
    Challenge(
        "02.3",
        "May john create a bucket? Ask IAM's policy simulator",
        _decision,
        "iam.simulate_principal_policy(PolicySourceArn=<john's ARN>,"
        " ActionNames=['s3:CreateBucket'])['EvaluationResults']",
    ),
]
