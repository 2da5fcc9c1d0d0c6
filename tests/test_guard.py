"""The real-AWS guard in connect(): explicit opt-in, the named account, nothing else.

STS is stubbed with botocore's Stubber (it answers before anything is signed or sent), and
the network guard stays armed where possible: these tests never reach the network.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from flovtrain import config, session
from flovtrain.exceptions import RealAwsNotAllowed
from flovtrain.sandbox import control, netguard

ENV_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "NO_PROXY",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    config.BACKEND_VAR,
    config.ACCOUNT_VAR,
)


@pytest.fixture
def kernel(monkeypatch):
    """A pristine 'kernel': env, current connection and guard state restored afterwards."""
    import os

    for name in ENV_VARS:  # record originals; monkeypatch puts them back
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(session, "_current", {})
    monkeypatch.setitem(netguard._state, "active", netguard._state["active"])
    yield monkeypatch
    boto3.setup_default_session()


@pytest.fixture
def sts_account(monkeypatch):
    """Make every STS client answer get_caller_identity with a given account, offline."""
    answered: list[str] = []
    real_client = boto3.session.Session.client

    def install(account: str | None) -> list[str]:
        def client(self, service_name, *args, **kwargs):
            made = real_client(self, service_name, *args, **kwargs)
            if service_name == "sts":
                stub = Stubber(made)
                if account is not None:
                    stub.add_response(
                        "get_caller_identity",
                        {
                            "UserId": "AIDAEXAMPLE",
                            "Account": account,
                            "Arn": f"arn:aws:iam::{account}:user/someone",
                        },
                    )
                stub.activate()  # no response queued: any call fails, nothing is sent
                answered.append(account or "")
            return made

        monkeypatch.setattr(boto3.session.Session, "client", client)
        return answered

    return install


def test_aws_without_account_is_refused_before_any_call(kernel, sts_account):
    asked = sts_account(None)
    kernel.setenv(config.BACKEND_VAR, "aws")
    kernel.delenv(config.ACCOUNT_VAR, raising=False)
    with pytest.raises(RealAwsNotAllowed) as err:
        session.connect(quiet=True)
    message = str(err.value)
    assert config.BACKEND_VAR in message and config.ACCOUNT_VAR in message
    assert asked == []  # refused before STS was even asked
    assert "conn" not in session._current


def test_mismatching_account_is_refused(kernel, sts_account):
    netguard.install()  # a sandbox-mode kernel switching to AWS
    endpoint = control.endpoint()
    kernel.setenv("AWS_ENDPOINT_URL", endpoint)
    sts_account("999999999999")
    kernel.setenv(config.BACKEND_VAR, "aws")
    kernel.setenv(config.ACCOUNT_VAR, "111111111111")
    with pytest.raises(RealAwsNotAllowed) as err:
        session.connect(quiet=True)
    message = str(err.value)
    assert "999999999999" in message and "111111111111" in message
    assert config.ACCOUNT_VAR in message
    assert "conn" not in session._current
    # refused: the kernel keeps its guard and its sandbox endpoint
    assert netguard.active()
    import os

    assert os.environ["AWS_ENDPOINT_URL"] == endpoint


def test_matching_account_is_accepted(kernel, sts_account, capsys):
    asked = sts_account("111111111111")
    kernel.setenv(config.BACKEND_VAR, "AWS")  # case does not matter
    kernel.setenv(config.ACCOUNT_VAR, " 111111111111 ")
    conn = session.connect(region="us-east-1")
    assert asked == ["111111111111"]
    assert (conn.backend, conn.account_id, conn.region, conn.endpoint) == (
        "aws",
        "111111111111",
        "us-east-1",
        None,
    )
    assert not conn.is_sandbox
    assert not netguard.active()
    import os

    assert "AWS_ENDPOINT_URL" not in os.environ  # the sandbox endpoint was dropped
    out = capsys.readouterr().out
    assert "REAL AWS" in out and "account=111111111111" in out and "region=us-east-1" in out
    assert session.current() is conn


@pytest.mark.parametrize("value", ["prod", "localstack", "aws2"])
def test_unknown_backend_is_refused(kernel, value):
    kernel.setenv(config.BACKEND_VAR, value)
    with pytest.raises(RealAwsNotAllowed) as err:
        session.connect(quiet=True)
    assert repr(value) in str(err.value)
    assert "'sandbox'" in str(err.value) and "'aws'" in str(err.value)


def test_sandbox_banner_shows_backend_account_region(kernel, capsys):
    kernel.delenv(config.BACKEND_VAR, raising=False)
    conn = session.connect(region="eu-central-1")
    out = capsys.readouterr().out.strip()
    endpoint = control.endpoint()
    assert out == (
        f"flovtrain: backend=sandbox {endpoint} · account={config.SANDBOX_ACCOUNT_ID}"
        " · region=eu-central-1"
    )
    assert conn.is_sandbox and netguard.active()
    assert "#2e7d32" in conn._repr_html_() and out in conn._repr_html_()
    sts = boto3.client("sts")  # plain boto3 now reaches the sandbox
    assert sts.get_caller_identity()["Account"] == config.SANDBOX_ACCOUNT_ID
    assert session.get_session().region_name == "eu-central-1"
    assert session.get_session(region="us-east-1").region_name == "us-east-1"
