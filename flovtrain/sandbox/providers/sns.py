"""Provider for sns (being written: see the foundation issue)."""

from flovtrain.sandbox.seam import Provider

PROVIDER = Provider(name="sns")
