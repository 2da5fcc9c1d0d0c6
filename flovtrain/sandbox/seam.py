"""The provider seam: how one module of ours per AWS service completes or overrides moto.

moto routes every AWS request to a ``BaseResponse`` subclass and calls the method named after
the operation (``PutMetricData`` -> ``put_metric_data``). A provider names operations it owns;
:func:`install` puts a small wrapper in place of each such method (or adds it where moto has
none), so authentication, parameter parsing, protocol serialization and error rendering stay
moto's, and plain boto3, the AWS CLI and git all see the completed behaviour. Everything a
provider does not name falls through to moto untouched.

A provider is a module in :mod:`flovtrain.sandbox.providers` exposing ``PROVIDER``, a
:class:`Provider`. Adding one is that module plus one line in ``providers.PROVIDER_MODULES``.

A provider keeps its state as moto does: one :class:`ProviderBackend` per account and region in
a moto ``BackendDict``. The sandbox's reset is one path (``server.reset_state``): every
provider's ``reset`` ends its background work, then moto's reset drops every ``BackendDict``,
moto's and the providers' alike. An :class:`~flovtrain.sandbox.engines.errors.EngineError`
a handler lets through is rendered as the :class:`AwsError` of the same code.
"""

from __future__ import annotations

import importlib
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend, backend_lock
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import camelcase_to_underscores

from flovtrain.sandbox.engines.errors import EngineError
from flovtrain.sandbox.protocols import JsonBridge

#: A handler gets the call and returns an ActionResult, a plain dict (serialized by moto
#: with the operation's botocore output shape), or whatever :meth:`Call.moto` returned.
Handler = Callable[["Call"], Any]
#: A route handler for sandbox-only endpoints under ``/flovtrain-api/<name>``:
#: it gets a werkzeug Request and returns a werkzeug Response.
Route = Callable[[Any], Any]


class AwsError(ServiceException):
    """An error rendered exactly like AWS's for the operation's protocol.

    Parameters
    ----------
    code : str
        AWS's error code, e.g. ``InvalidParameterValue``.
    message : str
        AWS's message.
    status : int
        The HTTP status (400 unless AWS uses another).
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.http_status_code = status


@dataclass
class Call:
    """One AWS request that reached a provider.

    Attributes
    ----------
    response : BaseResponse
        moto's response object for the request (headers, body, helpers).
    service : str
        moto's service name, e.g. ``cloudwatch``.
    operation : str
        The AWS operation name, e.g. ``PutMetricData``.
    """

    response: BaseResponse
    service: str
    operation: str
    original: Callable[[BaseResponse], Any] | None

    @property
    def account_id(self) -> str:
        return self.response.current_account

    @property
    def region(self) -> str:
        return self.response.region

    @cached_property
    def params(self) -> dict[str, Any]:
        """The request parameters parsed with the operation's botocore input shape."""
        self.response.parse_parameters(self.response.normalized_request)
        params = self.response.params
        return params.original_dict() if hasattr(params, "original_dict") else dict(params)

    def moto(self) -> Any:
        """Run moto's own implementation of this operation and return its result."""
        if self.original is None:
            raise NotImplementedError(f"moto has no {self.operation}")
        return self.original(self.response)


class ProviderBackend(BaseBackend):
    """A provider's state in one account and region; keep them in a moto ``BackendDict``.

    Subclasses add their attributes in ``__init__(region_name, account_id)``. They do not
    override ``reset``: the sandbox's reset of moto then drops them with moto's own backends
    (``server._reset_moto`` calls ``reset`` only where it is overridden, under moto's global
    lock), and the provider's :attr:`Provider.reset` has ended their background work before.

    Examples
    --------
    >>> class BuildState(ProviderBackend):
    ...     def __init__(self, region_name: str, account_id: str) -> None:
    ...         super().__init__(region_name, account_id)
    ...         self.builds = {}
    >>> STATE = BackendDict(BuildState, "codebuild")
    >>> STATE["123456789012"]["eu-west-1"].builds
    {}
    """


