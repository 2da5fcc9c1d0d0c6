"""Pipeline, dashboard, build-log and web-page widgets: static text/HTML and live ipywidgets."""

from __future__ import annotations

import pytest
from provider_fixtures import learner_project

from flovtrain import project
from flovtrain.widgets import pipeline as pw
from flovtrain.widgets.webpage import page_text

STATE = {
    "stageStates": [
        {
            "stageName": "Source",
            "latestExecution": {"status": "Succeeded", "pipelineExecutionId": "e1"},
            "actionStates": [{"actionName": "Src", "latestExecution": {"status": "Succeeded"}}],
        },
        {
            "stageName": "Build",
            "latestExecution": {"status": "Failed", "pipelineExecutionId": "e1"},
            "actionStates": [
                {
                    "actionName": "Make",
                    "latestExecution": {
                        "status": "Failed",
                        "errorDetails": {"message": "tests failed\n[Container] tail"},
                    },
                }
            ],
        },
        {
            "stageName": "Approve",
            "latestExecution": {"status": "InProgress", "pipelineExecutionId": "e0"},
            "actionStates": [
                {"actionName": "Ok", "latestExecution": {"status": "InProgress", "token": "tok"}}
            ],
        },
        {"stageName": "Deploy", "actionStates": [{"actionName": "Dep"}]},
    ]
}


def test_state_text_is_stable_and_first_error_line_only():
    assert pw.state_text("p", STATE).splitlines() == [
        "pipeline p",
        "  Source: Succeeded",
        "    - Src: Succeeded",
        "  Build: Failed",
        "    - Make: Failed (tests failed)",
        "  Approve: InProgress",
        "    - Ok: InProgress",
        "  Deploy: not run",
        "    - Dep: not run",
    ]


def test_state_html_colours_stages_by_status():
    page = pw.state_html("p", STATE)
    assert page.count('class="flovtrain-stage"') == 4
    assert f"background:{pw.STATUS_COLOURS['Failed']}" in page
    assert f"background:{pw.STATUS_COLOURS['Succeeded']}" in page
    assert f"background:{pw.STATUS_COLOURS['InProgress']}" in page
    assert "<script" not in pw.state_html("<script>", STATE)


def test_stages_of_another_execution_are_marked_and_the_viewed_status_heads_the_view():
    failed = pw.Viewed("e1", "Failed")
    lines = pw.state_text("p", STATE, failed).splitlines()
    assert lines[0] == "pipeline p · execution Failed"
    assert lines[5] == "  Approve: InProgress (from an earlier execution)"
    assert "  Deploy: not run" in lines and "  Build: Failed" in lines  # its own or never run
    page = pw.state_html("p", STATE, failed)
    assert 'data-execution-status="Failed"' in page
    assert f"border:3px solid {pw.STATUS_COLOURS['Failed']}" in page  # a failed one stays red
    assert page.count('data-stale="true"') == 1 and "from an earlier execution" in page
    older = pw.Viewed("e0", "Succeeded", frozenset({"e1"}))
    lines = pw.state_text("p", STATE, older).splitlines()
    assert lines[1] == "  Source: Succeeded (from a later execution)"
    assert lines[3] == "  Build: Failed (from a later execution)"


def test_buttons_find_what_to_retry_and_approve():
    assert pw.failed_stage(STATE) == ("Build", "e1")
    assert pw.waiting_approval(STATE) == ("Approve", "Ok", "tok")
    assert pw.failed_stage({"stageStates": []}) is None


def test_page_text_drops_scripts_and_styles():
    text = page_text(
        "<html><head><title>T</title><style>b{}</style></head><body>"
        "<h1> Hi </h1><script>alert(1)</script><p>a\n b</p></body></html>"
    )
    assert text.splitlines() == ["[T]", "Hi", "a b"]


@pytest.fixture(scope="module")
def p(tmp_path_factory):
    with learner_project(tmp_path_factory.mktemp("learner")) as learner:
        yield learner


