"""CloudFormation in the sandbox: the toolchain types moto skips are created and deleted."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from provider_fixtures import PIPELINE_TRUST, seeded_repository, trust_policy
from test_provider_codedeploy import app_bundle, fetch, free_port, wait_deployment
from test_provider_codepipeline import BUILDSPEC, wait_execution

from flovtrain.sandbox import control

REGION = "eu-west-1"


def _tagged(app: str) -> list[dict]:
    """EC2 tag filters that select the instances tagged ``app=<app>``."""
    return [{"Key": "app", "Value": app, "Type": "KEY_AND_VALUE"}]


def revision_reader(bucket: str) -> dict:
    """A template's ``InstanceRole`` (trusts EC2, reads ``bucket``) and its ``InstanceProfile``:
    what an ``AWS::EC2::Instance`` receiving deployments names in ``IamInstanceProfile``."""
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    return {
        "InstanceRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": trust_policy("ec2.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": "read-revisions",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": [read]},
                    }
                ],
            },
        },
        "InstanceProfile": {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {"Roles": [{"Ref": "InstanceRole"}]},
        },
    }


def deployment_group(name: str, **properties) -> dict:
    """A template's deployment group ``name`` of the application ``App`` (a ``Ref``)."""
    return {
        "Type": "AWS::CodeDeploy::DeploymentGroup",
        "Properties": {
            "ApplicationName": {"Ref": "App"},
            "DeploymentGroupName": name,
            "ServiceRoleArn": "arn:aws:iam::123456789012:role/cd",
            **properties,
        },
    }


@pytest.fixture(scope="module")
def aws():
    control.reset()
    session = boto3.Session(region_name=REGION)
    c = {
        n: session.client(n)
        for n in (
            "s3",
            "ec2",
            "codedeploy",
            "codepipeline",
            "codebuild",
            "iam",
            "codecommit",
            "cloudformation",
            "ssm",
        )
    }
    c["s3"].create_bucket(Bucket="seed", CreateBucketConfiguration={"LocationConstraint": REGION})
    return c


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def toolchain(name: str, port: int) -> dict:
    code = {"Bucket": "seed", "Key": f"{name}.zip"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "ArtifactBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": f"{name}-artifacts"},
            },
            "ArtifactBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "ArtifactBucket"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                "Action": "s3:GetObject",
                                "Resource": f"arn:aws:s3:::{name}-artifacts/*",
                            }
                        ],
                    },
                },
            },
            "Repo": {
                "Type": "AWS::CodeCommit::Repository",
                "Properties": {
                    "RepositoryName": name,
                    "RepositoryDescription": "the app",
                    "Code": {"S3": code, "BranchName": "main"},
                },
            },
            # the services act as these roles (as on AWS): each trusts its service and may act
            "PipelineRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": f"{name}-pipeline",
                    "AssumeRolePolicyDocument": PIPELINE_TRUST,
                    "ManagedPolicyArns": [ADMIN],
                },
            },
            "BuildRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": f"{name}-build",
                    "AssumeRolePolicyDocument": trust_policy("codebuild.amazonaws.com"),
                    "ManagedPolicyArns": [ADMIN],
                },
            },
            "KeyPair": {"Type": "AWS::EC2::KeyPair", "Properties": {"KeyName": f"{name}-key"}},
            "Instance": {
                "Type": "AWS::EC2::Instance",
                "Properties": {
                    "ImageId": "ami-12c6146b",
                    "InstanceType": "t2.micro",
                    "KeyName": {"Ref": "KeyPair"},
                    "IamInstanceProfile": {"Ref": "InstanceProfile"},
                    "Tags": [{"Key": "app", "Value": name}],
                },
            },
            **revision_reader(f"{name}-artifacts"),
            "Build": {
                "Type": "AWS::CodeBuild::Project",
                "Properties": {
                    "Name": f"{name}-build",
                    "ServiceRole": {"Fn::GetAtt": ["BuildRole", "Arn"]},
                    "Source": {"Type": "CODEPIPELINE", "BuildSpec": BUILDSPEC},
                    "Artifacts": {"Type": "CODEPIPELINE"},
                    "Environment": {
                        "Type": "LINUX_CONTAINER",
                        "Image": "aws/codebuild/standard:7.0",
                        "ComputeType": "BUILD_GENERAL1_SMALL",
                    },
                },
            },
            "App": {
                "Type": "AWS::CodeDeploy::Application",
                "Properties": {"ApplicationName": name, "ComputePlatform": "Server"},
            },
            "Group": deployment_group(f"{name}-group", Ec2TagFilters=_tagged(name)),
            "Pipeline": {
                "Type": "AWS::CodePipeline::Pipeline",
                "DependsOn": ["Group", "Instance"],
                "Properties": {
                    "Name": f"{name}-pipeline",
                    "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
                    "ArtifactStore": {"Type": "S3", "Location": {"Ref": "ArtifactBucket"}},
                    "Stages": [
                        {
                            "Name": "Source",
                            "Actions": [
                                {
                                    "Name": "Source",
                                    "ActionTypeId": {
                                        "Category": "Source",
                                        "Owner": "AWS",
                                        "Provider": "CodeCommit",
                                        "Version": "1",
                                    },
                                    "Configuration": {
                                        "RepositoryName": {"Fn::GetAtt": ["Repo", "Name"]},
                                        "BranchName": "main",
                                        "PollForSourceChanges": False,
                                    },
                                    "OutputArtifacts": [{"Name": "SourceOutput"}],
                                }
                            ],
                        },
                        {
                            "Name": "Build",
                            "Actions": [
                                {
                                    "Name": "Build",
                                    "ActionTypeId": {
                                        "Category": "Build",
                                        "Owner": "AWS",
                                        "Provider": "CodeBuild",
                                        "Version": "1",
                                    },
                                    "Configuration": {"ProjectName": {"Ref": "Build"}},
                                    "InputArtifacts": [{"Name": "SourceOutput"}],
                                    "OutputArtifacts": [{"Name": "BuildOutput"}],
                                }
                            ],
                        },
                        {
                            "Name": "Deploy",
                            "Actions": [
                                {
                                    "Name": "Deploy",
                                    "ActionTypeId": {
                                        "Category": "Deploy",
                                        "Owner": "AWS",
                                        "Provider": "CodeDeploy",
                                        "Version": "1",
                                    },
                                    "Configuration": {
                                        "ApplicationName": {"Ref": "App"},
                                        "DeploymentGroupName": {"Ref": "Group"},
                                    },
                                    "InputArtifacts": [{"Name": "BuildOutput"}],
                                }
                            ],
                        },
                    ],
                },
            },
        },
        "Outputs": {
            "CloneUrl": {"Value": {"Fn::GetAtt": ["Repo", "CloneUrlHttp"]}},
            "KeyPairId": {"Value": {"Fn::GetAtt": ["KeyPair", "KeyPairId"]}},
            "PublicIp": {"Value": {"Fn::GetAtt": ["Instance", "PublicIp"]}},
        },
    }


