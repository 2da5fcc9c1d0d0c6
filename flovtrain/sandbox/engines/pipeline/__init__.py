"""The CodePipeline executor: executions run stage by stage, actions by a registry of types.

Modules: :mod:`.model` (executions and action runs), :mod:`.actions` (the registry of action
types and what runners use) and :mod:`.executor` (the executions of one account and region).
"""

from flovtrain.sandbox.engines.pipeline.actions import (
    ActionFailed,
    input_artifact,
    register,
    store_output,
    wait_or_stop,
)
from flovtrain.sandbox.engines.pipeline.executor import PipelineExecutor, shutdown
from flovtrain.sandbox.engines.pipeline.model import (
    ActionRun,
    Execution,
    PipelineError,
    PipelineRuntime,
)

__all__ = [
    "ActionFailed",
    "ActionRun",
    "Execution",
    "PipelineError",
    "PipelineExecutor",
    "PipelineRuntime",
    "input_artifact",
    "register",
    "shutdown",
    "store_output",
    "wait_or_stop",
]