class EngineBackend(ProviderBackend):
    """A provider backend that holds one engine object per account and region (``.engine``).

    Made by :func:`engine_backends`; ``engine_factory(account_id, region)`` builds the engine.
    """

    engine_factory: Callable[[str, str], Any]

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.engine = type(self).engine_factory(account_id, region_name)


def engine_backends(service: str, engine_factory: Callable[[str, str], Any]) -> BackendDict:
    """Return a ``BackendDict`` of ``engine_factory(account_id, region)`` per account and region.

    Examples
    --------
    >>> from flovtrain.sandbox.engines.builds import BuildRunner
    >>> BUILDS = engine_backends("codebuild", BuildRunner)
    >>> BUILDS["123456789012"]["eu-west-1"].engine.region
    'eu-west-1'
    """
    backend = type(
        f"{engine_factory.__name__}Backend",
        (EngineBackend,),
        {"engine_factory": staticmethod(engine_factory), "__module__": __name__},
    )
    return BackendDict(backend, service)


def existing(backends: BackendDict) -> list[Any]:
    """Return the backends ``backends`` holds, for every account and region, creating none."""
    with backend_lock:
        return [backend for _, _, backend in backends.iter_backends()]


@dataclass
class Provider:
    """What one provider module contributes to the sandbox.

    Parameters
    ----------
    name : str
        Short name, also the URL segment of its routes: ``/flovtrain-api/<name>/...``.
    response_class : type[BaseResponse] | str | None
        moto's response class for the service whose operations it owns, or its dotted name
        (``"moto.ssm.responses.SimpleSystemManagerResponse"``) when importing it is costly:
        the operations are then installed right after moto first imports that module.
    operations : dict
        AWS operation name -> handler.
    routes : dict
        Sub-path -> route handler for sandbox-only endpoints (e.g. ``inbox``).
    setup : callable
        Called once when installed, for patches beyond operations (e.g. a CloudFormation
        resource type, a hook inside a moto model). A setup that patches a big moto module
        registers the patch with :func:`after_import` so the sandbox starts fast.
    reset, start, stop : callables
        ``reset`` ends background work and clears what lives outside the provider's
        backends (files, process-wide runtimes); ``start`` and ``stop`` start and stop
        background work.
    protocols : JsonBridge, optional
        For a service moto implements in JSON-1.1 but botocore may speak REST-JSON to:
        ``protocols=JsonBridge("AmazonAthena")`` serves both (see
        :mod:`flovtrain.sandbox.protocols`), routing REST-JSON by the botocore model.
    """

    name: str
    response_class: type[BaseResponse] | str | None = None
    service: str = ""
    operations: dict[str, Handler] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    setup: Callable[[], None] = lambda: None
    reset: Callable[[], None] = lambda: None
    start: Callable[[], None] = lambda: None
    stop: Callable[[], None] = lambda: None
    protocols: JsonBridge | None = None


_installed: list[Provider] = []
_lock = threading.Lock()


def _wrap(
    provider: Provider, cls: type[BaseResponse], operation: str, handler: Handler
) -> Callable[[BaseResponse], Any]:
    method_name = camelcase_to_underscores(operation)
    original = getattr(cls, method_name, None)

    def provided(self: BaseResponse) -> Any:
        try:
            result = handler(Call(self, provider.service, operation, original))
        except EngineError as exc:  # an engine's refusal is AWS's error of that code
            raise AwsError(exc.code, exc.message, exc.status) from None
        if isinstance(result, dict):
            return ActionResult(result)
        return result

    provided.__name__ = method_name
    provided.__wrapped__ = original  # type: ignore[attr-defined]
    return provided


def install(providers: Iterable[Provider]) -> list[Provider]:
    """Patch moto's response classes with the providers' operations (idempotent per provider)."""
    with _lock:
        for provider in providers:
            if any(p.name == provider.name for p in _installed):
                continue
            cls = provider.response_class
            if provider.operations and cls is None:
                raise TypeError(f"provider {provider.name} names operations but no class")
            if isinstance(cls, str):
                module_name, _, class_name = cls.rpartition(".")
                after_import(module_name, _operations_installer(provider, module_name, class_name))
            elif cls is not None:
                _install_operations(provider, cls)
            provider.setup()
            _installed.append(provider)
        return list(_installed)


