"""The CodeStar-style project: one CloudFormation stack with the whole toolchain and a seeded app.

CodeStar (discontinued 2024-07-31) did three things when you pressed *Create project*: it put a
sample app into a new CodeCommit repository, deployed a CloudFormation template (``template.yml``)
with the build project, the deployment application and group, the pipeline, an EC2 instance and
the roles between them, and showed it all on a dashboard. :func:`create_project` does the first
two with plain boto3 calls (so it works on real AWS too); :mod:`flovtrain.widgets.dashboard` is
the dashboard.

Steps of :func:`create_project`:

1. zip ``flovtrain/data/webapp`` (the sample app, ``template.yml`` included, as CodeStar's repo
   had it) deterministically and upload it to a seed bucket;
2. ``create_stack`` with ``template.yml`` (the stack creates the repository with that zip as its
   first commit) and wait for ``CREATE_COMPLETE``;
3. wait for the pipeline's first execution (AWS starts one when a pipeline is created);
4. save the key pair's private key (AWS keeps it in SSM Parameter Store as
   ``/ec2/keypair/<key-pair-id>``) to ``credentials/<key name>.pem`` with mode 0600.

Running it again reuses the stack (and the .pem), so a notebook can call it at its top.

Examples
--------
>>> import flovtrain
>>> from flovtrain import project
>>> conn = flovtrain.connect()                      # doctest: +SKIP
>>> p = project.create_project()                    # doctest: +SKIP
>>> p.app_url                                       # doctest: +SKIP
'http://127.20.0.1:8090/'
>>> project.fetch_page(p.app_url)[:15]              # doctest: +SKIP
'<!DOCTYPE html>'
"""

from __future__ import annotations

import io
import os
import stat
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from flovtrain import _aws, config
from flovtrain.exceptions import ProjectFailed, ProjectNotFound, ProjectTimeout
from flovtrain.session import current, get_session
from flovtrain.views import cloudformation, codepipeline

DEFAULT_PROJECT = "flovtrain-webapp"
#: The sample app CodeStar's template would have generated (Python instead of Java Spring).
WEBAPP_DIR = Path(__file__).parent / "data" / "webapp"
TEMPLATE_NAME = "template.yml"
#: Never part of the seed commit: caches a local run leaves behind.
EXCLUDED_PARTS = {".ruff_cache", "__pycache__", ".pytest_cache", ".git"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
#: A fixed timestamp for every zip entry: the same app always gives the same bytes.
ZIP_DATE = (2024, 7, 31, 0, 0, 0)
SANDBOX_SSH_CIDR = "127.0.0.1/32"
CHECKIP_URL = "https://checkip.amazonaws.com"
POLL_SECONDS = 0.2
STACK_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
STACK_FAILED = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "ROLLBACK_IN_PROGRESS",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_FAILED",
}


@dataclass
class Project:
    """A deployed CodeStar-style project: its stack's outputs and where its key was saved.

    Attributes
    ----------
    project_id : str
        Names every resource (``ProjectId`` of ``template.yml``).
    region : str
        Where the stack lives.
    stack_name : str
        The CloudFormation stack (same as ``project_id``).
    outputs : dict
        The stack's outputs: ``AppUrl``, ``CloneUrlHttp``, ``PipelineName``, ``KeyPairId``,
        ``ArtifactBucketName``.
    key_file : Path or None
        The saved private key (mode 0600), when it was saved.
    """

    project_id: str
    region: str
    stack_name: str
    outputs: dict[str, str] = field(default_factory=dict)
    key_file: Path | None = None

    @property
    def app_url(self) -> str:
        return self.outputs.get("AppUrl", "")

    @property
    def clone_url(self) -> str:
        return self.outputs.get("CloneUrlHttp", "")

    @property
    def pipeline_name(self) -> str:
        return self.outputs.get("PipelineName", f"{self.project_id}-pipeline")

    @property
    def repository_name(self) -> str:
        return self.project_id

    @property
    def build_project(self) -> str:
        return self.project_id

    @property
    def application_name(self) -> str:
        return self.project_id

    @property
    def deployment_group(self) -> str:
        return f"{self.project_id}-env"

    @property
    def artifact_bucket(self) -> str:
        return self.outputs.get("ArtifactBucketName", "")

    @property
    def key_name(self) -> str:
        return f"{self.project_id}-key"

    def __str__(self) -> str:
        key = self.key_file.name if self.key_file else "not saved"
        return (
            f"project {self.project_id} ({self.region}) · stack {self.stack_name} · "
            f"app {self.app_url} · key {key}"
        )

    __repr__ = __str__


