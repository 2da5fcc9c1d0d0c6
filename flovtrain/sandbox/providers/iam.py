"""IAM what moto 5.2.5 lacks: refusals to delete what AWS protects, and the policy simulator.

On AWS, ``DeleteUser``, ``DeleteGroup`` and ``DeleteRole`` answer ``DeleteConflict`` (HTTP 409)
while the user has a password (login profile), access keys, signing certificates, SSH keys, an
MFA device, policies or group memberships, while the group has members or policies, and while
the role has policies or is in an instance profile; the learner removes them first (the console
does it for you, the API never does). moto deletes anyway, silently dropping the keys a learner
might still have in a CSV file.

``SimulatePrincipalPolicy`` and ``SimulateCustomPolicy`` answer with the evaluator the sandbox
enforces every request with (:mod:`flovtrain.sandbox.engines.policy_simulator`).
"""

from __future__ import annotations

from typing import Any

from moto.iam.responses import IamResponse

from flovtrain.sandbox.engines.policy import Policy
from flovtrain.sandbox.providers._authz import entity_policies
from flovtrain.sandbox.seam import AwsError, Call, Provider

CONFLICT = 409


def _backend(call: Call) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[call.account_id][call.response.partition]


def _conflict(what: str) -> AwsError:
    return AwsError("DeleteConflict", f"Cannot delete entity, must {what} first.", CONFLICT)


def _user_conflict(backend: Any, user: Any) -> AwsError | None:
    """The first thing AWS would name that still hangs on ``user`` (AWS's own wording)."""
    checks = (
        (user.password is not None, "delete login profile"),
        (bool(user.access_keys), "delete access keys"),
        (bool(user.signing_certificates), "delete certificates"),
        (bool(user.ssh_public_keys), "remove referenced objects"),
        (bool(user.mfa_devices), "delete MFA device"),
        (bool(user.policies), "delete policies"),
        (bool(user.managed_policies), "detach all policies"),
        (any(user in g.users for g in backend.groups.values()), "remove users from group"),
    )
    return next((_conflict(what) for hit, what in checks if hit), None)


def delete_user(call: Call) -> Any:
    backend = _backend(call)
    name = call.params.get("UserName", "")
    user = backend.users.get(name)
    if user is not None:
        conflict = _user_conflict(backend, user)
        if conflict is not None:
            raise conflict
    return call.moto()


def delete_group(call: Call) -> Any:
    backend = _backend(call)
    group = backend.groups.get(call.params.get("GroupName", ""))
    if group is not None:
        if group.users:
            raise _conflict("remove users from group")
        if group.policies:
            raise _conflict("delete policies")
        if group.managed_policies:
            raise _conflict("detach all policies")
    return call.moto()


def delete_role(call: Call) -> Any:
    backend = _backend(call)
    name = call.params.get("RoleName", "")
    role = next((r for r in backend.roles.values() if r.name == name), None)
    if role is not None:
        if any(role in p.roles for p in backend.instance_profiles.values()):
            raise _conflict("remove roles from instance profile")
        if role.policies:
            raise _conflict("delete policies")
        if role.managed_policies:
            raise _conflict("detach all policies")
    return call.moto()


#: IAM's quotas on the inline policies of one user, group or role (characters, whitespace not
#: counted, all the entity's inline policies together).
INLINE_LIMITS = {"user": 2048, "group": 5120, "role": 10240}


def _size(document: str) -> int:
    return sum(1 for ch in document if not ch.isspace())


def create_policy(call: Call) -> Any:
    """moto refuses malformed documents itself; the 6,144-character quota is IAM's too."""
    from flovtrain.sandbox.engines.policy import PolicyDocumentError, validate_policy

    document = call.params.get("PolicyDocument", "")
    try:
        validate_policy(document)
    except PolicyDocumentError as exc:
        if exc.code == "LimitExceeded":
            raise AwsError(exc.code, exc.message, CONFLICT) from None
    return call.moto()


