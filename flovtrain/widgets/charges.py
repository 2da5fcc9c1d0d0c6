"""The billing alarm as a picture: EstimatedCharges against the alarm's threshold."""

from __future__ import annotations

from typing import Any

import boto3

from flovtrain.session import get_session
from flovtrain.views import cloudwatch
from flovtrain.widgets._figures import shown_as_png

ALARM_COLOUR = "#c62828"
LINE_COLOUR = "#1565c0"
_ABOVE = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold")


def _billing_alarm(
    alarm_name: str | None, region: str, session: boto3.Session | None
) -> dict[str, Any] | None:
    client = get_session(session, region).client("cloudwatch", region_name=region)
    if alarm_name:
        found = client.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
        if not found:
            raise ValueError(
                f"No CloudWatch alarm named {alarm_name!r} in {region}. Billing "
                "alarms live in us-east-1; list them with "
                f"flovtrain.views.cloudwatch.alarms({region!r})."
            )
        return found[0]
    billing = sorted(
        (
            a
            for a in cloudwatch.iter_alarms(region, session)
            if a.get("Namespace") == "AWS/Billing" and a.get("MetricName") == "EstimatedCharges"
        ),
        key=lambda a: a["AlarmName"],
    )
    return billing[0] if billing else None


def charges_plot(
    alarm_name: str | None = None,
    threshold: float | None = None,
    region: str = cloudwatch.BILLING_REGION,
    days: int = 14,
    session: boto3.Session | None = None,
) -> Any:
    """Plot the month-to-date EstimatedCharges (USD) with the alarm threshold and ALARM zone.

    Parameters
    ----------
    alarm_name : str, optional
        The billing alarm whose threshold and state to show. Default: the first alarm on
        AWS/Billing EstimatedCharges in ``region`` (none: just the series).
    threshold : float, optional
        Overrides the alarm's threshold (e.g. to preview one before creating the alarm).
    region : str
        Billing metrics live in us-east-1.
    days : int
        How many days of data to show.
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot, so a notebook shows it once (as the cell's value, a PNG).
        ``fig.axes[0]`` holds the series line (label ``EstimatedCharges``), the threshold line
        (label ``threshold``) and the shaded ALARM zone (label ``ALARM``).

    Examples
    --------
    >>> from flovtrain import widgets
    >>> fig = widgets.charges_plot("billing-10usd")       # doctest: +SKIP
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    alarm = _billing_alarm(alarm_name, region, session) if threshold is None or alarm_name else None
    if threshold is None and alarm is not None:
        threshold = float(alarm["Threshold"])
    above = alarm is None or alarm.get("ComparisonOperator") in _ABOVE
    series = cloudwatch.estimated_charges(region=region, days=days, session=session)

    with matplotlib.rc_context(
        {"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "flovtrain"}
    ):
        fig = Figure(figsize=(8, 3.6), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        times = series["timestamp"].dt.tz_localize(None)
        if len(series):
            ax.plot(times, series["usd"], marker="o", color=LINE_COLOUR, label="EstimatedCharges")
        else:
            ax.plot([], [], color=LINE_COLOUR, label="EstimatedCharges")
            ax.text(
                0.5,
                0.5,
                "no EstimatedCharges data yet",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="grey",
            )
        top = max([float(series["usd"].max()) if len(series) else 0.0, threshold or 0.0, 1.0])
        ax.set_ylim(0, top * 1.25)
        if threshold is not None:
            ax.axhline(
                threshold, color=ALARM_COLOUR, linestyle="--", linewidth=1.2, label="threshold"
            )
            low, high = (threshold, top * 1.25) if above else (0, threshold)
            ax.axhspan(low, high, color=ALARM_COLOUR, alpha=0.08, label="ALARM")
            ax.text(
                0.01,
                (threshold / (top * 1.25)) + 0.02,
                f"threshold {threshold:g} USD",
                transform=ax.transAxes,
                color=ALARM_COLOUR,
                va="bottom",
            )
        title = "AWS/Billing EstimatedCharges (Currency=USD, Maximum)"
        if alarm is not None:
            title += f" · alarm {alarm['AlarmName']}: {alarm.get('StateValue')}"
        ax.set_title(title, loc="left")
        ax.set_ylabel("USD, month to date")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
    # under Agg (nbval) IPython would only print "<Figure ...>": give it a PNG
    return shown_as_png(fig)
