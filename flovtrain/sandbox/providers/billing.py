"""Billing provider: simulated charges, published where AWS publishes them.

On AWS, billing data appears by itself: ``AWS/Billing`` ``EstimatedCharges`` (dimension
``Currency=USD``, the month-to-date estimate) in us-east-1 only, a few times a day. Nobody may
``PutMetricData`` into an ``AWS/...`` namespace (the CloudWatch provider refuses it), so the
sandbox offers one sandbox-only endpoint instead::

    POST /flovtrain-api/billing/simulate-charges
    {"usd": 12.5, "account_id": "123456789012" (optional), "timestamp": ISO 8601 (optional)}

It writes the datapoint straight into moto's CloudWatch backend of that account in us-east-1,
evaluates the alarms watching it at once (so a billing alarm fires within the request), applies
the spend to the account's budgets and returns JSON with the datapoint and what changed.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from flovtrain import config
from flovtrain.sandbox.engines.alarms import aws_time
from flovtrain.sandbox.providers import budgets, cloudwatch
from flovtrain.sandbox.seam import Provider

BILLING_REGION = "us-east-1"
NAMESPACE = "AWS/Billing"
METRIC = "EstimatedCharges"


def _bad(message: str) -> Any:
    from werkzeug.wrappers import Response

    return Response(json.dumps({"error": message}), status=400, mimetype="application/json")


def _parse(request: Any) -> tuple[float, str, datetime] | str:
    """Return (usd, account id, naive UTC timestamp), or an error message."""
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        return 'The body must be JSON, e.g. {"usd": 12.5}.'
    if not isinstance(body, dict) or "usd" not in body:
        return 'Send the month-to-date estimate as JSON, e.g. {"usd": 12.5}.'
    usd = body["usd"]
    if isinstance(usd, bool):
        return f"usd must be a number of US dollars, e.g. 12.5; got {usd!r}."
    if not isinstance(usd, (int, float)):
        try:
            usd = float(usd)
        except (TypeError, ValueError):
            return f"usd must be a number of US dollars, e.g. 12.5; got {body['usd']!r}."
    usd = float(usd)
    if math.isnan(usd) or math.isinf(usd):
        return f"usd must be a finite number of US dollars; got {body['usd']!r}."
    if usd < 0:
        return (
            f"usd must be 0 or more: EstimatedCharges is the month-to-date total and never "
            f"negative; got {usd}."
        )
    account_id = str(body.get("account_id") or config.SANDBOX_ACCOUNT_ID)
    if not (len(account_id) == 12 and account_id.isdigit()):
        return f"account_id must be a 12-digit AWS account id; got {account_id!r}."
    raw = body.get("timestamp")
    if raw in (None, ""):
        when = datetime.now(UTC).replace(tzinfo=None)
    else:
        try:
            parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            return f"timestamp must be ISO 8601, e.g. 2026-11-28T08:00:00Z; got {raw!r}."
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        when = parsed
    return usd, account_id, when


def record_charges(usd: float, account_id: str, when: datetime) -> dict[str, Any]:
    """Write the datapoint, evaluate alarms, apply budgets; return what happened."""
    from moto.cloudwatch.models import MetricDatum

    dimensions = [{"Name": "Currency", "Value": "USD"}]
    with cloudwatch.LOCK:
        backend = cloudwatch._backend(account_id, BILLING_REGION)
        backend.metric_data.append(
            MetricDatum(NAMESPACE, METRIC, float(usd), dimensions, when, None)
        )
        changes = cloudwatch.evaluate(account_id, BILLING_REGION, NAMESPACE, {METRIC})
    alerts = budgets.on_charges(account_id, usd)
    return {
        "datapoint": {
            "account_id": account_id,
            "region": BILLING_REGION,
            "namespace": NAMESPACE,
            "metric_name": METRIC,
            "dimensions": dimensions,
            "value": float(usd),
            "timestamp": aws_time(when),
        },
        "alarm_changes": changes,
        "budget_alerts": alerts,
    }


def simulate_charges_route(request: Any) -> Any:
    from werkzeug.wrappers import Response

    if request.method != "POST":
        return Response(
            json.dumps({"error": 'POST {"usd": 12.5} to simulate charges'}),
            status=405,
            mimetype="application/json",
        )
    parsed = _parse(request)
    if isinstance(parsed, str):
        return _bad(parsed)
    result = record_charges(*parsed)
    return Response(json.dumps(result, default=str), mimetype="application/json")


PROVIDER = Provider(name="billing", routes={"simulate-charges": simulate_charges_route})
