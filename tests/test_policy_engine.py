"""The policy evaluation engine: AWS's evaluation logic, denial wording, explanations, the
simulator's result shape (IAM's refusals of malformed documents: test_policy_validation.py).

The evaluator table lives in ``tests/data/policy_cases.yaml``; each case names its policies and
the decision (and, for a sample, AWS's exact message and the statement the explanation must name).
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from flovtrain.sandbox.engines import (
    authz,
    policy,
    policy_conditions,
    policy_explain,
    policy_simulator,
    policy_validation,
)
from flovtrain.sandbox.engines.policy import (
    Policy,
    Request,
    context_from_entries,
    evaluate,
)
from flovtrain.sandbox.engines.policy_explain import denial_message, explain, smallest_change
from flovtrain.sandbox.engines.policy_simulator import simulate

TABLE = yaml.safe_load((Path(__file__).parent / "data" / "policy_cases.yaml").read_text())
CASES = TABLE["cases"]
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def _attached_to(principal: str) -> str:
    tail = principal.split(":", 5)[-1]
    if tail.startswith("assumed-role/"):
        return "role/" + tail.split("/")[1]
    return tail


def build(case: dict[str, Any]) -> tuple[Request, list[Policy]]:
    docs = TABLE["policies"]
    owner = _attached_to(case["principal"])
    policies = [
        Policy(name, docs[name], "identity", attached_to=owner) for name in case.get("identity", [])
    ]
    for kind in ("boundary", "session"):
        if kind in case:
            policies.append(Policy(case[kind], docs[case[kind]], kind))
    if "resource_policy" in case:
        policies.append(Policy(case["resource_policy"], docs[case["resource_policy"]], "resource"))
    request = Request(
        case["principal"],
        case["action"],
        case.get("resource", "*"),
        case.get("context", {}),
        resource_account=case.get("resource_account"),
        resource_policy_required=case.get("resource_policy_required", False),
    )
    return request, policies


def test_the_table_is_big_and_ids_are_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)
    assert {c["expect"] for c in CASES} == {"allowed", "implicitDeny", "explicitDeny"}
    assert sum("message" in c for c in CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_evaluator_table(case):
    request, policies = build(case)
    decision = evaluate(request, policies)
    text = explain(decision)
    assert decision.effect == case["expect"], text
    if decision.allowed:
        with pytest.raises(ValueError):
            denial_message(request, decision)
    else:
        message = denial_message(request, decision)
        assert message.startswith(
            f"User: {request.principal_arn} is not authorized to perform: {request.action}"
        )
        assert f"AWS says: {message}" in text
        if "message" in case:
            assert message == case["message"]
        steps = smallest_change(decision)
        assert steps and not steps[-1].startswith("no change found"), text
        assert f"- {steps[0]}" in text
    for sid in case.get("deciding", []):
        assert sid in [r.sid for r in decision.deciding], text
        assert f"by statement '{sid}'" in text
    for fragment in case.get("explain", []):
        assert fragment in text
    if "missing" in case:
        assert list(decision.missing_context) == case["missing"]


def test_explanation_lists_every_statement_and_why_it_missed():
    request, policies = build(next(c for c in CASES if c["id"] == "cross-account-identity-only"))
    policies.append(
        Policy(
            "bucket policy of flovtec-prod-staging",
            TABLE["policies"]["staging_grants_other_role"],
            "resource",
        )
    )
    text = explain(evaluate(request, policies))
    assert "identity-based policy 'admin' (attached to user/dev-admin):" in text
    assert "statement 'Everything' (Allow): matched" in text
    assert "resource-based policy 'bucket policy of flovtec-prod-staging':" in text
    assert "statement 'OtherRole' (Allow): missed on action" in text
    assert "cross-account" in text


def test_cross_account_with_neither_side_needs_two_changes():
    request = Request(
        "arn:aws:sts::111111111111:assumed-role/dev-pipeline/b",
        "s3:PutObject",
        "arn:aws:s3:::flovtec-prod-staging/releases/1.zip",
        resource_account="222222222222",
    )
    steps = smallest_change(evaluate(request, []))
    assert steps == [
        "add s3:PutObject on arn:aws:s3:::flovtec-prod-staging/releases/1.zip to an identity "
        "policy of role/dev-pipeline in account 111111111111",
        "add a statement to the bucket policy of flovtec-prod-staging allowing "
        "arn:aws:iam::111111111111:role/dev-pipeline to perform s3:PutObject on "
        "arn:aws:s3:::flovtec-prod-staging/releases/1.zip",
    ]


def test_removing_a_deny_then_granting_is_one_plan():
    deny = Policy(
        "guard",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
            ],
        },
        attached_to="group/devs",
    )
    request = Request("arn:aws:iam::111111111111:user/john", "s3:DeleteObject", "arn:aws:s3:::x/y")
    steps = smallest_change(evaluate(request, [deny]))
    assert steps[0].startswith(
        "remove the Deny statement 'NoDeletes' of identity-based policy "
        "'guard' (attached to group/devs)"
    )
    assert steps[1] == "add s3:DeleteObject on arn:aws:s3:::x/y to an identity policy of user/john"


def test_near_miss_is_suggested():
    request, policies = build(next(c for c in CASES if c["id"] == "s3-prefix-other"))
    text = explain(evaluate(request, policies))
    assert "or make statement 'ListOwnPrefix' of identity-based policy 'list_own_prefix'" in text


def test_explicit_deny_message_can_carry_the_policy_arn():
    deny = Policy(
        "NoDelete",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}],
        },
        arn="arn:aws:iam::111111111111:policy/NoDelete",
    )
    request = Request("arn:aws:iam::111111111111:user/john", "s3:DeleteObject", "arn:aws:s3:::x/y")
    decision = evaluate(request, [Policy("Admin", ADMIN), deny])
    assert denial_message(request, decision, with_policy_arn=True).endswith(
        "with an explicit deny in an identity-based policy: "
        "arn:aws:iam::111111111111:policy/NoDelete"
    )
    assert denial_message(request, decision).endswith("in an identity-based policy")


def test_role_with_path_is_matched_by_its_full_arn():
    bucket = Policy(
        "bp",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111111111111:role/ci/pipeline"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::b/*",
                }
            ],
        },
        "resource",
    )
    session = "arn:aws:sts::111111111111:assumed-role/pipeline/run-1"
    plain = Request(session, "s3:GetObject", "arn:aws:s3:::b/k")
    with_path = Request(
        session,
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        role_arn="arn:aws:iam::111111111111:role/ci/pipeline",
    )
    assert evaluate(plain, [bucket]).effect == "implicitDeny"
    assert evaluate(with_path, [bucket]).effect == "allowed"


# --- the simulator ----------------------------------------------------------------------------

POLICY_TEXT = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
    {
      "Sid": "NoSecrets",
      "Effect": "Deny",
      "Action": "s3:*",
      "Resource": "arn:aws:s3:::secret/*"
    }
  ]
}"""


