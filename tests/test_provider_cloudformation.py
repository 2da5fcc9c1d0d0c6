"""CloudFormation in the sandbox: the toolchain types moto skips are created and deleted."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from test_provider_codedeploy import app_bundle, fetch, free_port, wait_deployment
from test_provider_codepipeline import BUILDSPEC, TRUST, wait_execution

from flovtrain.sandbox import control

REGION = "eu-west-1"


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
            "PipelineRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {"RoleName": f"{name}-pipeline", "AssumeRolePolicyDocument": TRUST},
            },
            "KeyPair": {"Type": "AWS::EC2::KeyPair", "Properties": {"KeyName": f"{name}-key"}},
            "Instance": {
                "Type": "AWS::EC2::Instance",
                "Properties": {
                    "ImageId": "ami-12c6146b",
                    "InstanceType": "t2.micro",
                    "KeyName": {"Ref": "KeyPair"},
                    "Tags": [{"Key": "app", "Value": name}],
                },
            },
            "Build": {
                "Type": "AWS::CodeBuild::Project",
                "Properties": {
                    "Name": f"{name}-build",
                    "ServiceRole": "arn:aws:iam::123456789012:role/cb",
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
            "Group": {
                "Type": "AWS::CodeDeploy::DeploymentGroup",
                "Properties": {
                    "ApplicationName": {"Ref": "App"},
                    "DeploymentGroupName": f"{name}-group",
                    "ServiceRoleArn": "arn:aws:iam::123456789012:role/cd",
                    "Ec2TagFilters": [{"Key": "app", "Value": name, "Type": "KEY_AND_VALUE"}],
                },
            },
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
    assert done["status"] == "Succeeded", done
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
                "Properties": {"ImageId": "ami-12c6146b", "Tags": [{"Key": "app", "Value": name}]},
            },
            "App": {
                "Type": "AWS::CodeDeploy::Application",
                "Properties": {"ApplicationName": name},
            },
            "Group": {
                "Type": "AWS::CodeDeploy::DeploymentGroup",
                "Properties": {
                    "ApplicationName": {"Ref": "App"},
                    "DeploymentGroupName": name,
                    "ServiceRoleArn": "arn:aws:iam::123456789012:role/cd",
                    "Ec2TagFilters": [{"Key": "app", "Value": name, "Type": "KEY_AND_VALUE"}],
                },
            },
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
