"""Per-request authorization: who signed a request, which policies apply, and AWS's answer.

The seam calls :func:`check` for every AWS request moto serves (``seam.authorize_requests``),
where moto would check its own (global, usually switched off) IAM enforcement. The caller is
found by the access key id of the signature:

* the sandbox's bootstrap keys (``config.SANDBOX_ACCESS_KEY_ID``) act as the account's root: no
  identity policy applies, only a resource policy (bucket, topic, queue) can deny, and a request
  for a resource in another account needs that resource's policy to allow it;
* an IAM user's access key (in any account) -> the user's inline, managed and group policies
  and its permissions boundary;
* an assumed role's temporary key -> the role's policies, its boundary and the session policy;
  an expired session answers ``ExpiredToken``, a deactivated key ``InvalidClientTokenId``.

An unsigned request and a key no account issued are not evaluated (the sandbox's root, as
before): tests and tools sign with made-up keys. The decision is
:func:`flovtrain.sandbox.engines.policy.evaluate`'s; a denial is recorded (:data:`DENIALS`) and
answered with AWS's message in the request's protocol.

Evaluated: identity policies (a user's inline, managed and group policies; a role's inline and
managed ones), permissions boundaries, session policies, explicit ``Deny``, resource policies of
S3 buckets, SNS topics and SQS queues, role trust policies (``AssumeRole``), both sides across
accounts, ``iam:PassRole`` on the role a request hands to a service (CodeBuild's ``serviceRole``,
CodePipeline's ``roleArn``, CodeDeploy's ``serviceRoleArn``, CloudFormation's ``RoleARN``, the
roles of an EC2 instance profile; ``iam:PassedToService`` set), and conditions on the keys
supplied here: ``aws:SourceIp`` (127.0.0.1),
``aws:SecureTransport``, ``aws:PrincipalTag/*``, ``aws:MultiFactorAuthPresent`` and
``aws:TokenIssueTime`` (sessions), ``aws:PrincipalArn``/``Account``/``Type``, ``aws:username``,
``aws:CurrentTime``, ``aws:ResourceAccount``, ``sts:ExternalId``, ``s3:prefix``, ``s3:max-keys``.
Not evaluated: Organizations SCPs/RCPs (``aws:PrincipalOrgID`` is never present), KMS key
policies, S3 ACLs and Block Public Access, VPC endpoint policies, CodeDeploy's own calls with
the deployment group's service role (tags, load balancers; builds and pipelines act as their
service roles, a deployment's instances download as their profile's role, see
:mod:`~flovtrain.sandbox.engines.service_roles` and
:mod:`~flovtrain.sandbox.engines.deploy.credentials`), and resources of operations
:mod:`~flovtrain.sandbox.engines.authz` does not map (``*``). The bootstrap root may assume
roles (AWS refuses root that).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from flovtrain import config
from flovtrain.sandbox.engines import authz, service_roles
from flovtrain.sandbox.engines.policy import Decision, Policy, Request, evaluate
from flovtrain.sandbox.engines.policy_explain import denial_message

PARTITION = "aws"
#: The last denials (newest last), for ``explain_denial`` and ``/flovtrain-api/sts/denials``.
DENIALS: deque[dict[str, Any]] = deque(maxlen=200)
_denials_lock = threading.Lock()
#: Context keys of sessions the sandbox issued (MFA used, issue time), by access key id.
SESSIONS: dict[str, dict[str, Any]] = {}
#: Called with (role_arn, caller) before an AssumeRole is evaluated (see providers/sts.py).
before_assume_role: list[Any] = []


class CredentialError(Exception):
    """The credentials are refused before any policy is read (code, message, HTTP status)."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Principal:
    """The caller of one request and what the evaluator needs to know about it."""

    arn: str
    account: str
    kind: str  # root, user, session
    key_id: str = ""
    policies: list[Policy] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    role_arn: str | None = None


def _iam(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account][PARTITION]


def _managed_document(policy: Any) -> str:
    for version in getattr(policy, "versions", []):
        if version.is_default_version:
            return version.document
    return getattr(policy, "document", "") or ""