def _inline(kind: str) -> Any:
    def put_policy(call: Call) -> Any:
        backend = _backend(call)
        name = call.params.get(f"{kind.capitalize()}Name", "")
        entities = {"user": backend.users, "group": backend.groups}.get(kind) or {
            r.name: r for r in backend.roles.values()
        }
        entity = entities.get(name)
        if entity is not None:
            others = [d for n, d in entity.policies.items() if n != call.params.get("PolicyName")]
            total = _size(call.params.get("PolicyDocument", "")) + sum(map(_size, others))
            if total > INLINE_LIMITS[kind]:
                raise AwsError(
                    "LimitExceeded",
                    f"Maximum policy size of {INLINE_LIMITS[kind]} bytes exceeded for {kind} "
                    f"{name}",
                    CONFLICT,
                )
        return call.moto()

    return put_policy


def _input_policies(call: Call, key: str, kind: str = "identity") -> list[Policy]:
    from flovtrain.sandbox.engines.policy import PolicyDocumentError, validate_policy

    found = []
    for i, text in enumerate(call.params.get(key) or [], 1):
        try:
            validate_policy(text, kind=kind, managed=False)
        except PolicyDocumentError as exc:
            raise AwsError("InvalidInput", exc.message) from None
        found.append(Policy(f"{key}.{i}", text, "boundary" if "Boundary" in key else kind))
    return found


def _source(backend: Any, arn: str) -> tuple[Any, str]:
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    found = {
        "user": backend.users,
        "group": backend.groups,
        "role": {r.name: r for r in backend.roles.values()},
    }.get(kind, {})
    entity = found.get(name)
    if entity is None or entity.arn != arn:
        raise AwsError(
            "NoSuchEntity", f"The {kind or 'entity'} with ARN {arn} cannot be found.", 404
        )
    return entity, kind


def _simulate(call: Call, policies: list[Policy], caller: str | None) -> dict[str, Any]:
    from flovtrain.sandbox.engines.policy_simulator import simulate

    params = call.params
    actions = params.get("ActionNames") or []
    resources = params.get("ResourceArns") or ["*"]
    boundaries = _input_policies(call, "PermissionsBoundaryPolicyInputList")
    resource_policy = params.get("ResourcePolicy")
    if resource_policy:
        from flovtrain.sandbox.engines.policy import PolicyDocumentError, validate_policy

        try:
            validate_policy(resource_policy, kind="resource", managed=False)
        except PolicyDocumentError as exc:
            raise AwsError("InvalidInput", exc.message) from None
    results = simulate(
        policies,
        actions,
        resources,
        caller_arn=params.get("CallerArn") or caller,
        context=params.get("ContextEntries") or [],
        resource_policy=resource_policy,
        resource_owner=params.get("ResourceOwner"),
        permissions_boundaries=boundaries,
    )
    if params.get("ResourceArns"):
        for entry in results:  # AWS details each resource it was given
            entry["ResourceSpecificResults"] = [
                {
                    "EvalResourceName": entry["EvalResourceName"],
                    "EvalResourceDecision": entry["EvalDecision"],
                    "MatchedStatements": entry["MatchedStatements"],
                    "MissingContextValues": entry["MissingContextValues"],
                }
            ]
    return {"EvaluationResults": results, "IsTruncated": False}


def simulate_principal_policy(call: Call) -> Any:
    backend = _backend(call)
    source = call.params.get("PolicySourceArn", "")
    entity, kind = _source(backend, source)
    policies = entity_policies(backend, entity, kind)
    excluded = set(call.params.get("PolicyExclusionList") or [])
    policies = [p for p in policies if p.arn not in excluded]
    policies += _input_policies(call, "PolicyInputList")
    return _simulate(call, policies, source if kind == "user" else None)


def simulate_custom_policy(call: Call) -> Any:
    return _simulate(call, _input_policies(call, "PolicyInputList"), None)


PROVIDER = Provider(
    name="iam",
    response_class=IamResponse,
    service="iam",
    operations={
        "DeleteUser": delete_user,
        "DeleteGroup": delete_group,
        "DeleteRole": delete_role,
        "CreatePolicy": create_policy,
        "CreatePolicyVersion": create_policy,
        "PutUserPolicy": _inline("user"),
        "PutGroupPolicy": _inline("group"),
        "PutRolePolicy": _inline("role"),
        "SimulatePrincipalPolicy": simulate_principal_policy,
        "SimulateCustomPolicy": simulate_custom_policy,
    },
)
