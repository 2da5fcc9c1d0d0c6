"""Wire protocols: serve a service in every protocol botocore has used for it.

AWS moves services between wire protocols, and botocore follows within a patch release:
botocore 1.44.8 speaks JSON-1.1 to Athena (``POST /`` with ``X-Amz-Target: AmazonAthena.*``),
1.44.18 speaks REST-JSON (``POST /query-executions``, ``GET /query-executions/{id}/results``).
moto 5.2.5's Athena handlers read JSON-1.1 bodies, and moto parses and serializes with the
botocore model *it* has installed, so either side of a version mismatch broke.

The sandbox therefore keeps one internal form per bridged service, JSON-1.1:

* moto always sees a JSON-1.1 view of the service model (:func:`json_view`), whatever botocore
  the sandbox process has installed;
* a REST-JSON request is routed by the REST model's HTTP traits (the installed botocore's when it
  is REST-JSON, else the copy under ``flovtrain/data/botocore/``), parsed with moto's own
  REST-JSON parser, answered inside as JSON-1.1 and returned in REST-JSON's shape
  (:class:`RestJsonGateway`), errors included (``x-amzn-ErrorType`` + ``__type``/``message``).

A provider declares a bridge with one line, ``protocols=JsonBridge("AmazonAthena")``; the next
service that moves needs only that line (plus its REST model file when botocore has not moved yet).

:func:`check_installed` is the start-up self-check: for every service the workbook uses it
compares the protocol the installed botocore will speak with what the sandbox serves.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

#: Where flovtrain keeps botocore models it may need that the installed botocore lacks.
PACKAGED_MODELS = Path(__file__).resolve().parents[1] / "data" / "botocore"

#: What the sandbox serves to the services the workbook uses (moto 5.2.5 + providers), by
#: botocore's name. Measured: botocore 1.44.8 and 1.44.18 resolve these protocols; Athena is
#: bridged (JSON-1.1 and REST-JSON). A service whose installed protocol is not listed here is
#: refused at start (see :func:`check_installed`).
SERVED: dict[str, frozenset[str]] = {
    "athena": frozenset({"json", "rest-json"}),
    "budgets": frozenset({"json"}),
    "cloudformation": frozenset({"query"}),
    "cloudwatch": frozenset({"json", "query"}),
    "codebuild": frozenset({"json"}),
    "codecommit": frozenset({"json"}),
    "codedeploy": frozenset({"json"}),
    "codepipeline": frozenset({"json"}),
    "ec2": frozenset({"ec2"}),
    "elbv2": frozenset({"query"}),
    "firehose": frozenset({"json"}),
    "glacier": frozenset({"rest-json"}),
    "glue": frozenset({"json"}),
    "iam": frozenset({"query"}),
    "logs": frozenset({"json"}),
    "rds": frozenset({"query"}),
    "route53": frozenset({"rest-xml"}),
    "s3": frozenset({"rest-xml"}),
    "sns": frozenset({"query"}),
    "sqs": frozenset({"json"}),
    "ssm": frozenset({"json"}),
    "sts": frozenset({"query"}),
}

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_REST_LOCATIONS = ("uri", "querystring", "header", "headers", "statusCode")


@dataclass(frozen=True)
class JsonBridge:
    """A service moto implements in JSON-1.1, served in REST-JSON too.

    Parameters
    ----------
    target_prefix : str
        The ``X-Amz-Target`` prefix of the JSON-1.1 form, e.g. ``"AmazonAthena"``.
    json_version : str
        ``"1.1"`` (or ``"1.0"``), the JSON protocol version moto's handlers expect.

    Examples
    --------
    >>> JsonBridge("AmazonAthena").target("GetQueryResults")
    'AmazonAthena.GetQueryResults'
    """

    target_prefix: str
    json_version: str = "1.1"

    def target(self, operation: str) -> str:
        return f"{self.target_prefix}.{operation}"

    @property
    def content_type(self) -> str:
        return f"application/x-amz-json-{self.json_version}"


# -- models ------------------------------------------------------------------------------------


@cache
def installed_model(service: str) -> dict[str, Any]:
    """The service model a boto3 client in this process would use (``AWS_DATA_PATH`` included)."""
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    return loader.load_service_model(service, "service-2")


def aws_cli_botocore() -> tuple[str, Any] | None:
    """(version, model loader) of the botocore the AWS CLI v1 bundles, when the CLI is installed.

    awscli 1.46 ships its own copy (``awscli/botocore``, 1.43.x): the terminal's ``aws`` may speak
    another protocol than the notebooks' boto3.
    """
    import importlib.util

    import botocore.loaders

    spec = importlib.util.find_spec("awscli")
    if spec is None or spec.origin is None:
        return None
    bundled = Path(spec.origin).parent / "botocore"
    if not (bundled / "data").is_dir():
        return None
    match = re.search(r"__version__ = ['\"]([^'\"]+)", (bundled / "__init__.py").read_text())
    loader = botocore.loaders.Loader(
        extra_search_paths=[str(bundled / "data")], include_default_search_paths=False
    )
    return (match.group(1) if match else "?"), loader


def packaged_model(service: str) -> dict[str, Any] | None:
    """The model flovtrain ships for ``service`` (``data/botocore/<service>/<api>/``), if any."""
    files = sorted((PACKAGED_MODELS / service).glob("*/service-2.json.gz"))
    if not files:
        return None
    with gzip.open(files[-1], "rt", encoding="utf-8") as handle:
        return json.load(handle)


def protocols_of(model: dict[str, Any]) -> list[str]:
    metadata = model["metadata"]
    return list(metadata.get("protocols") or [metadata["protocol"]])


def resolved_protocol(model: dict[str, Any], service: str) -> str:
    """The protocol a botocore client built from ``model`` speaks (botocore's own choice)."""
    from botocore.model import ServiceModel

    return ServiceModel(model, service).resolved_protocol


@cache
def rest_model(service: str) -> dict[str, Any]:
    """The REST-JSON model to route by: the installed botocore's if REST-JSON, else ours."""
    installed = installed_model(service)
    if "rest-json" in protocols_of(installed):
        return installed
    packaged = packaged_model(service)
    if packaged is None or "rest-json" not in protocols_of(packaged):
        raise LookupError(
            f"no REST-JSON model for {service}: botocore speaks {protocols_of(installed)} and "
            f"{PACKAGED_MODELS / service} holds none"
        )
    return packaged


def json_view(model: dict[str, Any], bridge: JsonBridge) -> dict[str, Any]:
    """``model`` as moto's JSON-1.1 handlers need it, whichever protocol it was written for.

    Shapes stay; metadata names JSON-1.1 and the target prefix; every operation is ``POST /``;
    members bound to the URI, query string or headers become plain body members.
    """
    if protocols_of(model) == ["json"] and model["metadata"].get("jsonVersion"):
        return model
    view = copy.deepcopy(model)
    metadata = view["metadata"]
    metadata.update(
        protocol="json",
        protocols=["json"],
        jsonVersion=bridge.json_version,
        targetPrefix=bridge.target_prefix,
    )
    for operation in view["operations"].values():
        operation["http"] = {"method": "POST", "requestUri": "/"}
    for shape in view["shapes"].values():
        for member in shape.get("members", {}).values():
            if member.get("location") in _REST_LOCATIONS:
                member.pop("location")
                member.pop("locationName", None)
    return view


def install_json_views(bridges: dict[str, JsonBridge]) -> None:
    """Make moto load the JSON-1.1 view of each bridged service (before its first request)."""
    import moto.core.utils as moto_utils

    original = moto_utils._load_service_model
    original = getattr(original, "__wrapped__", original)

    def load(service_name: str, model_name: str) -> dict[str, Any]:
        model = original(service_name, model_name)
        bridge = bridges.get(service_name)
        if bridge is None or model_name != "service-2":
            return model
        return json_view(model, bridge)

    load.__wrapped__ = original  # type: ignore[attr-defined]
    moto_utils._load_service_model = load
    moto_utils.get_service_model.cache_clear()
    try:
        from moto.core import routing

        routing.get_service_router.cache_clear()
    except (ImportError, AttributeError):
        pass


# -- the REST-JSON gateway ---------------------------------------------------------------------


def service_of(environ: dict[str, Any]) -> str | None:
    """The signing name in a SigV4 ``Authorization`` header (``.../athena/aws4_request``)."""
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message, "Message": message}).encode()


