"""The sandbox server process: moto plus flovtrain's providers, bound to 127.0.0.1 only.

Started by :func:`flovtrain.sandbox.control.start` as ``python -m flovtrain.sandbox.server``.
It writes ``sandbox.json`` (port, pid, endpoint) into the flovtrain home once it listens,
and removes it when it stops.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

# Must be set before moto's IAM backend is first built: AdministratorAccess & co. exist then.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")

EXIT_PORT_BUSY = 3
STATE_FILE = "sandbox.json"
API_PREFIX = "/flovtrain-api/"


class SandboxApp:
    """WSGI app: ``/flovtrain-api/...`` is ours, everything else is moto's."""

    def __init__(self, moto_app: Any, providers: list[Any], info: dict[str, Any]) -> None:
        self.moto_app = moto_app
        self.providers = providers
        self.info = info
        self.routes: dict[str, Any] = {
            "health": self.health,
            "reset": self.reset,
            "stop": self.stop,
        }
        for provider in providers:
            for sub, handler in provider.routes.items():
                self.routes[f"{provider.name}/{sub}"] = handler
        self.shutdown = lambda: None

    def route_for(self, sub: str) -> Any:
        """Exact route first, then the longest ``prefix/*`` route (e.g. a git endpoint)."""
        if sub in self.routes:
            return self.routes[sub]
        prefixes = [k[:-2] for k in self.routes if k.endswith("/*")]
        for prefix in sorted(prefixes, key=len, reverse=True):
            if sub == prefix or sub.startswith(prefix + "/"):
                return self.routes[prefix + "/*"]
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(API_PREFIX):
            return self.moto_app(environ, start_response)
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        handler = self.route_for(path[len(API_PREFIX):].strip("/"))
        if handler is None:
            response = Response(
                json.dumps({"error": f"no sandbox endpoint {path}", "endpoints": sorted(self.routes)}),
                status=404,
                mimetype="application/json",
            )
        else:
            try:
                response = handler(request)
            except Exception as exc:  # report, never kill the server
                response = Response(
                    json.dumps({"error": f"{type(exc).__name__}: {exc}"}),
                    status=400 if isinstance(exc, (ValueError, KeyError)) else 500,
                    mimetype="application/json",
                )
        return response(environ, start_response)

    # -- built-in endpoints -------------------------------------------------------------------
    def _json(self, payload: Any, status: int = 200) -> Any:
        from werkzeug.wrappers import Response

        return Response(json.dumps(payload, default=str), status=status, mimetype="application/json")

    def health(self, request: Any) -> Any:
        from flovtrain.sandbox import processes

        return self._json({**self.info, "children": len(processes.running())})

    def reset(self, request: Any) -> Any:
        seed = int(request.args.get("seed", self.info["seed"]))
        reset_state(self.providers, seed)
        return self._json({"status": "reset", "seed": seed})

    def stop(self, request: Any) -> Any:
        if request.method != "POST":
            return self._json({"error": "POST to stop the sandbox"}, status=405)
        threading.Thread(target=self.shutdown, daemon=True).start()
        return self._json({"status": "stopping"})


def reset_state(providers: list[Any], seed: int) -> None:
    """Wipe moto and every provider, switch IAM enforcement off, and re-seed ids."""
    from moto import settings
    from moto.core.responses import ActionAuthenticatorMixin
    from moto.moto_api._internal import mock_random
    from moto.moto_api._internal.models import moto_api_backend

    for provider in providers:
        provider.reset()
    moto_api_backend.reset()
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")  # reset alone leaves enforcement on
    ActionAuthenticatorMixin.request_count = 0
    mock_random.seed(seed)


def build_app(info: dict[str, Any]) -> SandboxApp:
    """Create the WSGI app with every provider installed."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    from flovtrain.sandbox import providers as provider_pkg
    from flovtrain.sandbox import seam

    providers = seam.install(seam.load(provider_pkg.PROVIDER_MODULES))
    info["providers"] = [p.name for p in providers]
    return SandboxApp(DomainDispatcherApplication(create_backend_app), providers, info)


def write_state(home: Path, info: dict[str, Any]) -> None:
    tmp = home / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(home / STATE_FILE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flovtrain.sandbox.server")
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    from flovtrain.sandbox import netguard, processes

    netguard.install()
    started = time.time()
    from moto.server import MotoRequestHandler
    from werkzeug.serving import make_server

    info: dict[str, Any] = {"pid": os.getpid(), "seed": args.seed, "host": "127.0.0.1"}
    app = build_app(info)
    try:
        server = make_server(
            "127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"flovtrain sandbox: port {args.port} on 127.0.0.1 is already in use by another "
                "program. Start the sandbox on another port (flovtrain sandbox start --port N, or "
                "unset FLOVTRAIN_SANDBOX_PORT to pick a free one), or stop that program.",
                file=sys.stderr,
            )
            return EXIT_PORT_BUSY
        raise
    port = server.server_port
    info.update(
        port=port,
        endpoint=f"http://127.0.0.1:{port}",
        started=started,
        log=str(args.home / "sandbox.log"),
    )
    reset_state(app.providers, args.seed)

    stopping = threading.Event()

    def shutdown(*_: Any) -> None:
        if stopping.is_set():
            return
        stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    app.shutdown = shutdown
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    for provider in app.providers:
        provider.start()
    write_state(args.home, info)
    print(f"flovtrain sandbox listening on {info['endpoint']} (pid {info['pid']})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for provider in app.providers:
            try:
                provider.stop()
            except Exception as exc:  # keep stopping the rest
                print(f"provider {provider.name} failed to stop: {exc}", file=sys.stderr)
        stopped = processes.stop_all()
        state = args.home / STATE_FILE
        try:
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        except (OSError, ValueError):
            pass
        print(f"flovtrain sandbox stopped ({stopped} child processes ended)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