# -- the seed commit --------------------------------------------------------------------------
def _seed_files(source: Path) -> list[Path]:
    files = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        skipped = EXCLUDED_PARTS.intersection(rel.parts) or path.suffix in EXCLUDED_SUFFIXES
        if path.is_dir() or skipped:
            continue
        files.append(path)
    return files


def seed_zip(source: str | os.PathLike[str] | None = None) -> bytes:
    """Return the sample app as a zip: what the repository's first commit will hold.

    The entries are sorted, dated 2024-07-31 (CodeStar's last day) and keep the executable bit
    of the hook scripts, so the same app always gives the same bytes. Local caches
    (``.ruff_cache``, ``__pycache__``, ...) are left out.

    Parameters
    ----------
    source : path, optional
        The app folder (default: the packaged ``flovtrain/data/webapp``).

    Examples
    --------
    >>> import io, zipfile
    >>> names = zipfile.ZipFile(io.BytesIO(seed_zip())).namelist()
    >>> "webapp/templates/index.html" in names and "template.yml" in names
    True
    """
    source = Path(source) if source is not None else WEBAPP_DIR
    if not (source / "buildspec.yml").is_file():
        raise FileNotFoundError(f"{source} holds no buildspec.yml: pass the folder of the app")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _seed_files(source):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=ZIP_DATE)
            executable = path.stat().st_mode & stat.S_IXUSR or path.suffix == ".sh"
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def template_body(source: str | os.PathLike[str] | None = None) -> str:
    """Return ``template.yml``, the CloudFormation template of the whole toolchain."""
    source = Path(source) if source is not None else WEBAPP_DIR
    return (source / TEMPLATE_NAME).read_text(encoding="utf-8")


def seed_bucket_name(account_id: str, region: str) -> str:
    """Return the bucket the seed zip goes to (one per account and region)."""
    return f"flovtrain-seed-{account_id}-{region}"


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": config.workshop_tags()})


