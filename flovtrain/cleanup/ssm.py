"""Cleanup of SSM Parameter Store: chapter 09's parameters (under ``/flovtrain/``)."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import PARAMETER_PATH
from flovtrain.cleanup._registry import Found, Scan, declare, listed, plan_row


def _describe(scan: Scan, region: str, param: dict[str, Any]) -> Found:
    return plan_row("09", param["Name"])


#: Only the workbook's parameters are listed at all.
_OURS = [{"Key": "Name", "Option": "BeginsWith", "Values": [PARAMETER_PATH]}]
PARAMETER = declare(
    "ssm parameter",
    190,
    listed("ssm", "describe_parameters", "Parameters", ParameterFilters=_OURS),
    _describe,
    ("delete_parameter", "Name"),
)
