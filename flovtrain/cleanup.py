"""Find and remove everything the workbook created: a plan first, then (only if asked) deletion.

:func:`plan` lists, as one table, every resource the chapters create — found by the names the
chapters use and by the tag ``flovtrain:workshop`` where AWS supports tags — with how it is
removed and whether it costs money while it exists. :func:`run` removes the rows of a plan
(a dry run unless you pass ``dry_run=False``), in an order that respects dependencies (alarms
before topics, buckets emptied before their stack goes, users stripped before their group).
It never touches anything that is not a row of the plan, and it is idempotent: a second run
finds nothing to do, and a stale plan reports ``already gone`` instead of failing.

Some rows are *kept* by default (``keep`` column): the account alias and the password policy
cost nothing and keep the account safer. Pass ``keep=(..., "billing-alerts")`` to keep the
billing alarm, its topic and the budget too (all free, and useful for as long as the account
lives). A root account's MFA device is never removed.

Chapter 07's PROD account is another account: pass a session of it (``flovtec.assume_role``)
as ``session=`` to both functions.

Local files are not part of the plan: :func:`local_credentials` lists the credential files in
``credentials/`` (their keys no longer work once the users are deleted) and
:func:`remove_local_credentials` deletes them (dry run by default).

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

import os
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import ClientError

from flovtrain import config
from flovtrain.session import get_session

COLUMNS = ["chapter", "service", "region", "kind", "name", "id", "removal", "billable", "keep"]
RESULT_COLUMNS = [*COLUMNS, "result"]
LOCAL_COLUMNS = ["file", "kind", "note"]
DEFAULT_REGIONS = ("eu-west-1", "us-east-1")
GLOBAL = "global"

# -- the names the chapters use --------------------------------------------------------------
#: Every name the workbook gives its own resources starts with one of these (chapters 04, 07, 09).
PREFIX = "flovtrain-"
PREFIXES = (PREFIX, "flovtec-")
USERS = ("imre", "john", "visitor")
GROUPS = ("system-admins",)
ROOT_MFA_DEVICE = "root-account-mfa-device"
BILLING_TOPIC = "billing-alerts"
BILLING_ALARMS = ("billing-over-10-usd", "billing-over-10-usd-in-ireland")
BUDGETS = ("monthly-cost-budget",)
BUCKET_PREFIXES = PREFIXES
WORKGROUPS = ("capped",)
GLUE_DATABASES = ("marketdata",)
PARAMETER_PATH = "/flovtrain/"
LOG_GROUP_PREFIXES = (f"/aws/codebuild/{PREFIX}", f"/aws/kinesisfirehose/{PREFIX}")

#: What ``keep`` may name besides a row's kind or name: whole groups of rows.
KEEP_GROUPS: dict[str, set[str]] = {
    "billing-alerts": {BILLING_TOPIC, *BILLING_ALARMS[:1], *BUDGETS},
}
#: Kept unless you say otherwise: free, and the account is safer with them.
DEFAULT_KEEP = ("account alias", "password policy")

#: Order of removal (dependencies first); a bucket is emptied before any stack is deleted.
ORDER = ["sns subscription", "cloudwatch alarm", "cloudformation stack", "codepipeline pipeline",
         "codebuild project", "codedeploy application", "ec2 instance", "elbv2 load balancer",
         "elbv2 target group", "rds db instance", "ec2 key pair", "ec2 security group",
         "route53 hosted zone", "s3 bucket", "sns topic", "sqs queue", "firehose delivery stream",
         "glacier vault", "ssm parameter", "logs log group", "athena named query",
         "athena workgroup", "glue table", "glue database", "budgets budget", "iam role",
         "iam user", "iam group", "iam virtual mfa device", "iam account alias",
         "iam password policy"]
#: Error codes that mean "it is not there (any more)".
GONE = {"NoSuchBucket", "NoSuchEntity", "NotFound", "NotFoundException",
        "ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist", "InvalidInstanceID.NotFound", "InvalidKeyPair.NotFound",
        "ParameterNotFound", "EntityNotFoundException", "404", "NoSuchKey",
        "PipelineNotFoundException", "ApplicationDoesNotExistException", "DBInstanceNotFound",
        "LoadBalancerNotFound", "TargetGroupNotFound", "InvalidGroup.NotFound", "NoSuchHostedZone"}
STACK_GONE = {"DELETE_COMPLETE"}
POLL_SECONDS = 0.2


# -- small helpers ---------------------------------------------------------------------------
def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _gone(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return _code(exc) in GONE or "does not exist" in message or "not found" in message


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _tagged(tags: Any) -> bool:
    """True when ``tags`` (a list of Key/Value dicts, or a dict) holds the workshop tag key."""
    if isinstance(tags, dict):
        return config.WORKSHOP_TAG_KEY in tags
    return any((t.get("Key") or t.get("key")) == config.WORKSHOP_TAG_KEY for t in tags or [])


def _tags_say_ours(call: Callable[..., dict[str, Any]], tags_key: str = "Tags",
                   **kwargs: Any) -> bool:
    """True when the tags ``call(**kwargs)`` answers hold the workshop tag key.

    An error (no tags, or a resource in a region we cannot read) means: not ours.
    """
    try:
        return _tagged(call(**kwargs).get(tags_key, []))
    except ClientError:
        return False


def _ours(name: str) -> bool:
    return name.startswith(PREFIXES)


def _row(chapter: str, service: str, region: str, kind: str, name: str, id_: str,
         removal: str, billable: bool = False) -> dict[str, Any]:
    return {"chapter": chapter, "service": service, "region": region, "kind": kind,
            "name": name, "id": id_, "removal": removal, "billable": billable, "keep": False}


def _safe(lister: Callable[[], Iterable[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run a lister; a service the account or region does not offer lists nothing."""
    try:
        return list(lister())
    except ClientError as exc:
        if _gone(exc) or _code(exc) in {"UnrecognizedClientException", "OptInRequired",
                                          "SubscriptionRequiredException"}:
            return []
        raise


