"""The Athena engine's old import path; it lives in :mod:`flovtrain.sandbox.engines.athena`."""
