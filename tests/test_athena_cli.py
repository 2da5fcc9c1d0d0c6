"""Athena driven only with the AWS CLI (no flovtrain import in the subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from athena_fixtures import COUNTS_ONE_DAY, setup_market

AWS = str(Path(sys.executable).with_name("aws"))


def aws(*args: str) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k.startswith(("AWS_", "PATH", "HOME", "NO_PROXY"))
    }
    out = subprocess.run(
        [AWS, *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_aws_cli_start_get_results():
    setup_market(days=1)
    qid = aws(
        "athena",
        "start-query-execution",
        "--query-string",
        "SELECT symbol, count(*) AS n FROM klines GROUP BY symbol ORDER BY symbol",
        "--query-execution-context",
        "Database=marketdata",
        "--result-configuration",
        "OutputLocation=s3://flovtrain-athena-test/cli/",
    )["QueryExecutionId"]
    for _ in range(300):
        state = aws("athena", "get-query-execution", "--query-execution-id", qid)["QueryExecution"]
        if state["Status"]["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.1)
    assert state["Status"]["State"] == "SUCCEEDED"
    assert state["Statistics"]["DataScannedInBytes"] > 0
    rows = aws("athena", "get-query-results", "--query-execution-id", qid)["ResultSet"]["Rows"]
    values = [[d.get("VarCharValue") for d in r["Data"]] for r in rows]
    assert values == COUNTS_ONE_DAY
