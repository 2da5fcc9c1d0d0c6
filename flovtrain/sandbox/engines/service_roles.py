"""The sandbox's own services act as the service role a resource names, as on AWS.

CodeBuild runs a build as the project's ``serviceRole``, CodePipeline runs actions as the
pipeline's ``roleArn``: the role must exist and its trust policy must let the service
(``codebuild.amazonaws.com``, ``codepipeline.amazonaws.com``) assume it, and what the service
then does with it (read the source, write artifacts and logs, start a build) is decided by the
role's policies, and across accounts by the resource's policy too, with the evaluator the
per-request step uses (through the :class:`IdentityStore` the IAM/STS adapter registers). A
denial is recorded like a request's, so ``explain_denial`` and ``/flovtrain-api/sts/denials``
find it.

A build gets real temporary credentials of its role (an assumed-role session
``AWSCodeBuild-<build uuid>``), so every AWS call its commands make is authorized per request
as that session.

Examples
--------
>>> from flovtrain.sandbox.engines import service_roles
>>> session = service_roles.assume("arn:aws:iam::123456789012:role/ci", "codepipeline",
...                                "1234")                                    # doctest: +SKIP
>>> service_roles.denial(session, "s3:PutObject", "arn:aws:s3:::artifacts/k")  # doctest: +SKIP
'User: arn:aws:sts::123456789012:assumed-role/ci/1234 is not authorized to perform: ...'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = [
    "Credentials",
    "IdentityStore",
    "RoleNotAssumable",
    "assume",
    "denial",
    "instance_role",
    "issue_credentials",
    "principal_of",
    "trusts",
    "use_identities",
]

#: The service principal each sandbox service assumes roles as.
SERVICE_PRINCIPALS = {
    "codebuild": "codebuild.amazonaws.com",
    "codepipeline": "codepipeline.amazonaws.com",
    "codedeploy": "codedeploy.amazonaws.com",
    "ec2": "ec2.amazonaws.com",  # an instance profile's role, as the instance's software uses it
}
_NAMES = {
    "codebuild": "CodeBuild",
    "codepipeline": "CodePipeline",
    "codedeploy": "CodeDeploy",
    "ec2": "EC2",
}


class RoleNotAssumable(Exception):
    """The service cannot assume the role: it does not exist or its trust policy omits it."""

    def __init__(self, service: str, role_arn: str) -> None:
        self.service, self.role_arn = service, role_arn
        name = _NAMES.get(service, service)
        # each service's own wording (CreatePipeline's, CreateProject's)
        if service == "codepipeline":
            message = f"{name} is not authorized to perform AssumeRole on role {role_arn}"
        else:
            message = f"{name} is not authorized to perform: sts:AssumeRole on {role_arn}"
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials of an assumed-role session (what a build's commands sign with)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    arn: str


def _actions(statement: dict[str, Any]) -> list[str]:
    found = statement.get("Action", [])
    return [found] if isinstance(found, str) else list(found)


def trusts(document: str | dict[str, Any] | None, service: str) -> bool:
    """Whether a trust policy lets ``service`` (``codebuild``, ...) assume the role.

    Examples
    --------
    >>> trusts({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
    ...         "Principal": {"Service": "codebuild.amazonaws.com"}}]}, "codebuild")
    True
    >>> trusts({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
    ...         "Principal": {"Service": "codebuild.amazonaws.com"}}]}, "codepipeline")
    False
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return False
    principal = SERVICE_PRINCIPALS.get(service, f"{service}.amazonaws.com")
    statements = (document or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        services = (statement.get("Principal") or {}) if isinstance(statement, dict) else {}
        named = services.get("Service", []) if isinstance(services, dict) else services
        named = [named] if isinstance(named, str) else list(named)
        acts = any(a in ("sts:AssumeRole", "sts:*", "*") for a in _actions(statement))
        if acts and (principal in named or "*" in named):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


class IdentityStore(Protocol):
    """What this engine needs from IAM and STS state; the IAM/STS adapter
    (:mod:`flovtrain.sandbox.providers._authz`) registers one with :func:`use_identities`, so
    the engine imports no provider."""

    def role(self, role_arn: str) -> Any | None:
        """The IAM role ``role_arn`` names (by ARN or name in its account), or None."""

    def session_principal(self, role: Any, session_name: str, context: dict[str, Any]) -> Any:
        """The evaluator's principal for an assumed-role session of ``role``."""

    def issue_session(self, role: Any, session_name: str, region: str) -> Credentials:
        """Assume ``role`` in STS and return the session's temporary credentials."""

    def identify(self, access_key_id: str, account: str) -> Any:
        """The evaluator's principal that signs with ``access_key_id``."""

    def deny(self, principal: Any, action: str, resource: str) -> str | None:
        """Evaluate and, if denied, record the denial; AWS's message or None."""

    def instance_profile(self, account: str, region: str, instance_id: str) -> Any | None:
        """The instance profile associated with an EC2 instance (its ``roles``), or None."""


_STORE: list[IdentityStore] = []


def use_identities(store: IdentityStore) -> None:
    """Register the IAM/STS adapter (done once when the sandbox loads its providers)."""
    _STORE[:] = [store]


def _identities() -> IdentityStore:
    if not _STORE:
        raise RuntimeError(
            "service_roles has no identity store: the sandbox's IAM/STS adapter "
            "(flovtrain.sandbox.providers._authz) registers it when the providers load"
        )
    return _STORE[0]


def _role(role_arn: str) -> Any:
    return _identities().role(role_arn)


def _checked(role_arn: str, service: str) -> Any:
    role = _role(role_arn)
    if role is None or not trusts(role.assume_role_policy_document, service):
        raise RoleNotAssumable(service, role_arn)
    return role


def assume(role_arn: str, service: str, session_name: str) -> Any:
    """The session ``service`` gets by assuming ``role_arn`` (for the evaluator; no keys).

    Returns
    -------
    Principal (the IAM/STS adapter's)
        ``arn:aws:sts::<account>:assumed-role/<role>/<session_name>`` with the role's policies.

    Raises
    ------
    RoleNotAssumable
        The role does not exist or does not trust the service.
    """
    role = _checked(role_arn, service)
    context = {
        "aws:SourceIp": "127.0.0.1",
        "aws:SecureTransport": "true",
        "aws:MultiFactorAuthPresent": "false",
        "aws:TokenIssueTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return _identities().session_principal(role, session_name, context)


def issue_credentials(role_arn: str, service: str, session_name: str, region: str) -> Credentials:
    """Assume ``role_arn`` for ``service`` and return the session's temporary credentials.

    Raises
    ------
    RoleNotAssumable
        The role does not exist or does not trust the service.
    """
    role = _checked(role_arn, service)
    return _identities().issue_session(role, session_name, region)


def principal_of(credentials: Credentials) -> Any:
    """The evaluator's principal for credentials :func:`issue_credentials` returned."""
    account = credentials.arn.split(":")[4]
    return _identities().identify(credentials.access_key_id, account)


def denial(principal: Any, action: str, resource: str) -> str | None:
    """Evaluate ``action`` on ``resource`` for a service's session; AWS's message if denied.

    A denial is recorded (with a request id of its own) for ``explain_denial``.

    Examples
    --------
    >>> denial(session, "s3:GetObject", "arn:aws:s3:::artifacts/x.zip") is None  # doctest: +SKIP
    True
    """
    if principal is None:
        return None
    return _identities().deny(principal, action, resource)


def instance_role(account: str, region: str, instance_id: str) -> str | None:
    """The ARN of the role an EC2 instance's profile carries; None: no profile or no role.

    What software on the instance (the CodeDeploy agent) signs with, through the instance
    metadata service, once :func:`assume` with ``service="ec2"`` accepts it.

    Examples
    --------
    >>> instance_role("123456789012", "eu-west-1", "i-0abc")  # doctest: +SKIP
    'arn:aws:iam::123456789012:role/flovtrain-webapp-instance'
    """
    profile = _identities().instance_profile(account, region, instance_id)
    roles = list(getattr(profile, "roles", None) or [])
    return roles[0].arn if roles else None
