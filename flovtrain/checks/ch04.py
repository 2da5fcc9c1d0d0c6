"""Chapter 04 · the CodeStar-style project: stack, repository, first pipeline run, app, key."""

from __future__ import annotations

import os
import stat
from typing import Any

import boto3
from botocore.exceptions import ClientError

from flovtrain._aws import fetch
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist, Failed
from flovtrain.exceptions import PageTimeout

TITLE = "CodeStar-style project"
PROJECT = "flovtrain-webapp"
PIPELINE = f"{PROJECT}-pipeline"
INDEX = "webapp/templates/index.html"
CREATE_HINT = "run the chapter's create_project cell (flovtrain.project.create_project())"


def stack_outputs(session: boto3.Session) -> dict[str, str]:
    """Return the project stack's outputs, or raise Failed when it is not complete."""
    cfn = client(session, "cloudformation")
    try:
        stack = cfn.describe_stacks(StackName=PROJECT)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise Failed(f"there is no CloudFormation stack {PROJECT}") from None
        raise
    if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise Failed(f"stack {PROJECT} is {stack['StackStatus']}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def executions(session: boto3.Session) -> list[dict[str, Any]]:
    cp = client(session, "codepipeline")
    try:
        return cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
    except ClientError as exc:
        if "PipelineNotFound" in str(exc):
            raise Failed(f"there is no pipeline {PIPELINE}") from None
        raise


def app_page(url: str) -> str:
    """Return the app's page at ``url``; fail the item with what was seen after 3 s."""
    try:
        return fetch(url, timeout=3)
    except PageTimeout as exc:
        raise Failed(str(exc)) from None


def collect(cl: Checklist, session: boto3.Session) -> None:
    def stack() -> str | None:
        stack_outputs(session)
        return None

    def repository() -> str | None:
        cc = client(session, "codecommit")
        try:
            cc.get_file(repositoryName=PROJECT, filePath=INDEX, commitSpecifier="main")
        except ClientError as exc:
            return f"{PROJECT} has no {INDEX} on main ({exc.response['Error']['Code']})"
        return None

    def first_run() -> str | None:
        found = executions(session)
        if not found:
            return f"pipeline {PIPELINE} has not run yet"
        if not any(e["status"] == "Succeeded" for e in found):
            return f"no execution of {PIPELINE} succeeded (latest: {found[0]['status']})"
        return None

    def app() -> str | None:
        url = stack_outputs(session).get("AppUrl")
        if not url:
            return f"stack {PROJECT} has no AppUrl output"
        if "<h1>" not in app_page(url):
            return f"{url} answers, but not with the app's page"
        return None

    def key() -> str | None:
        from flovtrain.credentials import credentials_folder

        path = credentials_folder() / f"{PROJECT}-key.pem"
        if not path.is_file():
            return f"{path.name} is not in {path.parent}"
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            return f"{path.name} has mode {mode:o}: others can read it (needs 600)"
        if "PRIVATE KEY" not in path.read_text(encoding="utf-8", errors="replace"):
            return f"{path.name} holds no private key"
        return None

    cl.add(f"stack {PROJECT} is complete", stack, CREATE_HINT)
    cl.add(f"repository {PROJECT} holds the sample app on main", repository, CREATE_HINT)
    cl.add(
        f"pipeline {PIPELINE} built and deployed once",
        first_run,
        "wait for the first execution (flovtrain.project.wait_for_pipeline) and read its "
        "build log if it failed",
    )
    cl.add(
        "the web app answers on the instance's public IP, port 8090",
        app,
        "the Deploy stage must succeed; check the deployment's lifecycle events",
    )
    cl.add(
        f"the key pair's private key is saved as credentials/{PROJECT}-key.pem (mode 600)",
        key,
        "create_project(save_key=True) saves it, from SSM /ec2/keypair/<key-pair-id>",
    )
