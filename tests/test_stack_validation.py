"""CloudFormation refuses a bad template before it creates anything, in AWS's words (issue #11).

moto 5.2.5 let an unknown type reach CREATE_COMPLETE, answered a GetAtt cycle with "maximum
recursion depth" and ``[A, B, A, B, …]``, bad YAML with a JSON-decoder message and
``!Ref Ghost`` with ``'Ghost'``. The messages below are AWS's (ValidationError, HTTP 400).
"""

from __future__ import annotations

import json

import boto3
import pytest

from flovtrain import project
from flovtrain.sandbox import control
from flovtrain.sandbox.engines.stacks import plan, validation

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def cfn():
    control.reset()
    return boto3.client("cloudformation", region_name=REGION)


def refused(cfn, body: str, **kwargs) -> str:
    """The ValidationError message CreateStack answers; and no stack is left behind."""
    with pytest.raises(cfn.exceptions.ClientError) as caught:
        cfn.create_stack(StackName="refused", TemplateBody=body, **kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError", error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "refused" not in [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]]
    return error["Message"]


def validate_refused(cfn, body: str) -> str:
    with pytest.raises(cfn.exceptions.ClientError) as caught:
        cfn.validate_template(TemplateBody=body)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    return caught.value.response["Error"]["Message"]


def resources(**items: dict) -> str:
    return json.dumps({"Resources": items})


def topic(**properties) -> dict:
    return {"Type": "AWS::SNS::Topic", "Properties": properties}


CASES = {
    "unknown type": (
        "Resources: {T: {Type: AWS::Foo::Bar}}",
        "Template format error: Unrecognized resource types: [AWS::Foo::Bar]",
    ),
    "two unknown types": (
        resources(
            A={"Type": "AWS::Foo::Bar"},
            B={"Type": "AWS::SNS::Topic"},
            C={"Type": "AWS::EC2::NATGateway"},
        ),
        "Template format error: Unrecognized resource types: [AWS::Foo::Bar, AWS::EC2::NATGateway]",
    ),
    "GetAtt cycle": (
        resources(
            A=topic(TopicName={"Fn::GetAtt": ["B", "TopicName"]}),
            B=topic(TopicName={"Fn::GetAtt": ["A", "TopicName"]}),
            C=topic(TopicName="c"),
        ),
        "Circular dependency between resources: [A, B]",
    ),
    "Ref, Sub and DependsOn cycle": (
        resources(
            Z=topic(TopicName={"Ref": "Y"}),
            Y={**topic(), "DependsOn": "X"},
            X=topic(TopicName={"Fn::Sub": "${Z}-x"}),
        ),
        "Circular dependency between resources: [X, Y, Z]",
    ),
    "a resource naming itself": (
        resources(A=topic(TopicName={"Ref": "A"})),
        "Circular dependency between resources: [A]",
    ),
    "bad YAML": (
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: [\n",
        "Template format error: YAML not well-formed. (line 5, column 1)",
    ),
    "bad JSON": (
        '{"Resources": {"T": {"Type": "AWS::SNS::Topic",}}',
        "Template format error: JSON not well-formed. (line 1, column 48)",
    ),
    "Ref to nothing": (
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Ref Ghost}\n",
        "Template format error: Unresolved resource dependencies [Ghost] in the Resources "
        "block of the template",
    ),
    "GetAtt of nothing": (
        resources(T=topic(TopicName={"Fn::GetAtt": ["Ghost", "Arn"]})),
        "Template format error: Unresolved resource dependencies [Ghost] in the Resources "
        "block of the template",
    ),
    "DependsOn nothing": (
        resources(T={**topic(), "DependsOn": ["Ghost"]}),
        "Template format error: Unresolved resource dependencies [Ghost] in the Resources "
        "block of the template",
    ),
    "output naming nothing": (
        json.dumps({"Resources": {"T": topic()}, "Outputs": {"O": {"Value": {"Ref": "Ghost"}}}}),
        "Template format error: Unresolved resource dependencies [Ghost] in the Outputs "
        "block of the template",
    ),
    "no resources": (
        json.dumps({"Resources": {}}),
        "Template format error: At least one Resources member must be defined.",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_create_stack_refuses_like_aws(cfn, case):
    body, message = CASES[case]
    assert refused(cfn, body) == message


@pytest.mark.parametrize("case", CASES)
def test_validate_template_answers_the_same(cfn, case):
    body, message = CASES[case]
    assert validate_refused(cfn, body) == message


def test_parameters_without_values_are_refused(cfn):
    body = json.dumps(
        {
            "Parameters": {
                "X": {"Type": "String"},
                "W": {"Type": "String"},
                "D": {"Type": "String", "Default": "d"},
            },
            "Resources": {"T": topic(TopicName={"Ref": "X"})},
        }
    )
    assert refused(cfn, body) == "Parameters: [X, W] must have values"
    given = [{"ParameterKey": "X", "ParameterValue": "x"}]
    assert refused(cfn, body, Parameters=given) == "Parameters: [W] must have values"
    extra = [*given, {"ParameterKey": "W", "ParameterValue": "w"}]
    extra.append({"ParameterKey": "Nope", "ParameterValue": "n"})
    assert refused(cfn, body, Parameters=extra) == (
        "Parameters: [Nope] do not exist in the template"
    )
    # ValidateTemplate lists them: it needs no values
    answer = cfn.validate_template(TemplateBody=body)
    assert [(p["ParameterKey"], p.get("DefaultValue")) for p in answer["Parameters"]] == [
        ("X", None),
        ("W", None),
        ("D", "d"),
    ]


def test_the_chapter_template_validates_as_on_aws(cfn):
    answer = cfn.validate_template(TemplateBody=project.template_body())
    assert answer["Description"].startswith("flovtrain CodeStar-style project")
    assert "SshCidr" in [p["ParameterKey"] for p in answer["Parameters"]]
    assert answer["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert "AWS::IAM::Role" in answer["CapabilitiesReason"]


def test_a_refused_update_leaves_the_stack_as_it_was(cfn):
    good = resources(T=topic(TopicName="kept"))
    cfn.create_stack(StackName="kept", TemplateBody=good)
    for case in ("unknown type", "GetAtt cycle", "bad YAML", "Ref to nothing"):
        body, message = CASES[case]
        with pytest.raises(cfn.exceptions.ClientError) as caught:
            cfn.update_stack(StackName="kept", TemplateBody=body)
        assert caught.value.response["Error"]["Message"] == message
    stack = cfn.describe_stacks(StackName="kept")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert [
        e["ResourceStatus"] for e in cfn.describe_stack_events(StackName="kept")["StackEvents"]
    ][0] == "CREATE_COMPLETE"
    cfn.delete_stack(StackName="kept")


# -- the engine, without the sandbox ------------------------------------------------------------
def test_a_long_chain_has_no_recursion_limit():
    chain = {f"R{i}": {"Type": "T", "DependsOn": f"R{i + 1}"} for i in range(5000)}
    chain["R5000"] = {"Type": "T", "DependsOn": "R0"}  # closes the loop
    found = plan.cycles(plan.dependencies(chain))
    assert len(found) == 1 and len(found[0]) == 5001
    del chain["R5000"]["DependsOn"]
    assert plan.creation_order(chain)[0] == "R5000"


def test_cycles_list_each_member_once():
    graph = {"A": {"B"}, "B": {"A", "C"}, "C": {"B"}, "D": {"A"}}
    assert plan.cycles(graph) == [["A", "B", "C"]]


def test_parse_reads_short_form_tags():
    template = validation.parse("Resources:\n  T: {Type: X, Properties: {A: !GetAtt B.Arn}}\n")
    assert template["Resources"]["T"]["Properties"]["A"] == {"Fn::GetAtt": ["B", "Arn"]}