def test_toolchain_stack_creates_runs_and_deletes(aws):
    port = free_port()
    name = "tool"
    aws["s3"].put_object(Bucket="seed", Key=f"{name}.zip", Body=app_bundle("<h1>stack</h1>", port))
    cfn = aws["cloudformation"]
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(toolchain(name, port)),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    resources = {
        r["LogicalResourceId"]: r
        for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
    }
    for logical, kind, physical in [
        ("Repo", "AWS::CodeCommit::Repository", name),
        ("Build", "AWS::CodeBuild::Project", f"{name}-build"),
        ("App", "AWS::CodeDeploy::Application", name),
        ("Group", "AWS::CodeDeploy::DeploymentGroup", f"{name}-group"),
        ("Pipeline", "AWS::CodePipeline::Pipeline", f"{name}-pipeline"),
        ("KeyPair", "AWS::EC2::KeyPair", f"{name}-key"),
        ("ArtifactBucketPolicy", "AWS::S3::BucketPolicy", None),
    ]:
        assert resources[logical]["ResourceType"] == kind
        if physical:
            assert resources[logical]["PhysicalResourceId"] == physical
        else:
            assert resources[logical]["PhysicalResourceId"]

    # each one exists behind its own API
    repo = aws["codecommit"].get_repository(repositoryName=name)["repositoryMetadata"]
    assert repo["cloneUrlHttp"] == outputs["CloneUrl"]
    readme = aws["codecommit"].get_file(repositoryName=name, filePath="site/index.html")
    assert readme["fileContent"] == b"<h1>stack</h1>"
    assert aws["codebuild"].batch_get_projects(names=[f"{name}-build"])["projects"]
    assert (
        aws["codedeploy"].get_deployment_group(
            applicationName=name, deploymentGroupName=f"{name}-group"
        )["deploymentGroupInfo"]["ec2TagFilters"][0]["Value"]
        == name
    )
    key = aws["ec2"].describe_key_pairs(KeyNames=[f"{name}-key"])["KeyPairs"][0]
    assert key["KeyPairId"] == outputs["KeyPairId"]
    pem = aws["ssm"].get_parameter(Name=f"/ec2/keypair/{key['KeyPairId']}", WithDecryption=True)[
        "Parameter"
    ]
    assert pem["Type"] == "SecureString" and "PRIVATE KEY" in pem["Value"]
    policy = json.loads(aws["s3"].get_bucket_policy(Bucket=f"{name}-artifacts")["Policy"])
    assert policy["Statement"][0]["Action"] == "s3:GetObject"

    # the pipeline's first execution builds and deploys the repository's initial commit
    done = wait_execution(aws, f"{name}-pipeline", timeout=60)
    failed = [  # what the pipeline view would show in red
        (a["actionName"], a["latestExecution"].get("errorDetails"))
        for s in aws["codepipeline"].get_pipeline_state(name=f"{name}-pipeline")["stageStates"]
        for a in s.get("actionStates", [])
        if a.get("latestExecution", {}).get("status") == "Failed"
    ]
    assert done["status"] == "Succeeded", failed
    assert done["trigger"]["triggerType"] == "CreatePipeline"
    page = fetch(f"http://{outputs['PublicIp']}:{port}/index.html")
    assert page == "<h1>stack</h1><p>built by CodeBuild</p>\n"

    cfn.delete_stack(StackName=name)
    with pytest.raises(aws["codecommit"].exceptions.RepositoryDoesNotExistException):
        aws["codecommit"].get_repository(repositoryName=name)
    assert aws["codebuild"].batch_get_projects(names=[f"{name}-build"])["projects"] == []
    assert name not in aws["codedeploy"].list_applications()["applications"]
    assert f"{name}-pipeline" not in [
        p["name"] for p in aws["codepipeline"].list_pipelines()["pipelines"]
    ]
    assert (
        aws["ec2"].describe_key_pairs(Filters=[{"Name": "key-name", "Values": [f"{name}-key"]}])[
            "KeyPairs"
        ]
        == []
    )
    with pytest.raises(aws["ssm"].exceptions.ParameterNotFound):
        aws["ssm"].get_parameter(Name=f"/ec2/keypair/{key['KeyPairId']}")
    with pytest.raises(OSError):  # the instance is gone, and the app it ran with it
        fetch(f"http://{outputs['PublicIp']}:{port}/index.html", timeout=0.5)


