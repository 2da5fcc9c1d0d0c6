"""A chapter runs in a real JupyterLab in headless Chromium with real widgets and plots.

JupyterLab serves a temporary copy of notebooks/ (the committed notebooks are never touched);
its kernels get the test session's sandbox environment but NOT FLOVTRAIN_STATIC_WIDGETS, so
widgets are real ipywidgets rendered by the browser.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import boto3
import nbformat
import pytest
from _jupyterlab import CHROMIUM, chromium_page, jupyterlab, run_all

from flovtrain.sandbox import control

REPO = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)",
    ),
]

SMOKE = "_browser_smoke.ipynb"  # written by the test: connect(), a widget, a plot
SMOKE_CELLS = [
    "import flovtrain\nconn = flovtrain.connect()",
    "import ipywidgets\nipywidgets.IntSlider(value=7, description='USD')",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4, 2))\n"
    "ax.plot([0, 5, 12], marker='o')\nplt.show()",
    "import boto3\nboto3.client('sts').get_caller_identity()['Account']",
]


def chapter() -> str:
    """The newest of the talk's first chapters that exists (03, else 02, else 01)."""
    for name in ("03_billing_alarm.ipynb", "02_iam.ipynb", "01_account_and_regions.ipynb"):
        if (REPO / "notebooks" / name).exists():
            return name
    return ""


@pytest.fixture
def lab_root(tmp_path) -> Path:
    root = tmp_path / "lab"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(src) for src in SMOKE_CELLS]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, root / SMOKE)
    return root


def assert_clean_outputs(result: dict, notebook: str, screenshot: Path, error_count: int) -> None:
    """No error or stderr output, in the notebook or rendered, and at least one widget output."""
    bad = [o for o in result["outputs"] if o["type"] == "error" or o["name"] == "stderr"]
    assert not bad, f"errors or stderr in {notebook} (screenshot {screenshot}): {bad}"
    assert error_count == 0, f"{error_count} stderr/error outputs rendered; see {screenshot}"
    widget_outputs = [
        o for o in result["outputs"] if "application/vnd.jupyter.widget-view+json" in o["mimes"]
    ]
    assert widget_outputs, f"no widget output in {notebook}: FLOVTRAIN_STATIC_WIDGETS leaked?"


def kernel_env() -> dict[str, str]:
    env = dict(os.environ)  # the session sandbox's endpoint, fake credentials, FLOVTRAIN_HOME
    env.pop("FLOVTRAIN_STATIC_WIDGETS", None)  # real widgets in a real browser
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend
    env["PATH"] = f"{Path(os.sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize("notebook", [SMOKE, pytest.param(chapter(), id="chapter")])
def test_notebook_runs_in_jupyterlab(notebook, lab_root, tmp_path):
    if not notebook:
        pytest.skip("no chapter notebook 01-03 exists yet")
    before = (REPO / "notebooks" / notebook).read_bytes() if notebook != SMOKE else None
    control.reset()
    with jupyterlab(lab_root, tmp_path / "jupyter", kernel_env()) as lab, chromium_page() as page:
        result = run_all(page, lab, notebook)
        screenshot = tmp_path / f"{Path(notebook).stem}.png"
        page.screenshot(path=str(screenshot), full_page=True)
        errors = page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        )
        error_count = errors.count()
        widgets = page.locator(
            ".jp-OutputArea-output .jupyter-widgets, .jp-OutputArea-output [class*='widget-']"
        ).count()
        images = page.locator(".jp-OutputArea-output img").count()
        if images:  # the plot itself, for a human to look at
            page.locator(".jp-OutputArea-output img").last.screenshot(
                path=str(tmp_path / f"{Path(notebook).stem}-plot.png")
            )

    assert result["cells"] > 0
    assert_clean_outputs(result, notebook, screenshot, error_count)
    assert widgets > 0, f"widgets did not render in the browser; see {screenshot}"
    assert images > 0, f"no plot image rendered; see {screenshot}"
    assert screenshot.stat().st_size > 10_000
    if before is not None:
        assert (REPO / "notebooks" / notebook).read_bytes() == before


PIPELINE_CHAPTERS = ["04_codestar_project.ipynb"]  # deploys the project and shows pipeline_view
_STAGES = """() => [...document.querySelectorAll(
    '.jp-OutputArea-output .flovtrain-pipeline-view .flovtrain-stage')
  ].map(s => s.dataset.status)"""
_WATCH_STATUSES = """() => {
  // every stage status the live view shows from now on (it redraws by replacing its HTML)
  window.flovtrainSeen = new Set();
  const view = document.querySelector('.jp-OutputArea-output .flovtrain-pipeline-view');
  const note = () => view.querySelectorAll('.flovtrain-stage').forEach(
      s => window.flovtrainSeen.add(s.dataset.status));
  new MutationObserver(note).observe(view, {subtree: true, childList: true, attributes: true});
}"""


