"""IAM what moto 5.2.5 lacks: refusals to delete what AWS protects, and the policy simulator.

On AWS, ``DeleteUser``, ``DeleteGroup`` and ``DeleteRole`` answer ``DeleteConflict`` (HTTP 409)
while the user has a password (login profile), access keys, signing certificates, SSH keys, an
MFA device, policies or group memberships, while the group has members or policies, and while
the role has policies or is in an instance profile; the learner removes them first (the console
does it for you, the API never does). moto deletes anyway, silently dropping the keys a learner
might still have in a CSV file.

``SimulatePrincipalPolicy`` and ``SimulateCustomPolicy`` answer with the evaluator the sandbox
enforces every request with (:mod:`flovtrain.sandbox.engines.policy_simulator`).

AWS's words where moto's differ: ``User with name X already exists.``, ``The role with name X
cannot be found.`` (:data:`AWS_WORDS`); names checked against IAM's pattern
(``ValidationError``) and a trust policy that is not JSON refused (``MalformedPolicyDocument``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.iam.responses import IamResponse

from flovtrain.sandbox.engines.policy import Policy
from flovtrain.sandbox.providers._authz import entity_policies
from flovtrain.sandbox.providers._common import constraint_failure, validation_error
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


#: moto's wording -> AWS's, for the IAM errors a learner meets (``NoSuchEntity``,
#: ``EntityAlreadyExists``).
AWS_WORDS = (
    (re.compile(r"^User (\S+) already exists$"), r"User with name \1 already exists."),
    (re.compile(r"^Group (\S+) already exists$"), r"Group with name \1 already exists."),
    (re.compile(r"^(User|Group|Role) (\S+) not found$"), None),
    (
        re.compile(r"^Login profile for (\S+) not found$"),
        r"Login Profile for User \1 cannot be found.",
    ),
    (re.compile(r"^Instance profile (\S+) not found$"), r"Instance Profile \1 cannot be found."),
)
#: IAM's name patterns (API model): user, group, role names.
NAME_PATTERN = re.compile(r"^[\w+=,.@-]+$")


def aws_words(message: str) -> str:
    """AWS's wording of a moto IAM error message (unchanged when AWS words it the same).

    Examples
    --------
    >>> aws_words("Role ghost not found")
    'The role with name ghost cannot be found.'
    """
    for pattern, replacement in AWS_WORDS:
        found = pattern.match(message)
        if found and replacement is None:
            return f"The {found.group(1).lower()} with name {found.group(2)} cannot be found."
        if found:
            return found.expand(replacement)
    return message


def _reword_moto_errors() -> None:
    from moto.iam import exceptions

    for cls in (exceptions.NotFoundException, exceptions.EntityAlreadyExists):
        if getattr(cls.__init__, "_flovtrain", False):
            continue
        original = cls.__init__

        def init(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            _original(self, *args, **kwargs)
            self.message = aws_words(self.message)
            self.args = (self.message,)

        init._flovtrain = True  # type: ignore[attr-defined]
        cls.__init__ = init  # type: ignore[method-assign]


def _attach_managed_policies_in_stacks() -> None:
    """Stacks attach ``ManagedPolicyArns`` to the roles and users they create and detach them
    before deleting those, as CloudFormation does (moto 5.2.5 ignores the property: a role made
    by a template would hold none of its managed policies, and every call it made be denied)."""
    from moto.iam import models

    for cls, kind in ((models.Role, "role"), (models.User, "user")):
        create = cls.create_from_cloudformation_json.__func__
        if getattr(create, "_flovtrain", False):
            continue  # patched already
        delete = cls.delete_from_cloudformation_json.__func__

        def backend(account_id: str, region_name: str) -> Any:
            return models.iam_backends[account_id][models.get_partition(region_name)]

        def create_with_policies(
            klass: Any,
            resource_name: str,
            template: dict[str, Any],
            account_id: str,
            region_name: str,
            _create: Any = create,
            _kind: str = kind,
            **kwargs: Any,
        ) -> Any:
            made = _create(klass, resource_name, template, account_id, region_name, **kwargs)
            attach = getattr(backend(account_id, region_name), f"attach_{_kind}_policy")
            for arn in template.get("Properties", {}).get("ManagedPolicyArns", []):
                attach(arn, made.name)
            return made

        def delete_after_detaching(
            klass: Any,
            resource_name: str,
            template: dict[str, Any],
            account_id: str,
            region_name: str,
            _delete: Any = delete,
            _kind: str = kind,
        ) -> None:
            detach = getattr(backend(account_id, region_name), f"detach_{_kind}_policy")
            for arn in template.get("Properties", {}).get("ManagedPolicyArns", []):
                try:
                    detach(arn, resource_name)
                except Exception:  # noqa: BLE001 - detached by hand already: nothing to undo
                    pass
            _delete(klass, resource_name, template, account_id, region_name)

        create_with_policies._flovtrain = True  # type: ignore[attr-defined]
        cls.create_from_cloudformation_json = classmethod(create_with_policies)  # type: ignore[method-assign,assignment]
        cls.delete_from_cloudformation_json = classmethod(delete_after_detaching)  # type: ignore[method-assign,assignment]


def _setup() -> None:
    _reword_moto_errors()
    _attach_managed_policies_in_stacks()


def _named(kind: str) -> Any:
    """Check ``<Kind>Name`` against IAM's pattern and length, as AWS's request validation does."""
    member = f"{kind}Name"

    def create(call: Call) -> Any:
        name = call.params.get(member[0].upper() + member[1:], "")
        limit = 128 if kind == "group" else 64  # the API model's maximum lengths
        failures = []
        if name and not NAME_PATTERN.match(name):
            failures.append(
                constraint_failure(
                    name, member, r"Member must satisfy regular expression pattern: [\w+=,.@-]+"
                )
            )
        if len(name) > limit:
            failures.append(
                constraint_failure(
                    name, member, f"Member must have length less than or equal to {limit}"
                )
            )
        if failures:
            raise validation_error("ValidationError", failures)
        if kind == "role":
            _trust_is_json(call.params.get("AssumeRolePolicyDocument", ""))
        return call.moto()

    return create


#: A role's trust policy quota (characters, whitespace not counted; AWS can raise it to 4,096).
TRUST_LIMIT = 2048


def _trust_is_json(document: str) -> None:
    try:
        loaded = json.loads(document)
    except ValueError:
        raise AwsError("MalformedPolicyDocument", "This policy contains invalid Json") from None
    if not isinstance(loaded, dict):
        raise AwsError("MalformedPolicyDocument", "This policy contains invalid Json")
    if _size(document) > TRUST_LIMIT:
        raise AwsError(
            "LimitExceeded", f"Cannot exceed quota for ACLSizePerRole: {TRUST_LIMIT}", CONFLICT
        )


def update_assume_role_policy(call: Call) -> Any:
    _trust_is_json(call.params.get("PolicyDocument", ""))
    return call.moto()


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
        "CreateUser": _named("user"),
        "CreateGroup": _named("group"),
        "CreateRole": _named("role"),
        "UpdateAssumeRolePolicy": update_assume_role_policy,
    },
    setup=_setup,
)
