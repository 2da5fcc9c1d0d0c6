"""Figures a notebook shows as a picture, whatever matplotlib backend its kernel runs."""

from __future__ import annotations

import io
from typing import Any


def shown_as_png(fig: Any) -> Any:
    """Give ``fig`` a PNG representation and return it.

    A figure a cell returns is drawn by IPython only if something formats it as an image. With
    the inline backend (JupyterLab's default) matplotlib registers that formatter; under Agg
    (``MPLBACKEND=Agg``: nbval and ``tools/store_outputs.sh``) nothing does, and the stored
    output is just the text ``<Figure size 900x350 with 1 Axes>``. ``_repr_png_`` covers that
    case; where the inline formatter exists it wins, so the figure is still shown once.
    """
    fig._repr_png_ = lambda: png_bytes(fig)
    return fig


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes: the same figure gives the same bytes (no timestamp in them)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
