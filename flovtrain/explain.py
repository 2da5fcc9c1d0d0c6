"""Why was I denied? The sandbox's evaluation of an ``AccessDenied``, which AWS does not give.

On AWS a denied request answers with one sentence (who, which action, on what, and whether an
explicit deny or a missing allow decided). The sandbox keeps the evaluation behind each of its
recent denials under the request id the client saw; :func:`explain_denial` fetches it: the
policies evaluated, which statements matched or missed and why, and the smallest change that
would allow the request.

Examples
--------
>>> from botocore.exceptions import ClientError
>>> try:                                          # doctest: +SKIP
...     s3_as_visitor.create_bucket(Bucket="x")
... except ClientError as exc:
...     explain_denial(exc)
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from flovtrain.exceptions import DenialNotFound, SandboxOnly

#: Error codes of a denial, per protocol (S3 and query services, JSON services, EC2).
DENIAL_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


@dataclass
class DenialExplanation:
    """One denial as the sandbox evaluated it; displays as text or a small HTML table."""

    principal: str
    action: str
    resource: str
    message: str
    explanation: str
    smallest_change: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.explanation

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython's text/plain
        printer.text(self.explanation)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in (
                ("who", self.principal),
                ("action", self.action),
                ("resource", self.resource),
                ("AWS says", self.message),
            )
        )
        change = "".join(f"<li>{html.escape(c)}</li>" for c in self.smallest_change)
        details = html.escape(self.explanation)
        return (
            f"<table>{rows}</table><p><b>Smallest change that would allow it:</b></p>"
            f"<ul>{change or '<li>none found</li>'}</ul>"
            f"<details><summary>full evaluation</summary><pre>{details}</pre></details>"
        )


def _request_id(error: Any) -> str:
    response = getattr(error, "response", error)
    if not isinstance(response, dict):
        raise TypeError(
            "explain_denial takes the botocore ClientError you caught (or its .response dict), "
            f"not {type(error).__name__}"
        )
    code = response.get("Error", {}).get("Code", "")
    if code not in DENIAL_CODES:
        raise ValueError(f"{code or 'this error'} is not a denial; only {DENIAL_CODES} are")
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    if not request_id:
        raise ValueError("the error carries no request id to look the denial up by")
    return str(request_id)


def explain_denial(error: Any) -> DenialExplanation:
    """Explain a denial the sandbox answered: policies evaluated, statements, smallest change.

    Parameters
    ----------
    error : botocore.exceptions.ClientError or dict
        The caught ``AccessDenied`` (``AccessDeniedException``, ``UnauthorizedOperation``),
        or its ``response`` dict.

    Returns
    -------
    DenialExplanation
        ``str()`` is the full evaluation; in a notebook it renders as a table.

    Raises
    ------
    SandboxOnly
        Connected to real AWS: AWS keeps no such record (use the IAM policy simulator,
        ``iam.simulate_principal_policy``, or CloudTrail instead).
    DenialNotFound
        The sandbox has no record of it (it keeps the last 200 denials; a reset forgets them).
    ValueError
        The error is not a denial.

    Examples
    --------
    >>> explain_denial(exc).smallest_change          # doctest: +SKIP
    ['add s3:CreateBucket on arn:aws:s3:::x to an identity policy of user/visitor']
    """
    request_id = _request_id(error)
    from flovtrain.session import current

    if not current().is_sandbox:
        raise SandboxOnly(
            "explain_denial reads the sandbox's own record of its decision; AWS keeps none. On "
            "AWS ask the policy simulator (iam.simulate_principal_policy) or look the request up "
            "in CloudTrail."
        )
    from flovtrain.sandbox import control

    found = control.api(f"sts/denials?request_id={request_id}")
    if not found:
        raise DenialNotFound(
            f"the sandbox has no denial with request id {request_id}: it keeps the last 200 "
            "denials, and a reset forgets them. Repeat the request and explain that error."
        )
    entry = found[0]
    return DenialExplanation(
        principal=entry["principal"],
        action=entry["action"],
        resource=entry["resource"],
        message=entry["message"],
        explanation=entry["explanation"],
        smallest_change=list(entry.get("smallest_change") or []),
    )
