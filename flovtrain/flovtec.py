"""Chapter 07 helpers: Flovtec's DEV/UAT/PROD set-up (another account, a pipeline with approvals).

The chapter makes every AWS change with plain boto3; these helpers only do what is tedious in a
notebook: a session in another account (``sts.assume_role``), the sample app as a source zip,
waiting until a pipeline finishes or waits for an approval (:func:`wait_for_pipeline`, which is
:func:`flovtrain.views.codepipeline.wait_for_approval_or_finish`), and readable tables of stage
states and environments.

Examples
--------
>>> import flovtrain
>>> from flovtrain import flovtec
>>> conn = flovtrain.connect()                                     # doctest: +SKIP
>>> prod = flovtec.assume_role(flovtec.prod_role_arn(), region="us-east-1")  # doctest: +SKIP
>>> prod.client("sts").get_caller_identity()["Account"]            # doctest: +SKIP
'210987654321'
>>> flovtec.wait_for_pipeline("flovtec-webapp")                    # doctest: +SKIP
'waiting for approval in UAT'
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import boto3
import pandas as pd

from flovtrain import _aws
from flovtrain.session import get_session
from flovtrain.views import codepipeline, ec2

#: The PROD account of the sandbox (any 12 digits work there); on AWS set FLOVTRAIN_PROD_ACCOUNT.
PROD_ACCOUNT_ID = "210987654321"
PROD_ACCOUNT_VAR = "FLOVTRAIN_PROD_ACCOUNT"
#: The role AWS Organizations creates in every new member account for the management account.
PROD_ROLE_NAME = "OrganizationAccountAccessRole"
DEV_REGION = "eu-west-1"  # DEV and UAT: Ireland
PROD_REGION = "us-east-1"  # PROD: N. Virginia, close to the exchange
PIPELINE = "flovtec-webapp"
PROD_PIPELINE = "flovtec-webapp-prod"
APPLICATION = "flovtec-webapp"
ENVIRONMENTS = ("DEV", "UAT", "PROD")
RELEASE_KEY = "releases/flovtec-webapp.zip"
WEBAPP_DIR = Path(__file__).parent / "data" / "webapp"
#: Never part of the source zip: caches a local run leaves behind.
_SKIPPED = {".ruff_cache", "__pycache__", ".pytest_cache", ".git"}
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed timestamps: the same app gives the same bytes
STAGE_COLUMNS = ["stage", "action", "status", "summary"]
ENV_COLUMNS = ["environment", "instance_id", "public_ip", "state"]


def prod_account_id() -> str:
    """Return the PROD account id: ``$FLOVTRAIN_PROD_ACCOUNT`` or the sandbox's default."""
    return os.environ.get(PROD_ACCOUNT_VAR, "").strip() or PROD_ACCOUNT_ID


def prod_role_arn(account_id: str | None = None, role_name: str = PROD_ROLE_NAME) -> str:
    """Return the ARN of the role the DEV/UAT admin assumes in the PROD account."""
    return f"arn:aws:iam::{account_id or prod_account_id()}:role/{role_name}"


def staging_bucket_name(account_id: str | None = None) -> str:
    """Return the staging bucket's name (owned by PROD; the account id keeps it unique)."""
    return f"flovtec-staging-{account_id or prod_account_id()}"


def assume_role(
    role_arn: str,
    session_name: str = "flovtrain",
    region: str | None = None,
    session: boto3.Session | None = None,
) -> boto3.Session:
    """Return a session with the temporary credentials of ``role_arn`` (``sts.assume_role``).

    Parameters
    ----------
    role_arn : str
        e.g. ``arn:aws:iam::210987654321:role/OrganizationAccountAccessRole``.
    session_name : str
        Shows up in the other account's CloudTrail as who did what.
    region : str, optional
        Region of the new session (default: the caller's).
    session : boto3.Session, optional
        Who assumes the role (default: the current connection).

    Examples
    --------
    >>> prod = assume_role(prod_role_arn(), region="us-east-1")   # doctest: +SKIP
    """
    caller = get_session(session)
    creds = caller.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region or caller.region_name,
    )


def account_root(account_id: str | None = None, region: str | None = None) -> boto3.Session:
    """Return a session acting as the root of ``account_id`` (default: PROD) in the sandbox.

    On AWS the root of a member account is its own sign-in (its e-mail address and password),
    used once to create the account's admin and then locked away: no API call gives it. The
    sandbox's root keys act in another account when the request names it (moto's
    ``x-moto-account-id`` header), so the chapter can create PROD's admin *as PROD*.

    Raises
    ------
    SandboxOnly
        Connected to real AWS: sign in as that account's root user in the console instead.

    Examples
    --------
    >>> root = account_root(region="us-east-1")                           # doctest: +SKIP
    >>> root.client("sts").get_caller_identity()["Account"]                # doctest: +SKIP
    '210987654321'
    """
    from flovtrain.session import require_sandbox

    conn = require_sandbox("Acting as another account's root with API keys")
    account = account_id or prod_account_id()
    session = get_session(None, region or conn.session().region_name)
    root = boto3.Session(
        aws_access_key_id=session.get_credentials().access_key,
        aws_secret_access_key=session.get_credentials().secret_key,
        region_name=region or session.region_name,
    )

    def name_the_account(request: object, **_: object) -> None:
        request.headers["x-moto-account-id"] = account  # type: ignore[attr-defined]

    root.events.register("before-sign.*.*", name_the_account)
    return root


