"""Notebook widgets for chapters 01-03: billing plot, inbox, alarm badge, account overview.

Each helper returns a live ipywidgets object, or, when ``FLOVTRAIN_STATIC_WIDGETS=1`` (set under
nbval), static HTML that a stored notebook can compare. ``charges_plot`` returns a matplotlib
Figure in both modes.

Examples
--------
>>> from flovtrain import widgets
>>> widgets.inbox("aws1@flovtec.com")            # doctest: +SKIP
>>> widgets.charges_plot("billing-10usd")        # doctest: +SKIP
"""

from flovtrain.widgets._static import static_widgets
from flovtrain.widgets.charges import charges_plot
from flovtrain.widgets.inbox import inbox
from flovtrain.widgets.overview import account_overview, alarm_badge, overview_table

__all__ = [
    "account_overview",
    "alarm_badge",
    "charges_plot",
    "inbox",
    "overview_table",
    "static_widgets",
]