def _install_operations(provider: Provider, cls: type[BaseResponse]) -> None:
    for operation, handler in provider.operations.items():
        setattr(cls, camelcase_to_underscores(operation), _wrap(provider, cls, operation, handler))


def _operations_installer(
    provider: Provider, module_name: str, class_name: str
) -> Callable[[], None]:
    def install_operations() -> None:
        _install_operations(provider, getattr(sys.modules[module_name], class_name))

    return install_operations


# -- authorization: one step per request -------------------------------------------------------
# moto asks ``ActionAuthenticatorMixin._authenticate_and_authorize_action`` on every request it
# serves (``call_action`` before the operation, S3's handlers once the bucket and key are known)
# and skips it while its global enforcement switch is off. The sandbox answers there instead,
# per request and always: the caller's credentials decide, never a process-wide setting.

#: Decides one request: ``check(response, resource, is_s3)`` returns ``(code, message, status)``
#: to refuse it, ``None`` to let it through.
Authorizer = Callable[[BaseResponse, str, bool], "tuple[str, str, int] | None"]


_refusing = threading.local()


def authorize_requests(
    check: Authorizer, on_request_id: Callable[[str], None] | None = None
) -> None:
    """Make ``check`` the authorization step of every request moto serves (idempotent).

    A refusal is rendered with the operation's own serializer: ``AccessDenied`` becomes the
    protocol's denial code (``AccessDeniedException`` for JSON services, ``UnauthorizedOperation``
    for EC2), S3 answers its XML error. ``on_request_id`` then gets the request id the refusal
    is answered with (moto draws it only when the response is finished, on the same thread).
    """
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.s3.exceptions import S3ClientError
    from werkzeug.exceptions import HTTPException

    from flovtrain.sandbox.engines.authz import denial_code, service_prefix

    class Refused(HTTPException):  # moto's call_action answers an HTTPException's body as is
        def __init__(self, body: Any, status: int) -> None:
            super().__init__(description=body)
            self.code = status

    def authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        s3 = iam_request_cls.__name__ == "S3IAMRequest"
        refusal = check(self, resource, s3)
        _seen(self, resource, s3, refusal)
        if refusal is None:
            return
        _refusing.callback = on_request_id
        code, message, status = refusal
        if s3:  # S3's handlers catch and serialize their own errors
            error = S3ClientError(code, message)
            error.http_status_code = status  # type: ignore[attr-defined]
            raise error
        if code == "AccessDenied":
            from moto.core.utils import get_service_model

            model = get_service_model(self.boto3_service_name)
            code = denial_code(
                self.determine_response_protocol(model),
                service_prefix(self.boto3_service_name),
                query_compatible="awsQueryCompatible" in model.metadata,
            )
            if code == "UnauthorizedOperation":  # EC2 leads with its own sentence
                message = f"You are not authorized to perform this operation. {message}"
        with warnings.catch_warnings():  # no service model lists AWS's denial code: moto warns
            warnings.simplefilter("ignore")
            _, headers, body = self.serialized(ActionResult(AwsError(code, message, status)))
        self.response_headers.update({k: v for k, v in headers.items() if k != "status"})
        raise Refused(body, status)

    enrich = BaseResponse._enrich_response
    if not getattr(enrich, "_flovtrain", False):

        def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
            headers, body = enrich(headers, body)
            callback = getattr(_refusing, "callback", None)
            if callback is not None:  # this thread's refusal: its request id is now known
                _refusing.callback = None
                callback(headers.get("x-amzn-requestid", ""))
            return headers, body

        enrich_response._flovtrain = True  # type: ignore[attr-defined]
        BaseResponse._enrich_response = staticmethod(enrich_response)  # type: ignore[method-assign,assignment]
    authorize._flovtrain = True  # type: ignore[attr-defined]
    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize  # type: ignore[method-assign]


# -- observing the requests served: who asked what, and the answer (CloudTrail) --------------


