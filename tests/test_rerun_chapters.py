"""Re-running a whole chapter in the same kernel gives no error and creates no duplicates."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from flovtrain.sandbox import control

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _inventory() -> list[tuple[str, str, str, str]]:
    """Everything the workbook created, as cleanup lists it (service, region, kind, name)."""
    from flovtrain import cleanup

    rows = cleanup.plan(keep=())
    return sorted(zip(rows["service"], rows["region"], rows["kind"], rows["name"], strict=True))


def _run_twice(path: Path) -> tuple[list, list]:
    """Run a notebook's code cells twice in one kernel; return the inventory after each run."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type == "code"]
    env = {**os.environ, "FLOVTRAIN_STATIC_WIDGETS": "1", "MPLBACKEND": "Agg"}
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    inventories = []
    with client.setup_kernel(env=env):
        for _ in range(2):
            for index, cell in enumerate(copy.deepcopy(nb.cells)):
                client.execute_cell(cell, index)  # raises CellExecutionError on an error
            inventories.append(_inventory())
    return inventories[0], inventories[1]


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["notebooks", "solutions"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_twice_in_one_kernel(chapter, folder, tmp_path):
    import boto3

    path = ROOT / folder / f"{chapter}.ipynb"
    if not path.exists():
        pytest.skip(f"{folder}/{chapter}.ipynb does not exist")
    control.reset()
    first, second = _run_twice(path)
    assert second == first, "the second run created or lost: " + repr(
        sorted(set(second) ^ set(first))
    )

    # no duplicates of what the chapter creates
    iam = boto3.client("iam")
    if chapter == "02_iam":
        assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == ["imre", "john"]
        for user in ("imre", "john"):
            assert len(iam.list_access_keys(UserName=user)["AccessKeyMetadata"]) == 1
    if chapter == "03_billing_alarm":
        east = boto3.client("cloudwatch", region_name="us-east-1")
        names = [a["AlarmName"] for a in east.describe_alarms()["MetricAlarms"]]
        assert names.count("billing-over-10-usd") == 1
        sns = boto3.client("sns", region_name="us-east-1")
        topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
        assert len([t for t in topics if t.endswith(":billing-alerts")]) == 1
        subs = sns.list_subscriptions_by_topic(
            TopicArn=next(t for t in topics if t.endswith(":billing-alerts"))
        )["Subscriptions"]
        assert len(subs) == 1
    if chapter == "01_account_and_regions":
        assert len(iam.list_account_aliases()["AccountAliases"]) == 1
        devices = [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]]
        assert len([d for d in devices if d.endswith("/root-account-mfa-device")]) == 1