def _find_managed(backend: Any, arn: str) -> Any:
    return next((p for p in backend.managed_policies.values() if p.arn == arn), None)


def entity_policies(backend: Any, entity: Any, kind: str) -> list[Policy]:
    """The identity policies of a user (with its groups'), group or role, and its boundary.

    Parameters
    ----------
    backend : moto IAMBackend
        The entity's account.
    entity : moto User, Group or Role
    kind : {"user", "group", "role"}
    """
    owners = [(f"{kind}/{entity.name}", entity)]
    if kind == "user":
        owners += [(f"group/{g.name}", g) for g in backend.groups.values() if entity in g.users]
    found = []
    for where, owner in owners:
        found += [Policy(n, d, attached_to=where) for n, d in owner.policies.items()]
        found += [
            Policy(p.name, _managed_document(p), arn=p.arn, attached_to=where)
            for p in owner.managed_policies.values()
        ]
    boundary_arn = getattr(entity, "permissions_boundary_arn", None)
    if boundary_arn:
        managed = _find_managed(backend, boundary_arn)
        document = _managed_document(managed) if managed else '{"Statement": []}'
        name = managed.name if managed else boundary_arn.rsplit("/", 1)[-1]
        found.append(Policy(name, document, "boundary", boundary_arn, f"{kind}/{entity.name}"))
    return found


def _tags(pairs: Any) -> dict[str, str]:
    if isinstance(pairs, dict):
        pairs = pairs.values()
    return {
        f"aws:PrincipalTag/{t['Key']}": t["Value"]
        for t in pairs or []
        if isinstance(t, dict) and "Key" in t
    }


def _find_key(account: str, key_id: str) -> tuple[str, Any] | None:
    from moto.iam.models import iam_backends

    key = _iam(account).access_keys.get(key_id)
    if key is not None:
        return account, key
    for other in list(iam_backends.keys()):  # a presigned URL: moto resolved no account
        backend = iam_backends[other].get(PARTITION) if other != account else None
        if backend is not None and key_id in backend.access_keys:
            return other, backend.access_keys[key_id]
    return None


