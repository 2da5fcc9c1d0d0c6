"""The sandbox server process: moto plus flovtrain's providers, bound to 127.0.0.1 only.

Started by :func:`flovtrain.sandbox.control.start` as ``python -m flovtrain.sandbox.server``.
It writes ``sandbox.json`` (port, pid, endpoint) into the flovtrain home once it listens,
and removes it when it stops.
"""

from __future__ import annotations

import argparse
import copy
import errno
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from flovtrain.sandbox.contract import (
    API_PREFIX,
    DEBUG_VAR,
    EXIT_PORT_BUSY,
    EXIT_PROTOCOL_MISMATCH,
    STATE_FILE,
    WARM_UP_VAR,
)

__all__ = [  # the contract, re-exported for the server's own tests
    "API_PREFIX",
    "DEBUG_VAR",
    "EXIT_PORT_BUSY",
    "EXIT_PROTOCOL_MISMATCH",
    "STATE_FILE",
    "WARM_UP_VAR",
    "SandboxApp",
    "build_app",
    "main",
]


def _moto_settings() -> None:
    """moto reads these when a backend is built: AdministratorAccess & co. exist then.

    Set in the server process only (by :func:`build_app`), never on import.
    """
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")


class SandboxApp:
    """WSGI app: ``/flovtrain-api/...`` is ours, everything else is moto's."""

    def __init__(self, moto_app: Any, providers: list[Any], info: dict[str, Any]) -> None:
        from flovtrain.sandbox.protocols import RestJsonGateway

        self.moto_app = moto_app
        self.gateway = RestJsonGateway(
            {p.service: p.protocols for p in providers if p.protocols is not None}
        )
        self.providers = providers
        self.info = info
        self.routes: dict[str, Any] = {
            "health": self.health,
            "endpoints": self.endpoints,
            "reset": self.reset,
            "stop": self.stop,
        }
        for provider in providers:
            for sub, handler in provider.routes.items():
                self.routes[f"{provider.name}/{sub}"] = handler
        if os.environ.get(DEBUG_VAR) == "1":  # tests only: proves stop ends spawned processes
            self.routes["debug/spawn-sleep"] = self.debug_spawn_sleep
        self.shutdown = lambda: None
        self.last_aws_request = time.monotonic()  # the warm-up waits for a quiet moment

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
            from flovtrain.sandbox.seam import observe_answer

            self.last_aws_request = time.monotonic()
            if self.gateway.handles(environ):
                return observe_answer(
                    lambda env, start: self.gateway(env, self._moto_never_html, start),
                    environ,
                    start_response,
                )
            return observe_answer(self._moto_never_html, environ, start_response)
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        handler = self.route_for(path[len(API_PREFIX) :].strip("/"))
        if handler is None:
            response = Response(
                json.dumps(
                    {"error": f"no sandbox endpoint {path}", "endpoints": sorted(self.routes)}
                ),
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

    def _moto_never_html(self, environ: dict[str, Any], start_response: Any) -> Any:
        from flovtrain.sandbox.error_format import never_html

        return never_html(self.moto_app, environ, start_response, self.info.get("log"))

    # -- built-in endpoints -------------------------------------------------------------------
    def _json(self, payload: Any, status: int = 200) -> Any:
        from werkzeug.wrappers import Response

        body = json.dumps(payload, default=str)
        return Response(body, status=status, mimetype="application/json")

    def health(self, request: Any) -> Any:
        from flovtrain.sandbox.engines import processes
        from flovtrain.sandbox.engines.frontdoor import endpoints

        return self._json(
            {
                **self.info,
                "children": len(processes.running()),
                "endpoints": endpoints.all_endpoints(),
            }
        )

    def endpoints(self, request: Any) -> Any:
        """The front doors the sandbox serves (DNS, load balancers, SSH, MySQL)."""
        from flovtrain.sandbox.engines.frontdoor import endpoints

        return self._json(endpoints.all_endpoints())

    def debug_spawn_sleep(self, request: Any) -> Any:
        from flovtrain.sandbox.engines import processes

        if request.method != "POST":
            return self._json({"error": "POST to spawn"}, status=405)
        proc = processes.spawn([sys.executable, "-c", "import time; time.sleep(600)"])
        return self._json({"pid": proc.pid})

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
    """Wipe moto and every provider and re-seed ids.

    The one reset path: each provider's ``reset`` ends its background work (builds,
    deployments, executions, queries) and clears what lives outside its backends; then
    :func:`_reset_moto` drops every ``BackendDict``, moto's and the providers' state alike.
    """
    from moto.moto_api._internal import mock_random

    from flovtrain.sandbox.engines import processes

    for provider in providers:
        provider.reset()
    processes.stop_all(processes.RESET_KINDS)  # what a provider did not end itself
    _reset_moto()
    mock_random.seed(seed)


def _reset_moto() -> None:
    """``moto_api_backend.reset()``, without rebuilding the backends it then throws away.

    moto resets each backend in place (``__init__`` again: IAM re-reads 1,000+ managed
    policies, EC2 reloads its AMIs per region) and then drops every one from its registry, so
    the next request builds a new backend anyway. Backends with their own ``reset`` (S3
    closes its temporary files, Batch stops its job threads) still get it.
    """
    from moto.core.base_backend import BackendDict, BaseBackend, backend_lock
    from moto.core.model_instances import reset_model_data
    from moto.moto_api._internal.models import moto_api_backend

    with backend_lock:
        for backend_dict in BackendDict._instances:  # type: ignore[misc]
            for account_backend in backend_dict.values():
                for backend in account_backend.values():
                    if type(backend).reset is not BaseBackend.reset:
                        backend.reset()
            backend_dict.clear()
        BackendDict._instances.clear()  # type: ignore[misc]
    reset_model_data()
    moto_api_backend.__init__(moto_api_backend.region_name, moto_api_backend.account_id)


def build_app(info: dict[str, Any]) -> SandboxApp:
    """Create the WSGI app with every provider installed."""
    from moto.server import DomainDispatcherApplication

    from flovtrain.sandbox import protocols, seam
    from flovtrain.sandbox import providers as provider_pkg

    _moto_settings()
    _request_ids_off_the_seed()
    _python_errors_as_aws_errors(info)
    providers = seam.install(seam.load(provider_pkg.PROVIDER_MODULES))
    protocols.install_json_views(
        {p.service: p.protocols for p in providers if p.protocols is not None}
    )
    info["providers"] = [p.name for p in providers]
    info["protocols"] = {service: sorted(names) for service, names in protocols.SERVED.items()}
    return SandboxApp(DomainDispatcherApplication(_create_app_keeping_seed), providers, info)


def _python_errors_as_aws_errors(info: dict[str, Any]) -> None:
    """Answer a Python error inside an operation with an AWS error that says what happened.

    moto raises ``NotImplementedError`` for operations it lacks and lets its own bugs escape;
    Flask turns both into an HTML 500 page that botocore cannot parse ("invalid XML received"),
    retries four times and then reports as a parse error. Here they become ordinary client
    errors (HTTP 400, so nothing is retried) naming the operation and where the traceback is.
    """
    import traceback

    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult, BaseResponse
    from werkzeug.exceptions import HTTPException

    from flovtrain.sandbox.seam import AwsError

    original = BaseResponse.call_action
    if getattr(original, "_flovtrain", False):
        return

    def call_action(self: BaseResponse) -> Any:
        try:
            return original(self)
        except (HTTPException, ServiceException):
            raise
        except NotImplementedError:
            error = AwsError(
                "SandboxUnsupported",
                f"The offline sandbox (moto 5.2.5) cannot run {self._operation_name()}: "
                "it works on real AWS, but the workbook's sandbox does not implement it.",
            )
        except Exception as exc:
            traceback.print_exc()  # into the sandbox log
            error = AwsError(
                "SandboxInternalError",
                f"The offline sandbox failed on {self._operation_name()} with "
                f"{type(exc).__name__}: {exc}. This input is probably one moto 5.2.5 does not "
                f"handle; the traceback is in {info.get('log', 'the sandbox log')}. Nothing "
                "else in the sandbox was affected.",
            )
        status, headers, body = self.serialized(ActionResult(error))
        headers, body = self._enrich_response(headers, body)
        return status, headers, body

    def operation_name(self: BaseResponse) -> str:
        try:
            return f"{self.boto3_service_name}:{self._get_action()}"
        except Exception:  # the action could not even be read
            return "this request"

    call_action._flovtrain = True  # type: ignore[attr-defined]
    BaseResponse.call_action = call_action  # type: ignore[method-assign]
    BaseResponse._operation_name = operation_name  # type: ignore[attr-defined]


def _request_ids_off_the_seed() -> None:
    """Draw request ids from the OS, not from moto's seeded generator.

    moto gives every response a random request id from the same seeded generator that makes
    resource ids, so one extra call (a widget refresh, a retried request) would shift every
    id after it and stored notebook outputs would drift.
    """
    import secrets
    import string

    import moto.core.responses as moto_responses
    from moto.utilities import aws_headers

    alphabet = string.ascii_uppercase + string.digits

    def request_id(headerdict: dict[str, Any] | None = None) -> str:
        req_id = "".join(secrets.choice(alphabet) for _ in range(52))
        if isinstance(headerdict, dict):
            headerdict["x-amzn-requestid"] = req_id
        return req_id

    moto_responses.gen_amzn_requestid_long = request_id
    aws_headers.gen_amzn_requestid_long = request_id


def _create_app_keeping_seed(service: str) -> Any:
    """moto's per-service app, built without consuming the seeded random generator.

    moto builds a service's app on its first request, and IAM's backend (1,000+ AWS managed
    policies with random ids) whenever it is first touched after a reset: both draw from the
    seeded generator, so ids after a fresh start would differ from ids after a reset.
    """
    from moto.iam.models import IAMBackend
    from moto.moto_api._internal import mock_random
    from moto.server import create_backend_app

    if not getattr(IAMBackend._init_aws_policies, "keeps_seed", False):
        IAMBackend._init_aws_policies = _keeping_seed(
            _copying_aws_policies(IAMBackend._init_aws_policies)
        )
    state = mock_random.getstate()
    try:
        return create_backend_app(service)
    finally:
        mock_random.setstate(state)


def _keeping_seed(function: Any) -> Any:
    """Wrap ``function`` so that it leaves moto's seeded random generator where it was."""
    from moto.moto_api._internal import mock_random

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = mock_random.getstate()
        try:
            return function(*args, **kwargs)
        finally:
            mock_random.setstate(state)

    wrapper.keeps_seed = True  # type: ignore[attr-defined]
    return wrapper


def _copying_aws_policies(build: Any) -> Any:
    """Wrap ``IAMBackend._init_aws_policies``: parse AWS's managed policies once per process.

    Parsing them (a 4 MB JSON document, 1,000+ objects) took most of a second each time IAM
    was first touched after a reset. Each new backend now gets fresh copies of policies parsed
    once, drawing their random ids exactly as moto would (one id per policy, same order).
    """
    from moto.iam.utils import random_policy_id
    from moto.moto_api._internal import mock_random

    parsed: dict[tuple[str, str], list[Any]] = {}
    lock = threading.Lock()

    def copy_policy(template: Any) -> Any:
        policy = type(template).__new__(type(template))  # tracked by moto like its own
        policy.__dict__.update(template.__dict__)
        policy.id = random_policy_id()
        policy.tags = dict(template.tags)
        policy.versions = [copy.copy(version) for version in template.versions]
        return policy

    def init_aws_policies(self: Any) -> list[Any]:
        key = (self.account_id, self.region_name)
        with lock:
            if key not in parsed:
                state = mock_random.getstate()
                templates = build(self)
                mock_random.setstate(state)
                if not templates:  # MOTO_IAM_LOAD_MANAGED_POLICIES is off: nothing to cache
                    return templates
                tracked = {id(t) for t in templates}
                for cls in {type(t) for t in templates}:  # templates never reach a client
                    cls.instances_tracked[:] = [
                        i for i in cls.instances_tracked if id(i) not in tracked
                    ]
                parsed[key] = templates
        return [copy_policy(template) for template in parsed[key]]

    return init_aws_policies


def _defer_rfc3987_syntax() -> None:
    """Build ``rfc3987_syntax``'s 38 IRI grammars when an IRI is first checked, not at import.

    jsonschema imports it to offer the ``iri`` formats, and moto's CloudFormation imports
    jsonschema (through API Gateway): the grammars cost seconds on the first stack request
    although the sandbox never checks an IRI. The stand-in module forwards every use to the
    real one, imported on first use, so results are the same.
    """
    import importlib
    import importlib.util
    import types

    name = "rfc3987_syntax"
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return
    lock = threading.Lock()

    def real() -> Any:
        with lock:
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
                try:
                    importlib.import_module(name)
                except BaseException:
                    sys.modules[name] = stand_in
                    raise
        return sys.modules[name]

    def is_valid_syntax(term: str, value: str) -> bool:
        return real().is_valid_syntax(term, value)

    def forward(attribute: str) -> Any:
        if attribute.startswith("__"):  # import machinery asking (__path__ ...): not a package
            raise AttributeError(attribute)
        return getattr(real(), attribute)

    stand_in = types.ModuleType(name, "Stand-in: imports rfc3987_syntax on first use.")
    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    stand_in.__getattr__ = forward  # type: ignore[attr-defined]
    sys.modules[name] = stand_in


def write_state(home: Path, info: dict[str, Any]) -> None:
    tmp = home / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(home / STATE_FILE)


def _port_in_use(port: int) -> bool:
    """Return whether binding 127.0.0.1:port fails because something else holds it."""
    import socket

    if not port:
        return False
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


#: moto modules that take seconds to import on first use (CloudFormation's pulls in most
#: services). Imported in the background at the first quiet moment (no AWS request for a
#: second, at least 2 s after start), so chapter 04's deploy does not wait for them and no
#: request waits for the import. Imports draw nothing from the seeded generator.
WARM_UP_MODULES = ("moto.ec2.models", "moto.cloudformation.models")
WARM_UP_DELAY_S = 2.0
WARM_UP_QUIET_S = 1.0
WARM_UP_PATIENCE_S = 30.0  # a sandbox that is never quiet still gets warmed up


def _warm_up(stopping: threading.Event, app: SandboxApp) -> None:
    """Import :data:`WARM_UP_MODULES`; ``/flovtrain-api/health`` lists them as ``warmed_up``."""
    import importlib

    if stopping.wait(WARM_UP_DELAY_S):
        return
    patience = time.monotonic() + WARM_UP_PATIENCE_S
    while time.monotonic() < patience and time.monotonic() - app.last_aws_request < WARM_UP_QUIET_S:
        if stopping.wait(0.25):
            return
    info = app.info
    done: list[str] = []
    for name in WARM_UP_MODULES:
        if stopping.is_set():
            return
        try:
            importlib.import_module(name)
        except Exception as exc:  # the first real use imports it again and reports properly
            print(f"flovtrain sandbox: warm-up import of {name} failed: {exc}", file=sys.stderr)
            continue
        done.append(name)
        info["warmed_up"] = list(done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flovtrain.sandbox.server")
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    from flovtrain.sandbox import netguard, protocols
    from flovtrain.sandbox.engines import memory, processes

    ended = processes.end_leftovers(args.home)  # first: a crashed run's apps hold addresses
    if ended:
        print(
            f"flovtrain sandbox: ended {len(ended)} process groups a crashed run left", flush=True
        )
    problems = protocols.checked_mismatches(args.home)
    if problems:  # refuse rather than answer every call of that service with an error
        print(
            "flovtrain sandbox: refusing to start: a client installed here speaks a protocol "
            "the sandbox does not serve.\n" + "\n".join(problems),
            file=sys.stderr,
        )
        return EXIT_PROTOCOL_MISMATCH
    netguard.install()
    memory.fix_malloc_thresholds()  # freed heap goes back to the OS (issue #11)
    memory.arrow_on_malloc()  # and Arrow's freed buffers too
    started = time.time()
    _defer_rfc3987_syntax()
    from moto.server import MotoRequestHandler
    from werkzeug.serving import make_server

    info: dict[str, Any] = {
        "pid": os.getpid(),
        "seed": args.seed,
        "host": "127.0.0.1",
        "netguard": netguard.active(),
    }
    app = build_app(info)
    try:
        server = make_server(
            "127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler
        )
    except (OSError, SystemExit) as exc:  # werkzeug prints and sys.exit(1)s on bind errors
        if getattr(exc, "errno", None) == errno.EADDRINUSE or _port_in_use(args.port):
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
    if os.environ.get(WARM_UP_VAR, "1") != "0":
        threading.Thread(target=_warm_up, args=(stopping, app), name="warm-up", daemon=True).start()
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