#: The role and instance profile chapter 07's instances run with (the CodeDeploy agent's keys).
INSTANCE_PROFILE = "flovtec-instance"


def ensure_instance_profile(
    buckets: list[str], name: str = INSTANCE_PROFILE, session: boto3.Session | None = None
) -> str:
    """Create (or update) the instance profile an environment's instances run with.

    On AWS the CodeDeploy agent on an instance downloads each revision from S3 with the
    instance profile's role, not with the deployment group's service role: the role trusts
    ``ec2.amazonaws.com`` and may read the revision buckets (what CodeStar's templates gave the
    web app's instance). Pass the name to ``run_instances(IamInstanceProfile={"Name": ...})``;
    a bucket in another account also needs its bucket policy to allow this role.

    Parameters
    ----------
    buckets : list of str
        The buckets the instances read revisions from.
    name : str
        Names the role and the instance profile.
    session : boto3.Session, optional
        The account the instances run in (default: the current connection).

    Returns
    -------
    str
        The instance profile's name.

    Examples
    --------
    >>> ensure_instance_profile(["flovtec-staging-210987654321"], session=prod)  # doctest: +SKIP
    'flovtec-instance'
    """
    iam = get_session(session).client("iam")
    trust = {
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    read = {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": [f"arn:aws:s3:::{b}/*" for b in buckets],
    }
    try:
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        )
    except iam.exceptions.EntityAlreadyExistsException:
        pass  # a re-run: the policy below is brought up to date
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read-revisions",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [read]}),
    )
    try:
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    return name


def app_zip(source: str | os.PathLike[str] | None = None) -> bytes:
    """Return the sample web app as a zip (the pipeline's S3 source), byte-identical each time."""
    root = Path(source) if source else WEBAPP_DIR
    if not (root / "buildspec.yml").is_file():
        raise FileNotFoundError(f"{root} has no buildspec.yml: point source at the web app folder.")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not _SKIPPED & set(p.relative_to(root).parts) and p.suffix != ".pyc"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), _ZIP_TIME)
            info.external_attr = (0o755 if path.suffix == ".sh" else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buffer.getvalue()


def stage_states(
    pipeline: str, session: boto3.Session | None = None, region: str | None = None
) -> pd.DataFrame:
    """Return the pipeline's actions with their latest status and summary.

    Examples
    --------
    >>> stage_states("flovtec-webapp").columns.tolist()   # doctest: +SKIP
    ['stage', 'action', 'status', 'summary']
    """
    rows = [
        (
            a["stage"],
            a["action"],
            a["latest"].get("status", "not run yet"),
            a["latest"].get("summary", ""),
        )
        for a in codepipeline.iter_action_states(pipeline, session, region)
    ]
    return pd.DataFrame(rows, columns=STAGE_COLUMNS)


#: The approval waiting now: :func:`flovtrain.views.codepipeline.waiting_approval`.
waiting_approval = codepipeline.waiting_approval
#: Until an execution ends or waits for an approval (the chapter's name for it):
#: :func:`flovtrain.views.codepipeline.wait_for_approval_or_finish`.
wait_for_pipeline = codepipeline.wait_for_approval_or_finish
#: The page an instance serves (the chapter's name for it): :func:`flovtrain._aws.fetch`.
fetch = _aws.fetch


def environments(session: boto3.Session | None = None, region: str | None = None) -> pd.DataFrame:
    """Return the running or pending instances that carry an ``Environment`` tag.

    Examples
    --------
    >>> environments(region="eu-west-1").columns.tolist()   # doctest: +SKIP
    ['environment', 'instance_id', 'public_ip', 'state']
    """
    live = [
        {"Name": "tag-key", "Values": ["Environment"]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ]
    rows = [
        (ec2.tags(i)["Environment"], i["InstanceId"], i.get("PublicIpAddress"), i["State"]["Name"])
        for i in ec2.iter_instances(live, session, region)
    ]
    order = {name: n for n, name in enumerate(ENVIRONMENTS)}
    rows.sort(key=lambda r: (order.get(r[0], len(order)), r[0], r[1]))
    return pd.DataFrame(rows, columns=ENV_COLUMNS)