# -- listers: one per service, each yields plan rows ----------------------------------------
def _stacks(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    cfn = s.client("cloudformation", region_name=region)
    for stack in _pages(cfn, "describe_stacks", "Stacks"):
        if stack["StackStatus"] in STACK_GONE or not _tagged(stack.get("Tags")):
            continue
        kinds = sorted({r["ResourceType"].split("::", 1)[-1] for r in
                        cfn.describe_stack_resources(StackName=stack["StackName"])["StackResources"]})
        yield _row("04", "cloudformation", region, "cloudformation stack", stack["StackName"],
                   stack["StackId"], "delete_stack: removes " + ", ".join(kinds), True)


def _stack_owned(s: boto3.Session, region: str, stacks: list[str]) -> set[str]:
    """Physical ids of the resources the planned stacks own (their stack removes them)."""
    cfn = s.client("cloudformation", region_name=region)
    owned: set[str] = set()
    for name in stacks:
        owned |= {r.get("PhysicalResourceId", "") for r in
                  cfn.describe_stack_resources(StackName=name)["StackResources"]}
    return owned


def _instances(s: boto3.Session, region: str, owned: set[str]) -> Iterator[dict[str, Any]]:
    ec2 = s.client("ec2", region_name=region)
    for reservation in _pages(ec2, "describe_instances", "Reservations"):
        for inst in reservation["Instances"]:
            if inst["State"]["Name"] in ("terminated", "shutting-down"):
                continue
            if inst["InstanceId"] in owned or not _tagged(inst.get("Tags")):
                continue
            name = next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), "")
            yield _row("07" if name.startswith("flovtec-") else "04", "ec2", region,
                       "ec2 instance", name, inst["InstanceId"],
                       "terminate_instances", True)


def _key_pairs(s: boto3.Session, region: str, owned: set[str]) -> Iterator[dict[str, Any]]:
    ec2 = s.client("ec2", region_name=region)
    for key in ec2.describe_key_pairs().get("KeyPairs", []):
        name = key["KeyName"]
        if name in owned or key.get("KeyPairId") in owned:
            continue
        if _ours(name) or _tagged(key.get("Tags")):
            yield _row("04", "ec2", region, "ec2 key pair", name, key.get("KeyPairId", name),
                       "delete_key_pair (delete the saved .pem too)")


def _pipelines(s: boto3.Session, region: str, owned: set[str]) -> Iterator[dict[str, Any]]:
    cp = s.client("codepipeline", region_name=region)
    for pipeline in _pages(cp, "list_pipelines", "pipelines"):
        if _ours(pipeline["name"]) and pipeline["name"] not in owned:
            yield _row("07", "codepipeline", region, "codepipeline pipeline", pipeline["name"],
                       pipeline["name"], "delete_pipeline", True)


def _build_projects(s: boto3.Session, region: str, owned: set[str]) -> Iterator[dict[str, Any]]:
    codebuild = s.client("codebuild", region_name=region)
    for name in _pages(codebuild, "list_projects", "projects"):
        if _ours(name) and name not in owned:
            yield _row("07", "codebuild", region, "codebuild project", name, name,
                       "delete_project")


