"""Find and remove everything the workbook created: a plan first, then (only if asked) deletion.

:func:`plan` lists, as one table, every resource the chapters create — found by the names the
chapters use and by the tag ``flovtrain:workshop`` where AWS supports tags — with how it is
removed and whether it costs money while it exists. :func:`run` removes the rows of a plan
(a dry run unless you pass ``dry_run=False``), in an order that respects dependencies (alarms
before topics, buckets emptied before their stack goes, users stripped before their group).
It never touches anything that is not a row of the plan, and it is idempotent: a second run
finds nothing to do, and a stale plan reports ``already gone`` instead of failing.

Each resource is handled on its own: one that vanishes while the plan is made is simply not
listed (the others of its service are), one that cannot be read is left out with a
:class:`CleanupWarning`, and one that cannot be removed is reported as ``failed: <why>`` while
the others are removed.

Some rows are *kept* by default (``keep`` column): the account alias and the password policy
cost nothing and keep the account safer. Pass ``keep=(..., "billing-alerts")`` to keep the
billing alarm, its topic and the budget too (all free, and useful for as long as the account
lives). A root account's MFA device is never removed.

Chapter 07's PROD account is another account: pass a session of it (``flovtec.assume_role``)
as ``session=`` to both functions.

Local files are not part of the plan: :func:`local_credentials` lists the credential files in
``credentials/`` (their keys no longer work once the users are deleted) and
:func:`remove_local_credentials` deletes them (dry run by default).

Every kind of resource is declared once, in the module of its service (``cleanup/sqs.py``,
``cleanup/iam.py``, ...): how to list it, how to tell one of ours, how to remove it and when
(:class:`~flovtrain.cleanup._registry.Kind`). :data:`KINDS` holds them all; :data:`ORDER` is the
removal order they declare.

Examples
--------
>>> import flovtrain
>>> from flovtrain import cleanup
>>> conn = flovtrain.connect()                          # doctest: +SKIP
>>> todo = cleanup.plan()                               # doctest: +SKIP
>>> cleanup.run(todo)                                   # doctest: +SKIP  (dry run: "would delete")
>>> cleanup.run(todo, dry_run=False)                    # doctest: +SKIP
>>> len(cleanup.plan().query("not keep"))               # doctest: +SKIP
0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

# one module per service: importing it registers its kinds
from flovtrain.cleanup import (  # noqa: F401 - imported for the kinds they register
    analytics,
    budgets,
    cloudformation,
    cloudtrail,
    cloudwatch,
    codebuild,
    codedeploy,
    codepipeline,
    ec2,
    elbv2,
    firehose,
    glacier,
    iam,
    logs,
    rds,
    route53,
    s3,
    sns,
    sqs,
    ssm,
)
from flovtrain.cleanup._local import LOCAL_COLUMNS, local_credentials, remove_local_credentials
from flovtrain.cleanup._names import (
    BILLING_ALARMS,
    BILLING_TOPIC,
    BUCKET_PREFIXES,
    BUDGETS,
    GLUE_DATABASES,
    GONE,
    GROUPS,
    LOG_GROUP_PREFIXES,
    PARAMETER_PATH,
    PREFIX,
    PREFIXES,
    ROOT_MFA_DEVICE,
    USERS,
    WORKGROUPS,
    gone,
    why,
)
from flovtrain.cleanup._registry import COLUMNS, GLOBAL, KINDS, CleanupWarning, Kind, Scan, ordered
from flovtrain.cleanup.cloudformation import STACK_GONE
from flovtrain.exceptions import FlovtrainError
from flovtrain.session import get_session

RESULT_COLUMNS = [*COLUMNS, "result"]
DEFAULT_REGIONS = ("eu-west-1", "us-east-1")

#: What ``keep`` may name besides a row's kind or name: whole groups of rows.
KEEP_GROUPS: dict[str, set[str]] = {
    "billing-alerts": {BILLING_TOPIC, *BILLING_ALARMS[:1], *BUDGETS},
}
#: Kept unless you say otherwise: free, and the account is safer with them.
DEFAULT_KEEP = ("account alias", "password policy")
#: Order of removal (dependencies first), as the kinds declare it.
ORDER = [kind.name for kind in ordered()]

__all__ = [
    "plan",
    "iter_plan",
    "run",
    "summary",
    "local_credentials",
    "remove_local_credentials",
    "COLUMNS",
    "RESULT_COLUMNS",
    "LOCAL_COLUMNS",
    "DEFAULT_REGIONS",
    "DEFAULT_KEEP",
    "KEEP_GROUPS",
    "ORDER",
    "KINDS",
    "GLOBAL",
    "GONE",
    "STACK_GONE",
    "Kind",
    "CleanupWarning",
    "PREFIX",
    "PREFIXES",
    "USERS",
    "GROUPS",
    "ROOT_MFA_DEVICE",
    "BILLING_TOPIC",
    "BILLING_ALARMS",
    "BUDGETS",
    "BUCKET_PREFIXES",
    "WORKGROUPS",
    "GLUE_DATABASES",
    "PARAMETER_PATH",
    "LOG_GROUP_PREFIXES",
]


def _kept(row: dict[str, Any], keep: Iterable[str]) -> bool:
    for word in keep:
        names = KEEP_GROUPS.get(word, {word})
        short = row["kind"].split(" ", 1)[-1]  # "account alias" for "iam account alias"
        if row["kind"] in names or short in names or row["name"] in names:
            return True
        if row["kind"] == "sns subscription" and row["name"].split(" → ")[0] in names:
            return True
    return False


def iter_plan(
    session: boto3.Session | None = None,
    regions: Iterable[str] = DEFAULT_REGIONS,
    keep: Iterable[str] = DEFAULT_KEEP,
) -> Iterator[dict[str, Any]]:
    """Yield the rows of :func:`plan` as dicts (same keys as its columns), kind by kind.

    Examples
    --------
    >>> sorted({row["service"] for row in iter_plan()})      # doctest: +SKIP
    ['budgets', 'iam', 's3', 'sns']
    """
    s = get_session(session)
    regions = tuple(dict.fromkeys(regions))
    if not regions:
        raise ValueError("regions is empty: name at least one, e.g. ('eu-west-1', 'us-east-1')")
    keep = tuple(keep)
    for row in _rows(Scan(s, regions)):
        yield {**row, "keep": bool(row["keep"] or _kept(row, keep))}


def _rows(scan: Scan) -> list[dict[str, Any]]:
    """Every row ``scan`` finds: kind by kind in each region, then the account's global ones."""
    kinds = ordered()
    found = [
        row
        for region in scan.regions
        for kind in kinds
        if kind.regional
        for row in scan.rows(kind.name, region)
    ]
    return found + [
        row for kind in kinds if not kind.regional for row in scan.rows(kind.name, GLOBAL)
    ]


