"""The provider seam: how one module of ours per AWS service completes or overrides moto.

moto routes every AWS request to a ``BaseResponse`` subclass and calls the method named after
the operation (``PutMetricData`` -> ``put_metric_data``). A provider names operations it owns;
:func:`install` puts a small wrapper in place of each such method (or adds it where moto has
none), so authentication, parameter parsing, protocol serialization and error rendering stay
moto's, and plain boto3, the AWS CLI and git all see the completed behaviour. Everything a
provider does not name falls through to moto untouched.

A provider is a module in :mod:`flovtrain.sandbox.providers` exposing ``PROVIDER``, a
:class:`Provider`. Adding one is that module plus one line in ``providers.PROVIDER_MODULES``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import camelcase_to_underscores

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


@dataclass
class Provider:
    """What one provider module contributes to the sandbox.

    Parameters
    ----------
    name : str
        Short name, also the URL segment of its routes: ``/flovtrain-api/<name>/...``.
    response_class : type[BaseResponse] | None
        moto's response class for the service whose operations it owns.
    operations : dict
        AWS operation name -> handler.
    routes : dict
        Sub-path -> route handler for sandbox-only endpoints (e.g. ``inbox``).
    setup : callable
        Called once when installed, for patches beyond operations (e.g. a CloudFormation
        resource type, a hook inside a moto model).
    reset, start, stop : callables
        Clear the provider's own state; start and stop background work.
    """

    name: str
    response_class: type[BaseResponse] | None = None
    service: str = ""
    operations: dict[str, Handler] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    setup: Callable[[], None] = lambda: None
    reset: Callable[[], None] = lambda: None
    start: Callable[[], None] = lambda: None
    stop: Callable[[], None] = lambda: None


_installed: list[Provider] = []
_lock = threading.Lock()


def _wrap(provider: Provider, operation: str, handler: Handler) -> Callable[[BaseResponse], Any]:
    cls = provider.response_class
    assert cls is not None
    method_name = camelcase_to_underscores(operation)
    original = getattr(cls, method_name, None)

    def provided(self: BaseResponse) -> Any:
        result = handler(Call(self, provider.service, operation, original))
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
            for operation, handler in provider.operations.items():
                cls = provider.response_class
                if cls is None:
                    raise TypeError(f"provider {provider.name} names operations but no class")
                setattr(cls, camelcase_to_underscores(operation), _wrap(provider, operation, handler))
            provider.setup()
            _installed.append(provider)
        return list(_installed)


def installed() -> list[Provider]:
    """Return the providers installed in this process."""
    return list(_installed)


def load(module_names: Iterable[str]) -> list[Provider]:
    """Import provider modules by dotted name and return their ``PROVIDER`` objects."""
    return [importlib.import_module(name).PROVIDER for name in module_names]
