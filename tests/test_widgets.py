"""Widgets: static HTML under FLOVTRAIN_STATIC_WIDGETS=1, live ipywidgets otherwise; the plot."""

from __future__ import annotations

import datetime as dt
import html

import boto3
import ipywidgets
import pytest
from IPython.display import HTML
from matplotlib.figure import Figure
from provider_fixtures import put_billing_alarm

import flovtrain
from flovtrain import widgets
from flovtrain.billing import simulate_charges
from flovtrain.sandbox import control
from flovtrain.views import cloudwatch
from flovtrain.widgets.overview import STATE_COLOURS

EMAIL = "aws1@flovtec.com"


@pytest.fixture(scope="module")
def alarm():
    control.reset()
    flovtrain.connect(quiet=True)
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="billing-alarm")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=EMAIL)
    put_billing_alarm(boto3.client("cloudwatch", region_name="us-east-1"), topic)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for hours, usd in ((12, 2.0), (6, 6.5), (0, 11.0)):
        simulate_charges(usd, timestamp=now - dt.timedelta(hours=hours))
    return topic


@pytest.fixture
def static(monkeypatch):
    monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", "1")


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", "0")


def _pane(box: ipywidgets.VBox) -> str:
    return box.children[1].value


def test_switch_follows_the_environment(monkeypatch):
    for value, expected in (("1", True), ("true", True), ("0", False), ("", False)):
        monkeypatch.setenv("FLOVTRAIN_STATIC_WIDGETS", value)
        assert widgets.static_widgets() is expected


def test_static_widgets_are_html(alarm, static):
    inbox = widgets.inbox(EMAIL)
    assert isinstance(inbox, HTML)
    assert 'ALARM: "billing-10usd"' in html.unescape(inbox.data)
    assert EMAIL in inbox.data and "<table" in inbox.data
    badge = widgets.alarm_badge("billing-10usd")
    assert isinstance(badge, HTML) and "billing-10usd: ALARM" in badge.data
    assert STATE_COLOURS["ALARM"] in badge.data
    overview = widgets.account_overview()
    assert isinstance(overview, HTML)
    assert "https://123456789012.signin.aws.amazon.com/console" in overview.data
    assert "billing-10usd=ALARM" in overview.data
    assert "No messages to nobody@example.com yet" in widgets.inbox("nobody@example.com").data


def test_live_widgets_are_ipywidgets_that_refresh(alarm, live):
    box = widgets.inbox(EMAIL)
    assert isinstance(box, ipywidgets.VBox)
    before = _pane(box)
    assert before.count("</tr>") == 2  # header + the alarm's e-mail
    boto3.client("sns", region_name="us-east-1").publish(
        TopicArn=alarm, Subject="second message", Message="hello"
    )
    button = box.children[0].children[1]
    assert isinstance(button, ipywidgets.Button)
    button.click()
    assert "second message" in _pane(box) and _pane(box).count("</tr>") == 3
    badge = widgets.alarm_badge()
    assert isinstance(badge, ipywidgets.VBox) and "billing-10usd: ALARM" in _pane(badge)
    assert isinstance(widgets.account_overview(), ipywidgets.VBox)


def test_overview_table(alarm):
    table = widgets.overview_table().set_index("item")["value"]
    assert table["Account"] == "123456789012"
    assert table["Alarms (us-east-1)"] == "billing-10usd=ALARM"
    assert table["Root MFA enabled"] == "no"


def test_charges_plot_shows_series_threshold_and_alarm_zone(alarm):
    fig = widgets.charges_plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert (
        list(lines["EstimatedCharges"].get_ydata())
        == cloudwatch.estimated_charges().usd.tolist()
        == [2.0, 6.5, 11.0]
    )
    assert list(lines["threshold"].get_ydata()) == [10.0, 10.0]
    zone = [p for p in ax.patches if p.get_label() == "ALARM"]
    assert len(zone) == 1
    assert zone[0].get_y() == 10.0 and zone[0].get_height() > 0  # shaded above the line
    assert "billing-10usd: ALARM" in ax.get_title(loc="left")


def test_charges_plot_threshold_override_and_unknown_alarm(alarm):
    fig = widgets.charges_plot(threshold=5.0)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert list(lines["threshold"].get_ydata()) == [5.0, 5.0]
    with pytest.raises(ValueError, match="No CloudWatch alarm named 'nope'"):
        widgets.charges_plot("nope")


def test_charges_plot_without_data(live):
    control.reset()
    fig = widgets.charges_plot()
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["EstimatedCharges"]
    assert any("no EstimatedCharges data yet" in t.get_text() for t in fig.axes[0].texts)


def test_charges_plot_displays_as_png_in_a_kernel():
    """IPython shows the figure as an image, not just ``<Figure ...>`` (it is not in pyplot)."""
    from IPython.core.formatters import PNGFormatter

    from flovtrain import widgets

    png = PNGFormatter()(widgets.charges_plot(threshold=10.0))
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"


def _market_frames():
    import pandas as pd

    days = pd.date_range("2025-01-01", periods=6, freq="D", tz="UTC")
    daily = pd.DataFrame(
        [
            {
                "symbol": symbol,
                "day": day,
                "open": base + i,
                "high": base + i + 2,
                "low": base + i - 2,
                "close": base + i + (1 if i % 2 else -1),
            }
            for symbol, base in (("BTCUSDT", 100.0), ("ETHUSDT", 10.0))
            for i, day in enumerate(days)
        ]
    )
    hours = pd.date_range("2025-01-01", periods=12, freq="h", tz="UTC")
    hourly = pd.DataFrame(
        {
            "hour": hours,
            "close": [1.0 + i / 10 for i in range(12)],
            "vwap": [1.05 + i / 10 for i in range(12)],
        }
    )
    return daily, hourly


def test_market_plots_display_as_the_same_png_each_time():
    """Chapter 08's charts are stored as pictures under Agg (nbval), not as ``<Figure ...>``,
    and drawing the same data twice gives the same bytes."""
    import matplotlib.pyplot as plt
    from IPython.core.formatters import PlainTextFormatter, PNGFormatter

    from flovtrain.widgets import marketplots

    daily, hourly = _market_frames()
    plots = {
        "price_lines": lambda: marketplots.price_lines(daily),
        "candlesticks": lambda: marketplots.candlesticks(daily[daily.symbol == "BTCUSDT"]),
        "vwap": lambda: marketplots.vwap(hourly, title="VWAP"),
    }
    for name, plot in plots.items():
        fig = plot()
        png = PNGFormatter()(fig)
        assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n", name
        assert PNGFormatter()(plot()) == png, name
        assert PlainTextFormatter()(fig) == "<Figure size 900x350 with 1 Axes>", name
        assert fig not in map(plt.figure, plt.get_fignums()), name  # closed: shown once