def plan(
    session: boto3.Session | None = None,
    regions: Iterable[str] = DEFAULT_REGIONS,
    keep: Iterable[str] = DEFAULT_KEEP,
) -> pd.DataFrame:
    """List everything the workbook created: one row per resource, in removal order.

    Parameters
    ----------
    session : boto3.Session, optional
        Default: the current connection (the sandbox unless you opted in to AWS).
    regions : iterable of str
        Regions to search (IAM, S3 and Budgets are searched once, globally).
    keep : iterable of str
        Rows to keep, by kind (``"account alias"``), name (``"monthly-cost-budget"``) or group
        (``"billing-alerts"``: the billing alarm, its topic and subscriptions, the budget).
        Default: the account alias and the password policy.

    Returns
    -------
    pandas.DataFrame
        Columns chapter, service, region, kind, name, id, removal, billable (costs money while
        it exists), keep (``run`` leaves it alone).

    Warns
    -----
    CleanupWarning
        A resource could not be read (e.g. access denied): it is not in the plan, the others
        are.

    Examples
    --------
    >>> plan(keep=("account alias", "password policy", "billing-alerts"))   # doctest: +SKIP
    """
    df = pd.DataFrame(list(iter_plan(session, regions, keep)), columns=COLUMNS)
    if not len(df):
        return df.astype({"billable": bool, "keep": bool})
    df["_order"] = df["kind"].map({k: i for i, k in enumerate(ORDER)})
    df = df.sort_values(["_order", "region", "name"], kind="stable").drop(columns="_order")
    return df.reset_index(drop=True).astype({"billable": bool, "keep": bool})


def _key(row: Any) -> tuple[str, str, str]:
    return (row["kind"], row["region"], str(row["id"]))


