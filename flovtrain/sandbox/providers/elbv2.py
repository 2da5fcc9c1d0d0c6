"""ELBv2 provider: load balancers that really forward, and target health that is really checked.

moto stores load balancers, listeners, rules and target groups and calls every target
``healthy``. Here (see :mod:`flovtrain.sandbox.engines.frontdoor.elb`) a load balancer gets a
loopback address its ``DNSName`` resolves to, each HTTP listener serves there, and
``DescribeTargetHealth`` reports what the health checks found. The hooks sit on moto's backend
(not on the API operations) so load balancers made by CloudFormation serve too.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines.errors import EngineError
from flovtrain.sandbox.engines.frontdoor import elb, health
from flovtrain.sandbox.seam import AwsError, Provider, after_import

_patched: dict[str, Any] = {}
#: Backend methods after which the health checkers follow moto's registrations at once.
_SYNC_AFTER = (
    "register_targets",
    "deregister_targets",
    "delete_target_group",
    "modify_target_group",
    "create_rule",
    "modify_rule",
    "delete_rule",
    "notify_terminate_instances",
)


def setup() -> None:
    after_import("moto.elbv2.models", _hook_backend)  # not at start: importing it costs


def _open(backend: Any, balancer: Any, listener: Any) -> None:
    served = elb.get(balancer.arn)
    if served is None:
        return
    try:
        elb.open_listener(served, listener.arn, listener.protocol, int(listener.port))
    except EngineError as exc:
        balancer.listeners.pop(listener.arn, None)  # AWS creates no listener it cannot serve
        raise AwsError(exc.code, exc.message, exc.status) from None


def _hook_backend() -> None:
    from moto.elbv2.models import ELBv2Backend

    if _patched:
        return
    original = {name: getattr(ELBv2Backend, name) for name in _SYNC_AFTER}
    create_load_balancer = ELBv2Backend.create_load_balancer
    create_listener = ELBv2Backend.create_listener
    modify_listener = ELBv2Backend.modify_listener
    delete_listener = ELBv2Backend.delete_listener
    delete_load_balancer = ELBv2Backend.delete_load_balancer

    def create_load_balancer_served(self: Any, *args: Any, **kwargs: Any) -> Any:
        balancer = create_load_balancer(self, *args, **kwargs)
        elb.add_balancer(
            self.account_id, self.region_name, balancer.arn, balancer.name, balancer.dns_name
        )
        elb.start()
        return balancer

    def create_listener_served(self: Any, load_balancer_arn: str, protocol: str, port: Any,
                               *args: Any, **kwargs: Any) -> Any:  # fmt: skip
        balancer = self.load_balancers.get(load_balancer_arn)
        if balancer is not None and any(
            str(existing.port) == str(port) for existing in balancer.listeners.values()
        ):  # moto compares the port with listener ARNs and never finds one
            raise AwsError(
                "DuplicateListener", "A listener with the specified port already exists."
            )
        listener = create_listener(self, load_balancer_arn, protocol, port, *args, **kwargs)
        _open(self, balancer, listener)
        elb.sync()
        return listener

    def modify_listener_served(self: Any, arn: str, port: Any = None, *args: Any,
                               **kwargs: Any) -> Any:  # fmt: skip
        before = {
            l_arn: (str(lst.port), lst.protocol)
            for b in self.load_balancers.values()
            for l_arn, lst in b.listeners.items()
        }.get(arn)
        listener = modify_listener(self, arn, port, *args, **kwargs)
        balancer = self.load_balancers.get(listener.load_balancer_arn)
        served = elb.get(listener.load_balancer_arn)
        if served is not None and before != (str(listener.port), listener.protocol):
            elb.close_listener(served, arn)
            _open(self, balancer, listener)
        elb.sync()
        return listener

    def delete_listener_served(self: Any, listener_arn: str) -> Any:
        listener = delete_listener(self, listener_arn)
        served = elb.get(listener.load_balancer_arn)
        if served is not None:
            elb.close_listener(served, listener_arn)
        elb.sync()
        return listener

    def delete_load_balancer_served(self: Any, arn: str) -> None:
        delete_load_balancer(self, arn)
        elb.remove_balancer(arn)
        elb.sync()

    def syncing(name: str) -> Any:
        method = original[name]

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = method(self, *args, **kwargs)
            elb.sync()
            return result

        call.__name__ = name
        return call

    _patched.update(original, describe_target_health=ELBv2Backend.describe_target_health)
    ELBv2Backend.create_load_balancer = create_load_balancer_served
    ELBv2Backend.create_listener = create_listener_served
    ELBv2Backend.modify_listener = modify_listener_served
    ELBv2Backend.delete_listener = delete_listener_served
    ELBv2Backend.delete_load_balancer = delete_load_balancer_served
    ELBv2Backend.describe_target_health = describe_target_health
    for name in _SYNC_AFTER:
        setattr(ELBv2Backend, name, syncing(name))


def describe_target_health(self: Any, target_group_arn: str, targets: list[dict[str, Any]]) -> Any:
    """moto's ``describe_target_health`` with the states the health checks found."""
    from moto.elbv2.exceptions import TargetGroupNotFoundError
    from moto.elbv2.models import FakeHealthStatus

    group = self.target_groups.get(target_group_arn)
    if group is None:
        raise TargetGroupNotFoundError()
    if not targets:  # all registered targets, and those still draining
        targets = list(group.targets.values())
        targets += [{"Id": i, "Port": p} for i, p in health.draining(group.arn)]
    used = target_group_arn in elb.groups_in_use(self)
    statuses = []
    for target in targets:
        port = int(target.get("Port") or group.port or 80)
        registered = group.targets.get(target["Id"])
        if registered is not None:
            port = int(target.get("Port") or registered["Port"])
        moto_status = group.health_for(target, self.ec2_backend)
        found = health.state((group.arn, target["Id"], port))
        if registered is not None and moto_status.status == "healthy":
            if target["Id"].startswith("i-") and not _instance_running(self, target["Id"]):
                found = health.Health("unused", "Target.InvalidState")
                found.description = "Target is in the terminated state"
            elif not used:
                found = health.Health(
                    "unused", "Target.NotInUse", health.DESCRIPTIONS["Target.NotInUse"]
                )
            elif found is None:  # registered a moment ago: the checker starts with the next sync
                found = health.Health(
                    "initial",
                    "Elb.RegistrationInProgress",
                    health.DESCRIPTIONS["Elb.RegistrationInProgress"],
                )
        elif found is None or found.state != "draining":
            found = health.Health(moto_status.status, moto_status.reason, moto_status.description)
        statuses.append(
            FakeHealthStatus(
                target["Id"],
                str(port),
                group.health_check_port,
                found.state,
                found.reason,
                found.description,
            )
        )
    return statuses


def _instance_running(backend: Any, instance_id: str) -> bool:
    try:
        instance = backend.ec2_backend.get_instance_by_id(instance_id)
    except Exception:  # not an instance moto knows: an id AWS would refuse at registration
        return False
    return instance is None or instance.state in ("running", "pending")


def reset() -> None:
    elb.stop_all()


def stop() -> None:
    elb.stop_all()


PROVIDER = Provider(name="elbv2", setup=setup, reset=reset, stop=stop)
