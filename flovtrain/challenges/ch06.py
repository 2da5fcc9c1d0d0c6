"""Chapter 06 · edit and push: who committed, what the pipeline built, where the build broke."""

from __future__ import annotations

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, paginate, text

PROJECT = "flovtrain-webapp"
PIPELINE = f"{PROJECT}-pipeline"
SEED_AUTHOR = "flovtrain"  # the generated initial commit's author
SHORT_SHA = 7  # git's shortest usual abbreviation


def _author(answer: object, session: boto3.Session) -> str | None:
    cc = client(session, "codecommit")
    tip = cc.get_branch(repositoryName=PROJECT, branchName="main")["branch"]["commitId"]
    author = cc.get_commit(repositoryName=PROJECT, commitId=tip)["commit"]["author"]["name"]
    given = text(answer)
    if given == author:
        return None
    if author == SEED_AUTHOR:
        return "main holds only the generated initial commit: commit and push your edit first"
    if given == SEED_AUTHOR:
        return f"{SEED_AUTHOR} wrote the initial commit; the newest commit on main is yours"
    return f"{given!r} is not the author CodeCommit records for the newest commit on main"


def _same_commit(given: str, full: str) -> bool:
    return len(given) >= SHORT_SHA and full.startswith(given.lower())


def _built_commit(answer: object, session: boto3.Session) -> str | None:
    runs = list(
        paginate(
            client(session, "codepipeline"),
            "list_pipeline_executions",
            "pipelineExecutionSummaries",
            pipelineName=PIPELINE,
        )
    )
    revisions = [(r.get("sourceRevisions") or [{}])[0].get("revisionId", "") for r in runs]
    if not revisions:
        return f"the pipeline {PIPELINE} has not run yet"
    given = text(answer)
    if len(given) < SHORT_SHA:
        return f"{given!r} is too short for a commit id: give at least {SHORT_SHA} hex digits"
    if _same_commit(given, revisions[0]):
        return None
    if any(_same_commit(given, rev) for rev in revisions[1:]):
        return "an earlier execution built that commit; the newest execution built another"
    return "no execution of the pipeline built that commit"


def _failed_phase(answer: object, session: boto3.Session) -> str | None:
    codebuild = client(session, "codebuild")
    ids = list(
        paginate(codebuild, "list_builds_for_project", "ids", projectName=PROJECT)
    )  # newest first
    failed = None
    for start in range(0, len(ids), 100):
        batch = codebuild.batch_get_builds(ids=ids[start : start + 100])["builds"]
        failed = next((b for b in batch if b["buildStatus"] == "FAILED"), None)
        if failed:
            break
    if failed is None:
        return f"no build of {PROJECT} has failed yet: push the new headline first (section 6)"
    phases = [p["phaseType"] for p in failed.get("phases", []) if p.get("phaseStatus") == "FAILED"]
    given = text(answer).upper()
    if given in phases:
        return None
    if given in {"FAILED", "FAILURE"}:
        return "FAILED is the phase's status; the question asks for its name (phaseType)"
    return f"{given!r} is not the phase that failed in the newest failed build"


CHALLENGES = [
    Challenge(
        "06.1",
        "Who is the author of the newest commit on main?",
        _author,
        "codecommit get_branch(...)['branch']['commitId'], then get_commit(...): author",
    ),
    Challenge(
        "06.2",
        "Which commit did the newest pipeline execution build?",
        _built_commit,
        "list_pipeline_executions(...): the first summary's sourceRevisions, or git rev-parse HEAD",
    ),
    Challenge(
        "06.3",
        "Which build phase failed?",
        _failed_phase,
        "codebuild.batch_get_builds(ids=[...])['builds'][0]['phases']: phaseType, phaseStatus",
    ),
]
