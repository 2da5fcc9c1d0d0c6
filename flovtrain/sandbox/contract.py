"""What the sandbox process and its clients agree on, importable without the server.

:mod:`flovtrain.sandbox.control` (kernels, the CLI) reads these; :mod:`flovtrain.sandbox.server`
(the process) writes and answers them. Nothing here imports moto or changes the environment.
"""

from __future__ import annotations

#: Written into the flovtrain home once the server listens (port, pid, endpoint, log).
STATE_FILE = "sandbox.json"
#: Sandbox-only endpoints live under this path; everything else is AWS's.
API_PREFIX = "/flovtrain-api/"
#: Exit codes of ``python -m flovtrain.sandbox.server`` that :func:`control.start` explains.
EXIT_PORT_BUSY = 3
EXIT_PROTOCOL_MISMATCH = 4
#: ``1`` adds the sandbox-only ``debug/spawn-sleep`` endpoint (used by the lifecycle tests).
DEBUG_VAR = "FLOVTRAIN_SANDBOX_DEBUG"
#: ``0`` turns off the background import of moto's big modules.
WARM_UP_VAR = "FLOVTRAIN_SANDBOX_WARMUP"
