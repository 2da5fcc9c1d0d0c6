"""EC2 provider: every instance gets a root folder and a loopback address on this machine.

moto invents a public IP no one can reach. Here the instance's ``PublicIpAddress`` is its
own ``127.20.x.y`` (see :mod:`flovtrain.sandbox.engines.instances`), so an app a CodeDeploy
hook starts on that address is what "open the public IP in a browser" shows. Stopping or
terminating the instance ends the processes it started. An instance launched with a key pair
accepts ``ssh -i key.pem ec2-user@<public IP>`` while it runs (see
:mod:`flovtrain.sandbox.engines.frontdoor.ssh`). CloudFormation's
``AWS::EC2::KeyPair`` is declared here: its private key is kept in SSM
``/ec2/keypair/<key-pair-id>``, as AWS does.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from flovtrain.sandbox.engines import instances
from flovtrain.sandbox.engines.frontdoor import ssh
from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.seam import AwsError, Call, Provider, after_import

_patched: dict[str, Any] = {}
#: instance id -> the public key its key pair had at launch (like ~ec2-user/.ssh/authorized_keys,
#: it stays when the key pair is deleted)
_authorized: dict[str, str] = {}


def _give_address(instance: Any) -> None:
    backend = instance.ec2_backend
    record = instances.allocate(backend.account_id, backend.region_name, instance.id)
    nics = getattr(instance, "nics", {})
    if nics:
        nics[0].public_ip = record.address


def _launch_key(instance: Any) -> str | None:
    key_pair = instance.ec2_backend.key_pairs.get(instance.key_name or "")
    if key_pair is None:
        return None
    # CreateKeyPair: derive from the private key moto returned; ImportKeyPair: the material
    return ssh.public_key_of(key_pair.key_material or key_pair.public_key)


def _serve_ssh(instance: Any) -> None:
    record = instances.get(instance.id)
    public_key = _authorized.get(instance.id)
    if record is None or public_key is None or record.terminated:
        return
    try:
        ssh.serve(
            instance.id, record.address, public_key, record.root, instances.environment(record)
        )
    except (RuntimeError, ValueError) as exc:  # the instance runs; only its SSH is missing
        print(f"flovtrain sandbox: {instance.id}: {exc}", file=sys.stderr, flush=True)


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
            if instance.key_name:
                key = _launch_key(instance)
                if key:
                    _authorized[instance.id] = key
                    _serve_ssh(instance)
        # moto's response associates IamInstanceProfile with the first instance only; AWS with all
        arn, name = kwargs.get("iam_instance_profile_arn"), kwargs.get("iam_instance_profile_name")
        for instance in reservation.instances[1:] if (arn or name) else []:
            self.associate_iam_instance_profile(
                instance.id, iam_instance_profile_name=None if arn else name,
                iam_instance_profile_arn=arn,
            )  # fmt: skip
        return reservation

    def start_keeps_address(self: Any) -> Any:
        previous = start(self)
        record = instances.get(self.id)
        if record is not None and self.nics:
            self.nics[0].public_ip = record.address
        _serve_ssh(self)
        return previous

    def stop_ends_processes(self: Any) -> Any:
        ssh.close(self.id)
        record = instances.get(self.id)
        if record is not None:
            instances.stop_processes(record)
        return stop(self)

    def terminate_ends_processes(self: Any) -> Any:
        ssh.close(self.id)
        _authorized.pop(self.id, None)
        instances.terminate(self.id)
        return terminate(self)

    _patched.update(run_instances=run_instances, start=start, stop=stop, terminate=terminate)
    InstanceBackend.run_instances = run_instances_with_addresses
    Instance.start = start_keeps_address
    Instance.stop = stop_ends_processes
    Instance.terminate = terminate_ends_processes


def reset() -> None:
    ssh.close_all(forget_host_keys=True)
    _authorized.clear()
    instances.reset()


def stop() -> None:
    ssh.close_all()
    instances.stop_all()


# -- refusing what EC2 refuses, in its words -------------------------------------------------
# moto launches any instance type, AMI and key pair name unless process-wide switches are set, and
# its "not found" messages print Python sets; AWS names the one value it refuses.
_AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")


def _ec2(call: Call) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[call.account_id][call.region]


def _missing_key(call: Call, names: list[str]) -> None:
    """Refuse the first of ``names`` that is no key pair of the caller's region."""
    known = _ec2(call).key_pairs
    for name in names:
        if name not in known:
            raise AwsError("InvalidKeyPair.NotFound", f"The key pair '{name}' does not exist")


