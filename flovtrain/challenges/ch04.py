"""Chapter 04 · the CodeStar-style project: its stack's resources, SSH rule and first run."""

from __future__ import annotations

from typing import Any

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, number, paginate, text

PROJECT = "flovtrain-webapp"
SSH_PORT = 22


def _resources(session: boto3.Session, stack: str = PROJECT) -> list[dict[str, Any]]:
    return client(session, "cloudformation").describe_stack_resources(StackName=stack)[
        "StackResources"
    ]


def _count(answer: object, session: boto3.Session) -> str | None:
    given = number(answer)
    if given is None:
        return f"{answer!r} is not a number: count the resources"
    resources = _resources(session)
    if given == len(resources):
        return None
    by_type: dict[str, int] = {}
    for r in resources:
        by_type[r["ResourceType"]] = by_type.get(r["ResourceType"], 0) + 1
    same = sorted(kind for kind, n in by_type.items() if n == given)
    if same:
        return f"{given:g} is the number of {same[0]} resources; the question asks for all of them"
    events = client(session, "cloudformation").describe_stack_events(StackName=PROJECT)[
        "StackEvents"
    ]
    if given == len(events):
        return f"{given:g} is the number of stack events (several per resource), not of resources"
    return f"the stack has {'more' if len(resources) > given else 'fewer'} resources than {given:g}"


def _ssh_parameter(answer: object, session: boto3.Session) -> str | None:
    cfn = client(session, "cloudformation")
    stack = cfn.describe_stacks(StackName=PROJECT)["Stacks"][0]
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    groups = [
        r["PhysicalResourceId"]
        for r in _resources(session)
        if r["ResourceType"] == "AWS::EC2::SecurityGroup"
    ]
    ec2 = client(session, "ec2")
    ssh_cidrs = {
        ip["CidrIp"]
        for group in ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]
        for rule in group.get("IpPermissions", [])
        if rule.get("FromPort", -1) <= SSH_PORT <= rule.get("ToPort", -1)
        for ip in rule.get("IpRanges", [])
    }
    given = text(answer)
    if given not in parameters:
        return f"{given!r} is not a parameter of the stack; they are {', '.join(parameters)}"
    if parameters[given] in ssh_cidrs:
        return None
    return f"{given} does not decide the port {SSH_PORT} rule of the stack's security group"


def _first_trigger(answer: object, session: boto3.Session) -> str | None:
    cfn = client(session, "cloudformation")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName=PROJECT)["Stacks"][0].get("Outputs", [])
    }
    pipeline = outputs.get("PipelineName", f"{PROJECT}-pipeline")
    runs = list(
        paginate(
            client(session, "codepipeline"),
            "list_pipeline_executions",
            "pipelineExecutionSummaries",
            pipelineName=pipeline,
        )
    )
    if not runs:
        return f"the pipeline {pipeline} has not run yet"
    first = min(runs, key=lambda r: r["startTime"]).get("trigger", {})
    given = text(answer)
    if given == first.get("triggerType"):
        return None
    if given and given == first.get("triggerDetail"):
        return (
            "that is the trigger's detail (who started it); the question asks for its triggerType"
        )
    if any(given == r.get("trigger", {}).get("triggerType") for r in runs):
        return f"{given} started a later execution; look at the oldest one (list is newest first)"
    return f"{given!r} is not the triggerType of the pipeline's first execution"


CHALLENGES = [
    Challenge(
        "04.1",
        "How many resources does the stack have?",
        _count,
        "cfn.describe_stack_resources(StackName=PROJECT_ID)['StackResources']: count them all",
    ),
    Challenge(
        "04.2",
        "Which parameter of template.yml decides who may SSH in?",
        _ssh_parameter,
        "in template.yml, the security group's rule for port 22 uses !Ref <parameter>",
    ),
    Challenge(
        "04.3",
        "What triggered the pipeline's first execution?",
        _first_trigger,
        "list_pipeline_executions(pipelineName=...): the oldest one's trigger['triggerType']",
    ),
]
