"""The instructor's view: ``/services/progress/``, one row per attendee, one column per chapter.

A JupyterHub-managed service (``python -m flovtrain.hub.progress``). Each cell is that
attendee's ``flovtrain check NN``: ✓ all items pass, ◐ some, ✗ none, — not started. Rows come
from :mod:`flovtrain.hub.probe`, run per attendee in a process of its own with their
``FLOVTRAIN_HOME`` (never state shared between attendees), at most ``PARALLEL`` at a time and
only while someone looks (a result is reused for ``FRESH`` seconds). ``api/progress`` serves
the same as JSON; ``api/catch-up`` runs ``flovtrain catch-up NN`` in an attendee's home.
Only the hub's admins (and tokens with ``access:services!service=progress``) get in.

Examples
--------
>>> import urllib.request        # with an admin token of the hub        # doctest: +SKIP
>>> urllib.request.urlopen(urllib.request.Request(
...     "http://127.0.0.1:8000/services/progress/api/progress",
...     headers={"Authorization": "token " + token})).read()[:40]
b'{"chapters": ["01", "02", "03", "04", "0'
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from tornado import httpclient, web
from tornado.ioloop import IOLoop

from flovtrain.hub import room as rooms

PAGE = Path(__file__).resolve().parents[1] / "data" / "hub" / "progress.html"
FRESH = float(os.environ.get("FLOVTRAIN_PROGRESS_FRESH", "20"))  # seconds a probe is reused
PARALLEL = 2  # probes at once: the room's kernels need the cores more than the instructor
PROBE_TIMEOUT = 120
CHAPTER = re.compile(r"^\d{2}$")
log = logging.getLogger("flovtrain.progress")


def mark(result: dict[str, Any] | None, started: bool) -> str:
    """✓ all, ◐ some, ✗ none (but started), — not started or no result.

    Examples
    --------
    >>> mark({"passed": 3, "total": 3}, True), mark({"passed": 1, "total": 3}, True)
    ('✓', '◐')
    >>> mark({"passed": 0, "total": 3}, True), mark({"passed": 0, "total": 3}, False)
    ('✗', '—')
    """
    if not result or not result.get("total"):
        return "—"
    if result["passed"] == result["total"]:
        return "✓"
    if result["passed"]:
        return "◐"
    return "✗" if started else "—"


def started_chapters(home: Path, source: Path) -> set[str]:
    """Chapters whose notebook the attendee has saved since it was copied to them."""
    found = set()
    for folder in ("notebooks", "exercises", "solutions"):
        for path in (home / folder).glob("[0-9][0-9]_*.ipynb"):
            original = source / folder / path.name
            if original.exists() and path.stat().st_mtime > original.stat().st_mtime + 1:
                found.add(path.name[:2])
    return found


class Room:
    """The progress of every attendee of one room, probed on demand, one process each."""

    def __init__(self, folder: Path, source: Path) -> None:
        self.folder = folder
        self.source = source
        self.rows: dict[str, dict[str, Any]] = {}
        self.catch_ups: dict[str, dict[str, Any]] = {}
        self._probing: set[str] = set()
        self._dirty: dict[str, float] = {}  # attendee -> a probe started before this is stale
        self.admins: set[str] = set()  # the instructors: they may have a server, not a row
        self._gate = asyncio.Semaphore(PARALLEL)

    async def _probe(self, name: str) -> None:
        began = time.time()
        try:
            found = await self._run_probe(name)
            home = rooms.attendee_home(self.folder, name)
            started = started_chapters(home, self.source)
            found["marks"] = {
                n: mark(r, started=n in started or bool(r.get("passed")))
                for n, r in found["chapters"].items()
            }
            self.rows[name] = {**found, "checked_at": time.time(), "probed_from": began}
        except Exception:  # a row that cannot be probed must not stop its next probe
            log.exception("probing %s failed", name)
        finally:
            self._probing.discard(name)

    async def _run_probe(self, name: str) -> dict[str, Any]:
        home = rooms.attendee_home(self.folder, name)
        try:
            async with self._gate:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "flovtrain.hub.probe",
                    env=rooms.attendee_env(home), cwd=home,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                    stdin=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                out, err = await asyncio.wait_for(proc.communicate(), PROBE_TIMEOUT)
        except (TimeoutError, OSError) as exc:
            return {"sandbox": {"running": False, "reason": f"probe failed: {exc}"}, "chapters": {}}
        if proc.returncode == 0:
            return json.loads(out)
        reason = err.decode(errors="replace")[-300:]
        return {"sandbox": {"running": False, "reason": reason}, "chapters": {}}

    def attendees(self) -> list[str]:
        """Everyone with a home in the room but the instructors."""
        return [n for n in rooms.attendees(self.folder) if n not in self.admins]

    def refresh(self) -> None:
        """Start probing every attendee whose row is older than ``FRESH`` seconds."""
        for name in self.attendees():
            row = self.rows.get(name)
            fresh = row and time.time() - row["checked_at"] < FRESH
            if name in self._probing or (fresh and row["probed_from"] > self._dirty.get(name, 0)):
                continue
            self._probing.add(name)
            asyncio.ensure_future(self._probe(name))

    def snapshot(self, servers: dict[str, bool]) -> dict[str, Any]:
        """The JSON of ``api/progress``: chapters, and one row per attendee."""
        from flovtrain.checks import chapters  # the chapter list only; no check runs here

        homes = set(self.attendees())
        rows = []
        for name in sorted(homes | set(servers)):
            row = self.rows.get(name, {})
            sandbox = row.get("sandbox", {})
            status = "checking" if not row else ("ok" if sandbox.get("running") else "sandbox down")
            if name not in homes:
                status = "never started a server"
            if not servers.get(name, False) and status == "sandbox down":
                status = "server stopped"
            rows.append(
                {
                    "name": name,
                    "server": servers.get(name, False),
                    "status": status,
                    "sandbox": sandbox,
                    "marks": row.get("marks", {}),
                    "chapters": row.get("chapters", {}),
                    "checked_at": row.get("checked_at"),
                    "catch_up": self.catch_ups.get(name),
                }
            )
        return {"chapters": chapters(), "attendees": rows, "generated_at": time.time()}

    async def catch_up(self, name: str, chapter: str) -> None:
        """Run ``flovtrain catch-up CHAPTER`` in attendee ``name``'s home (their own solutions)."""
        home = rooms.attendee_home(self.folder, name)
        job = self.catch_ups[name] = {"chapter": chapter, "state": "running", "tail": ""}
        env = rooms.attendee_env(home)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "flovtrain",
            "catch-up",
            chapter,
            env=env,
            cwd=home,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        job["state"] = "done" if proc.returncode == 0 else "failed"
        job["tail"] = out.decode(errors="replace")[-600:]
        self._dirty[name] = time.time()  # probe again: the catch-up changed their sandbox


