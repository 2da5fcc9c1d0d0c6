"""EC2 provider: every instance gets a root folder and a loopback address on this machine.

moto invents a public IP no one can reach. Here the instance's ``PublicIpAddress`` is its
own ``127.20.x.y`` (see :mod:`flovtrain.sandbox.engines.instances`), so an app a CodeDeploy
hook starts on that address is what "open the public IP in a browser" shows. Stopping or
terminating the instance ends the processes it started. CloudFormation's
``AWS::EC2::KeyPair`` is declared here: its private key is kept in SSM
``/ec2/keypair/<key-pair-id>``, as AWS does.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.engines import instances
from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.seam import Provider, after_import

_patched: dict[str, Any] = {}


def _give_address(instance: Any) -> None:
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
    instances.reset()


def stop() -> None:
    instances.stop_all()


# -- what EC2 adds to CloudFormation ------------------------------------------------------------
def _stack_key_pair(name: str, props: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    from moto.ec2.models import ec2_backends
    from moto.ssm.models import ssm_backends

    backend = ec2_backends[account][region]
    tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
    if props.get("PublicKeyMaterial"):
        key = backend.import_key_pair(name, props["PublicKeyMaterial"].encode(), tags)
    else:
        key = backend.create_key_pair(name, (props.get("KeyType") or "rsa").lower(), tags)
        # like AWS: CloudFormation keeps the private key in Parameter Store
        ssm_backends[account][region].put_parameter(
            f"/ec2/keypair/{key.id}",
            f"Private key of EC2 key pair {name}",
            key.key_material,
            "SecureString",
            None,
            None,
            True,
            [],
            "text",
            None,
            None,
        )
    return {
        "physical": name,
        "attrs": {"KeyPairId": key.id, "KeyFingerprint": key.key_fingerprint},
        "key_id": key.id,
    }


def _delete_stack_key_pair(name: str, account: str, region: str, state: dict[str, Any]) -> None:
    from moto.ec2.models import ec2_backends
    from moto.ssm.models import ssm_backends

    ec2_backends[account][region].delete_key_pair(name)
    if state.get("key_id"):
        try:
            ssm_backends[account][region].delete_parameter(f"/ec2/keypair/{state['key_id']}")
        except Exception:  # already deleted by hand
            pass


cfn_types.declare("AWS::EC2::KeyPair", "KeyName", _stack_key_pair, _delete_stack_key_pair)


PROVIDER = Provider(name="ec2", setup=setup, reset=reset, stop=stop)
