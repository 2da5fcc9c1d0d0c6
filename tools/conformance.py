"""Trino's documented examples run through the sandbox's Athena API: the pass rate per area.

The cases are tests/data/trino_examples.yaml (Trino's own documentation, see its header). Each
runs as an Athena query (StartQueryExecution, GetQueryResults) on a sandbox this tool starts
in a temporary FLOVTRAIN_HOME, so what is measured is what a client sees: the cells as
Athena renders them and the ColumnInfo type. A case passes when its rows equal the documented
ones (after tests/test_trino_functions.py's ``normalise``, which removes only formatting) and,
where the case names a type, the ColumnInfo type is that type's base name (Athena's ColumnInfo
gives ``array``, ``decimal``, ``varchar`` without parameters).

Examples
--------
``.venv/bin/python tools/conformance.py`` prints a table like::

    area           cases  pass    rate
    aggregate         19    18   94.7%
    ...
    TOTAL            409   406   99.3%

``--failures`` also lists each failing case and what it returned. Cases that assume a session
time zone other than UTC are skipped (counted below the table): Athena runs every query in UTC
and its API has no session zone to set.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "flovtrain-conformance"
RESULTS = f"s3://{BUCKET}/results/"


def _start_sandbox() -> None:
    os.environ["FLOVTRAIN_HOME"] = tempfile.mkdtemp(prefix="flovtrain-conformance-")
    os.environ.pop("FLOVTRAIN_BACKEND", None)
    from flovtrain.sandbox import control

    control.start()
    os.environ.update(control.client_env())
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"


def _wait(client: Any, qid: str) -> dict[str, Any]:
    while True:
        e = client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if e["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return e
        time.sleep(0.01)


def outcome(client: Any, case: dict[str, Any], qid: str, normalise: Any) -> str | None:
    """None when the query gave the documented result, else what went wrong."""
    e = _wait(client, qid)
    if e["Status"]["State"] != "SUCCEEDED":
        return f"{e['Status']['State']}: {e['Status'].get('StateChangeReason', '')[:200]}"
    page = client.get_query_results(QueryExecutionId=qid)
    rows = [[c.get("VarCharValue", "NULL") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
    info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    got = [[normalise(c) for c in row] for row in rows[1:]]
    if "rows" in case:
        want = sorted([normalise(str(c)) for c in row] for row in case["rows"])
        got = sorted(got)
    else:
        want = [[normalise(str(case["result"]))]]
    if got != want:
        return f"got {got}, documented {want}"
    if "type" in case and info and info[0]["Type"] != case["type"].split("(")[0]:
        return f"type {info[0]['Type']}, documented {case['type']}"
    return None


def main(argv: list[str]) -> int:
    import boto3
    import yaml

    sys.path.insert(0, str(ROOT / "tests"))
    from test_trino_functions import normalise

    every = yaml.safe_load((ROOT / "tests" / "data" / "trino_examples.yaml").read_text())
    # Athena runs every query in UTC and its API has no session zone to set
    cases = [c for c in every if c.get("session_zone", "UTC") == "UTC"]
    skipped = len(every) - len(cases)
    _start_sandbox()
    from flovtrain.sandbox import control

    try:
        boto3.client("s3").create_bucket(
            Bucket=BUCKET,
            CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]},
        )
        athena = boto3.client("athena")
        ids = [
            athena.start_query_execution(
                QueryString=case["sql"], ResultConfiguration={"OutputLocation": RESULTS}
            )["QueryExecutionId"]
            for case in cases
        ]
        table: dict[str, list[int]] = {}
        failures = []
        for case, qid in zip(cases, ids, strict=True):
            problem = outcome(athena, case, qid, normalise)
            row = table.setdefault(case["area"], [0, 0])
            row[0] += 1
            row[1] += problem is None
            if problem is not None:
                failures.append(f"{case['area']:<12} {case['sql'][:70]!r}: {problem}")
    finally:
        control.stop()
    print(f"{'area':<14}{'cases':>6}{'pass':>6}{'rate':>8}")
    for area, (n, ok) in sorted(table.items()):
        print(f"{area:<14}{n:>6}{ok:>6}{ok / n:>8.1%}")
    n, ok = sum(r[0] for r in table.values()), sum(r[1] for r in table.values())
    print(f"{'TOTAL':<14}{n:>6}{ok:>6}{ok / n:>8.1%}")
    if skipped:
        print(f"({skipped} cases skipped: they assume a session time zone other than UTC)")
    if "--failures" in argv:
        print("\n".join(["", *failures]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
