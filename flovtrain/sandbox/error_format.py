"""AWS errors in the request's own wire format, so the sandbox never answers with HTML.

moto's Flask app answers an unknown route with an HTML 404 page and a crash outside an operation
with an HTML 500 page; botocore cannot parse either ("invalid XML received") and retries a 500
four times. :func:`never_html` turns both into the service's error format: JSON-1.1
(``__type``), REST-JSON (``x-amzn-ErrorType``), query and EC2 XML, or REST-XML.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flovtrain.sandbox.protocols import error_body, installed_model, resolved_protocol, service_of

_QUERY_XML = (
    '<ErrorResponse xmlns="https://flovtrain.invalid/sandbox/"><Error><Type>Sender</Type>'
    "<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{rid}</RequestId>"
    "</ErrorResponse>"
)
_EC2_XML = (
    "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
    "<RequestID>{rid}</RequestID></Response>"
)
_REST_XML = (
    "<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{rid}</RequestId></Error>"
)


def error_response(
    environ: dict[str, Any], status: int, code: str, message: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    """An AWS error in the format the request's protocol expects (status line, headers, body).

    JSON-1.1 when the request names an ``X-Amz-Target``; otherwise the protocol of the signing
    service in the installed botocore (query/ec2 XML, REST-XML, REST-JSON), JSON by default.
    """
    from html import escape
    from uuid import uuid4

    rid = str(uuid4())
    protocol = "json"
    service = service_of(environ)
    if not environ.get("HTTP_X_AMZ_TARGET") and service:
        try:
            protocol = resolved_protocol(installed_model(service), service)
        except Exception:  # an unknown signing name: JSON is as good as any
            protocol = "json"
        if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
            protocol = "ec2" if protocol == "ec2" else "query"
    reason = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "Error")
    headers = [("x-amzn-RequestId", rid)]
    if protocol in ("query", "ec2", "rest-xml"):
        template = {"query": _QUERY_XML, "ec2": _EC2_XML, "rest-xml": _REST_XML}[protocol]
        body = template.format(code=escape(code), message=escape(message), rid=rid).encode()
        headers.append(("Content-Type", "text/xml"))
    else:
        body = error_body(code, message)
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    headers.append(("Content-Length", str(len(body))))
    return f"{status} {reason}", headers, body


def never_html(
    app: Any, environ: dict[str, Any], start_response: Any, log: str | None = None
) -> Iterable[bytes]:
    """Run ``app``; an HTML error page it answers (Flask's 404/405/500) becomes an AWS error.

    Unknown routes say ``SandboxUnsupported`` and name the method, path and service; a crash
    outside an operation says ``SandboxInternalError`` with HTTP 400 (botocore retries 5xx).
    """
    held: dict[str, Any] = {}

    def watch(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        code = int(status.split()[0])
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if code >= 400 and content_type.startswith("text/html"):
            held["code"] = code
            return lambda data: None
        return start_response(status, headers, exc_info)

    chunks = app(environ, watch)
    if "code" not in held:
        return chunks
    try:
        for _ in chunks:  # drain the HTML page
            pass
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    method = environ.get("REQUEST_METHOD", "?")
    path = environ.get("PATH_INFO", "/")
    service = service_of(environ) or "an unknown service"
    target = environ.get("HTTP_X_AMZ_TARGET")
    what = f"{method} {path}" + (f" (X-Amz-Target {target})" if target else "")
    if held["code"] >= 500:
        status, code = 400, "SandboxInternalError"
        message = (
            f"The offline sandbox failed on {what} for {service}; the traceback is in "
            f"{log or 'the sandbox log'}."
        )
    else:
        status, code = held["code"], "SandboxUnsupported"
        message = (
            f"The offline sandbox has no route for {what} ({service}). Check the method and "
            "path, or the service's endpoint; what the sandbox does not implement works on "
            "real AWS."
        )
    status_line, headers, body = error_response(environ, status, code, message)
    start_response(status_line, headers)
    return [body]
