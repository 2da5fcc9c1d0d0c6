"""The embedded sandbox: one local moto server process completed by flovtrain's providers.

Client-side functions live in :mod:`flovtrain.sandbox.control`; the server process in
:mod:`flovtrain.sandbox.server`; the provider seam in :mod:`flovtrain.sandbox.seam`; the
providers (AWS requests in and out) in :mod:`flovtrain.sandbox.providers`; the runtimes they
drive (builds, deployments, pipelines, instances, git, Athena) in
:mod:`flovtrain.sandbox.engines`.
"""
