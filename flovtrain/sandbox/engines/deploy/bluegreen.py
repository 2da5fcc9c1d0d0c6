"""Blue/green deployments on EC2: a replacement fleet, traffic moved through the load balancer.

A deployment group with ``deploymentStyle`` ``{deploymentType: BLUE_GREEN, deploymentOption:
WITH_TRAFFIC_CONTROL}`` and ``loadBalancerInfo.targetGroupInfoList`` runs as AWS describes:

1. **Green fleet.** ``DISCOVER_EXISTING``: the instances the deployment's ``targetInstances``
   (``tagFilters`` / ``ec2TagSet``) select, as on AWS. ``COPY_AUTO_SCALING_GROUP``: AWS copies
   the group's Auto Scaling group; the sandbox has no Auto Scaling, so it launches one copy of
   each blue instance instead (same image, type, subnet, key pair and tags) — sandbox only.
   Blue is what the group's tags select, minus green.
2. **Install on green:** ApplicationStop … ValidateService (the in-place events).
3. **Ready.** ``CONTINUE_DEPLOYMENT`` goes on at once; ``STOP_DEPLOYMENT`` sets the deployment
   ``Ready`` until ``ContinueDeployment`` (``READY_WAIT``), or ``Stopped`` after
   ``waitTimeInMinutes``. (Sandbox simplification: green instances go one after the other, so
   with several of them the wait comes after the first is installed, not after all.)
4. **Green takes traffic:** BeforeAllowTraffic, AllowTraffic (register in every target group,
   wait until the health checks call it ``healthy``), AfterAllowTraffic.
5. **Blue stops taking traffic:** BeforeBlockTraffic, BlockTraffic (deregister; the load
   balancer sends it no new request and lets in-flight ones finish during the target group's
   deregistration delay), AfterBlockTraffic. Blue's hooks come from the revision it last ran.
6. **Blue goes:** ``TERMINATE`` after ``terminationWaitTimeInMinutes`` (or at
   ``ContinueDeployment(deploymentWaitType=TERMINATION_WAIT)``); ``KEEP_ALIVE`` leaves it
   running, deregistered. The deployment is ``Succeeded`` once that is done.

A failure before AllowTraffic leaves traffic on blue (green never joins the target group).

**Time.** AWS's waits are minutes (the deregistration delay seconds); a class cannot wait that
long, so the sandbox waits one **second** per minute, and one second per minute of the
deregistration delay (:data:`SECONDS_PER_MINUTE`, :func:`scaled`): 300 s of deregistration
delay drain for 5 s. A wait of 0 is 0, as on AWS.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines import instances
from flovtrain.sandbox.engines.deploy.hooks import (
    LOG_TAIL_CHARS,
    EventFailed,
    end_event,
    new_events,
    run_script,
    utcnow,
)
from flovtrain.sandbox.engines.deploy.runner import (  # loaded first: it imports us lazily
    DeploymentRunner,
    InstanceRun,
    Run,
    _overview,
    _run_instance,
    error_for,
    finish,
    hook_environment,
    skip,
)
from flovtrain.sandbox.engines.deploy.targets import matching_instances, selected_by

#: Sandbox seconds per AWS minute of wait time (documented in the module docstring).
SECONDS_PER_MINUTE = 1.0
#: How long AllowTraffic waits for a green target to turn healthy before it fails.
ALLOW_TRAFFIC_TIMEOUT_S = 60.0
GREEN_TRAFFIC = ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
BLUE_TRAFFIC = ("BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic")


def scaled(minutes: float) -> float:
    """Sandbox seconds for AWS ``minutes`` of waiting.

    Examples
    --------
    >>> scaled(5), scaled(0)
    (5.0, 0.0)
    """
    return max(0.0, float(minutes)) * SECONDS_PER_MINUTE


def _events(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"lifecycleEventName": e, "status": "Pending"} for e in names]


def _ec2(run: Run) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[run.account_id][run.region]


def _elbv2(run: Run) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[run.account_id][run.region]


class Failed(Exception):
    """The deployment fails with CodeDeploy's ``errorInformation`` code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _target_groups(run: Run, group: Any) -> list[Any]:
    """The moto target groups ``loadBalancerInfo.targetGroupInfoList`` names."""
    info = group.load_balancer_info or {}
    if info.get("elbInfoList") and not info.get("targetGroupInfoList"):
        raise Failed(
            "ELASTIC_LOAD_BALANCING_INVALID",
            "The offline sandbox serves Application Load Balancers only: name the target "
            "group in loadBalancerInfo.targetGroupInfoList instead of a Classic Load Balancer "
            "in elbInfoList.",
        )
    by_name = {tg.name: tg for tg in list(_elbv2(run).target_groups.values())}
    found = []
    for entry in info.get("targetGroupInfoList") or []:
        tg = by_name.get(entry.get("name"))
        if tg is None:
            raise Failed(
                "ELASTIC_LOAD_BALANCING_INVALID",
                f"The target group {entry.get('name')} does not exist in "
                f"{run.account_id} {run.region}.",
            )
        found.append(tg)
    if not found:
        raise Failed(
            "ELASTIC_LOAD_BALANCING_INVALID",
            "The deployment group names no target group (loadBalancerInfo.targetGroupInfoList).",
        )
    return found