def identify(key_id: str | None, account: str) -> Principal | None:
    """The principal behind ``key_id`` as the request's account sees it; ``None``: not evaluated.

    Raises
    ------
    CredentialError
        ``InvalidClientTokenId`` for a deactivated key, ``ExpiredToken`` for an expired session.
    """
    if key_id is None or key_id == config.SANDBOX_ACCESS_KEY_ID:
        return Principal(f"arn:aws:iam::{account}:root", account, "root", key_id or "")
    found = _find_key(account, key_id)
    if found is None:
        return None
    owner, key = found
    if key.status != "Active":
        raise CredentialError(
            "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    backend = _iam(owner)
    context = {"aws:SourceIp": "127.0.0.1", "aws:SecureTransport": "false"}
    if key.user_name:
        user = backend.users.get(key.user_name)
        if user is None:
            return None
        context.update(_tags(backend.tagger.list_tags_for_resource(user.arn)["Tags"]))
        return Principal(
            user.arn, owner, "user", key_id, entity_policies(backend, user, "user"), context
        )
    return _session(owner, key, backend, context)


def _session(owner: str, key: Any, backend: Any, context: dict[str, Any]) -> Principal | None:
    from moto.core.utils import utcnow
    from moto.sts.models import sts_backends

    assumed = sts_backends[owner][PARTITION].get_assumed_role_from_access_key(key.access_key_id)
    if assumed is None:
        return None
    if assumed.expiration <= utcnow():
        raise CredentialError(
            "ExpiredToken", "The security token included in the request is expired"
        )
    role = next((r for r in backend.roles.values() if r.arn == assumed.role_arn), None)
    policies = entity_policies(backend, role, "role") if role is not None else []
    if assumed.policy:
        policies.append(Policy("session policy", assumed.policy, "session"))
    context.update(SESSIONS.get(key.access_key_id, {}))
    if role is not None:
        context.update(_tags(role.tags))
    return Principal(
        assumed.arn, owner, "session", key.access_key_id, policies, context, assumed.role_arn
    )


# -- resources and their policies ------------------------------------------------------------


def _bucket_owner_and_policy(resource: str) -> tuple[str | None, str | None]:
    from moto.s3.models import s3_backends

    bucket = resource.split(":::", 1)[-1].split("/", 1)[0]
    if not bucket or bucket == "*":
        return None, None
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None, None
    found = s3_backends[owner[1]]["global"].buckets.get(bucket)
    policy = found.policy if found is not None else None
    return owner[1], policy.decode() if isinstance(policy, bytes) else policy


def _topic_policy(resource: str) -> str | None:
    from moto.sns.models import sns_backends

    parts = resource.split(":")
    if len(parts) < 6 or parts[4] not in sns_backends:
        return None
    topic = sns_backends[parts[4]][parts[3]].topics.get(resource)
    return topic.policy if topic is not None else None


def _queue_policy(resource: str) -> str | None:
    from moto.sqs.models import sqs_backends

    parts = resource.split(":")
    if len(parts) < 6 or parts[4] not in sqs_backends:
        return None
    queue = sqs_backends[parts[4]][parts[3]].queues.get(parts[5])
    return queue.policy if queue is not None else None


def _trust_policy(resource: str) -> str | None:
    parts = resource.split(":")
    if len(parts) < 6:
        return None
    role = next((r for r in _iam(parts[4]).roles.values() if r.arn == resource), None)
    return role.assume_role_policy_document if role is not None else None


def resource_policy(prefix: str, action: str, resource: str) -> tuple[str | None, Policy | None]:
    """The resource's owner (when it is not in the ARN) and its policy, if it has one."""
    owner, document, name = None, None, resource
    if prefix == "s3":
        owner, document = _bucket_owner_and_policy(resource)
        name = resource.split(":::", 1)[-1].split("/", 1)[0]
    elif prefix == "sns" and resource != "*":
        document = _topic_policy(resource)
    elif prefix == "sqs" and resource != "*":
        document = _queue_policy(resource)
    elif action == "sts:AssumeRole" and resource != "*":
        document = _trust_policy(resource)
        name = resource.rsplit("/", 1)[-1]
    if not document:
        return owner, None
    return owner, Policy(name, document, "resource", attached_to=name)


# -- the step ---------------------------------------------------------------------------------


def _params(response: Any) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in response.querystring.items() if k != "Action"}
    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.lstrip().startswith("{"):
        try:
            loaded = json.loads(body)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            params.update(loaded)
    params.update(getattr(response, "uri_match", None) or {})
    return params


def _context_for(action: str, params: dict[str, Any], principal: Principal) -> dict[str, Any]:
    context = dict(principal.context)
    if action == "sts:AssumeRole":
        if params.get("ExternalId"):
            context["sts:ExternalId"] = authz._first(params["ExternalId"])
        if params.get("SerialNumber") and params.get("TokenCode"):
            context["aws:MultiFactorAuthPresent"] = "true"
    if action in ("s3:ListBucket", "s3:ListBucketVersions"):
        for key, name in (("prefix", "s3:prefix"), ("max-keys", "s3:max-keys")):
            if params.get(key) is not None:
                context[name] = authz._first(params[key])
    return context


def decide(
    principal: Principal, action: str, resource: str, params: dict[str, Any]
) -> tuple[Request, Decision] | None:
    """Evaluate one request; ``None`` when no policy can deny it (the root's cheap path)."""
    prefix = action.split(":", 1)[0]
    if action in authz.ALWAYS_ALLOWED:
        return None
    if action == "sts:AssumeRole":
        for hook in before_assume_role:
            hook(resource, principal)
    owner, found = resource_policy(prefix, action, resource)
    if principal.kind == "root" and found is None and owner in (None, principal.account):
        if action != "sts:AssumeRole":
            return None
    request = Request(
        principal.arn,
        action,
        resource,
        _context_for(action, params, principal),
        principal_account=principal.account,
        resource_account=owner,
        role_arn=principal.role_arn,
        resource_policy_required=action == "sts:AssumeRole",
    )
    policies = [*principal.policies, *([found] if found else [])]
    return request, evaluate(request, policies)


_this_thread = threading.local()