def run_instances(call: Call) -> Any:
    """RunInstances refuses an unknown instance type, AMI or key pair before launching any.

    Examples
    --------
    ``ec2.run_instances(ImageId="ami-00000000", MinCount=1, MaxCount=1)`` answers
    ``InvalidAMIID.NotFound: The image id '[ami-00000000]' does not exist``.
    """
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    params = call.params
    image = params.get("ImageId")
    if image and image not in _ec2(call).amis:  # moto's own image list has odd ids: keep them
        if not _AMI_ID.match(image):
            message = f'Invalid id: "{image}" (expecting "ami-...")'
            raise AwsError("InvalidAMIID.Malformed", message)
        raise AwsError("InvalidAMIID.NotFound", f"The image id '[{image}]' does not exist")
    kind = params.get("InstanceType")
    if kind and kind not in INSTANCE_TYPES:
        raise AwsError("InvalidParameterValue", f"Invalid value '{kind}' for InstanceType.")
    if params.get("KeyName"):
        _missing_key(call, [params["KeyName"]])
    return call.moto()


def describe_key_pairs(call: Call) -> Any:
    """DescribeKeyPairs names the first missing key pair (moto prints a set of every name)."""
    _missing_key(call, call.params.get("KeyNames") or [])
    return call.moto()


def describe_security_groups(call: Call) -> Any:
    """DescribeSecurityGroups names the first missing group id (moto prints a set of them)."""
    known = {gid for groups in _ec2(call).groups.values() for gid in groups}
    for group_id in call.params.get("GroupIds") or []:
        if group_id not in known:
            message = f"The security group '{group_id}' does not exist"
            raise AwsError("InvalidGroup.NotFound", message)
    return call.moto()


def _rule_cidrs(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Every ``(parameter, CIDR)`` of an Authorize/Revoke request, in request order."""
    cidrs = [("cidrIp", params["CidrIp"])] if params.get("CidrIp") else []
    for permission in params.get("IpPermissions") or []:
        cidrs += [
            ("cidrIp", r["CidrIp"]) for r in permission.get("IpRanges") or [] if "CidrIp" in r
        ]
        cidrs += [
            ("cidrIpv6", r["CidrIpv6"])
            for r in permission.get("Ipv6Ranges") or []
            if "CidrIpv6" in r
        ]
    return cidrs


def security_group_rule(call: Call) -> Any:
    """Authorize a security group rule; a malformed CIDR is refused in AWS's words.

    Examples
    --------
    ``CidrIp="10.0.0.0/33"`` answers ``InvalidParameterValue: Value (10.0.0.0/33) for parameter
    cidrIp is invalid. This is not a valid CIDR block.``
    """
    from moto.ec2.utils import is_valid_cidr, is_valid_ipv6_cidr

    valid = {"cidrIp": is_valid_cidr, "cidrIpv6": is_valid_ipv6_cidr}
    for parameter, cidr in _rule_cidrs(call.params):
        if not valid[parameter](cidr):
            message = f"Value ({cidr}) for parameter {parameter} is invalid. "
            raise AwsError("InvalidParameterValue", message + "This is not a valid CIDR block.")
    return call.moto()


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


PROVIDER = Provider(
    name="ec2",
    response_class="moto.ec2.responses.EC2Response",  # installed when moto first loads EC2
    service="ec2",
    operations={
        "RunInstances": run_instances,
        "DescribeKeyPairs": describe_key_pairs,
        "DescribeSecurityGroups": describe_security_groups,
        "AuthorizeSecurityGroupIngress": security_group_rule,
        "AuthorizeSecurityGroupEgress": security_group_rule,
    },
    setup=setup,
    reset=reset,
    stop=stop,
)
