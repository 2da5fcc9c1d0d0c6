"""SSM provider: ``send_command`` with AWS-RunShellScript really runs on sandbox instances.

The commands run as one bash script in the instance's root folder (or ``workingDirectory``
mapped inside it) with ``FLOVTRAIN_INSTANCE_*`` variables; ``get_command_invocation``,
``list_command_invocations`` and ``list_commands`` show the real output, status and exit code.
This is how the talk's "SSH in and check the deployment" works offline.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flovtrain.sandbox.seam import AwsError, Call, Provider

OUTPUT_LIMIT = 24000  # AWS keeps the first 24,000 characters of each stream
DOCUMENT = "AWS-RunShellScript"
_lock = threading.Lock()
_stop = threading.Event()


def _now() -> datetime:
    return datetime.now(UTC)


def _running_record(account: str, region: str, instance_id: str) -> Any:
    from moto.ec2.models import ec2_backends

    from flovtrain.sandbox.engines import instances

    record = instances.get(instance_id)
    try:
        instance = ec2_backends[account][region].get_instance(instance_id)
        running = instance._state.name == "running"
    except Exception:
        running = False
    return record if record is not None and running and not record.terminated else None


def send_command(call: Call) -> Any:
    params = call.params
    if params.get("DocumentName") != DOCUMENT:
        raise AwsError(
            "InvalidDocument",
            f"The flovtrain sandbox runs only the {DOCUMENT} document on its "
            f"instances (got {params.get('DocumentName')!r}).",
        )
    commands = (params.get("Parameters") or {}).get("commands") or []
    if not commands:
        raise AwsError(
            "InvalidParameters", "AWS-RunShellScript needs Parameters {'commands': ['...']}."
        )
    bad = [
        i
        for i in params.get("InstanceIds") or []
        if _running_record(call.account_id, call.region, i) is None
    ]
    if bad:
        raise AwsError(
            "InvalidInstanceId",
            f"Instances [{bad}] not in a valid state for account {call.account_id}",
        )
    result = call.moto()
    command_id = result.result["Command"]["CommandId"]
    from moto.ssm.models import ssm_backends

    command = ssm_backends[call.account_id][call.region].get_command_by_id(command_id)
    command.status, command.status_details = "InProgress", "InProgress"
    command.completed_count = 0
    for invocation in command.invocations:
        invocation.update(
            Status="InProgress",
            StatusDetails="InProgress",
            ResponseCode=-1,
            ExecutionEndDateTime="",
            ExecutionElapsedTime="",
        )
    threading.Thread(
        target=_run,
        args=(call.account_id, call.region, command, commands, params.get("Parameters") or {}),
        name=f"ssm-{command_id}",
        daemon=True,
    ).start()
    response = command.response_object()
    return {"Command": response}


def _run(
    account: str, region: str, command: Any, commands: list[str], parameters: dict[str, list[str]]
) -> None:
    threads = [
        threading.Thread(target=_invoke, args=(account, region, command, inv, commands, parameters))
        for inv in command.invocations
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [i for i in command.invocations if i["Status"] != "Success"]
    command.error_count = len(failed)
    command.completed_count = len(command.invocations)
    command.status = "Failed" if failed else "Success"
    command.status_details = command.status


def _invoke(
    account: str,
    region: str,
    command: Any,
    invocation: dict[str, Any],
    commands: list[str],
    parameters: dict[str, list[str]],
) -> None:
    import tempfile

    from flovtrain.sandbox.engines import instances

    record = _running_record(account, region, invocation["InstanceId"])
    started = _now()
    invocation["ExecutionStartDateTime"] = started.isoformat()
    if record is None:
        invocation.update(Status="Undeliverable", StatusDetails="Undeliverable", ResponseCode=-1)
        return
    timeout = float((parameters.get("executionTimeout") or ["3600"])[0])
    workdir = (parameters.get("workingDirectory") or [""])[0]
    cwd = instances.map_path(record, workdir) if workdir else record.root
    script = "\n".join(commands) + "\n"
    status, code = "Success", 0
    with tempfile.TemporaryDirectory(prefix="ssm-") as tmp:
        path = Path(tmp) / "_script.sh"
        path.write_text(script)
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            try:
                proc = instances.spawn(
                    record,
                    ["bash", str(path)],
                    kind="ssm",
                    name=f"{invocation.get('CommandId', '')} on {record.instance_id}",
                    cwd=str(cwd),
                    stdout=out,
                    stderr=err,
                )
            except (OSError, RuntimeError) as exc:
                err.write(f"failed to run commands: {exc}\n".encode())
                proc = None
        timed_out = False
        if proc is not None:
            deadline = time.monotonic() + timeout
            while proc.poll() is None:
                if time.monotonic() > deadline or _stop.is_set() or record.terminated:
                    timed_out = time.monotonic() > deadline
                    instances.kill_group(proc.pid)
                    break
                time.sleep(0.02)
            code = proc.wait()
            if proc.pid not in instances.running_groups(record):
                instances.forget_group(record, proc.pid)
        else:
            code = 1
        stdout = out_path.read_text(errors="replace")[:OUTPUT_LIMIT]
        stderr = err_path.read_text(errors="replace")[:OUTPUT_LIMIT]
    if timed_out:
        status, code = "TimedOut", 124
    elif code != 0:
        status = "Failed"
    ended = _now()
    elapsed = (ended - started).total_seconds()
    invocation.update(
        Status=status,
        StatusDetails=status,
        ResponseCode=code,
        StandardOutputContent=stdout,
        StandardErrorContent=stderr,
        ExecutionEndDateTime=ended.isoformat(),
        ExecutionElapsedTime=f"PT{elapsed:.3f}S",
    )


def list_command_invocations(call: Call) -> dict[str, Any]:
    from moto.ssm.models import ssm_backends

    params = call.params
    backend = ssm_backends[call.account_id][call.region]
    if params.get("CommandId"):
        commands = [backend.get_command_by_id(params["CommandId"])]
    else:
        commands = list(backend._commands)
    out = []
    for command in commands:
        for inv in command.invocations:
            if params.get("InstanceId") and inv["InstanceId"] != params["InstanceId"]:
                continue
            entry = {
                "CommandId": command.command_id,
                "InstanceId": inv["InstanceId"],
                "Comment": command.comment,
                "DocumentName": command.document_name,
                "DocumentVersion": "$DEFAULT",
                "RequestedDateTime": command.requested_date_time,
                "Status": inv["Status"],
                "StatusDetails": inv["StatusDetails"],
                "StandardOutputUrl": "",
                "StandardErrorUrl": "",
            }
            if params.get("Details"):
                entry["CommandPlugins"] = [
                    {
                        "Name": "aws:runShellScript",
                        "Status": inv["Status"],
                        "StatusDetails": inv["StatusDetails"],
                        "ResponseCode": inv["ResponseCode"],
                        "Output": (inv.get("StandardOutputContent") or "")[:2500],
                    }
                ]
            out.append(entry)
    return {"CommandInvocations": out}


def reset() -> None:
    _stop.set()
    time.sleep(0.05)
    _stop.clear()


def stop() -> None:
    _stop.set()


PROVIDER = Provider(
    name="ssm",
    # by name: importing moto's SSM responses imports all of EC2 (about a second)
    response_class="moto.ssm.responses.SimpleSystemManagerResponse",
    service="ssm",
    operations={
        "SendCommand": send_command,
        "ListCommandInvocations": list_command_invocations,
    },
    reset=reset,
    stop=stop,
)
