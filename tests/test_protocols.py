"""One sandbox, both Athena protocols: clients built from botocore's JSON-1.1 model (1.44.8) and
its REST-JSON model (1.44.18) run the same queries; unknown routes answer in AWS's format;
a botocore that speaks a protocol the sandbox does not serve is refused at start."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.session
import pytest
from athena_fixtures import COUNTS_ONE_DAY, RESULTS, setup_market
from botocore.exceptions import ClientError

from flovtrain.sandbox import protocols
from flovtrain.sandbox.protocols import JsonBridge

HERE = Path(__file__).parent
JSON_11_MODELS = HERE / "data" / "botocore-json-1.1"  # botocore 1.44.8's athena model
REST_JSON_MODELS = protocols.PACKAGED_MODELS  # botocore 1.44.18's athena model


def athena_from(models: Path):
    """A boto3 Athena client whose service model comes from ``models`` first."""
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(models))
    return boto3.Session(botocore_session=core).client("athena")


@pytest.fixture(scope="module")
def market():
    return setup_market(days=1)


@pytest.fixture(params=["json", "rest-json"])
def client(request, market):
    models = {"json": JSON_11_MODELS, "rest-json": REST_JSON_MODELS}[request.param]
    athena = athena_from(models)
    assert athena.meta.service_model.protocol == request.param
    return athena


def _run(client, sql, **kw):
    qid = client.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": "marketdata"},
        ResultConfiguration={"OutputLocation": RESULTS},
        **kw,
    )["QueryExecutionId"]
    for _ in range(500):
        state = client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if state["State"] not in ("QUEUED", "RUNNING"):
            return qid, state
        time.sleep(0.02)
    raise AssertionError("query did not finish")


def test_query_lifecycle_in_both_protocols(client):
    qid, state = _run(client, "SELECT symbol, count(*) AS n FROM klines GROUP BY 1 ORDER BY 1")
    assert state["State"] == "SUCCEEDED", state
    rows = client.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    values = [[d.get("VarCharValue") for d in r["Data"]] for r in rows]
    assert values == COUNTS_ONE_DAY
    assert qid in client.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
    assert client.get_work_group(WorkGroup="primary")["WorkGroup"]["Name"] == "primary"


def test_query_string_and_path_parameters_reach_the_engine(client):
    """REST-JSON puts MaxResults/NextToken in the query string, the id in the path."""
    qid, _ = _run(client, "SELECT open_time FROM klines WHERE symbol = 'ETHUSDT' ORDER BY 1")
    first = client.get_query_results(QueryExecutionId=qid, MaxResults=3)
    assert len(first["ResultSet"]["Rows"]) == 3  # header + 2
    second = client.get_query_results(
        QueryExecutionId=qid, MaxResults=2, NextToken=first["NextToken"]
    )
    assert [r["Data"][0]["VarCharValue"] for r in second["ResultSet"]["Rows"]] != [
        r["Data"][0]["VarCharValue"] for r in first["ResultSet"]["Rows"][1:]
    ]


def test_errors_keep_aws_shape_in_both_protocols(client):
    with pytest.raises(ClientError) as missing:
        client.get_query_execution(QueryExecutionId="00000000-0000-0000-0000-000000000000")
    assert missing.value.response["Error"]["Code"] == "InvalidRequestException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    _, failed = _run(client, "SELECT nope FROM klines")
    assert failed["State"] == "FAILED"
    assert "nope" in failed["StateChangeReason"]


def test_the_aws_cli_runs_athena():
    """The CLI ships its own botocore; whichever protocol it speaks, the sandbox answers."""
    aws = Path(sys.executable).with_name("aws")
    out = subprocess.run(
        [str(aws), "athena", "list-work-groups", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert [w["Name"] for w in json.loads(out.stdout)["WorkGroups"]] == ["primary"]


def _raw(method: str, path: str, service: str, **headers: str):
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    auth = (
        f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261205/us-east-1/{service}/"
        "aws4_request, SignedHeaders=host, Signature=0"
    )
    request = urllib.request.Request(
        endpoint + path,
        method=method,
        headers={"Authorization": auth, **headers},
        data=b"" if method == "POST" else None,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_unknown_rest_route_is_a_json_error_naming_method_path_and_service():
    status, headers, body = _raw("GET", "/no-such-thing", "athena")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert headers["x-amzn-ErrorType"] == "SandboxUnsupported"
    message = json.loads(body)["message"]
    assert "GET /no-such-thing" in message and "athena" in message


def test_unknown_route_of_a_query_service_is_xml_never_html():
    status, headers, body = _raw(
        "POST", "/some/where", "iam", **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 404
    assert b"<html" not in body.lower()
    assert b"<Code>SandboxUnsupported</Code>" in body
    assert b"POST /some/where" in body and b"(iam)" in body


def test_unknown_json_target_is_a_json_error():
    status, headers, body = _raw(
        "POST",
        "/nope",
        "codecommit",
        **{
            "X-Amz-Target": "CodeCommit_20150413.ListRepositories",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert status == 404
    assert json.loads(body)["__type"] == "SandboxUnsupported"


# -- model views and the self-check -------------------------------------------------------------


def _model(directory: Path) -> dict:
    return json.load(gzip.open(next(directory.glob("athena/*/service-2.json.gz"))))


def test_json_view_of_the_rest_model_is_what_moto_handles():
    rest = _model(REST_JSON_MODELS)
    view = protocols.json_view(rest, JsonBridge("AmazonAthena"))
    assert view["metadata"]["protocol"] == "json"
    assert view["metadata"]["targetPrefix"] == "AmazonAthena"
    assert view["operations"]["GetQueryResults"]["http"] == {"method": "POST", "requestUri": "/"}
    members = view["shapes"]["GetQueryResultsInput"]["members"]
    assert "location" not in members["MaxResults"]
    assert rest["shapes"]["GetQueryResultsInput"]["members"]["MaxResults"]["location"]  # copy
    old = _model(JSON_11_MODELS)
    assert protocols.json_view(old, JsonBridge("AmazonAthena")) is old


def test_rest_routes_come_from_the_packaged_model_when_botocore_speaks_json():
    assert protocols.protocols_of(_model(JSON_11_MODELS)) == ["json"]
    assert protocols.packaged_model("athena")["metadata"]["protocol"] == "rest-json"
    assert protocols.packaged_model("no-such-service") is None


def test_self_check_passes_on_the_installed_botocore():
    assert protocols.check_installed() == []


def test_self_check_names_service_versions_and_fix():
    cbor = json.loads(json.dumps(_model(REST_JSON_MODELS)))
    cbor["metadata"].update(protocol="smithy-rpc-v2-cbor", protocols=["smithy-rpc-v2-cbor"])
    problems = protocols.check_installed(
        {"athena": frozenset({"json", "rest-json"})}, lambda service: cbor
    )
    assert [(p.service, p.speaks) for p in problems] == [("athena", "smithy-rpc-v2-cbor")]
    text = problems[0].explain("1.45.0", "1.44.18")
    assert text == (
        "athena: the installed botocore 1.45.0 speaks smithy-rpc-v2-cbor, but the sandbox "
        "(moto 5.2.5 + flovtrain) serves json, rest-json for it. "
        "Fix: make install (the lock installs botocore 1.44.18)."
    )


def test_locked_version_reads_the_lock(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "boto3==1.2.3 \\\n    --hash=sha256:ab\nbotocore==1.2.4 ; python_version >= '3'\n"
    )
    assert protocols.locked_version("botocore", lock) == "1.2.4"
    assert protocols.locked_version("boto3", lock) == "1.2.3"
    assert protocols.locked_version("moto", lock) is None


def test_sandbox_refuses_to_start_on_a_protocol_it_does_not_serve(tmp_path):
    data = tmp_path / "models" / "athena" / "2017-05-18"
    data.mkdir(parents=True)
    cbor = _model(REST_JSON_MODELS)
    cbor["metadata"].update(protocol="smithy-rpc-v2-cbor", protocols=["smithy-rpc-v2-cbor"])
    (data / "service-2.json").write_text(json.dumps(cbor))
    env = {**os.environ, "AWS_DATA_PATH": str(tmp_path / "models")}
    out = subprocess.run(
        [sys.executable, "-m", "flovtrain.sandbox.server", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert out.returncode == 4, out.stderr
    assert "refusing to start" in out.stderr
    assert "athena: the installed botocore" in out.stderr and "Fix: make install" in out.stderr
    assert not (tmp_path / "sandbox.json").exists()


def test_a_sandbox_whose_botocore_speaks_json_serves_rest_json_too(tmp_path):
    """The sandbox process sees Athena's JSON-1.1 model (as with botocore 1.44.8): REST-JSON
    requests are routed by flovtrain's packaged copy of the REST model."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "AWS_DATA_PATH": str(JSON_11_MODELS), "FLOVTRAIN_SANDBOX_WARMUP": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flovtrain.sandbox.server", "--home", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        for _ in range(600):
            if (home / "sandbox.json").exists():
                break
            assert proc.poll() is None, "the sandbox exited"
            time.sleep(0.05)
        endpoint = json.loads((home / "sandbox.json").read_text())["endpoint"]
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket="results"
        )
        for models, protocol in ((JSON_11_MODELS, "json"), (REST_JSON_MODELS, "rest-json")):
            core = botocore.session.get_session()
            core.get_component("data_loader").search_paths.insert(0, str(models))
            athena = boto3.Session(botocore_session=core).client(
                "athena", endpoint_url=endpoint, region_name="us-east-1"
            )
            assert athena.meta.service_model.protocol == protocol
            qid = athena.start_query_execution(
                QueryString="SELECT 41 + 1 AS answer",
                ResultConfiguration={"OutputLocation": "s3://results/"},
            )["QueryExecutionId"]
            for _ in range(500):
                state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
                if state["Status"]["State"] not in ("QUEUED", "RUNNING"):
                    break
                time.sleep(0.02)
            rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
            assert rows[1]["Data"] == [{"VarCharValue": "42"}], protocol
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_clean_check_is_remembered_until_a_version_changes(tmp_path, monkeypatch):
    assert protocols.checked_mismatches(tmp_path) == []
    assert (tmp_path / "protocol-check.json").exists()
    checks = []
    monkeypatch.setattr(protocols, "explain_mismatches", lambda: checks.append(1) or [])
    assert protocols.checked_mismatches(tmp_path) == []
    assert checks == []  # same versions: no model loaded
    import botocore

    monkeypatch.setattr(botocore, "__version__", "9.9.9")  # another botocore: checked again
    assert protocols.checked_mismatches(tmp_path) == []
    assert checks == [1]


def test_a_mismatch_is_never_remembered(tmp_path, monkeypatch):
    monkeypatch.setattr(protocols, "explain_mismatches", lambda: ["athena: ..."])
    assert protocols.checked_mismatches(tmp_path) == ["athena: ..."]
    assert not (tmp_path / "protocol-check.json").exists()
