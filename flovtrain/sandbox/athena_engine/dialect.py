"""Old path of :mod:`flovtrain.sandbox.engines.athena.dialect` (re-exported for old imports)."""

from flovtrain.sandbox.engines.athena.dialect import joda_to_strftime, mark_joda, parse, to_duckdb

__all__ = ["joda_to_strftime", "mark_joda", "parse", "to_duckdb"]
