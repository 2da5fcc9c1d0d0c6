"""CodePipeline provider: executions really run (see :mod:`flovtrain.sandbox.pipeline_engine`).

moto keeps the pipeline definitions (and checks the role trusts codepipeline.amazonaws.com);
every execution-related operation is answered from the engine.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.seam import Call, Provider


def _engine() -> Any:
    from flovtrain.sandbox import pipeline_engine

    return pipeline_engine


def _pipeline(call: Call) -> tuple[str, str, str]:
    """The engine's first three arguments: account, region and the request's pipelineName."""
    return call.account_id, call.region, call.params["pipelineName"]


def create_pipeline(call: Call) -> Any:
    result = call.moto()
    name = call.params["pipeline"]["name"]
    # like AWS: a new pipeline starts its first execution at once
    _engine().start(
        call.account_id, call.region, name, "CreatePipeline", f"arn:aws:iam::{call.account_id}:root"
    )
    return result


def create_pipeline_internal(
    account_id: str, region: str, pipeline: dict[str, Any], tags: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """Create a pipeline and start its first execution (CloudFormation's path)."""
    from moto.codepipeline.models import codepipeline_backends

    created, _ = codepipeline_backends[account_id][region].create_pipeline(pipeline, tags)
    _engine().start(
        account_id,
        region,
        pipeline["name"],
        "CreatePipeline",
        f"arn:aws:cloudformation:{region}:{account_id}:stack",
    )
    return created


def delete_pipeline_internal(account_id: str, region: str, name: str) -> None:
    from moto.codepipeline.models import codepipeline_backends

    codepipeline_backends[account_id][region].delete_pipeline(name)
    _engine().forget(account_id, region, name)


def delete_pipeline(call: Call) -> Any:
    delete_pipeline_internal(call.account_id, call.region, call.params["name"])
    return {}


def start_pipeline_execution(call: Call) -> dict[str, Any]:
    run = _engine().start(
        call.account_id,
        call.region,
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
    run = _engine().execution(*_pipeline(call), p["pipelineExecutionId"])
    return {"pipelineExecution": _execution_dict(run)}


def list_pipeline_executions(call: Call) -> dict[str, Any]:
    engine = _engine()
    name = call.params["pipelineName"]
    engine._moto_pipeline(call.account_id, call.region, name)
    runs = list(reversed(engine.runtime(call.account_id, call.region, name).executions.values()))
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

    engine = _engine()
    name = call.params["name"]
    pipeline = engine._moto_pipeline(call.account_id, call.region, name)
    model = codepipeline_backends[call.account_id][call.region].pipelines[name]
    rt = engine.runtime(call.account_id, call.region, name)
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
    engine = _engine()
    name = call.params["pipelineName"]
    engine._moto_pipeline(call.account_id, call.region, name)
    wanted = (call.params.get("filter") or {}).get("pipelineExecutionId")
    if wanted:
        runs = [engine.execution(call.account_id, call.region, name, wanted)]
    else:
        runs = list(engine.runtime(call.account_id, call.region, name).executions.values())
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


def put_approval_result(call: Call) -> dict[str, Any]:
    p = call.params
    at = _engine().put_approval(
        *_pipeline(call), p["stageName"], p["actionName"], p["result"], p["token"]
    )
    return {"approvedAt": at}


def retry_stage_execution(call: Call) -> dict[str, Any]:
    p = call.params
    _engine().retry_stage(
        *_pipeline(call),
        p["stageName"],
        p["pipelineExecutionId"],
        p.get("retryMode") or "FAILED_ACTIONS",
    )
    return {"pipelineExecutionId": p["pipelineExecutionId"]}


def stop_pipeline_execution(call: Call) -> dict[str, Any]:
    p = call.params
    _engine().stop(
        *_pipeline(call), p["pipelineExecutionId"], bool(p.get("abandon")), p.get("reason")
    )
    return {"pipelineExecutionId": p["pipelineExecutionId"]}


def _transition(enabled: bool) -> Any:
    def handler(call: Call) -> dict[str, Any]:
        p = call.params
        _engine().set_transition(
            *_pipeline(call), p["stageName"], p["transitionType"], enabled, p.get("reason")
        )
        return {}

    return handler


def setup() -> None:
    _engine().listen()


def reset() -> None:
    _engine().reset()


def stop() -> None:
    _engine().shutdown()


PROVIDER = Provider(
    name="codepipeline",
    response_class="moto.codepipeline.responses.CodePipelineResponse",
    service="codepipeline",
    operations={
        "CreatePipeline": create_pipeline,
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
