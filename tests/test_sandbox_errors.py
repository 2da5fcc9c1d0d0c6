"""A Python error inside the sandbox reaches boto3 as a clear AWS error, not an HTML 500."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from flovtrain.sandbox import control


def test_an_operation_moto_lacks_says_so_without_retries():
    iam = boto3.client("iam")
    with pytest.raises(ClientError) as caught:
        iam.generate_service_last_accessed_details(Arn="arn:aws:iam::123456789012:user/imre")
    error = caught.value.response["Error"]
    assert error["Code"] == "SandboxUnsupported"
    assert "iam:GenerateServiceLastAccessedDetails" in error["Message"]
    assert "works on real AWS" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_a_crash_inside_moto_names_the_operation_and_the_log():
    sns = boto3.client("sns", region_name="xx-nowhere-1")  # moto has no backend there: KeyError
    with pytest.raises(ClientError) as caught:
        sns.list_topics()
    error = caught.value.response["Error"]
    assert error["Code"] == "SandboxInternalError"
    assert "sns:ListTopics" in error["Message"] and "KeyError" in error["Message"]
    assert str(control.log_path()) in error["Message"]
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    # the traceback went to the log, and the sandbox still answers
    assert "Traceback" in control.log_path().read_text(errors="replace")
    assert boto3.client("sns").list_topics()["Topics"] is not None
