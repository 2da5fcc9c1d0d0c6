"""Small status widgets: an alarm-state badge and an account overview for chapters 01-03."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import boto3
import pandas as pd

from flovtrain.views import account, budgets, cloudwatch, iam
from flovtrain.widgets._static import choose, live_panel, table_html, titled

STATE_COLOURS = {"OK": "#2e7d32", "ALARM": "#c62828", "INSUFFICIENT_DATA": "#757575"}


def _refreshable(title: str, render: Callable[[], str]) -> Any:
    """A live panel with a Refresh button, or (static mode) the rendered HTML under ``title``."""
    return choose(lambda: live_panel(title, render), lambda: titled(title, render()))


def _badges(name: str | None, region: str, session: boto3.Session | None) -> str:
    df = cloudwatch.alarms(region, session=session)
    if name is not None:
        df = df[df["name"] == name]
        if df.empty:
            return f"<p><i>No alarm named {html.escape(name)} in {html.escape(region)}.</i></p>"
    if df.empty:
        return f"<p><i>No alarms in {html.escape(region)} yet.</i></p>"
    parts = []
    for row in df.itertuples():
        colour = STATE_COLOURS.get(row.state, "#757575")
        detail = f"{row.metric} {row.comparison} {row.threshold:g}"
        parts.append(
            f'<span style="display:inline-block;margin:2px 6px 2px 0;padding:2px 8px;'
            f'border-radius:10px;color:white;background:{colour};font-family:monospace">'
            f"{html.escape(row.name)}: {html.escape(str(row.state))}</span>"
            f'<span style="color:#555">{html.escape(detail)}</span><br>'
        )
    return "".join(parts)


def alarm_badge(
    name: str | None = None,
    region: str = cloudwatch.BILLING_REGION,
    session: boto3.Session | None = None,
) -> Any:
    """Show each alarm's state (OK / ALARM / INSUFFICIENT_DATA) as a coloured badge.

    Parameters
    ----------
    name : str, optional
        One alarm; default every alarm in ``region``.
    region : str
        Billing alarms live in us-east-1.
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Returns
    -------
    ipywidgets.VBox (with a Refresh button) or, in static mode, IPython.display.HTML

    Examples
    --------
    >>> from flovtrain import widgets
    >>> widgets.alarm_badge("billing-10usd")        # doctest: +SKIP
    """
    title = f"Alarm {name}" if name else f"Alarms in {region}"
    return _refreshable(title, lambda: _badges(name, region, session))


def overview_table(
    region: str = cloudwatch.BILLING_REGION, session: boto3.Session | None = None
) -> pd.DataFrame:
    """Return the account's first-day checklist as a two-column frame (``item``, ``value``).

    Examples
    --------
    >>> overview_table().item.tolist()[:2]
    ['Account', 'Sign-in URL']
    """
    summary = account.account_summary(session).set_index("name")["value"]
    alarms = cloudwatch.alarms(region, session=session)
    states = ", ".join(f"{n}={s}" for n, s in zip(alarms["name"], alarms["state"], strict=True))
    policy = iam.password_policy(session)
    rows = [
        ("Account", account.account_id(session)),
        ("Sign-in URL", account.signin_url(session)),
        ("Root MFA enabled", "yes" if int(summary.get("AccountMFAEnabled", 0)) else "no"),
        ("Users", int(summary.get("Users", 0))),
        ("Groups", int(summary.get("Groups", 0))),
        ("MFA devices in use", int(summary.get("MFADevicesInUse", 0))),
        ("Password policy", "set" if len(policy) else "AWS default"),
        (f"Alarms ({region})", states or "none"),
        ("Budgets", ", ".join(budgets.budgets(session)["name"]) or "none"),
    ]
    return pd.DataFrame(rows, columns=["item", "value"]).astype({"value": str})


def account_overview(
    region: str = cloudwatch.BILLING_REGION, session: boto3.Session | None = None
) -> Any:
    """Show the account's first-day checklist: sign-in URL, MFA, users, alarms, budgets.

    Returns
    -------
    ipywidgets.VBox (with a Refresh button) or, in static mode, IPython.display.HTML

    Examples
    --------
    >>> from flovtrain import widgets
    >>> widgets.account_overview()                  # doctest: +SKIP
    """
    return _refreshable("Account overview", lambda: table_html(overview_table(region, session), ""))
