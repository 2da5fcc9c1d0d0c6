"""The front doors the sandbox serves, as a table: DNS, load balancers, SSH, MySQL.

Ports AWS serves below 1024 (22, 80, 443) show the local port next to AWS's: the
sandbox serves them at ``aws_port + 10000`` unless it may bind the real one.

Examples
--------
>>> from flovtrain.views.endpoints import endpoints
>>> endpoints()                                         # doctest: +SKIP
  kind               name     address   port  aws_port
0  dns   route53-resolver   127.0.0.1  10053        53
1  elb  flovtec-prod-alb:80  127.21.0.1  10080        80
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain.views._frames import frame

COLUMNS = ["kind", "name", "address", "port", "aws_port"]


def iter_endpoints(session: boto3.Session | None = None) -> Iterator[dict[str, Any]]:
    """Yield the sandbox's endpoints as it lists them (``kind``, ``name``, ``address``, ...).

    Examples
    --------
    >>> next(iter_endpoints())["kind"]                  # doctest: +SKIP
    'dns'
    """
    from flovtrain import frontdoor

    yield from frontdoor.endpoints()


def endpoints(session: boto3.Session | None = None) -> pd.DataFrame:
    """Return what the sandbox serves on loopback, one row per front door.

    Parameters
    ----------
    session : boto3.Session, optional
        Unused (the list comes from the sandbox, not from an AWS API); kept like every view's.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind`` (``dns``, ``elb``, ``ssh``, ``rds``), ``name``, ``address``, ``port``
        (where it listens here), ``aws_port`` (the port AWS would use); sorted by kind, name.
        On real AWS: empty, with a warning.

    Examples
    --------
    >>> endpoints()[["kind", "port", "aws_port"]]        # doctest: +SKIP
      kind   port  aws_port
    0  dns  10053        53
    """
    from flovtrain.session import current

    if not current().is_sandbox:
        warnings.warn("endpoints() lists what the sandbox serves; real AWS has no such list.",
                      stacklevel=2)  # fmt: skip
        return frame([], COLUMNS)
    return frame(iter_endpoints(session), COLUMNS, sort=["kind", "name"])
