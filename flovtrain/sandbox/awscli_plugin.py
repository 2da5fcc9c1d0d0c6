"""AWS CLI v1 plugin: the services the CLI re-points stay on the sandbox.

AWS CLI v1 sends ``aws sqs``, ``rds``, ``emr``, ``docdb``, ``neptune`` and ``health`` to legacy
host names (``https://eu-west-1.queue.amazonaws.com`` …) whenever no ``--endpoint-url`` is
given, and that choice beats ``AWS_ENDPOINT_URL``: in the sandbox's terminal ``aws sqs
list-queues`` would try the internet (and the network guard would refuse it). ``flovtrain
sandbox env`` points ``AWS_CONFIG_FILE`` at a config that loads this plugin, which puts the
sandbox's endpoint back. Nothing changes on a real account: the plugin is only configured
for the sandbox, and it only acts while ``AWS_ENDPOINT_URL`` names a loopback address.

Examples
--------
The config :func:`flovtrain.sandbox.control.client_env` writes::

    [plugins]
    flovtrain = flovtrain.sandbox.awscli_plugin
"""

from __future__ import annotations

import os
from typing import Any

#: The section that loads this plugin (an AWS CLI config file).
CONFIG_TEXT = "[plugins]\nflovtrain = flovtrain.sandbox.awscli_plugin\n"


def awscli_initialize(cli: Any) -> None:
    """Called by the AWS CLI when it loads its plugins (after its own handlers)."""
    cli.register_last("before-building-argument-table-parser", keep_sandbox_endpoint)


def keep_sandbox_endpoint(parsed_globals: Any, **kwargs: Any) -> None:
    """Name the sandbox's endpoint unless ``--endpoint-url`` named another (not an AWS host).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566"
    >>> chosen = SimpleNamespace(endpoint_url=None)
    >>> keep_sandbox_endpoint(chosen)
    >>> chosen.endpoint_url
    'http://127.0.0.1:4566'
    >>> chosen = SimpleNamespace(endpoint_url="http://127.0.0.1:9999")  # --endpoint-url: kept
    >>> keep_sandbox_endpoint(chosen)
    >>> chosen.endpoint_url
    'http://127.0.0.1:9999'
    """
    sandbox = os.environ.get("AWS_ENDPOINT_URL", "")
    chosen = getattr(parsed_globals, "endpoint_url", None) or ""
    if not sandbox.startswith("http://127."):
        return
    # Plugins are initialised before the CLI's own handlers, so this usually runs first and
    # names the sandbox before the CLI would pick a legacy host; if it ran after, undo that.
    if not chosen or (
        chosen.startswith("https://") and chosen.rstrip("/").endswith(".amazonaws.com")
    ):
        parsed_globals.endpoint_url = sandbox
