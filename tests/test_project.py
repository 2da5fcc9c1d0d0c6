"""flovtrain.project: the CodeStar-style project deploys, serves its page and is idempotent."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from provider_fixtures import learner_project

import flovtrain
from flovtrain import project
from flovtrain.exceptions import ProjectNotFound, ProjectTimeout
from flovtrain.sandbox import control


@pytest.fixture(scope="module")
def created(tmp_path_factory):
    with learner_project(tmp_path_factory.mktemp("learner")) as learner:
        yield learner


def test_seed_zip_is_deterministic_and_clean():
    first, second = project.seed_zip(), project.seed_zip()
    assert first == second
    archive = zipfile.ZipFile(io.BytesIO(first))
    names = archive.namelist()
    assert "template.yml" in names and "webapp/templates/index.html" in names
    assert not [n for n in names if ".ruff_cache" in n or "__pycache__" in n or n.endswith(".pyc")]
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in archive.infolist()}
    assert modes["scripts/start_server.sh"] == 0o755 and modes["buildspec.yml"] == 0o644


def test_seed_zip_refuses_a_folder_without_buildspec(tmp_path):
    with pytest.raises(FileNotFoundError, match="buildspec.yml"):
        project.seed_zip(tmp_path)


def test_get_project_before_creation_says_what_to_do():
    control.reset()
    flovtrain.connect(quiet=True)
    with pytest.raises(ProjectNotFound, match="create_project"):
        project.get_project("no-such-project")


def test_create_project_deploys_and_serves_the_page(created):
    p = created
    assert p.outputs["PipelineName"] == "flovtrain-webapp-pipeline"
    assert p.app_url.startswith("http://127.20.") and p.app_url.endswith(":8090/")
    page = project.fetch_page(p.app_url)
    assert "<h1>Congratulations!</h1>" in page
    runs = project.executions(p.pipeline_name)
    assert [r["status"] for r in runs] == ["Succeeded"]


def test_key_is_saved_0600_and_matches_ssm(created):
    import boto3

    pem = created.key_file
    assert pem is not None and pem.name == "flovtrain-webapp-key.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    stored = boto3.client("ssm").get_parameter(
        Name=f"/ec2/keypair/{created.outputs['KeyPairId']}", WithDecryption=True
    )["Parameter"]
    assert pem.read_text().strip() == stored["Value"].strip()
    assert "PRIVATE KEY" not in str(created)  # the project's text form never shows the key


def test_create_project_twice_reuses_the_stack(created):
    again = project.create_project()
    assert again.outputs == created.outputs
    assert len(project.executions(again.pipeline_name)) == 1
    assert project.app_url() == created.app_url


def test_wait_for_a_new_execution_times_out_clearly(created):
    latest = project.executions(created.pipeline_name)[0]["pipelineExecutionId"]
    with pytest.raises(ProjectTimeout, match="started no new execution"):
        project.wait_for_pipeline(created.pipeline_name, newer_than=latest, timeout=0.5)


def test_release_change_is_waited_for(created):
    import boto3

    latest = project.executions(created.pipeline_name)[0]["pipelineExecutionId"]
    boto3.client("codepipeline").start_pipeline_execution(name=created.pipeline_name)
    done = project.wait_for_pipeline(created.pipeline_name, newer_than=latest, timeout=60)
    assert done["status"] == "Succeeded" and done["pipelineExecutionId"] != latest


def test_fetch_page_of_a_dead_address_times_out():
    with pytest.raises(ProjectTimeout, match="is the app deployed"):
        project.fetch_page("http://127.20.255.254:8090/", timeout=0.5)
