"""Chapter 10 · cleanup: what costs money now, what the plan keeps, what is left of the stack."""

from __future__ import annotations

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, names, paginate, text

REGION = "eu-west-1"
PROJECT = "flovtrain-webapp"
TAG = "flovtrain:workshop"
#: The chapter's KEEP (section 3).
KEEP = ("account alias", "password policy", "billing-alerts")


def _running(answer: object, session: boto3.Session) -> str | None:
    ec2 = client(session, "ec2", REGION)
    running = {"Name": "instance-state-name", "Values": ["pending", "running"]}
    found: dict[str, str] = {}
    # the stack tags its instance, and CloudFormation adds its own tag with the stack's name
    for tag_filter in (
        {"Name": "tag-key", "Values": [TAG]},
        {"Name": "tag:aws:cloudformation:stack-name", "Values": [PROJECT]},
    ):
        for reservation in paginate(
            ec2, "describe_instances", "Reservations", Filters=[running, tag_filter]
        ):
            for instance in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                found[instance["InstanceId"]] = tags.get("Name", "")
    if not found:
        return "no workshop instance is running in eu-west-1 (any more): nothing costs by the hour"
    given = names(answer)
    if given == set(found):
        return None
    if given & set(found.values()):
        return "that is the instance's Name tag; an instance id starts with i-"
    if given - set(found):
        return f"not running workshop instances: {', '.join(sorted(given - set(found)))}"
    return f"{len(set(found) - given)} running instance(s) missing"


def _kept(answer: object, session: boto3.Session) -> str | None:
    from flovtrain import cleanup

    plan = cleanup.plan(session, keep=KEEP)
    expected = set(plan[plan.keep].kind)
    given = {g.lower() for g in (answer if not isinstance(answer, str) else answer.split(","))}
    given = {g.strip() for g in given if g.strip()}
    if given == expected:
        return None
    billable = sorted(set(plan[plan.billable].kind) & given)
    if billable:
        return f"the plan removes {', '.join(billable)}: it costs money while it exists"
    if given - expected:
        return f"the plan does not keep: {', '.join(sorted(given - expected))}"
    return f"{len(expected - given)} kept kind(s) missing: look at the keep column"


def _stack_status(answer: object, session: boto3.Session) -> str | None:
    cfn = client(session, "cloudformation", REGION)
    mine = [s for s in paginate(cfn, "list_stacks", "StackSummaries") if s["StackName"] == PROJECT]
    if not mine:
        return f"CloudFormation lists no stack {PROJECT}"
    newest = max(mine, key=lambda s: s["CreationTime"])
    status = newest["StackStatus"]
    given = text(answer).upper()
    if not status.startswith("DELETE_"):
        return "the stack still exists: run the cleanup first (section 4)"
    if given == status:
        return None
    if "EXIST" in given:
        return (
            "describe_stacks says so of a deleted stack; list_stacks still lists it, with a status"
        )
    return f"{given!r} is not the StackStatus list_stacks gives the deleted stack"


CHALLENGES = [
    Challenge(
        "10.1",
        "Which workshop instance is running, costing money by the hour?",
        _running,
        f"ec2.describe_instances(Filters=[instance-state-name running, tag-key {TAG}]): InstanceId",
    ),
    Challenge(
        "10.2",
        "Which kinds of resource does the plan keep?",
        _kept,
        "todo[todo.keep]: the kind column (the plan was made with KEEP)",
    ),
    Challenge(
        "10.3",
        "The stack's status after the cleanup",
        _stack_status,
        f"cfn.list_stacks(): the summary of {PROJECT}, StackStatus",
    ),
]
