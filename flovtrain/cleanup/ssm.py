"""Cleanup of SSM Parameter Store: chapter 09's parameters (under ``/flovtrain/``)."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import PARAMETER_PATH
from flovtrain.cleanup._registry import Found, Kind, Scan, call_with_id, listed, register


def _describe(scan: Scan, region: str, param: dict[str, Any]) -> Found:
    return {"chapter": "09", "name": param["Name"], "id": param["Name"]}


PARAMETER = register(
    Kind(
        "ssm parameter",
        "ssm",
        order=190,
        list=listed(
            "ssm",
            "describe_parameters",
            "Parameters",
            ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [PARAMETER_PATH]}],
        ),
        describe=_describe,
        delete=call_with_id("ssm", "delete_parameter", "Name"),
        removal="delete_parameter",
    )
)
