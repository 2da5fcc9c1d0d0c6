"""The provider seam, end to end: plain boto3 sees what a provider overrides, adds and refuses.

A throwaway server runs in this process (moto's dispatcher wrapped in our SandboxApp on a
werkzeug server bound to 127.0.0.1), with two test providers installed. The fixture puts
moto's response classes back afterwards, so nothing leaks into other tests.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.request

import pytest
from botocore.exceptions import ClientError
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.utils import camelcase_to_underscores
from moto.iam.responses import IamResponse
from provider_fixtures import put_billing_alarm, sandbox_client

from flovtrain import config
from flovtrain.sandbox import seam
from flovtrain.sandbox.server import SandboxApp, _create_app_keeping_seed

ALIAS = "flovtrain-seam-test"
calls: list[str] = []


def list_account_aliases(call: seam.Call) -> dict:
    calls.append(f"ListAccountAliases {call.account_id}")
    return {"AccountAliases": [ALIAS], "IsTruncated": False}


def create_account_alias(call: seam.Call):
    if call.params["AccountAlias"] == "taken":
        raise seam.AwsError("EntityAlreadyExists", "The account alias taken already exists.", 409)
    return call.moto()  # everything else: moto's own implementation


def describe_alarm_history(call: seam.Call) -> dict:
    return {
        "AlarmHistoryItems": [
            {
                "AlarmName": call.params.get("AlarmName", "?"),
                "AlarmType": "MetricAlarm",
                "Timestamp": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                "HistoryItemType": "StateUpdate",
                "HistorySummary": f"Alarm updated from OK to ALARM in {call.region}",
            }
        ],
    }


def echo_route(request):
    from werkzeug.wrappers import Response

    return Response(json.dumps({"path": request.path}), mimetype="application/json")


def make_providers() -> list[seam.Provider]:
    return [
        seam.Provider(
            name="test-iam",
            response_class=IamResponse,
            service="iam",
            operations={
                "ListAccountAliases": list_account_aliases,
                "CreateAccountAlias": create_account_alias,
            },
            routes={"echo": echo_route, "git/*": echo_route},
        ),
        seam.Provider(
            name="test-cloudwatch",
            response_class=CloudWatchResponse,
            service="cloudwatch",
            operations={"DescribeAlarmHistory": describe_alarm_history},
        ),
    ]


@pytest.fixture
def seam_server():
    from moto.server import DomainDispatcherApplication
    from werkzeug.serving import make_server

    providers = make_providers()
    patched = [
        (p.response_class, camelcase_to_underscores(op)) for p in providers for op in p.operations
    ]
    saved = {(cls, name): cls.__dict__.get(name) for cls, name in patched}
    installed_before = list(seam._installed)
    try:
        installed = seam.install(providers)
        app = SandboxApp(
            DomainDispatcherApplication(_create_app_keeping_seed), installed, {"pid": 0}
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield {"endpoint": f"http://127.0.0.1:{server.server_port}", "providers": providers}
        server.shutdown()
    finally:
        for (cls, name), original in saved.items():
            if original is None:
                if name in cls.__dict__:
                    delattr(cls, name)
            else:
                setattr(cls, name, original)
        seam._installed[:] = installed_before


def client(service: str, endpoint: str):
    return sandbox_client(service, endpoint)


def test_override_replaces_moto(seam_server):
    calls.clear()
    iam = client("iam", seam_server["endpoint"])
    assert iam.list_account_aliases()["AccountAliases"] == [ALIAS]
    assert calls == [f"ListAccountAliases {config.SANDBOX_ACCOUNT_ID}"]


def test_error_is_rendered_like_aws(seam_server):
    iam = client("iam", seam_server["endpoint"])
    with pytest.raises(ClientError) as err:
        iam.create_account_alias(AccountAlias="taken")
    assert err.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert err.value.response["Error"]["Message"] == "The account alias taken already exists."
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_handler_can_run_moto_itself(seam_server):
    iam = client("iam", seam_server["endpoint"])
    iam.create_account_alias(AccountAlias="flovtrain")  # call.moto(): stored by moto
    from moto.iam.models import iam_backends

    assert iam_backends[config.SANDBOX_ACCOUNT_ID]["aws"].account_aliases == ["flovtrain"]


def test_added_operation_moto_lacks(seam_server):
    assert "describe_alarm_history" in CloudWatchResponse.__dict__
    cloudwatch = client("cloudwatch", seam_server["endpoint"])
    items = cloudwatch.describe_alarm_history(AlarmName="billing")["AlarmHistoryItems"]
    assert len(items) == 1
    assert items[0]["AlarmName"] == "billing"
    assert items[0]["HistorySummary"] == "Alarm updated from OK to ALARM in eu-west-1"
    assert items[0]["Timestamp"] == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_other_operations_fall_through_to_moto(seam_server):
    iam = client("iam", seam_server["endpoint"])
    user = iam.create_user(UserName="seam-alice")["User"]
    assert iam.get_user(UserName="seam-alice")["User"]["UserId"] == user["UserId"]
    cloudwatch = client("cloudwatch", seam_server["endpoint"])
    put_billing_alarm(cloudwatch, None, name="seam-billing", comparison="GreaterThanThreshold")
    alarms = cloudwatch.describe_alarms(AlarmNames=["seam-billing"])["MetricAlarms"]
    assert [a["AlarmName"] for a in alarms] == ["seam-billing"]


def test_routes_exact_and_prefix(seam_server):
    base = seam_server["endpoint"] + "/flovtrain-api/test-iam"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(base + "/echo") as response:
        assert json.loads(response.read())["path"] == "/flovtrain-api/test-iam/echo"
    with opener.open(base + "/git/repo.git/info/refs") as response:
        path = json.loads(response.read())["path"]
    assert path == "/flovtrain-api/test-iam/git/repo.git/info/refs"
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(base + "/nothing-here")
    assert err.value.code == 404
    assert "test-iam/echo" in json.loads(err.value.read())["endpoints"]


def test_install_is_idempotent(seam_server):
    method = IamResponse.__dict__["list_account_aliases"]
    providers = seam_server["providers"]
    again = seam.install(providers)
    assert IamResponse.__dict__["list_account_aliases"] is method  # not wrapped twice
    assert [p.name for p in again].count("test-iam") == 1
    calls.clear()
    client("iam", seam_server["endpoint"]).list_account_aliases()
    assert len(calls) == 1


def test_operations_without_a_class_are_refused():
    bad = seam.Provider(name="broken-test", operations={"ListThings": lambda call: {}})
    with pytest.raises(TypeError, match="broken-test"):
        seam.install([bad])
    assert all(p.name != "broken-test" for p in seam.installed())