class Handler(HubOAuthenticated, web.RequestHandler):
    @property
    def room(self) -> Room:
        return self.settings["room"]

    async def servers(self) -> dict[str, bool]:
        """Attendee -> whether their default server runs (from the hub's REST API)."""
        api = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
        request = httpclient.HTTPRequest(
            f"{api}/users",
            headers={"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}"},
        )
        users = json.loads((await httpclient.AsyncHTTPClient().fetch(request)).body)
        self.room.admins = {u["name"] for u in users if u.get("admin")}
        return {  # the instructor (an admin) is no attendee
            u["name"]: bool((u.get("servers") or {}).get("", {}).get("ready"))
            for u in users
            if not u.get("admin")
        }


class PageHandler(Handler):
    @web.authenticated
    async def get(self) -> None:
        await self.servers()  # learns who the instructors are before the first probes
        self.room.refresh()
        self.finish(PAGE.read_text().replace("{{xsrf}}", self.xsrf_token.decode()))


class ProgressHandler(Handler):
    @web.authenticated
    async def get(self) -> None:
        servers = await self.servers()
        self.room.refresh()
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(self.room.snapshot(servers)))


class CatchUpHandler(Handler):
    def check_xsrf_cookie(self) -> None:
        """A token in the Authorization header is no browser's doing: no XSRF check for it."""
        if self.request.headers.get("Authorization", "").startswith(("token ", "Bearer ")):
            return
        super().check_xsrf_cookie()

    @web.authenticated
    async def post(self, name: str, chapter: str) -> None:
        if name not in self.room.attendees() or not CHAPTER.match(chapter):
            raise web.HTTPError(404, f"no attendee {name!r} with a chapter {chapter!r}")
        if (self.room.catch_ups.get(name) or {}).get("state") == "running":
            raise web.HTTPError(409, f"{name} is already catching up: wait for it to finish")
        asyncio.ensure_future(self.room.catch_up(name, chapter))
        self.set_status(202)
        self.finish({"name": name, "chapter": chapter, "state": "running"})


def make_app(folder: Path, source: Path, prefix: str) -> web.Application:
    """The service's tornado application under ``prefix`` (``/services/progress/``)."""
    return web.Application(
        [
            (prefix, PageHandler),
            (prefix + "api/progress", ProgressHandler),
            (prefix + r"api/catch-up/([a-z0-9._-]+)/(\d{2})", CatchUpHandler),
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
        ],
        room=Room(folder, source),
        cookie_secret=os.urandom(32),
        xsrf_cookies=True,
    )


def main() -> None:
    """Serve on ``$JUPYTERHUB_SERVICE_URL`` (JupyterHub starts us with it)."""
    logging.basicConfig(
        level=logging.INFO, format="[%(levelname)1.1s %(asctime)s progress] %(message)s"
    )
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/progress/")
    source = Path(__file__).resolve().parents[2]
    app = make_app(rooms.room_folder(), source, prefix)
    app.listen(url.port, address=url.hostname)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