def _copy(run: Run, blue: list[Any]) -> list[Any]:
    """Sandbox-only stand-in for COPY_AUTO_SCALING_GROUP: one copy of each blue instance."""
    ec2 = _ec2(run)
    green = []
    for original in blue:
        tags = dict(ec2.tags.get(original.id, {}))
        kwargs: dict[str, Any] = {
            "instance_type": original.instance_type,
            "is_instance_type_default": True,  # no launch template to take a type from
            "tags": {"instance": tags},
        }
        if getattr(original, "subnet_id", None):
            kwargs["subnet_id"] = original.subnet_id
        if original.key_name:
            kwargs["key_name"] = original.key_name
        reservation = ec2.run_instances(original.image_id, 1, None, [], **kwargs)
        profile = ec2.iam_instance_profile_associations.get(original.id)
        if profile is not None:  # the copy's agent downloads as the original's role
            for copy in reservation.instances:
                ec2.associate_iam_instance_profile(
                    copy.id, iam_instance_profile_arn=profile.iam_instance_profile.arn
                )
        green += reservation.instances
    return green


def _fleets(run: Run, group: Any) -> tuple[list[Any], list[Any]]:
    """The blue (original) and green (replacement) instances of a blue/green deployment."""
    selected = matching_instances(run.account_id, run.region, group)
    option = ((group.blue_green_deployment_configuration or {}).get(
        "greenFleetProvisioningOption") or {}).get("action") or "DISCOVER_EXISTING"  # fmt: skip
    if option == "COPY_AUTO_SCALING_GROUP":
        blue = [i for i in selected if instances.get(i.id) is not None]
        if not blue:
            raise Failed(
                "NO_INSTANCES",
                "The offline sandbox has no Auto Scaling groups: with COPY_AUTO_SCALING_GROUP "
                "it copies the instances the deployment group's ec2TagFilters select, and "
                "they select no running instance.",
            )
        green = _copy(run, blue)
    else:
        wanted = run.target_instances or {}
        if not (wanted.get("tagFilters") or wanted.get("ec2TagSet")):
            raise Failed(
                "NO_INSTANCES",
                "The deployment group provisions the replacement environment with "
                "DISCOVER_EXISTING: create_deployment needs targetInstances (tagFilters or "
                "ec2TagSet) that select the replacement (green) instances.",
            )
        green = selected_by(
            run.account_id, run.region, wanted.get("tagFilters"), wanted.get("ec2TagSet")
        )
        green_ids = {i.id for i in green}
        blue = [i for i in selected if i.id not in green_ids]
    green = [i for i in green if instances.get(i.id) is not None]
    blue = [i for i in blue if instances.get(i.id) is not None]
    if not green:
        raise Failed(
            "NO_INSTANCES",
            "The deployment failed because no instances were found in the replacement "
            "environment. Check the targetInstances of the deployment (tags of the green "
            "instances) and try again.",
        )
    return blue, green


