"""The CodeDeploy agent's credentials: an instance downloads its revision as its profile's role.

On AWS the deployment group's service role is for CodeDeploy itself (tags, load balancers,
Auto Scaling); the **agent on each instance** downloads the revision from S3 with the instance
profile's temporary credentials (the instance metadata service hands them out only when the
role trusts ``ec2.amazonaws.com``). So here, before DownloadBundle reads the bundle, the
instance's profile role is assumed as service ``ec2`` (session name: the instance id, as AWS
names it) and ``s3:GetObject`` (``s3:GetObjectVersion`` for a versioned revision) on the bundle
is evaluated with that session's policies and, across accounts, the bucket policy.

Failures, as the agent reports them (the wording is the agent's log line and the S3 error it
surfaces; that they appear on DownloadBundle is this sandbox's choice, see below):

* no profile, a profile without a role, or a role that does not trust EC2:
  ``Missing credentials - please check if this instance was started with an IAM instance
  profile`` (on AWS the agent cannot even poll for commands, so the event is never received);
* the role may not read the bundle: ``Access Denied`` (the S3 error), the evaluator's full
  explanation in the event's log tail and in ``explain_denial``.

There is no switch to read as the account's root instead: an instance that receives CodeDeploy
deployments needs a profile here as on AWS (``flovtrain.flovtec.ensure_instance_profile``).

Examples
--------
>>> data = read_revision(run, "i-0abc", lambda: b"zip bytes")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flovtrain.sandbox.engines import service_roles
from flovtrain.sandbox.engines.deploy.hooks import EventFailed

__all__ = ["ACCESS_DENIED", "MISSING_CREDENTIALS", "read_revision"]

#: The agent's log line when the instance has no credentials (aws-codedeploy-agent).
MISSING_CREDENTIALS = (
    "Missing credentials - please check if this instance was started with an IAM instance profile"
)
_AGENT = "InstanceAgent::Plugins::CodeDeployPlugin::CommandPoller"
#: The S3 error the agent's download surfaces.
ACCESS_DENIED = "Access Denied"


def _no_credentials(instance_id: str, why: str) -> EventFailed:
    log = f"ERROR [codedeploy-agent]: {_AGENT}: {MISSING_CREDENTIALS}\n({instance_id}: {why})"
    return EventFailed("UnknownError", MISSING_CREDENTIALS, log=log)


def read_revision(run: Any, instance_id: str, read: Callable[[], bytes]) -> bytes:
    """The revision's bytes as the agent on ``instance_id`` downloads them.

    Parameters
    ----------
    run : Run
        The deployment (``account_id``, ``region``, ``revision``).
    instance_id : str
        The instance whose agent downloads.
    read : callable
        Reads the bundle from S3 (cached across the deployment's instances).

    Raises
    ------
    EventFailed
        The agent has no credentials, or its role may not read the bundle.

    Examples
    --------
    >>> read_revision(run, "i-0abc", lambda: b"PK...")  # doctest: +SKIP
    b'PK...'
    """
    location = run.revision.get("s3Location") or {}
    role_arn = service_roles.instance_role(run.account_id, run.region, instance_id)
    if role_arn is None:  # the metadata service has no credentials to hand out
        raise _no_credentials(instance_id, "no instance profile with a role")
    try:
        session = service_roles.assume(role_arn, "ec2", instance_id)
    except service_roles.RoleNotAssumable:
        raise _no_credentials(
            instance_id, f"the role {role_arn} does not trust ec2.amazonaws.com"
        ) from None
    action = "s3:GetObjectVersion" if location.get("version") else "s3:GetObject"
    resource = f"arn:aws:s3:::{location.get('bucket', '')}/{location.get('key', '')}"
    message = service_roles.denial(session, action, resource)
    if message is not None:
        raise EventFailed("UnknownError", ACCESS_DENIED, log=message)
    return read()