def _not_found(scan: Scan, row: dict[str, Any]) -> str:
    """Why a row of the plan was not found now: gone, or it could not be read (then it stays)."""
    for region in (row["region"], GLOBAL):
        for label in (row["name"], str(row["id"])):
            if (row["kind"], region, label) in scan.unreadable:
                return f"failed: could not read it ({scan.unreadable[row['kind'], region, label]})"
    return "already gone"


def _attempt(
    action: Callable[[Scan, dict[str, Any]], None], scan: Scan, row: dict[str, Any]
) -> str:
    """Do ``action`` for one row; say what came of it (an error never stops the other rows)."""
    try:
        action(scan, row)
    except ClientError as exc:
        return "already gone" if gone(exc) else f"failed: {why(exc)}"
    except (BotoCoreError, FlovtrainError, RuntimeError, TimeoutError) as exc:
        return f"failed: {exc}"
    return "deleted"


def run(
    plan_df: pd.DataFrame | None = None, dry_run: bool = True, session: boto3.Session | None = None
) -> pd.DataFrame:
    """Remove the rows of a plan that are not kept; a dry run (the default) removes nothing.

    Parameters
    ----------
    plan_df : pandas.DataFrame, optional
        A frame from :func:`plan` (you may drop rows or set ``keep``). Default: ``plan()``.
    dry_run : bool
        True (default): only say what would happen. False: delete.
    session : boto3.Session, optional
        Default: the current connection.

    Returns
    -------
    pandas.DataFrame
        The plan's columns plus ``result``: ``would delete``, ``deleted``, ``kept``,
        ``already gone`` (not there any more, e.g. removed with its stack) or
        ``failed: <why>`` (the rest still runs; run again after fixing it).

    Raises
    ------
    ValueError
        ``plan_df`` lacks the plan's columns.

    Examples
    --------
    >>> run()                                   # doctest: +SKIP   (a dry run)
    >>> run(plan(), dry_run=False)              # doctest: +SKIP
    """
    s = get_session(session)
    if plan_df is None:
        plan_df = plan(s)
    missing = [c for c in COLUMNS if c not in plan_df.columns]
    if missing:
        raise ValueError(
            f"plan_df lacks the columns {missing}: pass a frame from "
            "flovtrain.cleanup.plan() (filter rows, but keep the columns)"
        )
    rows = [dict(r) for r in plan_df[COLUMNS].to_dict("records")]
    order = {k: i for i, k in enumerate(ORDER)}
    rows.sort(key=lambda r: order.get(r["kind"], len(order)))
    regions = (
        tuple(dict.fromkeys(r["region"] for r in rows if r["region"] != GLOBAL)) or DEFAULT_REGIONS
    )
    # What exists now: a stale row (already removed) is reported, never retried blindly.
    acting = any(not r["keep"] for r in rows)
    now = Scan(s, regions)
    present = {_key(r) for r in _rows(now)} if acting else set()
    scan = Scan(s, regions)
    results: dict[int, str] = {}
    if not dry_run:  # e.g. buckets emptied first, so the stacks that own some can delete them
        for i, row in enumerate(rows):
            kind = KINDS.get(row["kind"])
            if kind and kind.prepare and not row["keep"] and _key(row) in present:
                outcome = _attempt(kind.prepare, scan, row)
                if outcome != "deleted":
                    results[i] = outcome
    for i, row in enumerate(rows):
        if i in results:
            continue
        if row["keep"]:
            results[i] = "kept"
        elif _key(row) not in present:
            results[i] = _not_found(now, row)
        elif dry_run:
            results[i] = "would delete"
        elif row["kind"] not in KINDS:
            raise ValueError(
                f"unknown kind {row['kind']!r} in the plan: make the plan with cleanup.plan()"
            )
        else:
            results[i] = _attempt(KINDS[row["kind"]].delete, scan, row)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["result"] = [results[i] for i in range(len(rows))]
    return out.astype({"billable": bool, "keep": bool})


def summary(result: pd.DataFrame) -> str:
    """One line per result kind, e.g. ``deleted 12 · kept 2``, for a notebook.

    Examples
    --------
    >>> summary(run(plan()))                    # doctest: +SKIP
    'kept 2 · would delete 19'
    """
    if not len(result):
        return "nothing to do"
    counts = result["result"].str.split(":").str[0].value_counts()
    return " · ".join(f"{name} {counts[name]}" for name in sorted(counts.index))
