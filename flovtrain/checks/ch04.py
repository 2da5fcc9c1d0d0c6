"""Chapter 04 · the CodeStar-style project: stack, repository, first pipeline run, app, key."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from flovtrain._aws import fetch
from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist, Failed
from flovtrain.checks._keys import key_fingerprints
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


def _fingerprints(path: Path) -> set[str]:
    try:
        return key_fingerprints(path.read_bytes())
    except OSError:  # unreadable: it holds no key we can compare
        return set()


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

        key_id = stack_outputs(session).get("KeyPairId")
        if not key_id:
            return f"stack {PROJECT} has no KeyPairId output"
        pair = client(session, "ec2").describe_key_pairs(KeyPairIds=[key_id])["KeyPairs"][0]
        folder = credentials_folder()
        pems = sorted(folder.glob("*.pem"))
        if not pems:
            return f"no .pem file in {folder.name}/ (the private key of {pair['KeyName']})"
        match = next((p for p in pems if pair["KeyFingerprint"] in _fingerprints(p)), None)
        if match is None:
            names = ", ".join(p.name for p in pems)
            return f"none of {names} holds the private key of key pair {pair['KeyName']}"
        mode = stat.S_IMODE(os.stat(match).st_mode)
        if mode & 0o077:
            return f"{match.name} has mode {mode:o}: others can read it (needs 600)"
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
        "the key pair's private key is saved in credentials/ (any .pem name, mode 600)",
        key,
        "read it from SSM: ssm.get_parameter(Name=f'/ec2/keypair/{key_pair_id}', "
        "WithDecryption=True), write it to credentials/<key name>.pem and chmod 600 "
        "(create_project does it for you)",
    )