def _wait(run: Run, seconds: float, until: Any = None) -> bool:
    """Wait ``seconds`` (or until ``until`` is set); False when the deployment was stopped."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if run.stop_requested.is_set():
            return False
        if until is not None and until.is_set():
            return True
        time.sleep(0.05)
    return not run.stop_requested.is_set()


def _healthy(tg: Any, instance_id: str, port: int) -> bool:
    from flovtrain.sandbox.engines.frontdoor import health

    state = health.state((tg.arn, instance_id, port))
    return state is not None and state.state == "healthy"


def _port(tg: Any) -> int:
    return int(tg.port or 80)


def _allow_traffic(run: Run, groups: list[Any], instance_id: str) -> str:
    """Register a green instance in every target group and wait until it is healthy."""
    from flovtrain.sandbox.engines.frontdoor import elb

    elbv2 = _elbv2(run)
    for tg in groups:
        elbv2.register_targets(tg.arn, [{"Id": instance_id, "Port": _port(tg)}])
    elb.sync()  # start the health checks now, not at the next round
    deadline = time.monotonic() + ALLOW_TRAFFIC_TIMEOUT_S
    while not all(_healthy(tg, instance_id, _port(tg)) for tg in groups):
        if run.stop_requested.is_set() or time.monotonic() > deadline:
            for tg in groups:  # never leave an unhealthy replacement in the rotation
                elbv2.deregister_targets(tg.arn, [{"Id": instance_id, "Port": _port(tg)}])
            raise EventFailed(
                "UnknownError",
                f"The instance {instance_id} did not pass the health checks of target "
                f"group(s) {', '.join(tg.name for tg in groups)} within "
                f"{ALLOW_TRAFFIC_TIMEOUT_S:.0f} seconds.",
            )
        time.sleep(0.05)
    names = ", ".join(tg.name for tg in groups)
    return f"registered in {names}: healthy"


def _block_traffic(run: Run, groups: list[Any], instance_id: str) -> str:
    """Deregister a blue instance and let in-flight requests finish (deregistration delay)."""
    elbv2 = _elbv2(run)
    delay = 0.0
    for tg in groups:
        elbv2.deregister_targets(tg.arn, [{"Id": instance_id, "Port": _port(tg)}])
        seconds = float(tg.attributes.get("deregistration_delay.timeout_seconds", 300))
        delay = max(delay, scaled(seconds / 60))
    _wait(run, delay)
    return f"deregistered from {', '.join(tg.name for tg in groups)}; drained {delay:g} s"


def _blue_events(runner: DeploymentRunner, run: Run, inst: InstanceRun, groups: list[Any]) -> None:
    """BeforeBlockTraffic, BlockTraffic, AfterBlockTraffic on one blue instance."""
    record = instances.get(inst.instance_id)
    previous = runner.last_success.get((inst.instance_id, run.group_id)) or {}
    spec, archive = previous.get("spec"), Path(previous.get("archive") or record.root)
    logs = archive.parent / "logs"
    env = hook_environment(run, record)
    inst.status = "InProgress"
    failed = False
    for event in inst.events:
        name = event["lifecycleEventName"]
        if failed or run.stop_requested.is_set():
            event["status"] = "Skipped"
            continue
        event.update(status="InProgress", startTime=utcnow())
        try:
            if name == "BlockTraffic":
                log = _block_traffic(run, groups, inst.instance_id)
            else:
                out = []
                for hook in (spec.hooks.get(name) or []) if spec else []:
                    env["LIFECYCLE_EVENT"] = name
                    out.append(run_script(run, record, hook, name, archive, env, logs))
                log = "\n".join(x for x in out if x)[-LOG_TAIL_CHARS:]
            end_event(event, "Succeeded", "Success", "", "Succeeded", log)
        except EventFailed as exc:
            failed = True
            end_event(event, "Failed", exc.code, exc.script, exc.message, exc.log)
            run.error = run.error or error_for(name, exc, inst.instance_id)
        inst.last_updated = utcnow()
    inst.status = "Failed" if failed else "Succeeded"
    inst.last_updated = utcnow()


def _ready(run: Run, deployment: Any, config: dict[str, Any]) -> None:
    """STOP_DEPLOYMENT: wait (status ``Ready``) for ContinueDeployment or the wait time."""
    option = config.get("deploymentReadyOption") or {}
    if (option.get("actionOnTimeout") or "CONTINUE_DEPLOYMENT") != "STOP_DEPLOYMENT":
        return
    deployment.status = "Ready"
    run.waiting_for = "READY_WAIT"
    continued = _wait(run, scaled(option.get("waitTimeInMinutes") or 0), run.continue_ready)
    run.waiting_for = None
    deployment.status = "InProgress"
    if continued and not run.continue_ready.is_set():
        run.stop_requested.set()  # AWS: not rerouted within the wait time -> Stopped
        run.error = {
            "code": "TIMEOUT",
            "message": "The deployment was stopped because traffic was not rerouted to the "
            "replacement environment within the specified wait time.",
        }


def execute(runner: DeploymentRunner, run: Run, deployment: Any, bundle: Any) -> None:
    """Run a blue/green deployment (called by the runner's thread; sets the final status).

    Examples
    --------
    >>> execute(runner, run, moto_deployment, bundle)   # doctest: +SKIP
    >>> moto_deployment.status, run.instances[green_id].instance_type   # doctest: +SKIP
    ('Succeeded', 'Green')
    """
    group = deployment.deployment_group
    config = group.blue_green_deployment_configuration or {}
    arn = f"arn:aws:ec2:{run.region}:{run.account_id}:instance/"
    try:
        groups = _target_groups(run, group)
        blue, green = _fleets(run, group)
    except Failed as exc:
        run.error = {"code": exc.code, "message": exc.message}
        deployment.status = "Failed"
        return
    for instance in green:
        run.instances[instance.id] = InstanceRun(
            instance.id, arn + instance.id, events=new_events() + _events(GREEN_TRAFFIC),
            instance_type="Green",
        )  # fmt: skip
    for instance in blue:
        run.instances[instance.id] = InstanceRun(
            instance.id, arn + instance.id, events=_events(BLUE_TRAFFIC), instance_type="Blue"
        )
    _overview(run, deployment)
    first = [True]

    def before_allow(hooks: Any) -> str:
        if first[0]:  # the whole replacement environment waits once, before any traffic moves
            first[0] = False
            _ready(run, deployment, config)
            if run.stop_requested.is_set():
                raise EventFailed("UnknownError", "The deployment was stopped before rerouting.")
        return hooks("BeforeAllowTraffic")

    for inst in [i for i in run.instances.values() if i.instance_type == "Green"]:
        if run.error or run.stop_requested.is_set():
            skip(inst)
            continue
        steps = {
            "BeforeAllowTraffic": before_allow,
            "AllowTraffic": lambda hooks, iid=inst.instance_id: _allow_traffic(run, groups, iid),
        }
        _run_instance(runner, run, inst, bundle, deployment, extra_steps=steps)
    for inst in [i for i in run.instances.values() if i.instance_type == "Blue"]:
        if run.error or run.stop_requested.is_set():
            skip(inst)
            continue
        _blue_events(runner, run, inst, groups)
        _overview(run, deployment)
    if not run.error and not run.stop_requested.is_set():
        _retire_blue(run, deployment, config, [i.id for i in blue])
    finish(run, deployment)


def _retire_blue(run: Run, deployment: Any, config: dict[str, Any], blue: list[str]) -> None:
    """TERMINATE blue after the wait (or ContinueDeployment), or KEEP_ALIVE."""
    option = config.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    if (option.get("action") or "TERMINATE") != "TERMINATE" or not blue:
        return
    deployment.instance_termination_wait_time_started = True
    run.waiting_for = "TERMINATION_WAIT"
    wait = scaled(option.get("terminationWaitTimeInMinutes") or 0)
    finished = _wait(run, wait, run.continue_termination)
    run.waiting_for = None
    if finished:
        _ec2(run).terminate_instances(blue)