def test_static_views_of_a_real_project(p, monkeypatch):
    monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", "1")
    from flovtrain.widgets.buildlog import build_log_view
    from flovtrain.widgets.dashboard import project_dashboard
    from flovtrain.widgets.webpage import webpage

    view = pw.pipeline_view(p.pipeline_name)
    assert isinstance(view, pw.StaticView)
    assert "  Deploy: Succeeded" in repr(view).splitlines()
    board = project_dashboard()
    text = repr(board)
    assert f"app: {p.app_url}" in text and "latest commit: Initial commit (flovtrain)" in text
    assert "resources: 14 (14 CREATE_COMPLETE)" in text
    assert p.app_url in board._repr_html_()
    log = build_log_view(project=p.build_project, tail=3)
    assert "Phase complete: FINALIZING State: SUCCEEDED" in repr(log)
    page = webpage(p.app_url)
    assert repr(page).splitlines()[1:3] == ["[flovtrain web app]", "Congratulations!"]
    assert "<iframe" not in page._repr_html_()


def test_live_views_are_ipywidgets(p, monkeypatch):
    monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", "0")
    import ipywidgets as widgets

    from flovtrain.widgets.dashboard import project_dashboard
    from flovtrain.widgets.webpage import webpage

    live = pw.pipeline_view(p.pipeline_name, timeout=1)
    assert isinstance(live, widgets.VBox)
    labels = [b.description for b in live.children[0].children]
    assert labels == ["Refresh", "Release change", "Retry failed stage", "Approve", "Reject"]
    retry = live.children[0].children[2]
    assert retry.disabled  # nothing failed
    assert 'data-status="Succeeded"' in live.children[1].value
    assert isinstance(project_dashboard(), widgets.VBox)
    assert '<iframe sandbox=""' in webpage(p.app_url)._repr_html_()


def test_release_change_button_starts_an_execution(p, monkeypatch):
    monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", "0")
    before = project.executions(p.pipeline_name)[0]["pipelineExecutionId"]
    live = pw.pipeline_view(p.pipeline_name, timeout=1)
    live.children[0].children[1].click()
    done = project.wait_for_pipeline(p.pipeline_name, newer_than=before, timeout=60)
    assert done["status"] == "Succeeded"
    assert "release change:" in live.children[2].value


def test_a_failed_execution_stays_red_and_old_stages_are_marked(p, monkeypatch):
    """The last test on ``p``: it breaks the build."""
    import boto3

    from flovtrain.views import codepipeline as views

    monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", "1")
    first = views.newest_executions(p.pipeline_name)[0]["pipelineExecutionId"]
    cc = boto3.client("codecommit")
    tip = cc.get_branch(repositoryName=p.project_id, branchName="main")["branch"]["commitId"]
    cc.put_file(
        repositoryName=p.project_id,
        branchName="main",
        filePath="webapp/broken.py",
        fileContent=b"def broken(:\n",  # ruff fails the build on it
        parentCommitId=tip,
        commitMessage="a syntax error",
    )
    done = views.wait_for_execution_to_finish(p.pipeline_name, newer_than=first, timeout=120)
    assert done["status"] == "Failed"
    lines = repr(pw.pipeline_view(p.pipeline_name)).splitlines()
    assert lines[0] == f"pipeline {p.pipeline_name} · execution Failed"
    assert "  Build: Failed" in lines
    assert "  Deploy: Succeeded (from an earlier execution)" in lines
    page = pw.pipeline_view(p.pipeline_name)._repr_html_()
    assert f"border:3px solid {pw.STATUS_COLOURS['Failed']}" in page
    then = repr(pw.pipeline_view(p.pipeline_name, execution_id=first)).splitlines()
    assert then[0] == f"pipeline {p.pipeline_name} · execution Succeeded"
    assert "  Build: Failed (from a later execution)" in then
    with pytest.raises(ValueError, match="is not an execution of"):
        pw.pipeline_view(p.pipeline_name, execution_id="nope")
