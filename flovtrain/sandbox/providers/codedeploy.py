"""CodeDeploy provider: deployments really run on the sandbox's EC2 instances.

moto stores applications, groups and deployments and leaves every deployment ``Created``. Here
``create_deployment`` hands the deployment to the deployment runner
(:mod:`flovtrain.sandbox.engines.deploy`), one per account and region; get_deployment & co.
add what it did (status, lifecycle events, diagnostics, errorInformation). Blue/green groups
(``deploymentStyle`` BLUE_GREEN, a target group) run as :mod:`...engines.deploy.bluegreen`
describes; ``ContinueDeployment`` ends their waits. This module also
declares CloudFormation's ``AWS::CodeDeploy::Application`` and ``DeploymentGroup`` and
CodePipeline's ``Deploy`` action; revisions are kept by :mod:`.codedeploy_revisions`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict

from flovtrain.sandbox.engines.deploy import DeploymentRunner, InstanceRun, Run
from flovtrain.sandbox.engines.pipeline import ActionFailed, input_artifact, wait_or_stop
from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.providers import codedeploy_revisions as revisions
from flovtrain.sandbox.providers._common import pipeline_action
from flovtrain.sandbox.seam import AwsError, Call, Provider, engine_backends, existing

CONFIGS = {
    "CodeDeployDefault.OneAtATime": {"type": "HOST_COUNT", "value": 1},
    "CodeDeployDefault.HalfAtATime": {"type": "FLEET_PERCENT", "value": 50},
    "CodeDeployDefault.AllAtOnce": {"type": "HOST_COUNT", "value": 0},
}
_CONFIG_IDS = {
    "CodeDeployDefault.OneAtATime": "f86e1a07-0b08-4e34-86ab-09e0c0a7a0c1",
    "CodeDeployDefault.HalfAtATime": "3b1d2a47-5c10-4c5b-9d8e-2a6f3f3b0c22",
    "CodeDeployDefault.AllAtOnce": "9e0d1f7c-6f04-4a5c-8b51-6f8d0d4a1e33",
}


STATE: BackendDict = engine_backends("codedeploy", DeploymentRunner)


def runner(account_id: str, region: str) -> DeploymentRunner:
    """Return the deployment runner of ``account_id`` in ``region``."""
    return STATE[account_id][region].engine


def _backend(account_id: str, region: str) -> Any:
    from moto.codedeploy.models import codedeploy_backends

    return codedeploy_backends[account_id][region]


def _deployment_id(source: Any = None) -> str:
    from moto.moto_api._internal import mock_random

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "d-" + "".join((source or mock_random).choice(alphabet) for _ in range(9))


def create_deployment_internal(
    account_id: str,
    region: str,
    application: str,
    group: str,
    revision: dict[str, Any],
    description: str | None = None,
    ignore_stop_failures: bool = False,
    id_source: Any = None,
    target_instances: dict[str, Any] | None = None,
) -> str:
    """Create and start a deployment (CodePipeline's deploy action and ``create_deployment``).

    ``id_source`` (a ``random.Random``) names deployments made off the request thread, so
    they do not consume moto's seeded generator at unpredictable moments. ``target_instances``
    selects a blue/green deployment's replacement (green) instances.
    """
    revisions.check(revision)
    backend = _backend(account_id, region)
    backend.get_deployment_group(application, group)  # AWS's errors for unknown app / group
    deployments = runner(account_id, region)
    for active in deployments.of_group(application, group):
        if not active.done.is_set():
            raise AwsError(
                "DeploymentLimitExceededException",
                f"The Deployment Group '{group}' already has an active Deployment "
                f"'{active.deployment_id}'",
            )
    old_id = backend.create_deployment(
        application,
        group,
        revision,
        description=description,
        ignore_application_stop_failures=ignore_stop_failures,
        target_instances=target_instances,
    )
    new_id = _deployment_id(id_source)
    deployment = backend.deployments.pop(old_id)
    deployment.deployment_id = new_id
    backend.deployments[new_id] = deployment
    run = Run(
        account_id,
        region,
        new_id,
        application,
        group,
        deployment.deployment_group.deployment_group_id,
        revision,
        ignore_stop_failures=ignore_stop_failures,
        target_instances=target_instances,
    )
    revisions.remember(account_id, region, application, revision, group=group)
    deployments.start(run)
    return new_id


def create_deployment(call: Call) -> dict[str, Any]:
    params = call.params
    if not params.get("deploymentGroupName"):
        raise AwsError("DeploymentGroupNameRequiredException", "Deployment group name is required.")
    return {
        "deploymentId": create_deployment_internal(
            call.account_id,
            call.region,
            params["applicationName"],
            params["deploymentGroupName"],
            params.get("revision"),
            params.get("description"),
            bool(params.get("ignoreApplicationStopFailures")),
            target_instances=params.get("targetInstances"),
        )
    }


def _with_error(deployments: DeploymentRunner, info: dict[str, Any]) -> dict[str, Any]:
    run = deployments.get(info.get("deploymentId", ""))
    if run and run.error:
        info["errorInformation"] = dict(run.error)
    else:
        info.pop("errorInformation", None)
    for key in ("previousRevision", "rollbackInfo", "relatedDeployments"):
        if not info.get(key):
            info.pop(key, None)
    return info


def get_deployment(call: Call) -> dict[str, Any]:
    result = call.moto().result
    _with_error(runner(call.account_id, call.region), result["deploymentInfo"])
    return result


def batch_get_deployments(call: Call) -> dict[str, Any]:
    result = call.moto().result
    deployments = runner(call.account_id, call.region)
    for info in result["deploymentsInfo"]:
        _with_error(deployments, info)
    return result


def _run_or_error(call: Call, deployment_id: str) -> Run:
    _backend(call.account_id, call.region).get_deployment(deployment_id)  # AWS's error if unknown
    run = runner(call.account_id, call.region).get(deployment_id)
    if run is None:
        raise AwsError(
            "DeploymentDoesNotExistException",
            f"The deployment {deployment_id} does not exist with the user or AWS account.",
        )
    return run


def _summary(run: Run, inst: InstanceRun) -> dict[str, Any]:
    return {
        "deploymentId": run.deployment_id,
        "instanceId": inst.arn,
        "status": inst.status,
        "lastUpdatedAt": inst.last_updated,
        "lifecycleEvents": [dict(e) for e in inst.events],
        "instanceType": inst.instance_type,
    }


def list_deployment_instances(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    wanted = call.params.get("instanceStatusFilter")
    return {
        "instancesList": [
            i.instance_id for i in run.instances.values() if not wanted or i.status in wanted
        ]
    }


def _instance(call: Call, run: Run, instance_id: str) -> InstanceRun:
    inst = run.instances.get(instance_id.rsplit("/", 1)[-1])
    if inst is None:
        raise AwsError(
            "InstanceDoesNotExistException",
            f"The instance {instance_id} was not part of deployment {run.deployment_id}.",
        )
    return inst


def get_deployment_instance(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    return {"instanceSummary": _summary(run, _instance(call, run, call.params["instanceId"]))}


def batch_get_deployment_instances(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    found, error = [], ""
    for iid in call.params.get("instanceIds") or []:
        inst = run.instances.get(iid.rsplit("/", 1)[-1])
        if inst:
            found.append(_summary(run, inst))
        else:
            error = f"Instance {iid} is not part of deployment {run.deployment_id}."
    return (
        {"instancesSummary": found, "errorMessage": error} if error else {"instancesSummary": found}
    )


def _target(run: Run, inst: InstanceRun) -> dict[str, Any]:
    return {
        "deploymentTargetType": "InstanceTarget",
        "instanceTarget": {
            "deploymentId": run.deployment_id,
            "targetId": inst.instance_id,
            "targetArn": inst.arn,
            "status": inst.status,
            "lastUpdatedAt": inst.last_updated,
            "lifecycleEvents": [dict(e) for e in inst.events],
        },
    }


def list_deployment_targets(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    return {"targetIds": list(run.instances)}


def batch_get_deployment_targets(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    return {
        "deploymentTargets": [
            _target(run, _instance(call, run, t)) for t in call.params.get("targetIds") or []
        ]
    }


def get_deployment_target(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    return {"deploymentTarget": _target(run, _instance(call, run, call.params["targetId"]))}


def stop_deployment(call: Call) -> dict[str, Any]:
    run = _run_or_error(call, call.params["deploymentId"])
    if run.done.is_set():
        raise AwsError(
            "DeploymentAlreadyCompletedException",
            f"The deployment {run.deployment_id} has already completed.",
        )
    run.stop_requested.set()
    return {
        "status": "Pending",
        "statusMessage": "Stopping Pending. Stopping to schedule "
        "commands in the deployment instances",
    }


def continue_deployment(call: Call) -> dict[str, Any]:
    """Go on with a blue/green deployment that waits: ``READY_WAIT`` (a ``STOP_DEPLOYMENT``
    group waits before rerouting) or ``TERMINATION_WAIT`` (blue waits to be terminated).

    Examples
    --------
    ``continue_deployment(deploymentId=d, deploymentWaitType="READY_WAIT")`` on a deployment
    that is not ``Ready`` answers ``DeploymentIsNotInReadyStateException``.
    """
    run = _run_or_error(call, call.params["deploymentId"])
    wait_type = call.params.get("deploymentWaitType") or "READY_WAIT"
    if run.done.is_set():
        raise AwsError(
            "DeploymentAlreadyCompletedException",
            f"The deployment {run.deployment_id} has already completed.",
        )
    if run.waiting_for != wait_type:
        raise AwsError(
            "DeploymentIsNotInReadyStateException",
            "The deployment does not have a status of Ready and can't continue yet.",
        )
    (run.continue_ready if wait_type == "READY_WAIT" else run.continue_termination).set()
    return {}


def list_deployment_configs(call: Call) -> dict[str, Any]:
    return {"deploymentConfigsList": sorted(CONFIGS)}


def get_deployment_config(call: Call) -> dict[str, Any]:
    name = call.params["deploymentConfigName"]
    if name not in CONFIGS:
        raise AwsError(
            "DeploymentConfigDoesNotExistException",
            f"The deployment configuration {name} does not exist with the user or AWS account.",
        )
    return {
        "deploymentConfigInfo": {
            "deploymentConfigId": _CONFIG_IDS[name],
            "deploymentConfigName": name,
            "minimumHealthyHosts": CONFIGS[name],
            "createTime": datetime(2014, 11, 12, tzinfo=UTC),
            "computePlatform": "Server",
        }
    }


def _known_config(call: Call) -> Any:
    """Refuse a deployment group naming a deployment configuration that does not exist
    (moto keeps any name), then let moto create the group.

    Examples
    --------
    ``create_deployment_group(..., deploymentConfigName="Ghost.Config")`` answers
    ``DeploymentConfigDoesNotExistException: No deployment configuration found for name:
    Ghost.Config``.
    """
    name = call.params.get("deploymentConfigName")
    if name is not None and name not in CONFIGS:
        raise AwsError(
            "DeploymentConfigDoesNotExistException",
            f"No deployment configuration found for name: {name}",
        )
    _check_traffic_control(call.params)
    return call.moto()


def _check_traffic_control(params: dict[str, Any]) -> None:
    """Refuse what AWS refuses of a group behind a load balancer, in AWS's words.

    ``WITH_TRAFFIC_CONTROL`` needs ``loadBalancerInfo`` (a target group or a Classic Load
    Balancer); ``COPY_AUTO_SCALING_GROUP`` needs exactly one Auto Scaling group.
    """
    style = params.get("deploymentStyle") or {}
    info = params.get("loadBalancerInfo") or {}
    if style.get("deploymentOption") == "WITH_TRAFFIC_CONTROL" and not (
        info.get("elbInfoList") or info.get("targetGroupInfoList")
        or info.get("targetGroupPairInfoList")
    ):  # fmt: skip
        raise AwsError(
            "InvalidLoadBalancerInfoException",
            "The specification for load balancing in the deployment group is invalid. The "
            "deploymentOption value is set to WITH_TRAFFIC_CONTROL, but either no load "
            "balancer was specified in elbInfoList or no target group was specified in "
            "targetGroupInfoList.",
        )
    config = params.get("blueGreenDeploymentConfiguration") or {}
    provisioning = (config.get("greenFleetProvisioningOption") or {}).get("action")
    if (
        style.get("deploymentType") == "BLUE_GREEN"
        and provisioning == "COPY_AUTO_SCALING_GROUP"
        and len(params.get("autoScalingGroups") or []) != 1
    ):
        raise AwsError(  # AWS's own spelling ("specifed")
            "InvalidBlueGreenDeploymentConfigurationException",
            "Exactly one AutoScaling group must be specifed when selecting the "
            "COPY_AUTO_SCALING_GROUP green fleet provisioning option.",
        )


def delete_application(call: Call) -> dict[str, Any]:
    delete_application_internal(call.account_id, call.region, call.params["applicationName"])
    return {}


def delete_application_internal(account_id: str, region: str, name: str) -> None:
    """Delete an application and its groups (AWS: no error when it does not exist)."""
    backend = _backend(account_id, region)
    backend.applications.pop(name, None)
    backend.deployment_groups.pop(name, None)
    revisions.forget(account_id, region, name)


def delete_deployment_group(call: Call) -> dict[str, Any]:
    backend = _backend(call.account_id, call.region)
    backend.get_application(call.params["applicationName"])
    backend.deployment_groups.get(call.params["applicationName"], {}).pop(
        call.params["deploymentGroupName"], None
    )
    return {"hooksNotCleanedUp": []}


def get_deployment_group(call: Call) -> dict[str, Any]:
    result = call.moto().result
    info = result["deploymentGroupInfo"]
    runs = runner(call.account_id, call.region).of_group(
        info["applicationName"], info["deploymentGroupName"]
    )
    backend = _backend(call.account_id, call.region)

    def brief(run: Run) -> dict[str, Any]:
        d = backend.deployments.get(run.deployment_id)
        return {
            "deploymentId": run.deployment_id,
            "status": d.status if d else "Failed",
            "endTime": d.complete_time if d else None,
            "createTime": d.create_time if d else None,
        }

    for key in ("lastSuccessfulDeployment", "lastAttemptedDeployment", "targetRevision"):
        info.pop(key, None)
    if runs:
        info["lastAttemptedDeployment"] = brief(runs[-1])
        info["targetRevision"] = runs[-1].revision
        ok = [
            r
            for r in runs
            if backend.deployments.get(r.deployment_id) is not None
            and backend.deployments[r.deployment_id].status == "Succeeded"
        ]
        if ok:
            info["lastSuccessfulDeployment"] = brief(ok[-1])
    for key in ("alarmConfiguration", "loadBalancerInfo", "blueGreenDeploymentConfiguration"):
        if not info.get(key):
            info.pop(key, None)
    return result


# -- what CodeDeploy adds to CloudFormation and CodePipeline ---------------------------------
def _stack_application(
    name: str, props: dict[str, Any], account: str, region: str
) -> dict[str, Any]:
    _backend(account, region).create_application(
        name, props.get("ComputePlatform") or "Server", cfn_types.tags(props)
    )
    return {"physical": name, "attrs": {}}


def _delete_stack_application(name: str, account: str, region: str, state: dict[str, Any]) -> None:
    delete_application_internal(account, region, name)


def _stack_group(name: str, props: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    camel = cfn_types.camel
    app = props["ApplicationName"]
    tag_set = props.get("Ec2TagSet")
    if tag_set:  # CFN nests each group as {Ec2TagGroup: [...]}; the API as plain lists
        tag_set = {
            "ec2TagSetList": [
                camel(g.get("Ec2TagGroup") or []) for g in tag_set.get("Ec2TagSetList") or []
            ]
        }
    filters = [
        {"Key": f.get("Key"), "Value": f.get("Value"), "Type": f.get("Type")}
        for f in props.get("Ec2TagFilters") or []
    ]
    group_id = _backend(account, region).create_deployment_group(
        app,
        name,
        props.get("DeploymentConfigName"),
        filters,
        props.get("OnPremisesInstanceTagFilters"),
        props.get("AutoScalingGroups"),
        props.get("ServiceRoleArn"),
        deployment_style=camel(props.get("DeploymentStyle")),
        ec2_tag_set=tag_set,
        tags=cfn_types.tags(props),
    )
    deployment = props.get("Deployment")
    if deployment:  # AWS runs this revision once the group exists
        create_deployment_internal(
            account,
            region,
            app,
            name,
            camel(deployment["Revision"]),
            description=deployment.get("Description"),
            ignore_stop_failures=str(deployment.get("IgnoreApplicationStopFailures")).lower()
            == "true",
        )
    return {"physical": name, "attrs": {"Id": group_id}, "application": app}


def _delete_stack_group(name: str, account: str, region: str, state: dict[str, Any]) -> None:
    groups = _backend(account, region).deployment_groups
    groups.get(state.get("application", ""), {}).pop(name, None)


cfn_types.declare(
    "AWS::CodeDeploy::Application",
    "ApplicationName",
    _stack_application,
    _delete_stack_application,
)
cfn_types.declare(
    "AWS::CodeDeploy::DeploymentGroup", "DeploymentGroupName", _stack_group, _delete_stack_group
)


@pipeline_action("Deploy", "CodeDeploy", label="CodeDeploy")
def _deploy_action(run: Any, act: Any) -> None:
    """Deploy the action's input artifact to ``ApplicationName``/``DeploymentGroupName``."""
    cfg = act.action.get("configuration", {})
    loc, _ = input_artifact(run, act)
    revision = {
        "revisionType": "S3",
        "s3Location": {"bucket": loc["bucket"], "key": loc["key"], "bundleType": "zip"},
    }
    deployment_id = create_deployment_internal(
        run.account_id,
        run.region,
        cfg.get("ApplicationName"),
        cfg.get("DeploymentGroupName"),
        revision,
        description=f"Deployed by CodePipeline {run.pipeline_name} execution {run.execution_id}",
        id_source=run.rng,
    )
    act.external_id = deployment_id
    deployment_run = runner(run.account_id, run.region).get(deployment_id)
    if not wait_or_stop(run, deployment_run.done.is_set):
        return
    status = _backend(run.account_id, run.region).deployments[deployment_id].status
    if status != "Succeeded":
        err = deployment_run.error or {}
        raise ActionFailed(
            "JobFailed",
            f"Deployment {deployment_id} {status.lower()}: "
            f"{err.get('code', '')} {err.get('message', '')}".strip(),
        )
    act.summary = f"Deployment {deployment_id} succeeded"


# -- lifecycle ------------------------------------------------------------------------------
def stop() -> None:
    """Ask every deployment to stop; moto's reset then drops the runners and revisions."""
    for state in existing(STATE):
        state.engine.stop_all()


PROVIDER = Provider(
    name="codedeploy",
    response_class="moto.codedeploy.responses.CodeDeployResponse",
    service="codedeploy",
    operations={
        "CreateDeployment": create_deployment,
        "GetDeployment": get_deployment,
        "BatchGetDeployments": batch_get_deployments,
        "ListDeploymentInstances": list_deployment_instances,
        "GetDeploymentInstance": get_deployment_instance,
        "BatchGetDeploymentInstances": batch_get_deployment_instances,
        "ListDeploymentTargets": list_deployment_targets,
        "BatchGetDeploymentTargets": batch_get_deployment_targets,
        "GetDeploymentTarget": get_deployment_target,
        "StopDeployment": stop_deployment,
        "ContinueDeployment": continue_deployment,
        "RegisterApplicationRevision": revisions.register_application_revision,
        "ListApplicationRevisions": revisions.list_application_revisions,
        "GetApplicationRevision": revisions.get_application_revision,
        "BatchGetApplicationRevisions": revisions.batch_get_application_revisions,
        "ListDeploymentConfigs": list_deployment_configs,
        "GetDeploymentConfig": get_deployment_config,
        "DeleteApplication": delete_application,
        "CreateDeploymentGroup": _known_config,
        "DeleteDeploymentGroup": delete_deployment_group,
        "GetDeploymentGroup": get_deployment_group,
    },
    reset=stop,
    stop=stop,
)
