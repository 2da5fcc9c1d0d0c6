"""CodePipeline provider: executions really run (see :mod:`flovtrain.sandbox.engines.pipeline`).

moto keeps the pipeline definitions (and checks the role trusts codepipeline.amazonaws.com);
every execution-related operation is answered from the pipeline executor of the account and
region. This module also declares CloudFormation's ``AWS::CodePipeline::Pipeline`` and starts
pipelines when a branch their CodeCommit source watches moves.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.base_backend import BackendDict

from flovtrain.sandbox.engines import gitstore
from flovtrain.sandbox.engines.pipeline import PipelineExecutor, shutdown
from flovtrain.sandbox.engines.pipeline.validation import validate
from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.providers._common import (
    constraint_failure,
    enum_constraint,
    validation_error,
)
from flovtrain.sandbox.seam import AwsError, Call, Provider, engine_backends, existing

STATE: BackendDict = engine_backends("codepipeline", PipelineExecutor)


def executor(account_id: str, region: str) -> PipelineExecutor:
    """Return the pipeline executor of ``account_id`` in ``region``."""
    return STATE[account_id][region].engine


def _executor(call: Call) -> PipelineExecutor:
    return executor(call.account_id, call.region)


def _check_new(account_id: str, region: str, pipeline: dict[str, Any]) -> None:
    """What CreatePipeline refuses before storing: a taken name, a structure AWS rejects."""
    from moto.codepipeline.models import codepipeline_backends

    name = pipeline.get("name")
    if name in codepipeline_backends[account_id][region].pipelines:
        # moto answers InvalidStructureException; AWS has its own code for a taken name
        raise AwsError(
            "PipelineNameInUseException",
            f"A pipeline with name '{name}' already exists in account '{account_id}'",
        )
    validate(pipeline, region)


def create_pipeline(call: Call) -> Any:
    _check_new(call.account_id, call.region, call.params["pipeline"])
    result = call.moto()
    name = call.params["pipeline"]["name"]
    # like AWS: a new pipeline starts its first execution at once
    _executor(call).start(name, "CreatePipeline", f"arn:aws:iam::{call.account_id}:root")
    return result


def create_pipeline_internal(
    account_id: str, region: str, pipeline: dict[str, Any], tags: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """Create a pipeline and start its first execution (CloudFormation's path)."""
    from moto.codepipeline.models import codepipeline_backends

    _check_new(account_id, region, pipeline)
    created, _ = codepipeline_backends[account_id][region].create_pipeline(pipeline, tags)
    executor(account_id, region).start(
        pipeline["name"],
        "CreatePipeline",
        f"arn:aws:cloudformation:{region}:{account_id}:stack",
    )
    return created


def update_pipeline(call: Call) -> Any:
    validate(call.params["pipeline"], call.region)
    return call.moto()


def delete_pipeline_internal(account_id: str, region: str, name: str) -> None:
    from moto.codepipeline.models import codepipeline_backends

    codepipeline_backends[account_id][region].delete_pipeline(name)
    executor(account_id, region).forget(name)


def delete_pipeline(call: Call) -> Any:
    delete_pipeline_internal(call.account_id, call.region, call.params["name"])
    return {}


def start_pipeline_execution(call: Call) -> dict[str, Any]:
    run = _executor(call).start(
        call.params["name"],
        "StartPipelineExecution",
        f"arn:aws:iam::{call.account_id}:root",
    )
    return {"pipelineExecutionId": run.execution_id}


def _execution_dict(run: Any) -> dict[str, Any]:
    revisions = []
    for name, art in run.artifacts.items():
        src = next((r for r in run.source_revisions if r["revisionId"] == art.get("revision")), {})
        if src:
            revisions.append(
                {
                    "name": name,
                    "revisionId": art["revision"],
                    "revisionSummary": src.get("revisionSummary", ""),
                    "created": run.start,
                }
            )
    out = {
        "pipelineName": run.pipeline_name,
        "pipelineVersion": run.pipeline.get("version", 1),
        "pipelineExecutionId": run.execution_id,
        "status": run.status,
        "artifactRevisions": revisions,
        "trigger": run.trigger,
        "executionMode": "SUPERSEDED",
        "executionType": "STANDARD",
    }
    if run.status_summary:
        out["statusSummary"] = run.status_summary[:2000]
    return out


def get_pipeline_execution(call: Call) -> dict[str, Any]:
    p = call.params
    run = _executor(call).execution(p["pipelineName"], p["pipelineExecutionId"])
    return {"pipelineExecution": _execution_dict(run)}


def list_pipeline_executions(call: Call) -> dict[str, Any]:
    pipelines = _executor(call)
    name = call.params["pipelineName"]
    pipelines.definition(name)
    runs = list(reversed(pipelines.runtime(name).executions.values()))
    limit = call.params.get("maxResults") or 100
    out = []
    for run in runs[:limit]:
        summary = {
            "pipelineExecutionId": run.execution_id,
            "status": run.status,
            "startTime": run.start,
            "lastUpdateTime": run.last_update,
            "sourceRevisions": list(run.source_revisions),
            "trigger": run.trigger,
            "executionMode": "SUPERSEDED",
            "executionType": "STANDARD",
        }
        if run.status_summary:
            summary["statusSummary"] = run.status_summary[:2000]
        if run.stop_mode:
            summary["stopTrigger"] = {"reason": run.stop_reason or ""}
        out.append(summary)
    return {"pipelineExecutionSummaries": out}


def _action_execution(act: Any) -> dict[str, Any]:
    status = act.status
    decided = getattr(act, "approval", None)
    if status == "InProgress" and decided:  # answered; the engine thread moves on shortly
        status = "Succeeded" if decided["result"].get("status") == "Approved" else "Failed"
    out: dict[str, Any] = {
        "actionExecutionId": act.action_execution_id,
        "status": status,
        "lastStatusChange": act.last_update,
        "lastUpdatedBy": act.updated_by,
    }
    if act.summary:
        out["summary"] = act.summary[:2048]
    if act.token and status == "InProgress":
        out["token"] = act.token
    if act.external_id:
        out["externalExecutionId"] = act.external_id
    if act.error:
        out["errorDetails"] = act.error
    return out


def get_pipeline_state(call: Call) -> dict[str, Any]:
    from moto.codepipeline.models import codepipeline_backends

    pipelines = _executor(call)
    name = call.params["name"]
    pipeline = pipelines.definition(name)
    model = codepipeline_backends[call.account_id][call.region].pipelines[name]
    rt = pipelines.runtime(name)
    runs = list(rt.executions.values())
    stages = []
    for stage in pipeline["stages"]:
        sname = stage["name"]
        transition = rt.transitions.get(sname) or {"enabled": True}
        state: dict[str, Any] = {"stageName": sname, "inboundTransitionState": transition}
        reached = [r for r in runs if sname in r.stages]
        if reached:
            latest = reached[-1]
            state["latestExecution"] = {
                "pipelineExecutionId": latest.execution_id,
                "status": latest.stages[sname],
                "type": "STANDARD",
            }
        index = pipeline["stages"].index(stage)
        previous = pipeline["stages"][index - 1]["name"] if index else None
        waiting = [
            r
            for r in runs
            if previous
            and r.status == "InProgress"
            and sname not in r.stages
            and r.stages.get(previous) == "Succeeded"
        ]
        if waiting:  # held by a disabled transition
            state["inboundExecution"] = {
                "pipelineExecutionId": waiting[-1].execution_id,
                "status": "InProgress",
                "type": "STANDARD",
            }
        actions = []
        for action in stage["actions"]:
            entry: dict[str, Any] = {"actionName": action["name"]}
            for run in reversed(reached):
                act = run.latest(sname, action["name"])
                if act is not None:
                    entry["latestExecution"] = _action_execution(act)
                    if act.external_id and stage is pipeline["stages"][0]:
                        entry["currentRevision"] = {
                            "revisionId": act.external_id,
                            "revisionChangeId": act.external_id,
                            "created": act.start,
                        }
                    break
            actions.append(entry)
        state["actionStates"] = actions
        stages.append(state)
    return {
        "pipelineName": name,
        "pipelineVersion": pipeline.get("version", 1),
        "stageStates": stages,
        "created": model._created,
        "updated": model._updated,
    }


def list_action_executions(call: Call) -> dict[str, Any]:
    pipelines = _executor(call)
    name = call.params["pipelineName"]
    pipelines.definition(name)
    wanted = (call.params.get("filter") or {}).get("pipelineExecutionId")
    if wanted:
        runs = [pipelines.execution(name, wanted)]
    else:
        runs = list(pipelines.runtime(name).executions.values())
    details = []
    for run in reversed(runs):
        for act in reversed(run.actions):
            type_id = act.action.get("actionTypeId", {})
            result: dict[str, Any] = {}
            if act.external_id:
                result["externalExecutionId"] = act.external_id
            if act.summary:
                result["externalExecutionSummary"] = act.summary[:2048]
            if act.error:
                result["errorDetails"] = act.error
            details.append(
                {
                    "pipelineExecutionId": run.execution_id,
                    "actionExecutionId": act.action_execution_id,
                    "pipelineVersion": run.pipeline.get("version", 1),
                    "stageName": act.stage,
                    "actionName": act.name,
                    "startTime": act.start,
                    "lastUpdateTime": act.last_update,
                    "updatedBy": act.updated_by,
                    "status": act.status,
                    "input": {
                        "actionTypeId": type_id,
                        "configuration": act.action.get("configuration", {}),
                        "resolvedConfiguration": act.action.get("configuration", {}),
                        "region": act.action.get("region") or run.region,
                        "inputArtifacts": act.inputs,
                        **({"roleArn": act.action["roleArn"]} if act.action.get("roleArn") else {}),
                        **(
                            {"namespace": act.action["namespace"]}
                            if act.action.get("namespace")
                            else {}
                        ),
                    },
                    "output": {
                        "outputArtifacts": act.outputs,
                        "executionResult": result,
                        "outputVariables": act.variables,
                    },
                }
            )
    limit = call.params.get("maxResults") or 100
    return {"actionExecutionDetails": details[:limit]}


#: ApprovalStatus's values in CodePipeline's API model, in the order AWS lists them.
APPROVAL_STATUSES = ("Approved", "Rejected")


def put_approval_result(call: Call) -> dict[str, Any]:
    p = call.params
    status = (p.get("result") or {}).get("status")
    if status not in APPROVAL_STATUSES:  # botocore does not check enums: AWS does
        failure = constraint_failure(status, "result.status", enum_constraint(APPROVAL_STATUSES))
        raise validation_error("ValidationException", [failure])
    at = _executor(call).put_approval(
        p["pipelineName"], p["stageName"], p["actionName"], p["result"], p["token"]
    )
    return {"approvedAt": at}


def retry_stage_execution(call: Call) -> dict[str, Any]:
    p = call.params
    _executor(call).retry_stage(
        p["pipelineName"],
        p["stageName"],
        p["pipelineExecutionId"],
        p.get("retryMode") or "FAILED_ACTIONS",
    )
    return {"pipelineExecutionId": p["pipelineExecutionId"]}


def stop_pipeline_execution(call: Call) -> dict[str, Any]:
    p = call.params
    _executor(call).stop(
        p["pipelineName"], p["pipelineExecutionId"], bool(p.get("abandon")), p.get("reason")
    )
    return {"pipelineExecutionId": p["pipelineExecutionId"]}


def _transition(enabled: bool) -> Any:
    def handler(call: Call) -> dict[str, Any]:
        p = call.params
        _executor(call).set_transition(
            p["pipelineName"], p["stageName"], p["transitionType"], enabled, p.get("reason")
        )
        return {}

    return handler


# -- what CodePipeline adds to CloudFormation and to git pushes --------------------------------
def _stack_pipeline(name: str, props: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    pipeline = cfn_types.camel(
        {
            k: v
            for k, v in props.items()
            if k
            not in ("Tags", "RestartExecutionOnUpdate", "DisableInboundStageTransitions", "Name")
        }
    )
    pipeline["name"] = name
    if isinstance(pipeline.get("artifactStores"), list):
        pipeline["artifactStores"] = {
            s["region"]: s["artifactStore"] for s in pipeline["artifactStores"]
        }
    for stage in pipeline.get("stages", []):
        for action in stage.get("actions", []):
            action["configuration"] = {
                k: v
                if isinstance(v, str)
                else json.dumps(v)
                if isinstance(v, (dict, list))
                else str(v)
                for k, v in (action.get("configuration") or {}).items()
            }
            if "runOrder" in action:
                action["runOrder"] = int(action["runOrder"])
    pipelines = executor(account, region)
    for transition in props.get("DisableInboundStageTransitions") or []:
        pipelines.hold_before(name, transition["StageName"], transition.get("Reason"))
    try:
        created = create_pipeline_internal(
            account, region, pipeline, cfn_types.tags(props, lower=True) or None
        )
    except Exception:
        pipelines.forget(name)
        raise
    return {"physical": name, "attrs": {"Version": str(created.get("version", 1))}}


def _delete_stack_pipeline(name: str, account: str, region: str, state: dict[str, Any]) -> None:
    delete_pipeline_internal(account, region, name)


cfn_types.declare("AWS::CodePipeline::Pipeline", "Name", _stack_pipeline, _delete_stack_pipeline)


def _on_push(
    account_id: str, region: str, repo: str, branch: str, old: str | None, new: str
) -> None:
    """Git store push listener: start the pipelines whose CodeCommit source watches the branch."""
    try:
        pipelines = executor(account_id, region)
    except KeyError:  # a region CodePipeline does not serve
        return
    pipelines.on_push(repo, branch, new)


def setup() -> None:
    gitstore.on_push(_on_push)  # once: registering the same listener again has no effect


def reset() -> None:
    """Abandon every execution; moto's reset then drops the executors."""
    for state in existing(STATE):
        state.engine.forget_all()


def stop() -> None:
    shutdown()
    reset()


PROVIDER = Provider(
    name="codepipeline",
    response_class="moto.codepipeline.responses.CodePipelineResponse",
    service="codepipeline",
    operations={
        "CreatePipeline": create_pipeline,
        "UpdatePipeline": update_pipeline,
        "DeletePipeline": delete_pipeline,
        "StartPipelineExecution": start_pipeline_execution,
        "GetPipelineExecution": get_pipeline_execution,
        "ListPipelineExecutions": list_pipeline_executions,
        "GetPipelineState": get_pipeline_state,
        "ListActionExecutions": list_action_executions,
        "PutApprovalResult": put_approval_result,
        "RetryStageExecution": retry_stage_execution,
        "StopPipelineExecution": stop_pipeline_execution,
        "DisableStageTransition": _transition(False),
        "EnableStageTransition": _transition(True),
    },
    setup=setup,
    reset=reset,
    stop=stop,
)