def record(principal: Principal, request: Request, decision: Decision, message: str) -> None:
    """Keep a denial (bounded) so it can be explained later (:func:`set_request_id` adds the
    request id it was answered with)."""
    entry = {
        "request_id": "",
        "time": time.time(),
        "access_key_id": principal.key_id,
        "principal": principal.arn,
        "action": request.action,
        "resource": request.resource,
        "message": message,
        "request": request,
        "decision": decision,
    }
    _this_thread.entry = entry
    with _denials_lock:
        DENIALS.append(entry)


def set_request_id(request_id: str) -> None:
    """Name the denial this thread recorded last by the request id AWS's answer carries."""
    entry = getattr(_this_thread, "entry", None)
    if entry is not None:
        entry["request_id"] = request_id
        _this_thread.entry = None


def find_denial(
    request_id: str | None = None,
    message: str | None = None,
    access_key_id: str | None = None,
) -> dict | None:
    """The newest recorded denial with this request id, message or key (all given must match)."""
    with _denials_lock:
        records = list(DENIALS)
    wanted = {"request_id": request_id, "message": message, "access_key_id": access_key_id}
    for entry in reversed(records):
        if all(value is None or entry[key] == value for key, value in wanted.items()):
            return entry
    return None


_S3_CREDENTIALS = {
    "InvalidClientTokenId": (
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    "ExpiredToken": ("ExpiredToken", "The provided token has expired."),
}


def check(response: Any, resource: str, s3: bool) -> tuple[str, str, int] | None:
    """Authorize the request ``response`` serves: ``(code, message, status)`` of a refusal, or
    ``None`` to let it through.

    ``resource`` is moto's ARN for an S3 request; other services' resources are named by
    :func:`flovtrain.sandbox.engines.authz.resource_arn`. ``AccessDenied`` stands for the
    protocol's own denial code (the seam picks it).
    """
    key_id = authz.access_key_id(response.headers, response.querystring)
    if key_id is None or key_id == config.SANDBOX_ACCESS_KEY_ID:
        if not s3 and response.boto3_service_name not in ("sns", "sqs", "sts"):
            return None  # the root in its own account: nothing but a resource policy can deny
    try:
        principal = identify(key_id, response.current_account)
    except CredentialError as refused:
        code, message = _S3_CREDENTIALS[refused.code] if s3 else (refused.code, refused.message)
        return code, message, refused.status
    if principal is None:
        return None
    signing = _signing_name(response)
    if s3:
        action = authz.iam_action("s3", str(response.data.get("Action") or response._get_action()))
    else:
        action = authz.iam_action(signing, response._get_action())
    params = _params(response)
    prefix = action.split(":", 1)[0]
    if not s3:
        resource = authz.resource_arn(
            prefix, action.split(":", 1)[1], params, response.current_account, response.region
        )
        if prefix == "iam" and resource.count("/") == 1:
            resource = _with_path(resource)
        elif prefix == "iam" and resource == "*" and principal.kind == "user":
            if authz.acts_on_caller(action.split(":", 1)[1]):
                resource = principal.arn  # no UserName: the caller's own user
    decided = decide(principal, action, resource, params)
    if decided is None or decided[1].allowed:
        return _pass_role(principal, action, params, response.current_account)
    request, decision = decided
    message = denial_message(request, decision)
    if action == "sts:AssumeRole":  # STS words it without the reason
        message = message.split(" because ")[0].split(" with an explicit deny")[0]
    record(principal, request, decision, message)
    return "AccessDenied", message, 403


def _profile_roles(profile_arn: str) -> list[str]:
    """The role ARNs of an instance profile (by ARN, or by the name at its end)."""
    parts = profile_arn.split(":", 5)
    if len(parts) != 6:
        return []
    name = parts[5].rsplit("/", 1)[-1]
    try:
        profiles = _iam(parts[4]).instance_profiles.values()
    except KeyError:
        return []
    found = next((p for p in profiles if profile_arn in (p.arn,) or p.name == name), None)
    return [role.arn for role in found.roles] if found is not None else []


def _pass_role(
    principal: Principal, action: str, params: dict[str, Any], account: str
) -> tuple[str, str, int] | None:
    """``iam:PassRole`` on the role a request hands to a service (the request's own action is
    allowed): AWS refuses the whole request with the PassRole denial."""
    passed = authz.passed_role(action, params, account)
    if passed is None or principal.kind == "root":
        return None
    kind, arn, service = passed
    roles = _profile_roles(arn) if kind == "instance-profile" else [_with_path(arn)]
    passing = replace(principal, context={**principal.context, "iam:PassedToService": service})
    for role_arn in roles:
        decided = decide(passing, "iam:PassRole", role_arn, {})
        if decided is None or decided[1].allowed:
            continue
        request, decision = decided
        message = denial_message(request, decision)
        record(principal, request, decision, message)
        return "AccessDenied", message, 403
    return None


def _signing_name(response: Any) -> str:
    auth = response.headers.get("Authorization", "")
    scope = auth.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    if "Credential=" in auth and len(scope) > 3:
        return scope[3]
    credential = response.querystring.get("X-Amz-Credential")
    if credential:
        scope = authz._first(credential).split("/")
        if len(scope) > 3:
            return scope[3]
    return str(response.service_name)


def _with_path(resource: str) -> str:
    """The ARN of an existing IAM user, group or role (with its path); else as named."""
    parts = resource.split(":", 5)
    kind, _, name = parts[5].partition("/")
    backend = _iam(parts[4])
    found = {"user": backend.users, "group": backend.groups}.get(kind)
    if kind == "role":
        found = {r.name: r for r in backend.roles.values()}
    entity = (found or {}).get(name)
    return entity.arn if entity is not None else resource


class _ServiceRoleIdentities:
    """IAM and STS state for :mod:`~flovtrain.sandbox.engines.service_roles` (its
    ``IdentityStore``): the sandbox's own services assume roles and are evaluated here."""

    def role(self, role_arn: str) -> Any | None:
        parts = str(role_arn).split(":", 5)
        if len(parts) != 6 or not parts[5].startswith("role/"):
            return None
        name = parts[5].rsplit("/", 1)[-1]
        try:
            roles = _iam(parts[4]).roles.values()
        except KeyError:
            return None
        return next((r for r in roles if r.arn == role_arn or r.name == name), None)

    def session_principal(self, role: Any, session_name: str, context: dict[str, Any]) -> Any:
        account = role.arn.split(":")[4]
        return Principal(
            f"arn:aws:sts::{account}:assumed-role/{role.name}/{session_name}",
            account,
            "session",
            "",
            entity_policies(_iam(account), role, "role"),
            {**context, **_tags(role.tags)},
            role.arn,
        )

    def issue_session(self, role: Any, session_name: str, region: str) -> Any:
        from moto.sts.models import sts_backends

        from flovtrain.sandbox.engines.service_roles import Credentials

        account = role.arn.split(":")[4]
        session = sts_backends[account][PARTITION].assume_role(
            region_name=region,
            role_session_name=session_name,
            role_arn=role.arn,
            policy=None,
            duration=3600,
            external_id=None,
        )
        SESSIONS[session.access_key_id] = {
            "aws:MultiFactorAuthPresent": "false",
            "aws:TokenIssueTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return Credentials(
            session.access_key_id, session.secret_access_key, session.session_token, session.arn
        )

    def identify(self, access_key_id: str, account: str) -> Any:
        return identify(access_key_id, account)

    def deny(self, principal: Any, action: str, resource: str) -> str | None:
        decided = decide(principal, action, resource, {})
        if decided is None or decided[1].allowed:
            return None
        request, decision = decided
        message = denial_message(request, decision)
        record(principal, request, decision, message)
        set_request_id(str(uuid.uuid4()))
        return message

    def instance_profile(self, account: str, region: str, instance_id: str) -> Any | None:
        from moto.ec2.models import ec2_backends

        try:
            associations = ec2_backends[account][region].iam_instance_profile_associations
        except KeyError:
            return None
        found = associations.get(instance_id)
        if found is None or getattr(found, "state", "associated") != "associated":
            return None
        return found.iam_instance_profile


service_roles.use_identities(_ServiceRoleIdentities())
