"""flovtrain.views.devtools: fixed columns, real contents, on a deployed CodeStar-style project."""

from __future__ import annotations

import boto3
import pytest
from provider_fixtures import learner_project

import flovtrain
from flovtrain.sandbox import control
from flovtrain.views import devtools

REPO = "flovtrain-webapp"


@pytest.fixture(scope="module")
def p(tmp_path_factory):
    with learner_project(tmp_path_factory.mktemp("learner"), REPO) as learner:
        yield learner


def test_empty_account_keeps_columns():
    control.reset()
    flovtrain.connect(quiet=True)
    df = devtools.repositories()
    assert df.empty and list(df.columns) == devtools.REPOSITORY_COLUMNS
    assert list(devtools.instances().columns) == devtools.EC2_COLUMNS


def test_repository_files_history_and_readme(p):
    repos = devtools.repositories()
    assert repos.name.tolist() == [REPO] and repos.default_branch[0] == "main"
    assert repos.clone_url_http[0] == p.clone_url
    files = devtools.files(REPO)
    assert list(files.columns) == devtools.FILE_COLUMNS
    assert {
        "README.md",
        "buildspec.yml",
        "appspec.yml",
        "template.yml",
        "webapp/templates/index.html",
    } <= set(files.path)
    assert files.set_index("path")["mode"]["scripts/start_server.sh"] == "EXECUTABLE"
    history = devtools.commits(REPO)
    assert history.message.tolist() == ["Initial commit"] and history.parents[0] == 0
    assert len(history.commit_id[0]) == 40
    assert "CodeStar" in devtools.read_file(REPO, "README.md")


def test_branch_difference_and_pull_request(p):
    cc = boto3.client("codecommit")
    tip = cc.get_branch(repositoryName=REPO, branchName="main")["branch"]["commitId"]
    cc.create_branch(repositoryName=REPO, branchName="feature/x", commitId=tip)
    cc.put_file(
        repositoryName=REPO,
        branchName="feature/x",
        filePath="NOTES.md",
        fileContent=b"notes\n",
        parentCommitId=tip,
        commitMessage="notes",
    )
    branches = devtools.branches(REPO)
    assert branches.branch.tolist() == ["feature/x", "main"]
    assert branches.default.tolist() == [False, True]
    diff = devtools.differences(REPO, "main", "feature/x")
    assert diff[["change", "path"]].values.tolist() == [["A", "NOTES.md"]]
    cc.create_pull_request(
        title="Notes",
        targets=[
            {"repositoryName": REPO, "sourceReference": "feature/x", "destinationReference": "main"}
        ],
    )
    prs = devtools.pull_requests(REPO)
    assert prs[["title", "status", "source", "destination", "merged"]].values.tolist() == [
        ["Notes", "OPEN", "feature/x", "main", False]
    ]


def test_builds_phases_and_log(p):
    builds = devtools.builds(p.build_project)
    assert list(builds.columns) == devtools.BUILD_COLUMNS
    assert builds.status.tolist() == ["SUCCEEDED"] and builds.number.tolist() == [1]
    phases = devtools.build_phases(builds.build_id[0])
    assert {"INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"} <= set(phases.phase)
    assert set(phases.dropna(subset=["status"]).status) == {"SUCCEEDED"}
    log = devtools.build_log(builds.build_id[0])
    assert "Running command python3 -m ruff check ." in log and "3 passed" in log
    with pytest.raises(LookupError, match="devtools.builds"):
        devtools.build_phases(f"{p.build_project}:00000000-0000-0000-0000-000000000000")


def test_deployments_groups_revisions_and_events(p):
    deployments = devtools.deployments(p.application_name)
    assert deployments.status.tolist() == ["Succeeded"]
    assert deployments.revision[0].startswith(f"s3://{p.artifact_bucket}/")
    groups = devtools.deployment_groups(p.application_name)
    assert groups.tag_filters.tolist() == [f"Environment={REPO}-WebApp"]
    assert len(devtools.revisions(p.application_name)) == 1
    instances = devtools.deployment_instances(deployments.deployment_id[0])
    assert instances.status.tolist() == ["Succeeded"]
    events = devtools.lifecycle_events(deployments.deployment_id[0])
    assert events.event.tolist()[0] == "ApplicationStop"
    assert events.event.tolist()[-1] == "ValidateService"
    assert "webapp answers" in events.set_index("event").output["ValidateService"]


def test_pipeline_state_executions_and_actions(p):
    state = devtools.pipeline_state(p.pipeline_name)
    assert state[["stage", "status"]].values.tolist() == [
        ["Source", "Succeeded"],
        ["Build", "Succeeded"],
        ["Deploy", "Succeeded"],
    ]
    runs = devtools.pipeline_executions(p.pipeline_name)
    assert runs[["status", "trigger", "source_message"]].values.tolist() == [
        ["Succeeded", "CreatePipeline", "Initial commit"]
    ]
    actions = devtools.action_executions(p.pipeline_name)
    assert actions.stage.tolist() == ["Source", "Build", "Deploy"]


def test_stack_resources_events_and_instances(p):
    resources = devtools.stack_resources(REPO)
    assert len(resources) == 14 and set(resources.status) == {"CREATE_COMPLETE"}
    assert {"Pipeline", "Repository", "WebAppInstance", "KeyPair"} <= set(resources.logical_id)
    assert "CREATE_COMPLETE" in set(devtools.stack_events(REPO).status)
    ec2 = devtools.instances("Environment", f"{REPO}-WebApp")
    assert ec2.state.tolist() == ["running"] and ec2.public_ip[0].startswith("127.20.")
    assert ec2.key_name[0] == f"{REPO}-key"
