"""Chapter 06 · edit and push: your commit reached the site; a broken build was caught."""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from flovtrain.checks._aws import client
from flovtrain.checks._checklist import Checklist, Failed
from flovtrain.checks.ch04 import INDEX, PIPELINE, PROJECT, app_page, executions, stack_outputs

TITLE = "edit and push"
SEED_AUTHOR = "flovtrain"


def _visible(page: str) -> list[str]:
    from flovtrain.widgets.webpage import page_text

    # the "Served by ... at <time>" line changes on every request
    return [
        line
        for line in page_text(page).splitlines()
        if "$" not in line and not line.startswith("Served by")
    ]


def collect(cl: Checklist, session: boto3.Session) -> None:
    cc = client(session, "codecommit")
    state: dict = {}

    def tip() -> str:
        if "tip" not in state:
            try:
                state["tip"] = cc.get_branch(repositoryName=PROJECT, branchName="main")["branch"][
                    "commitId"
                ]
            except ClientError as exc:
                raise Failed(
                    f"no branch main in {PROJECT} ({exc.response['Error']['Code']})"
                ) from None
        return state["tip"]

    def your_commit() -> str | None:
        commit_id = tip()
        for _ in range(50):
            commit = cc.get_commit(repositoryName=PROJECT, commitId=commit_id)["commit"]
            if (commit.get("author") or {}).get("name") != SEED_AUTHOR:
                return None
            if not commit.get("parents"):
                break
            commit_id = commit["parents"][0]
        return "main holds only the generated initial commit: commit and push your edit"

    def index_changed() -> str | None:
        from flovtrain.project import WEBAPP_DIR

        current = cc.get_file(repositoryName=PROJECT, filePath=INDEX, commitSpecifier=tip())[
            "fileContent"
        ].decode("utf-8")
        seed = (WEBAPP_DIR / INDEX).read_text(encoding="utf-8")
        return None if current != seed else f"{INDEX} on main is still the generated one"

    def site_shows_it() -> str | None:
        current = cc.get_file(repositoryName=PROJECT, filePath=INDEX, commitSpecifier=tip())[
            "fileContent"
        ].decode("utf-8")
        page = app_page(stack_outputs(session)["AppUrl"])
        missing = [line for line in _visible(current) if line not in _visible(page)]
        return (
            None
            if not missing
            else f"the site does not show main's {INDEX} yet (missing: {missing[0]!r})"
        )

    def caught() -> str | None:
        cb = client(session, "codebuild")
        ids = cb.list_builds_for_project(projectName=PROJECT).get("ids", [])
        builds = cb.batch_get_builds(ids=ids[:100]).get("builds", []) if ids else []
        if not any(b.get("buildStatus") == "FAILED" for b in builds):
            return "no build failed: push a change that breaks a unit test (the chapter's step 5)"
        return None

    def recovered() -> str | None:
        found = executions(session)
        if not found:
            return f"pipeline {PIPELINE} has not run"
        latest = found[0]
        if latest["status"] != "Succeeded":
            return f"the latest execution of {PIPELINE} is {latest['status']}"
        revision = (latest.get("sourceRevisions") or [{}])[0].get("revisionId")
        if revision != tip():
            return "the latest successful execution did not build main's newest commit"
        return None

    cl.add(
        "main has a commit of yours after the generated one",
        your_commit,
        "git commit -a && git push (chapter 06, steps 2-3)",
    )
    cl.add(
        f"{INDEX} on main differs from the generated page",
        index_changed,
        "edit the page in your clone, commit and push",
    )
    cl.add(
        "the site serves main's version of the page",
        site_shows_it,
        "wait for the pipeline (flovtrain.project.wait_for_pipeline) and look at its state",
    )
    cl.add(
        "a build failed on a broken unit test",
        caught,
        "push a change that breaks tests/test_app.py's expectations (step 5)",
    )
    cl.add(
        "the pipeline recovered: main's newest commit is built and deployed",
        recovered,
        "fix the test or the page, commit and push again (step 6)",
    )
