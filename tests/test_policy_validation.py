"""IAM's refusals of malformed policy documents (``validate_policy``): AWS's error codes and exact
messages, what it accepts, and the managed-policy size limit. The evaluator, the simulator and the
explanations are tested in test_policy_engine.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flovtrain.sandbox.engines.policy import PolicyDocumentError, validate_policy

ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
GOOD_STATEMENT = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}
V12 = "2012-10-17"


def doc(**top: Any) -> str:
    return json.dumps(top)


def bad_document(name: str, message: str, kind: str = "identity", **top: Any) -> tuple:
    """A case of INVALID: the document of ``top``, refused with ``message`` as a ``kind``."""
    return (name, doc(**top), kind, message)


def bad_statement(name: str, message: str, kind: str = "identity", **changes: Any) -> tuple:
    """A case of INVALID: a 2012-10-17 document of one statement, GOOD_STATEMENT with
    ``changes`` (a None value drops that key)."""
    statement = {k: v for k, v in {**GOOD_STATEMENT, **changes}.items() if v is not None}
    return bad_document(name, message, kind, Version=V12, Statement=statement)


INVALID = [
    ("not json", "This is not a json document", "identity", "Syntax errors in policy."),
    bad_document(
        "no version",
        "Policy document must be version 2012-10-17 or greater.",
        Statement=GOOD_STATEMENT,
    ),
    bad_document(
        "old version identity",
        "Policy document must be version 2012-10-17 or greater.",
        Version="2008-10-17",
        Statement=GOOD_STATEMENT,
    ),
    bad_document(
        "unknown version",
        "Syntax errors in policy.",
        Version="2013-10-17",
        Statement=GOOD_STATEMENT,
    ),
    bad_document("no statement", "Syntax errors in policy.", Version=V12),
    bad_document("empty statement list", "Syntax errors in policy.", Version=V12, Statement=[]),
    bad_document(
        "statement not object", "Syntax errors in policy.", Version=V12, Statement=["afd"]
    ),
    bad_document(
        "unknown top-level key",
        "Syntax errors in policy.",
        Version=V12,
        Statement=GOOD_STATEMENT,
        Extra="x",
    ),
    bad_statement("unknown statement key", "Syntax errors in policy.", Extra=1),
    bad_statement("missing effect", "Syntax errors in policy.", Effect=None, Resource="*"),
    bad_statement("invalid effect", "Syntax errors in policy.", Effect="Maybe"),
    bad_statement("effect in lower case", "The policy failed legacy parsing", Effect="allow"),
    bad_statement(
        "missing action", "Policy statement must contain actions.", Action=None, Resource="*"
    ),
    bad_statement("empty action list", "Policy statement must contain actions.", Action=[]),
    bad_statement(
        "missing resource",
        "Policy statement must contain resources.",
        Action="s3:Get*",
        Resource=None,
    ),
    bad_statement("action and notaction", "Syntax errors in policy.", NotAction="x:y"),
    bad_statement(
        "action without vendor",
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        Action="invalid",
    ),
    bad_statement(
        "action with two colons",
        "Actions/Condition can contain only one colon.",
        Action="s3:List:Bucket",
    ),
    bad_statement(
        "resource not an arn", 'Resource bucket must be in ARN format or "*".', Resource="bucket"
    ),
    bad_document(
        "duplicate sid",
        "Statement IDs (SID) in a single policy must be unique.",
        Version=V12,
        Statement=[{**GOOD_STATEMENT, "Sid": "A"}, {**GOOD_STATEMENT, "Sid": "A"}],
    ),
    bad_statement("condition not a block", "Syntax errors in policy.", Condition="a"),
    bad_statement(
        "unknown condition operator",
        "Syntax errors in policy.",
        Condition={"StringSortOf": {"a:b": "c"}},
    ),
    bad_statement(
        "principal in identity policy",
        "Policy document should not specify a principal.",
        Principal="*",
    ),
    bad_statement(
        "resource policy without principal", "Missing required field Principal", "resource"
    ),
    bad_statement(
        "trust policy without principal",
        "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in "
        "policy has a statement with no principals!",
        "trust",
        Action="sts:AssumeRole",
        Resource=None,
    ),
    bad_statement(
        "trust policy with resource",
        "Has prohibited field Resource.",
        "trust",
        Action="sts:AssumeRole",
        Principal={"Service": "x.amazonaws.com"},
    ),
]


@pytest.mark.parametrize(
    ("document", "kind", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_validate_policy_refuses(document, kind, message):
    with pytest.raises(PolicyDocumentError) as raised:
        validate_policy(document, kind=kind)
    assert raised.value.code == "MalformedPolicyDocument"
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        (json.dumps(ADMIN), "identity"),
        (
            doc(
                Version=V12,
                Statement=[
                    GOOD_STATEMENT,
                    {
                        **GOOD_STATEMENT,
                        "Effect": "Deny",
                        "Condition": {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*"]}},
                    },
                ],
            ),
            "identity",
        ),
        (
            doc(Version="2008-10-17", Statement={**GOOD_STATEMENT, "Principal": {"AWS": "*"}}),
            "resource",
        ),
        (
            doc(
                Statement={
                    "Effect": "Allow",
                    "Principal": {"Service": "codebuild.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ),
            "trust",
        ),
    ],
)
def test_validate_policy_accepts(document, kind):
    assert validate_policy(document, kind=kind)["Statement"]


def test_managed_policy_size_limit_ignores_whitespace():
    statements = [
        {
            "Sid": f"S{i:04d}",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::bucket-{i:04d}/*",
        }
        for i in range(200)
    ]
    big = json.dumps({"Version": V12, "Statement": statements})
    with pytest.raises(PolicyDocumentError) as raised:
        validate_policy(big)
    assert (raised.value.code, raised.value.message) == (
        "LimitExceeded",
        "Cannot exceed quota for PolicySize: 6144",
    )
    assert validate_policy(big, managed=False)
    fits = json.dumps({"Version": V12, "Statement": statements[:40]}, indent=8)
    assert len(fits) > 6144 and validate_policy(fits)