@dataclass
class Observer:
    """Sees every AWS request the sandbox serves (not its own ``/flovtrain-api/`` calls).

    ``seen(response, resource, s3, refusal)`` runs at the request's authorization step and
    returns a note (or ``None``: not of interest); ``answered(note, status, headers, body)``
    gets the request's last note once its answer is known (``body``: error answers only).
    Both run on the thread serving the request; an observer must never raise.
    """

    seen: Callable[[BaseResponse, str, bool, Any], Any]
    answered: Callable[[Any, int, dict[str, str], bytes | None], None]


OBSERVERS: list[Observer] = []
_answering = threading.local()


def _seen(response: BaseResponse, resource: str, s3: bool, refusal: Any) -> None:
    notes = getattr(_answering, "notes", None)
    if notes is None:  # not inside observe_answer: nobody waits for a note
        return
    for i, observer in enumerate(OBSERVERS):
        notes[i] = observer.seen(response, resource, s3, refusal)


def observe_answer(app: Callable[..., Any], environ: dict[str, Any], start_response: Any) -> Any:
    """Serve one AWS request with WSGI ``app``, then tell the :data:`OBSERVERS` its answer."""
    if not OBSERVERS:
        return app(environ, start_response)
    _answering.notes = notes = [None] * len(OBSERVERS)
    answer: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)
        return start_response(status, headers, exc_info)

    try:
        body = app(environ, capture)
    finally:
        _answering.notes = None
    error = None
    if answer.get("status", 500) >= 400:  # errors are small: read them for code and message
        error = b"".join(body)  # (an app that answers lazily has answered by now)
        if hasattr(body, "close"):
            body.close()
        body = [error]
    status = answer.get("status", 500)
    for observer, note in zip(OBSERVERS, notes, strict=True):
        if note is not None:
            observer.answered(note, status, answer.get("headers", {}), error)
    return body


# -- patching a moto module when it is first imported ------------------------------------------
# moto's service modules are big (EC2's models take a second to import, CloudFormation's pull in
# jsonschema and several seconds of grammar building), and most sessions never use most of them.
# A patch registered here runs right after its module's code has run, inside the import, so no
# request, thread or other moto module can see the module unpatched.

_after_import: dict[str, list[Callable[[], None]]] = {}
_import_lock = threading.RLock()


def after_import(module_name: str, function: Callable[[], None]) -> None:
    """Call ``function()`` once ``module_name`` is imported: now if it is, else right after.

    Parameters
    ----------
    module_name : str
        Dotted module name, e.g. ``"moto.ec2.models.instances"``.
    function : callable
        The patch; it may import the module (it is complete by then).

    Examples
    --------
    >>> def hook_instances():
    ...     from moto.ec2.models.instances import Instance  # patch Instance here
    >>> after_import("moto.ec2.models.instances", hook_instances)  # doctest: +SKIP
    """
    with _import_lock:
        module = sys.modules.get(module_name)
        if module is not None and getattr(module.__spec__, "_initializing", False):
            raise RuntimeError(f"{module_name} is being imported: register the patch earlier")
        if module is None:
            if not any(isinstance(f, _AfterImportFinder) for f in sys.meta_path):
                sys.meta_path.insert(0, _AfterImportFinder())
            _after_import.setdefault(module_name, []).append(function)
            return
    function()


def _run_after_import(module_name: str) -> None:
    with _import_lock:
        functions = _after_import.pop(module_name, [])
    for function in functions:
        function()


class _AfterImportFinder:
    """Meta-path finder that runs the registered patches after a watched module executes."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _after_import:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_patch(module: Any) -> None:
            exec_module(module)
            _run_after_import(fullname)

        loader.exec_module = exec_then_patch  # this loader object serves this module only
        return spec


def installed() -> list[Provider]:
    """Return the providers installed in this process."""
    return list(_installed)


def load(module_names: Iterable[str]) -> list[Provider]:
    """Import provider modules by dotted name and return their ``PROVIDER`` objects."""
    return [importlib.import_module(name).PROVIDER for name in module_names]