def test_deleting_a_stack_while_a_deployment_runs(aws):
    name = "busy"
    template = {
        "Resources": {
            "Instance": {
                "Type": "AWS::EC2::Instance",
                "Properties": {
                    "ImageId": "ami-12c6146b",
                    "IamInstanceProfile": {"Ref": "InstanceProfile"},
                    "Tags": [{"Key": "app", "Value": name}],
                },
            },
            **revision_reader("seed"),
            "App": {
                "Type": "AWS::CodeDeploy::Application",
                "Properties": {"ApplicationName": name},
            },
            "Group": deployment_group(name, Ec2TagFilters=_tagged(name)),
        }
    }
    cfn = aws["cloudformation"]
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    slow = (
        "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n"
        "    - location: slow.sh\n      timeout: 60\n"
    )
    aws["s3"].put_object(
        Bucket="seed",
        Key="slow.zip",
        Body=__import__("test_provider_codedeploy").bundle(
            {"appspec.yml": slow, "slow.sh": "echo started\nsleep 30\n"}
        ),
    )
    dep = aws["codedeploy"].create_deployment(
        applicationName=name,
        deploymentGroupName=name,
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "seed", "key": "slow.zip", "bundleType": "zip"},
        },
    )["deploymentId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = aws["codedeploy"].get_deployment(deploymentId=dep)["deploymentInfo"]
        if info["deploymentOverview"]["InProgress"]:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    started = time.monotonic()
    cfn.delete_stack(StackName=name)
    info = wait_deployment(aws["codedeploy"], dep, timeout=10)
    assert time.monotonic() - started < 8
    assert info["status"] == "Failed"
    assert "was terminated" in info["errorInformation"]["message"]
    assert "started" in info["errorInformation"]["message"]


def _events(cfn, stack: str) -> list[dict]:
    return [
        e
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack)
        for e in page["StackEvents"]
    ]


