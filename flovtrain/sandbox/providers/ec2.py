"""EC2 provider: every instance gets a root folder and a loopback address on this machine.

moto invents a public IP no one can reach. Here the instance's ``PublicIpAddress`` is its
own ``127.20.x.y`` (see :mod:`flovtrain.sandbox.instances`), so an app a CodeDeploy hook
starts on that address is what "open the public IP in a browser" shows. Stopping or
terminating the instance ends the processes it started.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.seam import Provider, after_import

_patched: dict[str, Any] = {}


def _give_address(instance: Any) -> None:
    from flovtrain.sandbox import instances

    backend = instance.ec2_backend
    record = instances.allocate(backend.account_id, backend.region_name, instance.id)
    nics = getattr(instance, "nics", {})
    if nics:
        nics[0].public_ip = record.address


def setup() -> None:
    """Hook moto's instance launch, start, stop and terminate once moto's EC2 is imported."""
    after_import("moto.ec2", _hook_instances)  # importing EC2 takes a second: not at start


def _hook_instances() -> None:
    from moto.ec2.models.instances import Instance, InstanceBackend

    from flovtrain.sandbox import instances

    if _patched:
        return
    run_instances = InstanceBackend.run_instances
    start = Instance.start
    stop = Instance.stop
    terminate = Instance.terminate

    def run_instances_with_addresses(self: Any, *args: Any, **kwargs: Any) -> Any:
        reservation = run_instances(self, *args, **kwargs)
        for instance in reservation.instances:
            _give_address(instance)
        return reservation

    def start_keeps_address(self: Any) -> Any:
        previous = start(self)
        record = instances.get(self.id)
        if record is not None and self.nics:
            self.nics[0].public_ip = record.address
        return previous

    def stop_ends_processes(self: Any) -> Any:
        record = instances.get(self.id)
        if record is not None:
            instances.stop_processes(record)
        return stop(self)

    def terminate_ends_processes(self: Any) -> Any:
        instances.terminate(self.id)
        return terminate(self)

    _patched.update(run_instances=run_instances, start=start, stop=stop, terminate=terminate)
    InstanceBackend.run_instances = run_instances_with_addresses
    Instance.start = start_keeps_address
    Instance.stop = stop_ends_processes
    Instance.terminate = terminate_ends_processes


def reset() -> None:
    from flovtrain.sandbox import instances

    instances.reset()


def stop() -> None:
    from flovtrain.sandbox import instances

    instances.stop_all()


PROVIDER = Provider(name="ec2", setup=setup, reset=reset, stop=stop)