def test_simulate_custom_policy_shape():
    results = simulate(
        [POLICY_TEXT],
        ["s3:GetObject", "s3:PutObject"],
        ["arn:aws:s3:::public/a", "arn:aws:s3:::secret/a"],
    )
    decisions = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}
    assert decisions == {
        ("s3:GetObject", "arn:aws:s3:::public/a"): "allowed",
        ("s3:GetObject", "arn:aws:s3:::secret/a"): "explicitDeny",
        ("s3:PutObject", "arn:aws:s3:::public/a"): "implicitDeny",
        ("s3:PutObject", "arn:aws:s3:::secret/a"): "explicitDeny",
    }
    allowed = results[0]
    assert allowed["MatchedStatements"] == [
        {
            "SourcePolicyId": "PolicyInputList.1",
            "SourcePolicyType": "none",
            "StartPosition": {"Line": 4, "Column": 5},
            "EndPosition": {"Line": 4, "Column": 76},
        }
    ]
    denied = results[1]
    assert denied["MatchedStatements"][0]["StartPosition"] == {"Line": 5, "Column": 5}
    assert denied["MatchedStatements"][0]["EndPosition"] == {"Line": 10, "Column": 5}
    assert results[2]["MatchedStatements"] == []
    assert all(r["MissingContextValues"] == [] for r in results)


def test_simulate_principal_policy_with_context_entries_and_boundary():
    mfa = Policy(
        "NeedsMfa",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ec2:*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                }
            ],
        },
        attached_to="user/john",
    )
    boundary = Policy(
        "Ec2Boundary",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
        },
        arn="arn:aws:iam::111111111111:policy/Ec2Boundary",
    )
    caller = "arn:aws:iam::111111111111:user/john"
    without = simulate(
        [mfa], ["ec2:DescribeInstances"], caller_arn=caller, permissions_boundaries=[boundary]
    )
    assert without[0]["EvalDecision"] == "implicitDeny"
    assert without[0]["MissingContextValues"] == ["aws:MultiFactorAuthPresent"]
    entries = [
        {
            "ContextKeyName": "aws:MultiFactorAuthPresent",
            "ContextKeyValues": ["true"],
            "ContextKeyType": "boolean",
        }
    ]
    results = simulate(
        [mfa],
        ["ec2:DescribeInstances", "ec2:StopInstances"],
        caller_arn=caller,
        context=entries,
        permissions_boundaries=[boundary],
    )
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]
    assert results[0]["MatchedStatements"][0]["SourcePolicyType"] == "user"
    assert [r["PermissionsBoundaryDecisionDetail"] for r in results] == [
        {"AllowedByPermissionsBoundary": True},
        {"AllowedByPermissionsBoundary": False},
    ]