def test_stack_events_per_resource_newest_first(aws):
    name = "evented"
    aws["s3"].put_object(Bucket="seed", Key="evented.zip", Body=app_bundle("<h1>e</h1>", 8090))
    template = {
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"{name}-b"}},
            "Repo": seeded_repository(name, "seed", "evented.zip"),
            "KeyPair": {"Type": "AWS::EC2::KeyPair", "Properties": {"KeyName": f"{name}-key"}},
            # Group refers to App: App is created first, although the template names it later
            "Group": deployment_group(f"{name}-group"),
            "App": {
                "Type": "AWS::CodeDeploy::Application",
                "Properties": {"ApplicationName": name},
            },
            "Skipped": {
                "Type": "AWS::CodeDeploy::Application",
                "Condition": "Never",
                "Properties": {"ApplicationName": f"{name}-skipped"},
            },
        },
    }
    cfn = aws["cloudformation"]
    stack_id = cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))["StackId"]
    events = _events(cfn, name)

    # newest first, like AWS: the stack's CREATE_COMPLETE on top, its CREATE_IN_PROGRESS last
    assert (events[0]["LogicalResourceId"], events[0]["ResourceStatus"]) == (
        name,
        "CREATE_COMPLETE",
    )
    assert (events[-1]["LogicalResourceId"], events[-1]["ResourceStatus"]) == (
        name,
        "CREATE_IN_PROGRESS",
    )
    assert events[0]["ResourceType"] == events[-1]["ResourceType"] == "AWS::CloudFormation::Stack"
    times = [e["Timestamp"] for e in events]
    assert times == sorted(times, reverse=True)
    assert len({e["EventId"] for e in events}) == len(events)
    assert all(e["StackId"] == stack_id and e["StackName"] == name for e in events)

    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
        if "LogicalResourceId" in r  # moto 5.2.5 lists a condition-skipped resource as {}
    }
    kinds = {k: v["Type"] for k, v in template["Resources"].items()}
    by_resource: dict[str, list[dict]] = {}
    for event in reversed(events[1:-1]):  # oldest first
        by_resource.setdefault(event["LogicalResourceId"], []).append(event)
    assert set(by_resource) == {"Bucket", "Repo", "KeyPair", "Group", "App"}  # not Skipped
    for logical, found in by_resource.items():
        assert [e["ResourceStatus"] for e in found] == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
        assert all(e["ResourceType"] == kinds[logical] for e in found), found
        assert found[0]["PhysicalResourceId"] == ""  # AWS names it once it exists
        assert found[1]["PhysicalResourceId"] == physical[logical]
    assert physical["Repo"] == name and physical["KeyPair"] == f"{name}-key"
    # chronology: the application the group refers to exists before the group is started
    order = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(events)]
    assert order.index(("App", "CREATE_COMPLETE")) < order.index(("Group", "CREATE_IN_PROGRESS"))

    cfn.delete_stack(StackName=name)
    events = _events(cfn, stack_id)  # a deleted stack is found by its id
    assert (events[0]["LogicalResourceId"], events[0]["ResourceStatus"]) == (
        name,
        "DELETE_COMPLETE",
    )
    deleted = {}
    for event in reversed(events):
        if event["ResourceStatus"].startswith("DELETE_") and event["LogicalResourceId"] != name:
            deleted.setdefault(event["LogicalResourceId"], []).append(event["ResourceStatus"])
    assert deleted == {k: ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"] for k in by_resource}
    assert [e["ResourceStatus"] for e in events].count("CREATE_COMPLETE") == 6  # kept


def test_stack_event_of_a_failed_resource_says_why(aws):
    aws["s3"].put_object(Bucket="seed", Key="not-a.zip", Body=b"plain text")
    template = {"Resources": {"Repo": seeded_repository("broken-seed", "seed", "not-a.zip")}}
    cfn = aws["cloudformation"]
    cfn.create_stack(StackName="broken", TemplateBody=json.dumps(template))  # AWS accepts it
    events = _events(cfn, "broken")
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert len(failed) == 1, events
    assert failed[0]["LogicalResourceId"] == "Repo"
    assert failed[0]["ResourceType"] == "AWS::CodeCommit::Repository"
    assert (
        "s3://seed/not-a.zip of repository broken-seed is not a zip file"
        in (failed[0]["ResourceStatusReason"])
    )
    assert [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == "Repo"] == [
        "CREATE_FAILED",
        "CREATE_IN_PROGRESS",
    ]


def test_a_failing_resource_rolls_the_stack_back_like_aws(aws):
    aws["s3"].put_object(Bucket="seed", Key="also-not-a.zip", Body=b"plain text")
    template = {
        "Resources": {
            "Logs": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "rollback-logs"}},
            "Repo": seeded_repository("rollback-seed", "seed", "also-not-a.zip", depends_on="Logs"),
        }
    }
    cfn = aws["cloudformation"]
    stack_id = cfn.create_stack(StackName="rolls-back", TemplateBody=json.dumps(template))[
        "StackId"
    ]
    stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"] == (
        "The following resource(s) failed to create: [Repo]. Rollback requested by user."
    )
    # what had been created before the failure is gone again
    names = [b["Name"] for b in aws["s3"].list_buckets()["Buckets"]]
    assert "rollback-logs" not in names
    oldest_first = [
        (e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(_events(cfn, "rolls-back"))
    ]
    assert oldest_first == [
        ("rolls-back", "CREATE_IN_PROGRESS"),
        ("Logs", "CREATE_IN_PROGRESS"),
        ("Logs", "CREATE_COMPLETE"),
        ("Repo", "CREATE_IN_PROGRESS"),
        ("Repo", "CREATE_FAILED"),
        ("rolls-back", "ROLLBACK_IN_PROGRESS"),
        ("Logs", "DELETE_IN_PROGRESS"),
        ("Logs", "DELETE_COMPLETE"),
        ("rolls-back", "ROLLBACK_COMPLETE"),
    ]


@pytest.mark.parametrize("body", ["{not: [json", json.dumps({"Resources": 7})])
def test_a_bad_template_fails_the_call_and_leaves_no_stack(aws, body):
    cfn = aws["cloudformation"]
    with pytest.raises(cfn.exceptions.ClientError) as caught:
        cfn.create_stack(StackName="bad-template", TemplateBody=body)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"].startswith("Template format error: ")
    assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "bad-template"]


