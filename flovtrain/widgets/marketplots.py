"""Market-data plots with matplotlib: price lines, daily candlesticks, VWAP.

Each returns a matplotlib Figure, closed in pyplot (a cell shows it once, as its value) and
displayed as a PNG under any backend, Agg (nbval) included.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from flovtrain.widgets._figures import shown_as_png

FIGSIZE = (9, 3.5)  # inches; at DPI a 900x350 picture
DPI = 100


def price_lines(
    df: pd.DataFrame, x: str = "day", y: str = "close", by: str = "symbol", normalize: bool = True
) -> Any:
    """Plot one line per symbol (normalized to 100 at the start so BTC and SOL share an axis).

    Examples
    --------
    >>> fig = price_lines(daily)            # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    for name, part in df.sort_values(x).groupby(by):
        values = part[y] / part[y].iloc[0] * 100 if normalize else part[y]
        ax.plot(part[x], values, label=name)
    ax.set_ylabel(f"{y} (start = 100)" if normalize else y)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return shown_as_png(fig)


def candlesticks(df: pd.DataFrame, x: str = "day", title: str = "") -> Any:
    """Daily candlesticks from columns open, high, low, close (green up, red down)."""
    import matplotlib.pyplot as plt

    data = df.sort_values(x).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    for i, row in data.iterrows():
        colour = "#2e7d32" if row.close >= row.open else "#c62828"
        ax.vlines(i, row.low, row.high, color=colour, linewidth=1)
        ax.bar(
            i,
            abs(row.close - row.open) or 1e-9,
            bottom=min(row.open, row.close),
            width=0.6,
            color=colour,
        )
    step = max(1, len(data) // 8)
    ax.set_xticks(range(0, len(data), step))
    ax.set_xticklabels([str(v)[:10] for v in data[x][::step]], rotation=30)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return shown_as_png(fig)


def vwap(
    df: pd.DataFrame, x: str = "hour", price: str = "close", vwap_col: str = "vwap", title: str = ""
) -> Any:
    """Plot price and VWAP on one axis."""
    import matplotlib.pyplot as plt

    data = df.sort_values(x)
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    ax.plot(data[x], data[price], label=price, linewidth=1)
    ax.plot(data[x], data[vwap_col], label="VWAP", linewidth=1.5)
    ax.legend()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return shown_as_png(fig)