def test_simulate_with_resource_policy_and_owner():
    bucket = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111111111111:role/dev-pipeline"},
                    "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::staging/*",
                }
            ],
        }
    )

    def put_object(caller_arn: str, resource_owner: str) -> list[dict[str, Any]]:
        # an admin's s3:PutObject into the bucket of another account
        return simulate(
            [json.dumps(ADMIN)],
            ["s3:PutObject"],
            ["arn:aws:s3:::staging/a"],
            caller_arn=caller_arn,
            resource_policy=bucket,
            resource_owner=resource_owner,
        )

    results = put_object(
        "arn:aws:sts::111111111111:assumed-role/dev-pipeline/x", "arn:aws:iam::222222222222:root"
    )
    assert results[0]["EvalDecision"] == "allowed"
    assert {m["SourcePolicyId"] for m in results[0]["MatchedStatements"]} == {
        "PolicyInputList.1",
        "ResourcePolicy",
    }
    other = put_object("arn:aws:iam::111111111111:user/john", "222222222222")
    assert other[0]["EvalDecision"] == "implicitDeny"


def test_context_entries_lists_and_scalars():
    assert context_from_entries(
        [
            {
                "ContextKeyName": "aws:TagKeys",
                "ContextKeyValues": ["Env", "Owner"],
                "ContextKeyType": "stringList",
            },
            {
                "ContextKeyName": "s3:max-keys",
                "ContextKeyValues": ["10"],
                "ContextKeyType": "numeric",
            },
        ]
    ) == {"aws:TagKeys": ["Env", "Owner"], "s3:max-keys": "10"}


def test_engine_import_is_pure():
    """No moto, no server, no environment change when the engine is imported."""
    code = (
        "import os, sys; before = dict(os.environ); "
        "import flovtrain.sandbox.engines.policy, flovtrain.sandbox.engines.authz; "
        "print(sorted(m for m in sys.modules if m.startswith(('moto', "
        "'flovtrain.sandbox.server')))); print(dict(os.environ) == before)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split("\n")
    assert out[:2] == ["[]", "True"]


@pytest.mark.parametrize(
    "module",
    [authz, policy, policy_conditions, policy_validation, policy_simulator, policy_explain],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_hold(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    ("signing", "operation", "params", "action", "resource"),
    [
        ("s3", "ListObjectsV2", {}, "s3:ListBucket", "*"),
        ("monitoring", "PutMetricAlarm", {"AlarmName": "bill"}, "cloudwatch:PutMetricAlarm",
         "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:bill"),
        ("iam", "AddUserToGroup", {"GroupName": ["admins"], "UserName": ["john"]},
         "iam:AddUserToGroup", "arn:aws:iam::111111111111:group/admins"),
        ("iam", "CreateUser", {"UserName": ["ci"], "Path": ["/bots/"]}, "iam:CreateUser",
         "arn:aws:iam::111111111111:user/bots/ci"),
        ("sts", "AssumeRole", {"RoleArn": ["arn:aws:iam::222222222222:role/R"]}, "sts:AssumeRole",
         "arn:aws:iam::222222222222:role/R"),
        ("logs", "PutLogEvents", {"logGroupName": "app", "logStreamName": "i-1"},
         "logs:PutLogEvents", "arn:aws:logs:eu-west-1:111111111111:log-group:app:log-stream:i-1"),
        ("codedeploy", "CreateDeployment", {"applicationName": "web", "deploymentGroupName": "DEV"},
         "codedeploy:CreateDeployment",
         "arn:aws:codedeploy:eu-west-1:111111111111:deploymentgroup:web/DEV"),
        ("codepipeline", "CreatePipeline", {"pipeline": {"name": "flovtec"}},
         "codepipeline:CreatePipeline", "arn:aws:codepipeline:eu-west-1:111111111111:flovtec"),
        ("glue", "GetTable", {"DatabaseName": "market", "Name": "klines"}, "glue:GetTable",
         "arn:aws:glue:eu-west-1:111111111111:table/market/klines"),
        ("ssm", "GetParameter", {"Name": "/aws/service/ami"}, "ssm:GetParameter",
         "arn:aws:ssm:eu-west-1:111111111111:parameter/aws/service/ami"),
        ("athena", "StartQueryExecution", {"WorkGroup": "primary"}, "athena:StartQueryExecution",
         "arn:aws:athena:eu-west-1:111111111111:workgroup/primary"),
        ("ec2", "DescribeInstances", {}, "ec2:DescribeInstances", "*"),
    ],
)  # fmt: skip
def test_requests_map_to_iam_actions_and_resources(signing, operation, params, action, resource):
    assert authz.iam_action(signing, operation) == action
    prefix = action.split(":")[0]
    named = authz.resource_arn(prefix, operation, params, "111111111111", "eu-west-1")
    assert named == resource