def test_stack_update_records_update_events(aws):
    def template(description: str) -> str:
        return json.dumps(
            {
                "Resources": {
                    "Repo": {
                        "Type": "AWS::CodeCommit::Repository",
                        "Properties": {
                            "RepositoryName": "updated",
                            "RepositoryDescription": description,
                        },
                    },
                    "App": {
                        "Type": "AWS::CodeDeploy::Application",
                        "Properties": {"ApplicationName": "updated"},
                    },
                }
            }
        )

    cfn = aws["cloudformation"]
    cfn.create_stack(StackName="updated", TemplateBody=template("first"))
    cfn.update_stack(StackName="updated", TemplateBody=template("second"))
    events = _events(cfn, "updated")
    assert [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events[:5]] == [
        ("updated", "UPDATE_COMPLETE"),
        ("updated", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("Repo", "UPDATE_COMPLETE"),
        ("Repo", "UPDATE_IN_PROGRESS"),
        ("updated", "UPDATE_IN_PROGRESS"),
    ]
    assert events[2]["PhysicalResourceId"] == "updated"
    assert events[2]["ResourceType"] == "AWS::CodeCommit::Repository"
    # the unchanged application has its creation events only
    assert [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == "App"] == [
        "CREATE_COMPLETE",
        "CREATE_IN_PROGRESS",
    ]
    repo = aws["codecommit"].get_repository(repositoryName="updated")["repositoryMetadata"]
    assert repo["repositoryDescription"] == "second"


def test_change_sets_run_through_the_same_transactions(aws):
    cfn, s3 = aws["cloudformation"], aws["s3"]

    def template(*buckets: str) -> str:
        return json.dumps(
            {
                "Resources": {
                    f"B{i}": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}}
                    for i, name in enumerate(buckets)
                }
            }
        )

    def bucket_names() -> set[str]:
        return {b["Name"] for b in s3.list_buckets()["Buckets"]}

    cfn.create_change_set(
        StackName="changed",
        ChangeSetName="first",
        ChangeSetType="CREATE",
        TemplateBody=template("cs-one"),
    )
    cfn.execute_change_set(StackName="changed", ChangeSetName="first")
    assert cfn.describe_stacks(StackName="changed")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    assert "cs-one" in bucket_names()
    cfn.create_change_set(
        StackName="changed",
        ChangeSetName="second",
        ChangeSetType="UPDATE",
        TemplateBody=template("cs-one", "cs-two"),
    )
    cfn.execute_change_set(StackName="changed", ChangeSetName="second")
    assert cfn.describe_stacks(StackName="changed")["Stacks"][0]["StackStatus"] == (
        "UPDATE_COMPLETE"
    )
    assert {"cs-one", "cs-two"} <= bucket_names()
    listed = cfn.describe_stack_resources(StackName="changed")["StackResources"]
    assert sorted(r["PhysicalResourceId"] for r in listed) == ["cs-one", "cs-two"]
    cfn.delete_stack(StackName="changed")
    assert not {"cs-one", "cs-two"} & bucket_names()