class RestJsonGateway:
    """Answer REST-JSON requests of bridged services through their JSON-1.1 form.

    Parameters
    ----------
    bridges : dict
        botocore service name -> :class:`JsonBridge`.
    model_for : callable
        service -> REST-JSON model dict (default :func:`rest_model`).
    """

    def __init__(
        self,
        bridges: dict[str, JsonBridge],
        model_for: Callable[[str], dict[str, Any]] = rest_model,
    ) -> None:
        self.bridges = dict(bridges)
        self._model_for = model_for
        self._routers: dict[str, Any] = {}

    def handles(self, environ: dict[str, Any]) -> bool:
        """A bridged service's request that is not JSON-1.1 (no ``X-Amz-Target``)."""
        return service_of(environ) in self.bridges and not environ.get("HTTP_X_AMZ_TARGET")

    def _router(self, service: str) -> tuple[Any, Any]:
        if service not in self._routers:
            from moto.core.model import ServiceModel  # botocore's, plus the traits moto routes by
            from moto.core.routing import RestRouter

            model = ServiceModel(self._model_for(service), service)
            self._routers[service] = (model, RestRouter(model))
        return self._routers[service]

    def __call__(self, environ: dict[str, Any], inner: Any, start_response: Any) -> Iterable[bytes]:
        service = service_of(environ)
        assert service is not None
        bridge = self.bridges[service]
        try:
            operation, body = self._to_json(service, environ)
        except _NoRoute as missing:
            return _answer(start_response, 404, missing.code, missing.message)
        except Exception as exc:  # a request REST-JSON's parser refuses
            return _answer(
                start_response, 400, "SerializationException", f"{type(exc).__name__}: {exc}"
            )
        inside = dict(environ)
        inside.update(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/",
                "RAW_URI": "/",
                "REQUEST_URI": "/",
                "QUERY_STRING": "",
                "CONTENT_TYPE": bridge.content_type,
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_X_AMZ_TARGET": bridge.target(operation),
                "wsgi.input": io.BytesIO(body),
            }
        )
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return lambda data: None

        chunks = inner(inside, capture)
        try:
            payload = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return _as_rest_json(start_response, captured["status"], captured["headers"], payload)

    def _to_json(self, service: str, environ: dict[str, Any]) -> tuple[str, bytes]:
        from moto.core.parse import PROTOCOL_PARSERS
        from moto.core.request import Request
        from werkzeug.exceptions import NotFound

        model, router = self._router(service)
        request = Request(environ)
        try:
            operation, uri_params = router.match(request)
        except NotFound:
            raise _NoRoute(
                "SandboxUnsupported",
                f"The offline sandbox has no {service} operation at {request.method} "
                f"{request.path} (REST-JSON). Check the method and path; operations the "
                "sandbox does not implement work on real AWS.",
            ) from None
        parser = PROTOCOL_PARSERS["rest-json"](operation)
        params = parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": request.get_data(),
                "url_path": request.path,
                "url_params": uri_params,
            }
        )
        plain = params.original_dict() if hasattr(params, "original_dict") else dict(params)
        return operation.name, json.dumps(_jsonable(plain)).encode()


