"""Provider for billing (being written: see the foundation issue)."""

from flovtrain.sandbox.seam import Provider

PROVIDER = Provider(name="billing")