def _deploy_apps(s: boto3.Session, region: str, owned: set[str]) -> Iterator[dict[str, Any]]:
    codedeploy = s.client("codedeploy", region_name=region)
    for name in _pages(codedeploy, "list_applications", "applications"):
        if _ours(name) and name not in owned:
            yield _row("07", "codedeploy", region, "codedeploy application", name, name,
                       "delete_application (its deployment groups go with it)")


def _databases(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    rds = s.client("rds", region_name=region)
    for db in _pages(rds, "describe_db_instances", "DBInstances"):
        name = db["DBInstanceIdentifier"]
        if db.get("DBInstanceStatus") == "deleting":
            continue
        if _ours(name) or _tagged(db.get("TagList")):
            yield _row("07", "rds", region, "rds db instance", name, name,
                       "delete_db_instance(SkipFinalSnapshot=True, DeleteAutomatedBackups=True)",
                       True)


def _load_balancers(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    elb = s.client("elbv2", region_name=region)
    for lb in _pages(elb, "describe_load_balancers", "LoadBalancers"):
        if _ours(lb["LoadBalancerName"]):
            yield _row("07", "elbv2", region, "elbv2 load balancer", lb["LoadBalancerName"],
                       lb["LoadBalancerArn"], "delete_load_balancer (its listeners go with it)",
                       True)
    for tg in _pages(elb, "describe_target_groups", "TargetGroups"):
        if _ours(tg["TargetGroupName"]):
            yield _row("07", "elbv2", region, "elbv2 target group", tg["TargetGroupName"],
                       tg["TargetGroupArn"], "delete_target_group")


def _security_groups(s: boto3.Session, region: str, owned: set[str]) -> Iterator[dict[str, Any]]:
    ec2 = s.client("ec2", region_name=region)
    for group in _pages(ec2, "describe_security_groups", "SecurityGroups"):
        if _ours(group["GroupName"]) and group["GroupId"] not in owned:
            yield _row("07", "ec2", region, "ec2 security group", group["GroupName"],
                       group["GroupId"], "delete_security_group (after its instances and "
                       "load balancers are gone)")


def _hosted_zones(s: boto3.Session) -> Iterator[dict[str, Any]]:
    route53 = s.client("route53")
    for zone in _pages(route53, "list_hosted_zones", "HostedZones"):
        comment = zone.get("Config", {}).get("Comment", "") or ""
        if zone.get("CallerReference", "").startswith(PREFIX) or comment.startswith("flovtrain"):
            yield _row("07", "route53", GLOBAL, "route53 hosted zone", zone["Name"], zone["Id"],
                       "delete its records (not SOA/NS), then delete_hosted_zone", True)


def _buckets(s: boto3.Session, regions: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    s3 = s.client("s3", region_name=regions[0])
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        if not (name.startswith(BUCKET_PREFIXES)
                or _tags_say_ours(s3.get_bucket_tagging, "TagSet", Bucket=name)):
            continue
        try:
            region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        except ClientError as exc:
            if _gone(exc):
                continue
            raise
        chapter = ("08" if name.startswith("flovtec-marketdata-") else
                   "07" if name.startswith("flovtec-") else "09" if "firehose" in name else "04")
        yield _row(chapter, "s3", region, "s3 bucket", name, name,
                   "empty it (every object version), then delete_bucket", True)


def _alarms(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    cw = s.client("cloudwatch", region_name=region)
    for alarm in _pages(cw, "describe_alarms", "MetricAlarms"):
        name = alarm["AlarmName"]
        if name in BILLING_ALARMS or _ours(name) or _tags_say_ours(
                cw.list_tags_for_resource, ResourceARN=alarm["AlarmArn"]):
            yield _row("03" if name in BILLING_ALARMS else "09", "cloudwatch", region,
                       "cloudwatch alarm", name, alarm["AlarmArn"], "delete_alarms")


def _topics(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    sns = s.client("sns", region_name=region)
    for topic in _pages(sns, "list_topics", "Topics"):
        arn = topic["TopicArn"]
        name = arn.rsplit(":", 1)[-1]
        if not (name == BILLING_TOPIC or _ours(name)
                or _tags_say_ours(sns.list_tags_for_resource, ResourceArn=arn)):
            continue
        chapter = "03" if name == BILLING_TOPIC else "09"
        for sub in _pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn):
            if sub["SubscriptionArn"].startswith("arn:"):  # pending ones cannot be unsubscribed
                yield _row(chapter, "sns", region, "sns subscription",
                           f"{name} → {sub['Protocol']}:{sub['Endpoint'].rsplit(':', 1)[-1]}",
                           sub["SubscriptionArn"], "unsubscribe")
        yield _row(chapter, "sns", region, "sns topic", name, arn, "delete_topic")


def _queues(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    sqs = s.client("sqs", region_name=region)
    for url in _pages(sqs, "list_queues", "QueueUrls"):
        name = url.rsplit("/", 1)[-1]
        if _ours(name) or _tagged(sqs.list_queue_tags(QueueUrl=url).get("Tags", {})):
            yield _row("09", "sqs", region, "sqs queue", name, url, "delete_queue")


def _streams(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    firehose = s.client("firehose", region_name=region)
    for name in firehose.list_delivery_streams(Limit=1000).get("DeliveryStreamNames", []):
        status = firehose.describe_delivery_stream(DeliveryStreamName=name)[
            "DeliveryStreamDescription"]["DeliveryStreamStatus"]
        if status == "DELETING":  # on AWS deletion takes a while: it is on its way out
            continue
        tags = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name).get("Tags", [])
        if _ours(name) or _tagged(tags):
            yield _row("09", "firehose", region, "firehose delivery stream", name, name,
                       "delete_delivery_stream")


def _vaults(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    glacier = s.client("glacier", region_name=region)
    for vault in _pages(glacier, "list_vaults", "VaultList"):
        if _ours(vault["VaultName"]):
            yield _row("09", "glacier", region, "glacier vault", vault["VaultName"],
                       vault["VaultARN"], "delete its archives, then delete_vault "
                       "(AWS: only after the next inventory, up to a day)", True)


def _parameters(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    ssm = s.client("ssm", region_name=region)
    only_ours = [{"Key": "Name", "Option": "BeginsWith", "Values": [PARAMETER_PATH]}]
    for param in _pages(ssm, "describe_parameters", "Parameters", ParameterFilters=only_ours):
        yield _row("09", "ssm", region, "ssm parameter", param["Name"], param["Name"],
                   "delete_parameter")


def _log_groups(s: boto3.Session, region: str, stacks: list[str]) -> Iterator[dict[str, Any]]:
    logs = s.client("logs", region_name=region)
    prefixes = (*LOG_GROUP_PREFIXES, *(f"/aws/codebuild/{n}" for n in stacks))
    for group in _pages(logs, "describe_log_groups", "logGroups"):
        name = group["logGroupName"]
        if name.startswith(prefixes):
            yield _row("04", "logs", region, "logs log group", name, name,
                       "delete_log_group (stacks leave their build logs behind)", True)


def _athena(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    athena = s.client("athena", region_name=region)
    account = None
    for group in athena.list_work_groups().get("WorkGroups", []):
        name = group["Name"]
        if name == "primary":  # every account has it; it cannot be deleted
            continue
        ours = name in WORKGROUPS or _ours(name)
        if not ours:
            account = account or s.client("sts").get_caller_identity()["Account"]
            arn = f"arn:aws:athena:{region}:{account}:workgroup/{name}"
            ours = _tags_say_ours(athena.list_tags_for_resource, ResourceARN=arn)
        if ours:
            yield _row("08", "athena", region, "athena workgroup", name, name,
                       "delete_work_group(RecursiveDeleteOption=True)")
    ids = list(_pages(athena, "list_named_queries", "NamedQueryIds"))
    for query in (athena.batch_get_named_query(NamedQueryIds=ids[:50]).get("NamedQueries", [])
                  if ids else []):
        if query.get("Database") in GLUE_DATABASES or _ours(query.get("Name", "")):
            yield _row("08", "athena", region, "athena named query", query["Name"],
                       query["NamedQueryId"], "delete_named_query")


def _glue(s: boto3.Session, region: str) -> Iterator[dict[str, Any]]:
    glue = s.client("glue", region_name=region)
    for db in _pages(glue, "get_databases", "DatabaseList"):
        if db["Name"] not in GLUE_DATABASES:
            continue
        for table in _pages(glue, "get_tables", "TableList", DatabaseName=db["Name"]):
            yield _row("08", "glue", region, "glue table", f"{db['Name']}.{table['Name']}",
                       f"{db['Name']}.{table['Name']}", "delete_table (data in S3 stays)")
        yield _row("08", "glue", region, "glue database", db["Name"], db["Name"],
                   "delete_database")


def _budgets(s: boto3.Session) -> Iterator[dict[str, Any]]:
    budgets = s.client("budgets", region_name="us-east-1")
    account = s.client("sts").get_caller_identity()["Account"]
    for budget in _pages(budgets, "describe_budgets", "Budgets", AccountId=account):
        if budget["BudgetName"] in BUDGETS or _ours(budget["BudgetName"]):
            yield _row("03", "budgets", GLOBAL, "budgets budget", budget["BudgetName"],
                       budget["BudgetName"], "delete_budget")


def _iam(s: boto3.Session, owned: set[str]) -> Iterator[dict[str, Any]]:
    iam = s.client("iam")
    for role in _pages(iam, "list_roles", "Roles"):
        name = role["RoleName"]
        if name in owned or role.get("Path", "/").startswith("/aws-service-role/"):
            continue
        if _ours(name) or _tagged(iam.list_role_tags(RoleName=name).get("Tags", [])):
            yield _row("07" if name.startswith("flovtec-") else "09", "iam", GLOBAL,
                       "iam role", name, role["RoleId"],
                       "detach and delete its policies, then delete_role")
    planned_users = []
    for user in _pages(iam, "list_users", "Users"):
        name = user["UserName"]
        ours = name in USERS
        if not ours:
            ours = _tagged(iam.list_user_tags(UserName=name).get("Tags", []))
        if ours:
            planned_users.append(name)
            yield _row("02", "iam", GLOBAL, "iam user", name, user["UserId"],
                       "delete access keys, login profile, MFA devices, group memberships and "
                       "policies, then delete_user")
    for group in _pages(iam, "list_groups", "Groups"):
        if group["GroupName"] in GROUPS:
            yield _row("02", "iam", GLOBAL, "iam group", group["GroupName"], group["GroupId"],
                       "remove members, detach policies, then delete_group")
    for device in _pages(iam, "list_virtual_mfa_devices", "VirtualMFADevices",
                         AssignmentStatus="Any"):
        serial = device["SerialNumber"]
        name = serial.rsplit("/", 1)[-1]
        user_arn = device.get("User", {}).get("Arn", "")
        row = None
        if user_arn.endswith(":root"):
            if name == ROOT_MFA_DEVICE:
                row = _row("01", "iam", GLOBAL, "iam virtual mfa device", name, serial,
                           "never: it protects the root user")
                row["keep"] = True
        elif name == ROOT_MFA_DEVICE or name in planned_users or (
                user_arn and user_arn.rsplit("/", 1)[-1] in planned_users):
            row = _row("01" if name == ROOT_MFA_DEVICE else "02", "iam", GLOBAL,
                       "iam virtual mfa device", name, serial,
                       "deactivate_mfa_device (if assigned), delete_virtual_mfa_device")
        if row:
            yield row
    for alias in iam.list_account_aliases().get("AccountAliases", []):
        yield _row("01", "iam", GLOBAL, "iam account alias", alias, alias,
                   "delete_account_alias (the sign-in URL falls back to the account id)")
    try:
        iam.get_account_password_policy()
        yield _row("02", "iam", GLOBAL, "iam password policy", "password policy", "-",
                   "delete_account_password_policy (AWS's default rules apply again)")
    except ClientError as exc:
        if not _gone(exc):
            raise


def _kept(row: dict[str, Any], keep: Iterable[str]) -> bool:
    for word in keep:
        names = KEEP_GROUPS.get(word, {word})
        short = row["kind"].split(" ", 1)[-1]  # "account alias" for "iam account alias"
        if row["kind"] in names or short in names or row["name"] in names:
            return True
        if row["kind"] == "sns subscription" and row["name"].split(" → ")[0] in names:
            return True
    return False


def iter_plan(session: boto3.Session | None = None, regions: Iterable[str] = DEFAULT_REGIONS,
              keep: Iterable[str] = DEFAULT_KEEP) -> Iterator[dict[str, Any]]:
    """Yield the rows of :func:`plan` as dicts (same keys as its columns)."""
    s = get_session(session)
    regions = tuple(dict.fromkeys(regions))
    if not regions:
        raise ValueError("regions is empty: name at least one, e.g. ('eu-west-1', 'us-east-1')")
    keep = tuple(keep)
    rows: list[dict[str, Any]] = []
    owned_anywhere: set[str] = set()
    for region in regions:
        stacks = _safe(lambda r=region: _stacks(s, r))
        names = [row["name"] for row in stacks]
        owned = _stack_owned(s, region, names)
        owned_anywhere |= owned
        rows += stacks
        listers = [(_pipelines, owned), (_build_projects, owned), (_deploy_apps, owned),
                   (_databases,), (_load_balancers,), (_security_groups, owned),
                   (_instances, owned), (_key_pairs, owned), (_alarms,), (_topics,), (_queues,),
                   (_streams,), (_vaults,), (_parameters,), (_log_groups, names), (_athena,),
                   (_glue,)]
        for lister, *extra in listers:
            rows += _safe(partial(lister, s, region, *extra))
    rows += _safe(lambda: _buckets(s, regions))
    rows += _safe(lambda: _budgets(s))
    rows += _safe(lambda: _hosted_zones(s))
    rows += _safe(lambda: _iam(s, owned_anywhere))
    for row in rows:
        row["keep"] = bool(row["keep"] or _kept(row, keep))
        yield row


def plan(session: boto3.Session | None = None, regions: Iterable[str] = DEFAULT_REGIONS,
         keep: Iterable[str] = DEFAULT_KEEP) -> pd.DataFrame:
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


# -- removal ---------------------------------------------------------------------------------
def _empty_bucket(s: boto3.Session, row: dict[str, Any]) -> None:
    bucket = s.resource("s3", region_name=row["region"]).Bucket(row["id"])
    bucket.object_versions.delete()  # every version and delete marker (unversioned: the objects)
    bucket.objects.all().delete()


def _delete_stack(s: boto3.Session, row: dict[str, Any], timeout: float = 300) -> None:
    cfn = s.client("cloudformation", region_name=row["region"])
    cfn.delete_stack(StackName=row["id"])
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = cfn.describe_stacks(StackName=row["id"])["Stacks"][0]["StackStatus"]
        except ClientError as exc:
            if _gone(exc):
                return
            raise
        if status in STACK_GONE:
            return
        if status == "DELETE_FAILED":
            raise RuntimeError(f"stack {row['name']} is DELETE_FAILED: see its events in the "
                               "CloudFormation console, fix the resource, run again")
        if time.monotonic() > deadline:
            raise TimeoutError(f"stack {row['name']} still {status} after {timeout:.0f} s: "
                               "run cleanup again later")
        time.sleep(POLL_SECONDS)


def _delete_with_policies(iam: Any, entity: str, name: str) -> None:
    """Detach and delete the policies of an IAM ``entity`` ("user", "role", "group"), then it."""
    ident = {f"{entity.capitalize()}Name": name}
    for policy in _pages(iam, f"list_attached_{entity}_policies", "AttachedPolicies", **ident):
        getattr(iam, f"detach_{entity}_policy")(PolicyArn=policy["PolicyArn"], **ident)
    for policy_name in _pages(iam, f"list_{entity}_policies", "PolicyNames", **ident):
        getattr(iam, f"delete_{entity}_policy")(PolicyName=policy_name, **ident)
    getattr(iam, f"delete_{entity}")(**ident)


def _strip_user(iam: Any, user: str) -> None:
    for key in _pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=user):
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    try:
        iam.delete_login_profile(UserName=user)
    except ClientError as exc:
        if not _gone(exc):
            raise
    for device in _pages(iam, "list_mfa_devices", "MFADevices", UserName=user):
        iam.deactivate_mfa_device(UserName=user, SerialNumber=device["SerialNumber"])
        if ":mfa/" in device["SerialNumber"]:
            iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
    for group in _pages(iam, "list_groups_for_user", "Groups", UserName=user):
        iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user)
    _delete_with_policies(iam, "user", user)


def _delete_role(iam: Any, role: str) -> None:
    for profile in _pages(iam, "list_instance_profiles_for_role", "InstanceProfiles",
                          RoleName=role):
        iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"],
                                              RoleName=role)
    _delete_with_policies(iam, "role", role)


def _delete_group(iam: Any, group: str) -> None:
    for user in iam.get_group(GroupName=group).get("Users", []):
        iam.remove_user_from_group(GroupName=group, UserName=user["UserName"])
    _delete_with_policies(iam, "group", group)


def _delete_mfa(iam: Any, serial: str) -> None:
    for device in _pages(iam, "list_virtual_mfa_devices", "VirtualMFADevices",
                         AssignmentStatus="Assigned"):
        if device["SerialNumber"] == serial and "UserName" in device.get("User", {}):
            iam.deactivate_mfa_device(UserName=device["User"]["UserName"], SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)


def _delete_zone(route53: Any, zone_id: str) -> None:
    changes = [{"Action": "DELETE", "ResourceRecordSet": record}
               for record in _pages(route53, "list_resource_record_sets", "ResourceRecordSets",
                                    HostedZoneId=zone_id)
               if record["Type"] not in ("SOA", "NS")]
    if changes:
        route53.change_resource_record_sets(HostedZoneId=zone_id,
                                            ChangeBatch={"Changes": changes})
    route53.delete_hosted_zone(Id=zone_id)


def _delete_vault(s: boto3.Session, row: dict[str, Any]) -> None:
    s.client("glacier", region_name=row["region"]).delete_vault(vaultName=row["name"])


#: Kinds removed by one call that takes the row's id: kind -> (service, operation, parameter).
REMOVE_BY_ID: dict[str, tuple[str, str, str]] = {
    "sns subscription": ("sns", "unsubscribe", "SubscriptionArn"),
    "codepipeline pipeline": ("codepipeline", "delete_pipeline", "name"),
    "codebuild project": ("codebuild", "delete_project", "name"),
    "codedeploy application": ("codedeploy", "delete_application", "applicationName"),
    "elbv2 load balancer": ("elbv2", "delete_load_balancer", "LoadBalancerArn"),
    "elbv2 target group": ("elbv2", "delete_target_group", "TargetGroupArn"),
    "ec2 security group": ("ec2", "delete_security_group", "GroupId"),
    "sns topic": ("sns", "delete_topic", "TopicArn"),
    "sqs queue": ("sqs", "delete_queue", "QueueUrl"),
    "firehose delivery stream": ("firehose", "delete_delivery_stream", "DeliveryStreamName"),
    "ssm parameter": ("ssm", "delete_parameter", "Name"),
    "logs log group": ("logs", "delete_log_group", "logGroupName"),
    "athena named query": ("athena", "delete_named_query", "NamedQueryId"),
    "glue database": ("glue", "delete_database", "Name"),
    "iam account alias": ("iam", "delete_account_alias", "AccountAlias"),
}


def _remove(s: boto3.Session, row: dict[str, Any]) -> None:
    """Remove the resource of one plan row (raises ClientError when AWS refuses)."""
    kind, region, id_ = row["kind"], row["region"], row["id"]

    def c(service: str) -> Any:
        return s.client(service, region_name=None if region == GLOBAL else region)

    if kind in REMOVE_BY_ID:
        service, operation, parameter = REMOVE_BY_ID[kind]
        getattr(c(service), operation)(**{parameter: id_})
    elif kind == "cloudwatch alarm":
        c("cloudwatch").delete_alarms(AlarmNames=[row["name"]])
    elif kind == "cloudformation stack":
        _delete_stack(s, row)
    elif kind == "ec2 instance":
        ec2 = c("ec2")
        ec2.terminate_instances(InstanceIds=[id_])
        # security groups can go only once their instances are gone (a minute or two on AWS)
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[id_],
                                                   WaiterConfig={"Delay": 5, "MaxAttempts": 60})
    elif kind == "rds db instance":
        c("rds").delete_db_instance(DBInstanceIdentifier=id_, SkipFinalSnapshot=True,
                                    DeleteAutomatedBackups=True)
    elif kind == "route53 hosted zone":
        _delete_zone(s.client("route53"), id_)
    elif kind == "ec2 key pair":
        c("ec2").delete_key_pair(KeyName=row["name"])
    elif kind == "s3 bucket":
        _empty_bucket(s, row)  # again: a pipeline may have written since
        c("s3").delete_bucket(Bucket=id_)
    elif kind == "glacier vault":
        _delete_vault(s, row)
    elif kind == "athena workgroup":
        c("athena").delete_work_group(WorkGroup=id_, RecursiveDeleteOption=True)
    elif kind == "glue table":
        database, table = id_.split(".", 1)
        c("glue").delete_table(DatabaseName=database, Name=table)
    elif kind == "budgets budget":
        account = s.client("sts").get_caller_identity()["Account"]
        s.client("budgets", region_name="us-east-1").delete_budget(AccountId=account,
                                                                   BudgetName=id_)
    elif kind == "iam role":
        _delete_role(c("iam"), row["name"])
    elif kind == "iam user":
        _strip_user(c("iam"), row["name"])
    elif kind == "iam group":
        _delete_group(c("iam"), row["name"])
    elif kind == "iam virtual mfa device":
        _delete_mfa(c("iam"), id_)
    elif kind == "iam password policy":
        c("iam").delete_account_password_policy()
    else:
        raise ValueError(f"unknown kind {kind!r} in the plan: make the plan with cleanup.plan()")


def _key(row: Any) -> tuple[str, str, str]:
    return (row["kind"], row["region"], str(row["id"]))


def run(plan_df: pd.DataFrame | None = None, dry_run: bool = True,
        session: boto3.Session | None = None) -> pd.DataFrame:
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
        raise ValueError(f"plan_df lacks the columns {missing}: pass a frame from "
                         "flovtrain.cleanup.plan() (filter rows, but keep the columns)")
    rows = [dict(r) for r in plan_df[COLUMNS].to_dict("records")]
    order = {k: i for i, k in enumerate(ORDER)}
    rows.sort(key=lambda r: order.get(r["kind"], len(order)))
    regions = tuple(dict.fromkeys(r["region"] for r in rows if r["region"] != GLOBAL)) or \
        DEFAULT_REGIONS
    # What exists now: a stale row (already removed) is reported, never retried blindly.
    acting = any(not r["keep"] for r in rows)
    present = {_key(r) for r in iter_plan(s, regions, keep=())} if acting else set()
    results: dict[int, str] = {}
    if not dry_run:  # buckets first emptied, so the stacks that own some can delete them
        for i, row in enumerate(rows):
            if row["kind"] == "s3 bucket" and not row["keep"] and _key(row) in present:
                try:
                    _empty_bucket(s, row)
                except ClientError as exc:
                    results[i] = f"failed: {_code(exc)}: {exc.response['Error'].get('Message')}"
    for i, row in enumerate(rows):
        if i in results:
            continue
        if row["keep"]:
            results[i] = "kept"
        elif _key(row) not in present:
            results[i] = "already gone"
        elif dry_run:
            results[i] = "would delete"
        else:
            try:
                _remove(s, row)
                results[i] = "deleted"
            except ClientError as exc:
                results[i] = ("already gone" if _gone(exc) else
                              f"failed: {_code(exc)}: {exc.response['Error'].get('Message')}")
            except (RuntimeError, TimeoutError) as exc:
                results[i] = f"failed: {exc}"
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["result"] = [results[i] for i in range(len(rows))]
    return out.astype({"billable": bool, "keep": bool})


def summary(result: pd.DataFrame) -> str:
    """One line per result kind, e.g. ``deleted 12 · kept 2``, for a notebook."""
    if not len(result):
        return "nothing to do"
    counts = result["result"].str.split(":").str[0].value_counts()
    return " · ".join(f"{name} {counts[name]}" for name in sorted(counts.index))


# -- local files -----------------------------------------------------------------------------
def _credential_files(folder: str | os.PathLike[str] | None) -> list[Path]:
    from flovtrain.credentials import credentials_folder

    path = Path(folder) if folder is not None else credentials_folder()
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir()
                  if p.is_file() and (p.suffix == ".pem" or p.name.endswith(
                      ("_accessKeys.csv", "_credentials.csv"))))


def local_credentials(folder: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """List the credential files the chapters saved (default folder: ``credentials/``).

    Returns
    -------
    pandas.DataFrame
        Columns file, kind, note. Contents are never read or shown.

    Examples
    --------
    >>> local_credentials()                     # doctest: +SKIP
    """
    rows = []
    for p in _credential_files(folder):
        if p.suffix == ".pem":
            rows.append({"file": p.name, "kind": "EC2 private key",
                         "note": "its key pair is deleted with the stack: delete the file"})
        elif p.name.endswith("_accessKeys.csv"):
            rows.append({"file": p.name, "kind": "access key",
                         "note": "the key is deleted with its user: delete the file"})
        else:
            rows.append({"file": p.name, "kind": "console password",
                         "note": "the login profile is deleted with its user: delete the file"})
    return pd.DataFrame(rows, columns=LOCAL_COLUMNS)


def remove_local_credentials(dry_run: bool = True,
                             folder: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Delete the files :func:`local_credentials` lists (dry run by default).

    Returns
    -------
    pandas.DataFrame
        Columns file, kind, note, result (``would delete`` / ``deleted``).

    Examples
    --------
    >>> remove_local_credentials()              # doctest: +SKIP   (lists only)
    >>> remove_local_credentials(dry_run=False) # doctest: +SKIP
    """
    df = local_credentials(folder)
    files = {p.name: p for p in _credential_files(folder)}
    results = []
    for name in df["file"]:
        if dry_run:
            results.append("would delete")
        else:
            files[name].unlink(missing_ok=True)
            results.append("deleted")
    df["result"] = pd.Series(results, dtype=object)
    return df