# -- the stack ---------------------------------------------------------------------------------
def _stack(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    live = [s for s in stacks if s.get("StackStatus") != "DELETE_COMPLETE"]
    return live[0] if live else None


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _failed_events(cfn: Any, name: str, limit: int = 5) -> str:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return ""
    failed = [
        f"{e['LogicalResourceId']} {e['ResourceStatus']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("FAILED")
    ]
    return "; ".join(failed[:limit])


def wait_for_stack(
    name: str, timeout: float = 300, session: boto3.Session | None = None, region: str | None = None
) -> dict[str, Any]:
    """Wait until stack ``name`` is complete and return its description.

    Raises
    ------
    ProjectFailed
        The stack failed or rolled back (the message lists the failed resources).
    ProjectTimeout
        It was still in progress after ``timeout`` seconds.
    """
    cfn = get_session(session, region).client("cloudformation", region_name=region)
    deadline = time.monotonic() + timeout
    while True:
        stack = _stack(cfn, name)
        if stack is None:
            raise ProjectNotFound(f"stack {name} does not exist (was it deleted?)")
        status = stack["StackStatus"]
        if status in STACK_DONE:
            return stack
        if status in STACK_FAILED:
            raise ProjectFailed(
                f"stack {name} is {status}: "
                f"{_failed_events(cfn, name) or stack.get('StackStatusReason', '')}. "
                f"Look at its events (devtools.stack_events({name!r})), fix the cause, delete it "
                f"with flovtrain.project.delete_project({name!r}) and create it again."
            )
        if time.monotonic() > deadline:
            raise ProjectTimeout(f"stack {name} is still {status} after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def my_ssh_cidr(timeout: float = 5) -> str:
    """Return ``<your public IP>/32`` (asks checkip.amazonaws.com): who may SSH in on real AWS."""
    with urllib.request.urlopen(CHECKIP_URL, timeout=timeout) as response:  # noqa: S310
        return response.read().decode().strip() + "/32"


# -- the pipeline ------------------------------------------------------------------------------
#: The pipeline's execution summaries, newest first (the chapters' name for it):
#: :func:`flovtrain.views.codepipeline.newest_executions`.
executions = codepipeline.newest_executions
#: Until an execution (given, newest, or the next after ``newer_than``) has finished (the
#: chapters' name for it): :func:`flovtrain.views.codepipeline.wait_for_execution_to_finish`.
wait_for_pipeline = codepipeline.wait_for_execution_to_finish


# -- the key pair ------------------------------------------------------------------------------
def save_key_pair(
    key_pair_id: str,
    key_name: str,
    folder: str | os.PathLike[str] | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Path:
    """Save a CloudFormation-created key pair's private key as ``<key_name>.pem`` (mode 0600).

    AWS keeps the private key of an ``AWS::EC2::KeyPair`` in SSM Parameter Store as
    ``/ec2/keypair/<key-pair-id>``. The key is never printed. An existing file with the same
    key is kept; a different one is replaced in the sandbox (its key pair died with a reset)
    and refused on real AWS (it may be the only copy of a key still in use).

    Raises
    ------
    CredentialFileExists
        On real AWS, when the file holds another key.
    """
    from flovtrain import credentials

    ssm = get_session(session, region).client("ssm", region_name=region)
    pem = ssm.get_parameter(Name=f"/ec2/keypair/{key_pair_id}", WithDecryption=True)["Parameter"][
        "Value"
    ]
    if not pem.endswith("\n"):
        pem += "\n"
    path = credentials.credentials_folder(folder) / f"{key_name}.pem"
    if path.exists():
        if path.read_text(encoding="utf-8") == pem:
            return path
        return credentials.write_secret_file(path, pem, overwrite=current().is_sandbox)
    return credentials.write_secret_file(path, pem)


# -- the project -------------------------------------------------------------------------------
def get_project(
    project_id: str = DEFAULT_PROJECT,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> Project:
    """Return the existing project ``project_id`` (its stack must be complete).

    Raises
    ------
    ProjectNotFound
        No such stack: run :func:`create_project` first.
    """
    session = get_session(session, region)
    cfn = session.client("cloudformation", region_name=region)
    stack = _stack(cfn, project_id)
    if stack is None:
        raise ProjectNotFound(
            f"there is no project {project_id} in {session.region_name}: run "
            f"flovtrain.project.create_project({project_id!r}) (chapter 04) first."
        )
    from flovtrain import credentials

    key = credentials.credentials_folder() / f"{project_id}-key.pem"
    return Project(
        project_id, session.region_name, project_id, _outputs(stack), key if key.exists() else None
    )


def create_project(
    project_id: str = DEFAULT_PROJECT,
    *,
    ssh_cidr: str | None = None,
    region: str | None = None,
    session: boto3.Session | None = None,
    wait_pipeline: bool = True,
    save_key: bool = True,
    timeout: float = 300,
    source: str | os.PathLike[str] | None = None,
) -> Project:
    """Create (or reuse) the CodeStar-style project: seed zip, stack, first pipeline run, key.

    Parameters
    ----------
    project_id : str
        Lowercase letters, digits and dashes; names the stack and every resource.
    ssh_cidr : str, optional
        Who may SSH to the instance. Default: ``127.0.0.1/32`` in the sandbox, your own
        public IP (``a.b.c.d/32``) on real AWS.
    region : str, optional
        Default: the connection's region (eu-west-1 in the workshop).
    wait_pipeline : bool
        Wait for the pipeline's first execution to finish (it builds and deploys the app).
    save_key : bool
        Save the key pair's private key to ``credentials/<project_id>-key.pem`` (0600).
    timeout : float
        Seconds for the stack, and again for the pipeline.
    source : path, optional
        Another app folder with ``template.yml`` (default: the packaged sample app).

    Returns
    -------
    Project

    Raises
    ------
    ProjectFailed
        The stack rolled back or the first pipeline execution failed (the message says which
        resource or stage, and what to do).
    ProjectTimeout
        Not done within ``timeout``.

    Examples
    --------
    >>> from flovtrain import project
    >>> p = project.create_project()          # doctest: +SKIP
    >>> p.outputs["PipelineName"]             # doctest: +SKIP
    'flovtrain-webapp-pipeline'
    """
    session = get_session(session, region)
    region = session.region_name
    cfn = session.client("cloudformation", region_name=region)
    stack = _stack(cfn, project_id)
    if stack is None or stack["StackStatus"] == "ROLLBACK_COMPLETE" and current().is_sandbox:
        if stack is not None:  # a failed first try in the sandbox: clear it and start over
            cfn.delete_stack(StackName=project_id)
        account = session.client("sts").get_caller_identity()["Account"]
        bucket = seed_bucket_name(account, region)
        key = f"seed/{project_id}.zip"
        s3 = session.client("s3", region_name=region)
        _ensure_bucket(s3, bucket, region)
        s3.put_object(Bucket=bucket, Key=key, Body=seed_zip(source))
        if ssh_cidr is None:
            ssh_cidr = SANDBOX_SSH_CIDR if current().is_sandbox else my_ssh_cidr()
        cfn.create_stack(
            StackName=project_id,
            TemplateBody=template_body(source),
            Parameters=[
                {"ParameterKey": "ProjectId", "ParameterValue": project_id},
                {"ParameterKey": "SeedBucket", "ParameterValue": bucket},
                {"ParameterKey": "SeedKey", "ParameterValue": key},
                {"ParameterKey": "SshCidr", "ParameterValue": ssh_cidr},
            ],
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Tags=config.workshop_tags(),
        )
    stack = wait_for_stack(project_id, timeout=timeout, session=session, region=region)
    outputs = _outputs(stack)
    project = Project(project_id, region, project_id, outputs)
    if wait_pipeline:
        execution = wait_for_pipeline(
            project.pipeline_name, timeout=timeout, session=session, region=region
        )
        if execution["status"] != "Succeeded" and not _any_success(project, session, region):
            raise ProjectFailed(
                f"the first run of pipeline {project.pipeline_name} ended {execution['status']}: "
                f"look at widgets.pipeline_view({project.pipeline_name!r}) and the build log, "
                "fix the cause, then release a change (start_pipeline_execution)."
            )
    if save_key and outputs.get("KeyPairId"):
        project.key_file = save_key_pair(
            outputs["KeyPairId"], project.key_name, session=session, region=region
        )
    return project


def _any_success(project: Project, session: boto3.Session, region: str) -> bool:
    """True when some execution succeeded: a later failed push must not break re-runs."""
    return any(
        e.get("status") == "Succeeded" for e in executions(project.pipeline_name, session, region)
    )


def app_url(
    project_id: str = DEFAULT_PROJECT,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> str:
    """Return the app's URL (``http://<instance public IP>:8090/``, the stack output ``AppUrl``).

    Examples
    --------
    >>> app_url()                             # doctest: +SKIP
    'http://127.20.0.1:8090/'
    """
    return get_project(project_id, session, region).app_url


#: The page at a URL, asked again until it answers (the chapters' name for it):
#: :func:`flovtrain._aws.fetch`.
fetch_page = _aws.fetch


def delete_project(
    project_id: str = DEFAULT_PROJECT,
    *,
    wait: bool = True,
    timeout: float = 300,
    session: boto3.Session | None = None,
    region: str | None = None,
) -> None:
    """Delete the project's stack and empty its buckets first (CloudFormation cannot delete
    a bucket that holds objects). The saved .pem stays: delete it yourself when done."""
    session = get_session(session, region)
    cfn = session.client("cloudformation", region_name=region)
    stack = _stack(cfn, project_id)
    if stack is None:
        return
    s3 = session.resource("s3", region_name=region)
    bucket = _outputs(stack).get("ArtifactBucketName")
    if bucket:
        try:
            s3.Bucket(bucket).objects.all().delete()
        except ClientError:
            pass
    cfn.delete_stack(StackName=project_id)
    if wait:
        cloudformation.wait_for_stack_deleted(project_id, timeout, session, region)