@pytest.mark.parametrize("notebook", PIPELINE_CHAPTERS)
def test_pipeline_widget_is_live_in_jupyterlab(notebook, lab_root, tmp_path):
    if not (REPO / "notebooks" / notebook).exists():
        pytest.skip(f"notebooks/{notebook} does not exist yet")
    before = (REPO / "notebooks" / notebook).read_bytes()
    control.reset()
    with jupyterlab(lab_root, tmp_path / "jupyter", kernel_env()) as lab, chromium_page() as page:
        result = run_all(page, lab, notebook, timeout=75)
        screenshot = tmp_path / f"{Path(notebook).stem}.png"
        view = page.locator(".jp-OutputArea-output .flovtrain-pipeline-view")
        view.first.wait_for(state="visible", timeout=10_000)
        # the chapter waited for the first run: the view shows every stage succeeded
        page.wait_for_function(
            f"() => ({_STAGES})().length > 0 && ({_STAGES})().every(s => s === 'Succeeded')",
            timeout=10_000,
        )
        # JupyterLab renders only the cells near the viewport: look at the view as a learner would
        view.first.scroll_into_view_if_needed()
        stage_names = view.first.locator(".flovtrain-stage > b").all_text_contents()
        buttons = view.first.locator("button").all_text_contents()

        # Release change: the kernel runs it, the view follows the new run until it is done
        page.evaluate(_WATCH_STATUSES)
        view.first.locator("button", has_text="Release change").click()
        message = view.first.locator("text=/release change: [0-9a-f-]{36}/")
        message.wait_for(timeout=10_000)
        page.wait_for_function(
            f"() => window.flovtrainSeen.has('InProgress') && "
            f"({_STAGES})().every(s => s === 'Succeeded')",
            timeout=30_000,
            polling=100,
        )
        seen = page.evaluate("() => [...window.flovtrainSeen]")
        released = message.inner_text().split(": ", 1)[1].strip()
        page.screenshot(path=str(screenshot), full_page=True)
        view.first.screenshot(path=str(tmp_path / f"{Path(notebook).stem}-pipeline.png"))
        error_count = page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).count()

    assert_clean_outputs(result, notebook, screenshot, error_count)
    assert stage_names == ["Source", "Build", "Deploy"], stage_names
    for label in ("Refresh", "Release change", "Retry failed stage", "Approve", "Reject"):
        assert any(label in b for b in buttons), f"no {label!r} button in {buttons}"
    assert "InProgress" in seen, f"the view never showed the run in progress: {seen}"
    # the run the button started is the pipeline's newest, and it succeeded
    cp = boto3.client("codepipeline", region_name="eu-west-1")
    newest = cp.list_pipeline_executions(pipelineName="flovtrain-webapp-pipeline")[
        "pipelineExecutionSummaries"
    ][0]
    assert (newest["pipelineExecutionId"], newest["status"]) == (released, "Succeeded")
    assert newest["trigger"]["triggerType"] == "StartPipelineExecution"
    assert screenshot.stat().st_size > 10_000
    assert (REPO / "notebooks" / notebook).read_bytes() == before  # the lab ran a copy


# ------------------------------------------------- a newcomer's walk: Run All, then look


#: Per chapter, (cell id, what its rendered output must show): the state the text claims.
WALK = {
    "03_billing_alarm.ipynb": [("1acaed0c", "ALARM")],  # "the alarm went to ALARM"
    # "the view shows this execution: its frame stays red" (the failed build)
    "06_edit_and_push.ipynb": [("06-018", 'data-execution-status="Failed"')],
    "08_athena_market_data.ipynb": [("463c29ee", "<table")],  # the query editor's result
}
_CELL_HTML = """async (id) => {
  const w = window.jupyterapp.shell.currentWidget;
  const cell = w.content.widgets.find(c => c.model.id === id);
  if (!cell) return null;
  await w.content.scrollToCell(cell, 'center');  // only cells near the viewport are rendered
  const area = cell.node.querySelector('.jp-OutputArea');
  return area ? area.innerHTML : '';
}"""
_CHECK_TEXT = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const outs = cells[cells.length - 1].model.outputs.toJSON();
  return outs.map(o => (o.data && o.data['text/plain']) || '').join('');
}"""


def rendered(page, cell_id: str, wanted: str, timeout: float = 20.0) -> str:
    """The cell's rendered output once it shows ``wanted`` (or what it shows at the timeout)."""
    html = ""
    for _ in range(int(timeout * 4)):
        html = page.evaluate(_CELL_HTML, cell_id)
        assert html is not None, f"no cell {cell_id}"
        if wanted in html:
            break
        page.wait_for_timeout(250)
    return html


@pytest.mark.parametrize("notebook", sorted(WALK))
def test_newcomer_walk_run_all(notebook, lab_root, tmp_path):
    """Run All as a newcomer would: no error output, widgets show what the text says, and the
    chapter's check at the end passes."""
    before = (REPO / "notebooks" / notebook).read_bytes()
    control.reset()
    with jupyterlab(lab_root, tmp_path / "jupyter", kernel_env()) as lab, chromium_page() as page:
        result = run_all(page, lab, notebook, timeout=240)
        screenshot = tmp_path / f"{Path(notebook).stem}.png"
        seen = {cell: (wanted, rendered(page, cell, wanted)) for cell, wanted in WALK[notebook]}
        check = page.evaluate(_CHECK_TEXT)
        page.screenshot(path=str(screenshot), full_page=True)
        error_count = page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).count()

    assert_clean_outputs(result, notebook, screenshot, error_count)
    for cell, (wanted, html) in seen.items():
        assert wanted in html, f"cell {cell} does not show {wanted!r}: {html[:600]}"
    head = check.splitlines()[0] if check else ""
    done, total = head.rsplit(": ", 1)[-1].split(" ")[0].split("/") if "/" in head else ("", "?")
    assert done == total, f"the chapter's check does not pass after Run All: {check}"
    assert (REPO / "notebooks" / notebook).read_bytes() == before