class _NoRoute(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _jsonable(value: Any) -> Any:
    """Parsed REST values back into JSON-1.1's encoding (timestamps: epoch seconds)."""
    import base64
    import datetime as dt

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _answer(start_response: Any, status: int, code: str, message: str) -> list[bytes]:
    body = error_body(code, message)
    start_response(
        f"{status} {'Not Found' if status == 404 else 'Bad Request'}",
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", code),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


def _as_rest_json(
    start_response: Any, status: str, headers: list[tuple[str, str]], payload: bytes
) -> list[bytes]:
    """The JSON-1.1 answer in REST-JSON's shape: same body; errors also name their type in
    ``x-amzn-ErrorType`` (botocore's REST-JSON parser reads that first)."""
    kept = [
        (k, v)
        for k, v in headers
        if k.lower() not in ("content-type", "content-length", "x-amzn-errortype")
    ]
    kept.append(("Content-Type", "application/json"))
    if int(status.split()[0]) >= 300:
        try:
            code = str(json.loads(payload or b"{}").get("__type", ""))
        except ValueError:
            code = ""
        if code:
            kept.append(("x-amzn-ErrorType", code.rsplit("#", 1)[-1]))
    kept.append(("Content-Length", str(len(payload))))
    start_response(status, kept)
    return [payload]


# -- the start-up self-check -------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """A service the installed botocore speaks in a protocol the sandbox does not serve."""

    service: str
    speaks: str
    served: frozenset[str]

    def explain(self, botocore_version: str, locked: str | None, who: str = "") -> str:
        fix = f"make install (the lock installs botocore {locked})" if locked else "make install"
        return (
            f"{self.service}: {who or 'the installed botocore'} {botocore_version} speaks "
            f"{self.speaks}, but the sandbox (moto 5.2.5 + flovtrain) serves "
            f"{', '.join(sorted(self.served))} for it. Fix: {fix}."
        )


def check_installed(
    served: dict[str, frozenset[str]] | None = None,
    model_for: Callable[[str], dict[str, Any]] = installed_model,
) -> list[Mismatch]:
    """Compare what the installed botocore speaks with what the sandbox serves.

    Returns
    -------
    list of Mismatch
        Empty when every service the workbook uses will be understood.

    Examples
    --------
    >>> check_installed()  # doctest: +SKIP
    []
    """
    problems = []
    for service, protocols in sorted((served or SERVED).items()):
        speaks = resolved_protocol(model_for(service), service)
        if speaks not in protocols:
            problems.append(Mismatch(service, speaks, protocols))
    return problems


def locked_version(package: str, lock: Path | None = None) -> str | None:
    """The version ``requirements.lock`` pins for ``package`` (None outside a checkout)."""
    lock = lock or Path(__file__).resolve().parents[2] / "requirements.lock"
    try:
        text = lock.read_text()
    except OSError:
        return None
    match = re.search(rf"^{re.escape(package)}==([^\s;\\]+)", text, re.MULTILINE)
    return match.group(1) if match else None


def explain_mismatches(served: dict[str, frozenset[str]] | None = None) -> list[str]:
    """One sentence per mismatch of boto3's botocore and of the AWS CLI's bundled botocore."""
    import botocore

    locked = locked_version("botocore")
    lines = [m.explain(botocore.__version__, locked) for m in check_installed(served)]
    cli = aws_cli_botocore()
    if cli is not None:
        version, loader = cli
        for mismatch in check_installed(
            served, lambda service: loader.load_service_model(service, "service-2")
        ):
            lines.append(mismatch.explain(version, locked, who="the AWS CLI's bundled botocore"))
    return lines


def checked_mismatches(home: Path) -> list[str]:
    """:func:`explain_mismatches`, remembered in ``home`` while nothing it depends on changes.

    Loading 44 service models costs most of a second on every start; the answer only changes
    with the installed botocore, the AWS CLI's, ``AWS_DATA_PATH`` or :data:`SERVED`, which form
    the key. Only a clean result is remembered: a mismatch is checked again on the next start.
    """
    import os

    import botocore

    cli = aws_cli_botocore()
    key = json.dumps(
        {
            "botocore": botocore.__version__,
            "cli": cli[0] if cli else None,
            "data_path": os.environ.get("AWS_DATA_PATH", ""),
            "served": {service: sorted(names) for service, names in sorted(SERVED.items())},
        },
        sort_keys=True,
    )
    cache = home / "protocol-check.json"
    try:
        if json.loads(cache.read_text()).get("key") == key:
            return []
    except (OSError, ValueError):
        pass
    problems = explain_mismatches()
    if not problems:
        cache.write_text(json.dumps({"key": key, "problems": []}))
    return problems
