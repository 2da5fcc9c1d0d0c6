"""Chapter 05 · toolchain tour: branch, pull request, release change, a look inside the box.

Branch and pull request are judged by intent: any branch besides main, any pull request from a
branch into main (the chapter's branch is ``feature/readme``; the console lets you name it).
"""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from flovtrain._aws import paginate
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist, Failed
from flovtrain.checks.ch04 import PIPELINE, PROJECT, executions

TITLE = "toolchain tour"
BRANCH = "feature/readme"


def collect(cl: Checklist, session: boto3.Session) -> None:
    cc = client(session, "codecommit")

    def branch() -> str | None:
        # Any branch besides main: the talk did not name one, the console lets you pick any.
        try:
            names = list(paginate(cc, "list_branches", "branches", repositoryName=PROJECT))
        except ClientError as exc:
            return f"cannot list the branches of {PROJECT} ({exc.response['Error']['Code']})"
        if not set(names) - {"main"}:
            found = ", ".join(sorted(names)) or "none"
            return f"{PROJECT} has no branch besides main (found: {found})"
        return None

    def pull_request() -> str | None:
        try:
            ids = [
                i
                for status in ("OPEN", "CLOSED")
                for i in paginate(
                    cc,
                    "list_pull_requests",
                    "pullRequestIds",
                    repositoryName=PROJECT,
                    pullRequestStatus=status,
                )
            ]
        except ClientError as exc:
            return f"cannot list pull requests of {PROJECT}: {exc.response['Error']['Code']}"
        for pr_id in ids:
            pr = cc.get_pull_request(pullRequestId=pr_id)["pullRequest"]
            for target in pr.get("pullRequestTargets", []):
                source = target.get("sourceReference", "").removeprefix("refs/heads/")
                into = target.get("destinationReference", "").removeprefix("refs/heads/")
                if source != "main" and into == "main":
                    return None
        return f"no pull request from a branch into main in {PROJECT}"

    def release_change() -> str | None:
        found = [
            e
            for e in executions(session)
            if (e.get("trigger") or {}).get("triggerType") == "StartPipelineExecution"
        ]
        if not found:
            return "no execution was started by hand (start_pipeline_execution)"
        if not any(e["status"] == "Succeeded" for e in found):
            return f"the released execution ended {found[0]['status']}"
        return None

    def inside() -> str | None:
        ec2 = client(session, "ec2")
        ids = [
            i["InstanceId"]
            for r in paginate(
                ec2,
                "describe_instances",
                "Reservations",
                Filters=[{"Name": "tag:Environment", "Values": [f"{PROJECT}-WebApp"]}],
            )
            for i in r["Instances"]
        ]
        if not ids:
            raise Failed(f"no instance tagged Environment={PROJECT}-WebApp")
        ssm = client(session, "ssm")
        for command in paginate(ssm, "list_commands", "Commands"):
            if (
                command.get("DocumentName") == "AWS-RunShellScript"
                and set(command.get("InstanceIds", [])) & set(ids)
                and command.get("Status") == "Success"
            ):
                return None
        return "no AWS-RunShellScript command ran successfully on the web app instance"

    cl.add(
        "a branch besides main exists",
        branch,
        f"codecommit.create_branch(repositoryName=..., branchName='{BRANCH}', "
        "commitId=<main's tip>) — any name will do",
    )
    cl.add(
        "a pull request from a branch into main",
        pull_request,
        "codecommit.create_pull_request(title=..., targets=[...])",
    )
    cl.add(
        f"a release change of {PIPELINE} succeeded",
        release_change,
        "codepipeline.start_pipeline_execution(name=...) then wait for it",
    )
    cl.add(
        "the deployment was checked inside the instance (SSM Run Command)",
        inside,
        "ssm.send_command(DocumentName='AWS-RunShellScript', InstanceIds=[...], ...)",
    )
