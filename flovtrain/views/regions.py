"""Regions, availability zones and which region offers which service.

Region names and the service/region table come from botocore's bundled endpoint data (the
"region table" of the talk), so they need no network; the live region list and availability
zones come from EC2.

Examples
--------
>>> from flovtrain.views import regions
>>> regions.region_name("eu-west-1")
'Europe (Ireland)'
>>> regions.service_availability(["cloud9", "codecommit", "athena"])   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pandas as pd

from flovtrain.exceptions import UnknownRegion, UnknownService
from flovtrain.session import get_session
from flovtrain.views._frames import frame, renamed

REGION_COLUMNS = ["region", "name", "opt_in_status"]
#: The columns of :func:`availability_zones` and the keys of EC2's zone entries they show.
ZONE_FIELDS = {
    "zone": "ZoneName",
    "zone_id": "ZoneId",
    "region": "RegionName",
    "zone_type": "ZoneType",
    "state": "State",
}
ZONE_COLUMNS = list(ZONE_FIELDS)
#: The services the talk's region check is about (its IDE, repo, CI/CD and query engine).
TALK_SERVICES = ("cloud9", "codecommit", "codebuild", "codedeploy", "codepipeline", "athena")

# Services the talk used that no longer have a boto3 client: say so instead of "unknown".
_GONE = {
    "codestar": "CodeStar was discontinued on 2024-07-31 and botocore has no 'codestar' client "
    "any more; its toolchain is CodeCommit + CodeBuild + CodeDeploy + CodePipeline.",
}


@lru_cache(maxsize=1)
def _endpoint_partitions() -> list[dict[str, Any]]:
    return botocore.loaders.create_loader().load_data("endpoints")["partitions"]


def _partition(partition: str) -> dict[str, Any]:
    for data in _endpoint_partitions():
        if data["partition"] == partition:
            return data
    names = ", ".join(p["partition"] for p in _endpoint_partitions())
    raise UnknownRegion(f"No partition {partition!r} in botocore's data; known: {names}.")


def partition_regions(partition: str = "aws") -> list[str]:
    """Return every region code of ``partition`` in botocore's data, sorted.

    Examples
    --------
    >>> "eu-west-1" in partition_regions()
    True
    """
    return sorted(_partition(partition)["regions"])


def region_name(code: str) -> str:
    """Return the long name of a region code, e.g. ``"Europe (Ireland)"``.

    Parameters
    ----------
    code : str
        A region code such as ``eu-west-1``.

    Raises
    ------
    UnknownRegion
        The code is in no partition of botocore's endpoint data.

    Examples
    --------
    >>> region_name("us-east-1")
    'US East (N. Virginia)'
    """
    for data in _endpoint_partitions():
        if code in data["regions"]:
            return data["regions"][code].get("description", code)
    known = ", ".join(partition_regions())
    raise UnknownRegion(
        f"{code!r} is not an AWS region code. Region codes look like "
        f"'eu-west-1'; the commercial ones are: {known}."
    )


def iter_regions(
    all_regions: bool = True, session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield EC2's ``describe_regions`` entries (RegionName, Endpoint, OptInStatus).

    Parameters
    ----------
    all_regions : bool
        Include regions the account has not opted in to.
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Examples
    --------
    >>> next(iter_regions())["RegionName"]      # doctest: +SKIP
    'af-south-1'
    """
    ec2 = get_session(session).client("ec2")
    yield from ec2.describe_regions(AllRegions=all_regions)["Regions"]


def regions(all_regions: bool = True, session: boto3.Session | None = None) -> pd.DataFrame:
    """Return the account's regions with their long names and opt-in status.

    Parameters
    ----------
    all_regions : bool
        Include regions the account has not opted in to (``not-opted-in``).
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Returns
    -------
    pandas.DataFrame
        Columns ``region``, ``name``, ``opt_in_status``; one row per region, sorted by code.

    Examples
    --------
    >>> df = regions()
    >>> df.loc[df.region == "eu-west-1", "name"].item()
    'Europe (Ireland)'
    """
    rows = []
    for item in iter_regions(all_regions, session):
        code = item["RegionName"]
        try:
            name = region_name(code)
        except UnknownRegion:
            name = code
        rows.append({"region": code, "name": name, "opt_in_status": item.get("OptInStatus")})
    return frame(rows, REGION_COLUMNS, sort=["region"])


