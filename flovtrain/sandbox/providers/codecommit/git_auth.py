"""Who may use the sandbox's git endpoint: credentials a client sends must be valid.

CodeCommit's HTTPS endpoint answers 403 to git credentials that are not valid. It takes the
AWS CLI credential helper's (user name: an access key id, password: ``<timestamp>Z<SigV4
signature>`` of ``GIT <repository path>`` for service ``codecommit``); IAM's HTTPS Git
credentials are not modelled by moto 5.2.5, so those are the only valid credentials here.

A request without credentials is served: git sends credentials only after a 401 challenge, and
the chapters clone the sandbox's ``cloneUrlHttp`` without any (the sandbox stands in for a
configured credential helper). Credentials that *are* sent (``curl -u``, ``http.extraHeader``,
dulwich clients, a credential helper) are checked.

Examples
--------
>>> password("AKIAEXAMPLE", "secret", "eu-west-1", "/v1/repos/web",
...          timestamp="20260101T000000")[:16]
'20260101T000000Z'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flovtrain import config
from flovtrain.sandbox.engines import gitstore

#: How far a signature's time may be from now, as SigV4 allows.
SKEW = timedelta(minutes=15)
_PASSWORD = re.compile(r"^(\d{8}T\d{6})Z([0-9a-f]{64})$")
_PATH = re.compile(r"^(/flovtrain-api/codecommit/git/v1/repos/([^/]+)/([^/]+)/[^/]+?)(?:\.git)?/")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def password(
    key_id: str,
    secret: str,
    region: str,
    path: str,
    timestamp: str | None = None,
    host: str = "127.0.0.1",
) -> str:
    """Return the password the AWS CLI credential helper sends for repository ``path``.

    Parameters
    ----------
    key_id, secret : str
        The access key (the key id is the user name; it is not signed).
    region : str
        The repository's region (the signature's scope).
    path : str
        The repository URL's path, e.g. ``/v1/repos/web``.
    timestamp : str, optional
        ``YYYYMMDDTHHMMSS`` in UTC; now when omitted.
    host : str
        The URL's host name without the port (signed as the ``host`` header).

    Examples
    --------
    >>> len(password("AKIA", "s", "eu-west-1", "/v1/repos/a", "20260101T000000"))
    80
    """
    del key_id
    stamp = timestamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    canonical = f"GIT\n{path}\n\nhost:{host}\n\nhost\n"
    scope = f"{stamp[:8]}/{region}/codecommit/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(f"AWS4{secret}".encode(), stamp[:8])
    for part in (region, "codecommit", "aws4_request"):
        key = _hmac(key, part)
    return f"{stamp}Z{hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()}"


def _secret_of(account: str, key_id: str) -> str | None:
    """The secret of an active access key of ``account`` (IAM user or STS session)."""
    if key_id == config.SANDBOX_ACCESS_KEY_ID:
        return config.SANDBOX_SECRET_ACCESS_KEY
    from moto.iam.models import iam_backends

    for partition in ("aws",):
        key = iam_backends[account][partition].access_keys.get(key_id)
        if key is not None and getattr(key, "status", "Active") == "Active":
            return key.secret_access_key
    return None


def valid(authorization: str, path: str, host: str = "127.0.0.1") -> bool:
    """Return whether a ``Basic`` ``authorization`` header is valid for the git URL ``path``
    on ``host`` (without the port)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, secret_or_signature = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return False
    match, where = _PASSWORD.match(secret_or_signature), _PATH.match(path)
    if not match or not where:
        return False
    repo_path, account, region = where.groups()
    key_id = user.split("%", 1)[0]  # the helper appends %<session token> for STS keys
    secret = _secret_of(account, key_id)
    stamp = match.group(1)
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return False
    if secret is None or abs(datetime.now(UTC) - when) > SKEW:
        return False
    expected = password(key_id, secret, region, repo_path, stamp, host)
    return hmac.compare_digest(expected, secret_or_signature)


def route(request: Any) -> Any:
    """The git endpoint: refuse credentials that are not valid (403), else serve git."""
    from werkzeug.wrappers import Response

    authorization = request.headers.get("Authorization")
    if authorization is not None and not valid(
        authorization, request.path, request.host.split(":")[0]
    ):
        return Response(
            "Access denied: the git credentials are not valid for this repository. "
            "Use the AWS CLI credential helper with an active access key, or no "
            "credentials in the sandbox.\n",
            status=403,
            mimetype="text/plain",
        )
    return gitstore.http_route(request)
