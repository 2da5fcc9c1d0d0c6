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
CHAPTERS = ["01_account_and_regions", "02_iam", "03_billing_alarm"]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_twice_in_one_kernel(chapter, tmp_path):
    import boto3

    control.reset()
    path = ROOT / "notebooks" / f"{chapter}.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    nb.cells = code + copy.deepcopy(code)  # the whole chapter, then the whole chapter again
    env = {**os.environ, "FLOVTRAIN_STATIC_WIDGETS": "1", "MPLBACKEND": "Agg"}
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute(env=env)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0].get("ename", "") + ": " + errors[0].get("evalue", "")

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