def iter_availability_zones(
    region: str | None = None, session: boto3.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Yield EC2's ``describe_availability_zones`` entries for ``region``.

    Examples
    --------
    >>> next(iter_availability_zones("eu-west-1"))["ZoneName"]     # doctest: +SKIP
    'eu-west-1a'
    """
    ec2 = get_session(session, region).client("ec2", region_name=region)
    yield from ec2.describe_availability_zones()["AvailabilityZones"]


def availability_zones(
    region: str | None = None, session: boto3.Session | None = None
) -> pd.DataFrame:
    """Return the availability zones (data centres) of ``region``.

    Parameters
    ----------
    region : str, optional
        Defaults to the connection's region.
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Returns
    -------
    pandas.DataFrame
        Columns ``zone``, ``zone_id``, ``region``, ``zone_type``, ``state``, sorted by zone.

    Examples
    --------
    >>> availability_zones("eu-west-1").zone.tolist()      # doctest: +SKIP
    ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']
    """
    rows = (renamed(z, ZONE_FIELDS) for z in iter_availability_zones(region, session))
    return frame(rows, ZONE_COLUMNS, sort=["zone"])


def _check_service(service: str, session: boto3.Session) -> None:
    if service in _GONE:
        raise UnknownService(_GONE[service])
    if service not in session.get_available_services():
        raise UnknownService(
            f"boto3 has no client called {service!r}. Use the client name, e.g. 'codecommit', "
            "'cloud9', 'athena' (see boto3.Session().get_available_services())."
        )


def is_global_service(service: str, partition: str = "aws") -> bool:
    """Return whether ``service`` has one global endpoint (IAM, Budgets, ...) in ``partition``.

    Examples
    --------
    >>> is_global_service("iam"), is_global_service("ec2")
    (True, False)
    """
    prefix = botocore.session.get_session().get_service_model(service).endpoint_prefix
    data = _partition(partition)["services"].get(prefix, {})
    return data.get("isRegionalized", True) is False


def _offering_regions(service: str, session: boto3.Session, partition: str) -> list[str]:
    _check_service(service, session)
    if is_global_service(service, partition):
        return partition_regions(partition)  # one endpoint, usable from every region
    return sorted(session.get_available_regions(service, partition_name=partition))


def service_regions(
    service: str, partition: str = "aws", session: boto3.Session | None = None
) -> pd.DataFrame:
    """Return the regions that offer ``service``, per botocore's endpoint data.

    A global service (IAM, Budgets, ...) is listed in every region, and the frame's
    ``attrs["global"]`` is True.

    Parameters
    ----------
    service : str
        A boto3 client name, e.g. ``"cloud9"``.
    partition : str
        ``aws`` (default), ``aws-cn``, ``aws-us-gov``, ...
    session : boto3.Session, optional
        Any boto3 session (only its bundled data is read; no call is made).

    Raises
    ------
    UnknownService
        No boto3 client has that name (CodeStar gets its own explanation).

    Examples
    --------
    >>> "eu-west-1" in service_regions("cloud9").region.tolist()
    True
    """
    session = session or boto3.Session()
    codes = _offering_regions(service, session, partition)
    df = frame(
        [{"region": c, "name": region_name(c)} for c in codes], ["region", "name"], sort=["region"]
    )
    df.attrs["global"] = is_global_service(service, partition)
    return df


def service_availability(
    services: Sequence[str] = TALK_SERVICES,
    regions: Sequence[str] | None = None,
    partition: str = "aws",
    session: boto3.Session | None = None,
) -> pd.DataFrame:
    """Return a region x service matrix: which region offers which service.

    Parameters
    ----------
    services : sequence of str
        boto3 client names; defaults to the talk's developer tools plus Athena.
    regions : sequence of str, optional
        Region codes to show; defaults to every region of the partition.
    partition : str
        ``aws`` by default.
    session : boto3.Session, optional
        Any boto3 session (only its bundled data is read).

    Returns
    -------
    pandas.DataFrame
        Columns ``region``, ``name``, then one bool column per service; sorted by region.

    Raises
    ------
    UnknownService, UnknownRegion

    Examples
    --------
    >>> m = service_availability(["cloud9", "athena"], regions=["eu-west-1"])
    >>> bool(m.loc[0, "cloud9"])
    True
    """
    if isinstance(services, str):
        services = [services]
    session = session or boto3.Session()
    offered = {s: set(_offering_regions(s, session, partition)) for s in services}
    codes = list(regions) if regions is not None else partition_regions(partition)
    rows = []
    for code in codes:
        row: dict[str, Any] = {"region": code, "name": region_name(code)}
        row.update({s: code in offered[s] for s in services})
        rows.append(row)
    df = frame(rows, ["region", "name", *services], sort=["region"])
    return df.astype({s: bool for s in services})
