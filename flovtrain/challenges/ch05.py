"""Chapter 05 · toolchain tour: a branch's commit, the build's image, a deployment's events."""

from __future__ import annotations

import boto3
import yaml

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, number, text
from flovtrain.views.codedeploy import iter_deployment_instances, iter_deployments

PROJECT = "flovtrain-webapp"
BRANCH = "feature/readme"
SHORT_SHA = 7  # git's shortest usual abbreviation


def _branch_commit(answer: object, session: boto3.Session) -> str | None:
    cc = client(session, "codecommit")
    tip = cc.get_branch(repositoryName=PROJECT, branchName=BRANCH)["branch"]["commitId"]
    given = text(answer).lower()
    if len(given) < SHORT_SHA:
        return f"{given!r} is too short for a commit id: give at least {SHORT_SHA} hex digits"
    if tip.startswith(given):
        return None
    main = cc.get_branch(repositoryName=PROJECT, branchName="main")["branch"]["commitId"]
    if main.startswith(given):
        return f"that is main's newest commit; {BRANCH} points at its own"
    return f"{BRANCH} does not point at that commit"


def _image(answer: object, session: boto3.Session) -> str | None:
    project = client(session, "codebuild").batch_get_projects(names=[PROJECT])["projects"][0]
    env = project["environment"]
    given = text(answer)
    if given == env["image"]:
        return None
    if given in {env.get("computeType"), env.get("type")}:
        return "that is the build's compute type/environment type; the question asks for its image"
    if given and env["image"].startswith(given):
        return "give the whole image name, with its tag"
    return f"{given!r} is not the image {PROJECT}'s builds run in"


def _appspec_hooks(session: boto3.Session) -> int:
    """How many lifecycle hooks the repository's appspec.yml gives a script."""
    cc = client(session, "codecommit")
    body = cc.get_file(repositoryName=PROJECT, filePath="appspec.yml")["fileContent"]
    return len((yaml.safe_load(body) or {}).get("hooks") or {})


def _events(answer: object, session: boto3.Session) -> str | None:
    given = number(answer)
    if given is None:
        return f"{answer!r} is not a number: count the lifecycle events"
    found = list(iter_deployments(PROJECT, session=session))
    if not found:
        return f"the application {PROJECT} has no deployment yet"
    first = min(found, key=lambda d: d["createTime"])
    instances = list(iter_deployment_instances(first["deploymentId"], session=session))
    events = [e for i in instances for e in i.get("lifecycleEvents", [])]
    if given == len(events):
        return None
    if given == _appspec_hooks(session):
        return (
            "that counts the hooks appspec.yml gives a script; CodeDeploy runs its own events"
            " too (DownloadBundle, Install), and every event counts"
        )
    if given == len(found):
        return "that is the number of deployments; the question asks for one deployment's events"
    more = "more" if len(events) > given else "fewer"
    return f"the first deployment ran {more} events than {given:g}"


CHALLENGES = [
    Challenge(
        "05.1",
        "Which commit does the branch feature/readme point at?",
        _branch_commit,
        "codecommit.get_branch(repositoryName=..., branchName=BRANCH)['branch']['commitId']",
    ),
    Challenge(
        "05.2",
        "Which container image do the project's builds run in?",
        _image,
        "codebuild.batch_get_projects(names=[p.build_project])['projects'][0]['environment']",
    ),
    Challenge(
        "05.3",
        "How many lifecycle events did the first deployment run?",
        _events,
        "codedeploy get_deployment_instance(...)['instanceSummary']['lifecycleEvents']: count them",
    ),
]
