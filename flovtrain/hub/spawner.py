"""Each attendee's JupyterLab, started together with their own sandbox and stopped with it.

``RoomSpawner`` is JupyterHub's ``SimpleLocalProcessSpawner`` (same OS user, one home per
attendee under the room folder) plus: a copy of the workbook in the home (never overwriting
the attendee's files), a sandbox with ``FLOVTRAIN_HOME=<home>/.flovtrain`` started before the
server (its variables in the server's environment, so kernels and the terminal reach it) and
stopped after it, and the memory/CPU limits :mod:`flovtrain.hub.limits` can enforce.

Ports and loopback addresses never collide between attendees: each sandbox takes a free port
and leases its 127.20-22.x.y addresses through machine-wide lock files
(:mod:`flovtrain.sandbox.engines.frontdoor.addresses`).

Examples
--------
In ``jupyterhub_config.py``::

    c.JupyterHub.spawner_class = "flovtrain.hub.spawner.RoomSpawner"
    c.RoomSpawner.room = "/srv/flovtrain-room"
    c.RoomSpawner.workbook = ["notebooks", "exercises"]      # no solutions for this class
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import List, Unicode, default

from flovtrain import config
from flovtrain.hub import limits
from flovtrain.hub import room as rooms

VENV_BIN = Path(sys.executable).parent
PROJECT = Path(__file__).resolve().parents[2]


class RoomSpawner(SimpleLocalProcessSpawner):
    """JupyterLab per attendee, in ``<room>/<name>``, with that attendee's sandbox."""

    room = Unicode(config=True, help="The room folder (default: $FLOVTRAIN_ROOM).")
    workbook = List(
        Unicode(),
        default_value=list(rooms.DEFAULT_WORKBOOK),
        config=True,
        help="Folders of the project every attendee gets a copy of.",
    )
    source = Unicode(str(PROJECT), config=True, help="The project the workbook is copied from.")

    @default("room")
    def _room_from_env(self) -> str:
        return str(rooms.room_folder())

    @default("home_dir")
    def _home_in_room(self) -> str:
        return str(rooms.attendee_home(Path(self.room), self.user.name))

    @default("cmd")
    def _singleuser_from_venv(self) -> list[str]:
        return [str(VENV_BIN / "jupyterhub-singleuser")]

    @default("notebook_dir")
    def _start_in_home(self) -> str:
        return self.home_dir

    @default("default_url")
    def _welcome(self) -> str:
        return "/lab/tree/notebooks/00_welcome.ipynb"

    def get_args(self) -> list[str]:
        """JupyterHub's arguments plus the terminal ``make lab`` gives (venv, sandbox env)."""
        bashrc = PROJECT / "tools" / "lab_terminal.bashrc"
        shell = f"shell_command=['/bin/bash','--init-file','{bashrc}','-i']"
        # every chapter opened starts a kernel (~280 MB): end those idle for 20 minutes
        extra = [
            f"--ServerApp.terminado_settings={shell}",
            "--MappingKernelManager.cull_idle_timeout=1200",
            "--MappingKernelManager.cull_interval=120",
        ]
        if os.geteuid() == 0:
            extra.append("--allow-root")
        return super().get_args() + extra

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        """Home, the venv first on PATH, and this attendee's sandbox variables; no AWS_* of ours."""
        env = super().user_env({k: v for k, v in env.items() if not k.startswith("AWS_")})
        home = Path(self.home_dir)
        env[config.HOME_VAR] = str(rooms.sandbox_home(home))
        env["FLOVTRAIN_VENV_BIN"] = str(VENV_BIN)
        env["PATH"] = f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        env["NO_PROXY"] = "127.0.0.1,localhost"
        env.update(getattr(self, "_sandbox_env", {}))
        return env

    async def start(self) -> tuple[str, int]:
        """Copy the workbook (new files only), start the sandbox, then the server; limit both."""
        home = Path(self.home_dir)
        parts = tuple(self.workbook)
        copied = await asyncio.to_thread(rooms.copy_workbook, Path(self.source), home, parts)
        self.log.info("%s: %d workbook files copied to %s", self.user.name, copied, home)
        self._sandbox_env = await asyncio.to_thread(rooms.start_sandbox, home)
        url = await super().start()
        pids = [self.pid, *limits.pids_of(rooms.sandbox_home(home))]
        report = await asyncio.to_thread(
            limits.apply, self.user.name, pids, int(self.mem_limit or 0), float(self.cpu_limit or 0)
        )
        for limit, where in report.items():
            self.log.info("%s: %s limit %s", self.user.name, limit, where)
        return url

    async def stop(self, now: bool = False) -> None:
        """Stop the server, then the attendee's sandbox (their notebooks stay in their home)."""
        await super().stop(now=now)
        home = Path(self.home_dir)
        await asyncio.to_thread(rooms.stop_sandbox, home)
        await asyncio.to_thread(limits.release, self.user.name)
