"""IAM refusals moto 5.2.5 lacks: deleting a user or group that still has what AWS protects.

On AWS, ``DeleteUser`` and ``DeleteGroup`` answer ``DeleteConflict`` (HTTP 409) while the user
has a password (login profile), access keys, signing certificates, SSH keys, an MFA device,
policies or group memberships, and while the group has members or policies; the learner removes
them first (the console does it for you, the API never does). moto deletes anyway, silently
dropping the keys a learner might still have in a CSV file.
"""

from __future__ import annotations

from typing import Any

from moto.iam.responses import IamResponse

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


PROVIDER = Provider(
    name="iam",
    response_class=IamResponse,
    service="iam",
    operations={"DeleteUser": delete_user, "DeleteGroup": delete_group},
)
