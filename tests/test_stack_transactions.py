"""Stack operations are transactions: complete or rolled back, never half done (issue #11).

The chapter 04 project stack (``template.yml``) is built here as ``flovtrain.project`` builds
it, without waiting for its pipeline; its pipeline holds before Build so that the many stacks
these tests create start no builds. The property test at the end fails every resource handler
call of create, update and delete in turn (a debug-only fault hook of a sandbox of its own)
and checks that what the stack owns is as before or as after the operation, never between.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.cloudformation.utils import yaml_tag_constructor
from provider_fixtures import seeded_repository

from flovtrain import config, project
from flovtrain.sandbox import control

ACCOUNT = config.SANDBOX_ACCOUNT_ID
REGION = "eu-west-1"
SEED_BUCKET = "stack-seed"
TOPIC_ONLY = "Resources: {T: {Type: AWS::SNS::Topic}}"


def chapter04_template() -> str:
    """``template.yml`` whose pipeline holds before Build: its first run stops after Source, so
    the dozens of stacks these tests create start no builds on a 2-core machine."""
    loader = type("Loader", (yaml.SafeLoader,), {})
    loader.add_multi_constructor("", yaml_tag_constructor)
    template = yaml.load(project.template_body(), Loader=loader)
    pipeline = template["Resources"]["Pipeline"]["Properties"]
    pipeline["DisableInboundStageTransitions"] = [
        {"StageName": "Build", "Reason": "stack tests run no builds"}
    ]
    # its source artifacts go to the seed bucket: the stack's own bucket stays empty, so that
    # deleting it never races with the pipeline's first run (AWS keeps a bucket with objects)
    pipeline["ArtifactStore"]["Location"] = SEED_BUCKET
    return yaml.safe_dump(template, sort_keys=False)


def seed(s3: Any, project_id: str) -> None:
    """Put the project's seed zip where the template's ``Code.S3`` reads it."""
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    if SEED_BUCKET not in buckets:
        s3.create_bucket(
            Bucket=SEED_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    s3.put_object(Bucket=SEED_BUCKET, Key=f"seed/{project_id}.zip", Body=project.seed_zip())


def parameters(project_id: str) -> list[dict[str, str]]:
    return [
        {"ParameterKey": "ProjectId", "ParameterValue": project_id},
        {"ParameterKey": "SeedBucket", "ParameterValue": SEED_BUCKET},
        {"ParameterKey": "SeedKey", "ParameterValue": f"seed/{project_id}.zip"},
        {"ParameterKey": "SshCidr", "ParameterValue": "127.0.0.1/32"},
    ]


def create_chapter04(c: dict, project_id: str, body: str | None = None) -> str:
    """Create the chapter 04 stack named ``project_id``; return its StackId."""
    seed(c["s3"], project_id)
    return c["cloudformation"].create_stack(
        StackName=project_id,
        TemplateBody=body or chapter04_template(),
        Parameters=parameters(project_id),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )["StackId"]


def git_dir(project_id: str, home: Path | None = None) -> Path:
    """Where the sandbox keeps the repository's git data."""
    base = home or Path(os.environ[config.HOME_VAR])
    return base / "codecommit" / ACCOUNT / REGION / f"{project_id}.git"


def inventory(c: dict, project_id: str, home: Path | None = None) -> dict[str, Any]:
    """Everything the chapter 04 stack owns, as each service's API (and the disk) shows it."""
    p = project_id

    def names(items: list, key: str) -> list:
        return sorted(i[key] for i in items)

    repos = names(c["codecommit"].list_repositories()["repositories"], "repositoryName")
    repo = {}
    if p in repos:
        meta = c["codecommit"].get_repository(repositoryName=p)["repositoryMetadata"]
        branch = c["codecommit"].get_branch(repositoryName=p, branchName="main")["branch"]
        repo = {"description": meta.get("repositoryDescription"), "main": branch["commitId"]}
    roles = {r["RoleName"] for r in c["iam"].list_roles()["Roles"]}
    role_policies = {  # one item per role: each is a resource of its own
        f"role {kind}": sorted(c["iam"].list_role_policies(RoleName=f"{p}-{kind}")["PolicyNames"])
        if f"{p}-{kind}" in roles
        else None
        for kind in ("toolchain", "instance")
    }
    instances = [
        i["InstanceId"]
        for r in c["ec2"].describe_instances(
            Filters=[
                {"Name": "tag:Environment", "Values": [f"{p}-WebApp"]},
                {"Name": "instance-state-name", "Values": ["pending", "running"]},
            ]
        )["Reservations"]
        for i in r["Instances"]
    ]
    groups = [
        g["GroupId"]
        for g in c["ec2"].describe_security_groups()["SecurityGroups"]
        if g.get("Description", "").startswith(f"{p} web app")
    ]
    bucket = f"{p}-artifacts-{ACCOUNT}-{REGION}"
    buckets = [b["Name"] for b in c["s3"].list_buckets()["Buckets"]]
    policy = False  # the policy is a resource of its own: there or not, bucket or not
    if bucket in buckets:
        try:
            policy = c["s3"].get_bucket_policy(Bucket=bucket)["Policy"] is not None
        except c["s3"].exceptions.ClientError:
            policy = False
    apps = c["codedeploy"].list_applications()["applications"]
    deploy_groups = (
        c["codedeploy"].list_deployment_groups(applicationName=p)["deploymentGroups"]
        if p in apps
        else []
    )
    return {
        "repository": repos.count(p),
        "repository_state": repo,
        "git_data": git_dir(p, home).is_dir(),
        "build": len(c["codebuild"].batch_get_projects(names=[p])["projects"]),
        "application": apps.count(p),
        "deployment_groups": deploy_groups,
        "pipeline": [x["name"] for x in c["codepipeline"].list_pipelines()["pipelines"]].count(
            f"{p}-pipeline"
        ),
        "instances": len(instances),
        "security_groups": len(groups),
        **role_policies,
        "instance_profiles": len(
            [
                i
                for i in c["iam"].list_instance_profiles()["InstanceProfiles"]
                if i["InstanceProfileName"].startswith(f"{p}-InstanceProfile")
            ]
        ),
        "bucket": buckets.count(bucket),
        "bucket_policy": policy,
        "key_pair": len(
            c["ec2"].describe_key_pairs(Filters=[{"Name": "key-name", "Values": [f"{p}-key"]}])[
                "KeyPairs"
            ]
        ),
        "rules": len(
            [
                r
                for r in c["events"].list_rules()["Rules"]
                if r["Name"].startswith(f"{p}-SourceChangeRule")
            ]
        ),
    }


#: The services a course stack touches.
SERVICES = (
    "s3",
    "ec2",
    "iam",
    "codecommit",
    "codebuild",
    "codedeploy",
    "codepipeline",
    "cloudformation",
    "events",
)


def clients(session: Any, extra: tuple[str, ...] = (), **kwargs: Any) -> dict:
    """A client per :data:`SERVICES` and ``extra``; ``kwargs`` go to every ``session.client``."""
    return {n: session.client(n, region_name=REGION, **kwargs) for n in (*SERVICES, *extra)}


def events(cfn: Any, stack: str) -> list[tuple[str, str]]:
    """(logical id, status) of the stack's events, oldest first."""
    found = [
        e
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack)
        for e in page["StackEvents"]
    ]
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(found)]


def status(cfn: Any, stack: str) -> str:
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


@pytest.fixture(scope="module")
def c():
    control.reset()
    return clients(boto3.Session(region_name=REGION), ("sns",))


# -- the issue's reproduction -------------------------------------------------------------------
def test_issue_update_to_a_topic_replaces_the_project_and_leaves_nothing_behind(c):
    """Issue #11 item 1: moto answered KeyError 'ProjectId', lost the repository and more, and
    left the stack CREATE_COMPLETE, then failed delete-stack and describe-stacks."""
    p = "issue-webapp"
    create_chapter04(c, p)
    cfn = c["cloudformation"]
    assert status(cfn, p) == "CREATE_COMPLETE"
    before = inventory(c, p)
    assert before["repository"] == before["pipeline"] == before["instances"] == 1
    assert before["git_data"] and before["role toolchain"] == ["toolchain"]

    cfn.update_stack(StackName=p, TemplateBody=TOPIC_ONLY)
    assert status(cfn, p) == "UPDATE_COMPLETE"
    after = inventory(c, p)
    assert after["repository"] == after["pipeline"] == after["instances"] == 0
    assert not after["git_data"] and after["role toolchain"] is None and after["bucket"] == 0
    resources = cfn.describe_stack_resources(StackName=p)["StackResources"]
    assert [(r["LogicalResourceId"], r["ResourceType"]) for r in resources] == [
        ("T", "AWS::SNS::Topic")
    ]
    topic = resources[0]["PhysicalResourceId"]
    assert topic in [t["TopicArn"] for t in c["sns"].list_topics()["Topics"]]
    order = events(cfn, p)
    start = order.index((p, "UPDATE_IN_PROGRESS"))
    assert order[start + 1 : start + 3] == [("T", "CREATE_IN_PROGRESS"), ("T", "CREATE_COMPLETE")]
    cleanup = order.index((p, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"))
    assert cleanup > start + 2  # removed resources go only after the new ones exist
    assert ("Repository", "DELETE_COMPLETE") in order[cleanup:]
    assert order[-1] == (p, "UPDATE_COMPLETE")

    cfn.delete_stack(StackName=p)
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        cfn.describe_stacks(StackName=p)
    assert topic not in [t["TopicArn"] for t in c["sns"].list_topics()["Topics"]]


def test_an_update_with_nothing_new_is_refused(c):
    cfn = c["cloudformation"]
    cfn.create_stack(StackName="same", TemplateBody=TOPIC_ONLY)
    with pytest.raises(cfn.exceptions.ClientError) as caught:
        cfn.update_stack(StackName="same", TemplateBody=TOPIC_ONLY)
    assert caught.value.response["Error"] == {
        "Type": "Sender",
        "Code": "ValidationError",
        "Message": "No updates are to be performed.",
    }
    assert status(cfn, "same") == "CREATE_COMPLETE"
    assert events(cfn, "same")[-1] == ("same", "CREATE_COMPLETE")  # nothing started


def _repo_template(description: str, extra: dict | None = None) -> str:
    resources = {
        "Repo": {
            "Type": "AWS::CodeCommit::Repository",
            "Properties": {"RepositoryName": "tx-repo", "RepositoryDescription": description},
        },
        "Old": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "tx-old"}},
        **(extra or {}),
    }
    return json.dumps({"Resources": resources})


def test_a_failed_update_restores_every_resource(c):
    cfn, cc = c["cloudformation"], c["codecommit"]
    c["s3"].create_bucket(
        Bucket="tx-seed", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    c["s3"].put_object(Bucket="tx-seed", Key="bad.zip", Body=b"not a zip")
    cfn.create_stack(StackName="tx", TemplateBody=_repo_template("first"))
    commit = cc.create_commit(
        repositoryName="tx-repo",
        branchName="main",
        putFiles=[{"filePath": "a.txt", "fileContent": b"kept"}],
    )["commitId"]
    body = json.loads(_repo_template("second"))
    del body["Resources"]["Old"]  # removed: must survive the failed update
    body["Resources"]["New"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "tx-new"}}
    body["Resources"]["Broken"] = seeded_repository(
        "tx-broken", "tx-seed", "bad.zip", depends_on=["New", "Repo"]
    )
    cfn.update_stack(StackName="tx", TemplateBody=json.dumps(body))  # AWS accepts the call

    stack = cfn.describe_stacks(StackName="tx")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    order = events(cfn, "tx")
    start = order.index(("tx", "UPDATE_IN_PROGRESS"))
    assert order[start:] == [
        ("tx", "UPDATE_IN_PROGRESS"),
        ("Repo", "UPDATE_IN_PROGRESS"),
        ("Repo", "UPDATE_COMPLETE"),
        ("New", "CREATE_IN_PROGRESS"),
        ("New", "CREATE_COMPLETE"),
        ("Broken", "CREATE_IN_PROGRESS"),
        ("Broken", "CREATE_FAILED"),
        ("tx", "UPDATE_ROLLBACK_IN_PROGRESS"),
        ("Repo", "UPDATE_IN_PROGRESS"),
        ("Repo", "UPDATE_COMPLETE"),
        ("tx", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("New", "DELETE_IN_PROGRESS"),
        ("New", "DELETE_COMPLETE"),
        ("tx", "UPDATE_ROLLBACK_COMPLETE"),
    ]
    raw = cfn.describe_stack_events(StackName="tx")["StackEvents"]
    rollback = next(e for e in raw if e["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS")
    assert rollback["ResourceStatusReason"] == (
        "The following resource(s) failed to create: [Broken]. "
    )
    # every resource as before: description restored, commits kept, Old kept, New gone
    meta = cc.get_repository(repositoryName="tx-repo")["repositoryMetadata"]
    assert meta["repositoryDescription"] == "first"
    assert cc.get_branch(repositoryName="tx-repo", branchName="main")["branch"]["commitId"] == (
        commit
    )
    topics = [t["TopicArn"].rsplit(":", 1)[1] for t in c["sns"].list_topics()["Topics"]]
    assert "tx-old" in topics and "tx-new" not in topics
    assert json.loads(json.dumps(cfn.get_template(StackName="tx")["TemplateBody"])) == (
        json.loads(_repo_template("first"))
    )
    # and the stack can be updated again
    cfn.update_stack(StackName="tx", TemplateBody=_repo_template("third"))
    assert status(cfn, "tx") == "UPDATE_COMPLETE"
    meta = cc.get_repository(repositoryName="tx-repo")["repositoryMetadata"]
    assert meta["repositoryDescription"] == "third"
    cfn.delete_stack(StackName="tx")


def test_a_rolled_back_stack_cannot_be_updated(c):
    cfn = c["cloudformation"]
    c["s3"].put_object(Bucket="tx-seed", Key="bad2.zip", Body=b"not a zip")
    bad = {"Resources": {"Repo": seeded_repository("rb-repo", "tx-seed", "bad2.zip")}}
    stack_id = cfn.create_stack(StackName="rb", TemplateBody=json.dumps(bad))["StackId"]
    assert status(cfn, "rb") == "ROLLBACK_COMPLETE"
    with pytest.raises(cfn.exceptions.ClientError) as caught:
        cfn.update_stack(StackName="rb", TemplateBody=TOPIC_ONLY)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"] == (
        f"Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated."
    )
    cfn.delete_stack(StackName="rb")
    assert status(cfn, stack_id) == "DELETE_COMPLETE"


@pytest.mark.parametrize(
    ("options", "final", "kept"),
    [
        ({}, "ROLLBACK_COMPLETE", False),
        ({"OnFailure": "DO_NOTHING"}, "CREATE_FAILED", True),
        ({"DisableRollback": True}, "CREATE_FAILED", True),
        ({"OnFailure": "DELETE"}, "DELETE_COMPLETE", False),
    ],
)
def test_create_failure_follows_on_failure(c, options, final, kept):
    cfn = c["cloudformation"]
    c["s3"].put_object(Bucket="tx-seed", Key="bad3.zip", Body=b"not a zip")
    name = f"of-{final.lower().replace('_', '-')}-{len(options)}{sorted(options)[:1]}"
    name = "".join(ch for ch in name if ch.isalnum() or ch == "-")
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}},
            "Repo": seeded_repository(f"{name}-repo", "tx-seed", "bad3.zip", depends_on="Topic"),
        }
    }
    stack_id = cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), **options)[
        "StackId"
    ]
    stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert stack["StackStatus"] == final
    topics = [t["TopicArn"].rsplit(":", 1)[1] for t in c["sns"].list_topics()["Topics"]]
    assert (name in topics) is kept
    with pytest.raises(c["codecommit"].exceptions.RepositoryDoesNotExistException):
        c["codecommit"].get_repository(repositoryName=f"{name}-repo")
    if final == "DELETE_COMPLETE":  # gone by name, still found by id
        assert name not in [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
    else:
        cfn.delete_stack(StackName=name)


def test_a_failed_delete_keeps_what_it_could_not_delete_and_can_be_retried(c):
    cfn, s3 = c["cloudformation"], c["s3"]
    template = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "df-bucket"}},
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": {"Fn::Sub": "${Bucket}-topic"}},
            },
        }
    }
    cfn.create_stack(StackName="df", TemplateBody=json.dumps(template))
    s3.put_object(Bucket="df-bucket", Key="keep.txt", Body=b"x")  # AWS: BucketNotEmpty
    cfn.delete_stack(StackName="df")
    stack = cfn.describe_stacks(StackName="df")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to delete: [Bucket]."
    left = cfn.describe_stack_resources(StackName="df")["StackResources"]
    assert [r["LogicalResourceId"] for r in left] == ["Bucket"]  # the topic went first
    failed = [
        e
        for e in cfn.describe_stack_events(StackName="df")["StackEvents"]
        if e["ResourceStatus"] == "DELETE_FAILED" and e["LogicalResourceId"] == "Bucket"
    ]
    assert "not empty" in failed[0]["ResourceStatusReason"]
    s3.delete_object(Bucket="df-bucket", Key="keep.txt")
    cfn.delete_stack(StackName="df")
    assert "df-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "df" not in [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]


# -- property: a failure at any handler call leaves before or after, never between -------------
@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """A sandbox of its own with the debug-only fault hook (``cloudformation/fault``), and
    clients on it; the session's sandbox has no such hook."""
    from botocore.config import Config

    from flovtrain.sandbox.contract import DEBUG_VAR

    home = tmp_path_factory.mktemp("faulty-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.HOME_VAR, str(home))
        mp.delenv(config.PORT_VAR, raising=False)
        mp.setenv(DEBUG_VAR, "1")
        info = control.start()
        session = boto3.Session(
            region_name=REGION,
            aws_access_key_id=config.SANDBOX_ACCESS_KEY_ID,
            aws_secret_access_key=config.SANDBOX_SECRET_ACCESS_KEY,
        )
        fail_fast = Config(retries={"max_attempts": 1}, read_timeout=120)
        cl = clients(session, ("sns",), endpoint_url=info["endpoint"], config=fail_fast)

        def fault(at: int) -> int:
            return control.api(f"cloudformation/fault?at={at}", method="POST", info=info)["calls"]

        try:
            yield cl, home, fault, lambda: control.api("cloudformation/fault", info=info)["calls"]
        finally:
            fault(0)
            control.stop()


def chapter04_update(project_id: str) -> str:
    """An update of every kind: the repository's description changes (in place), the build
    project's timeout (replaced), a topic is added and the change-detection rule removed."""
    loader = type("Loader", (yaml.SafeLoader,), {})
    loader.add_multi_constructor("", yaml_tag_constructor)
    template = yaml.load(chapter04_template(), Loader=loader)
    resources = template["Resources"]
    resources["Repository"]["Properties"]["RepositoryDescription"] = "updated"
    resources["BuildProject"]["Properties"]["TimeoutInMinutes"] = 15
    del resources["SourceChangeRule"]
    resources["Alerts"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}}
    return yaml.safe_dump(template, sort_keys=False)


def full_inventory(c: dict, p: str, home: Path) -> dict[str, Any]:
    found = inventory(c, p, home)
    projects = c["codebuild"].batch_get_projects(names=[p])["projects"]
    found["build_timeout"] = [x["timeoutInMinutes"] for x in projects]
    found["topics"] = [t["TopicArn"] for t in c["sns"].list_topics()["Topics"]]
    return found


def between(before: dict, after: dict, now: dict) -> dict:
    """What ``now`` has that is neither as ``before`` nor as ``after``, by item."""
    return {k: now[k] for k in now if now[k] != before[k] and now[k] != after[k]}


def test_a_failure_at_any_step_leaves_the_state_before_or_after(faulty):
    c, home, fault, calls = faulty
    cfn, p = c["cloudformation"], "prop-webapp"
    nothing = full_inventory(c, p, home)

    # a clean run of each operation counts its handler calls and gives the after states
    fault(0)
    create_chapter04(c, p)
    creating, created = calls(), full_inventory(c, p, home)
    resources = cfn.describe_stack_resources(StackName=p)["StackResources"]
    assert status(cfn, p) == "CREATE_COMPLETE" and creating == len(resources) == 14
    fault(0)
    cfn.update_stack(StackName=p, TemplateBody=chapter04_update(p), Parameters=parameters(p))
    updating, updated = calls(), full_inventory(c, p, home)
    assert status(cfn, p) == "UPDATE_COMPLETE"
    assert updated["repository_state"]["description"] == "updated"
    assert updated["rules"] == 0 and updated["build_timeout"] == [15]
    assert updated["repository_state"]["main"] == created["repository_state"]["main"]
    fault(0)
    cfn.delete_stack(StackName=p)
    deleting = calls()
    assert full_inventory(c, p, home) == nothing

    # create: every failure rolls back to nothing
    for at in range(1, creating + 1):
        fault(at)
        create_chapter04(c, p)
        fault(0)
        assert status(cfn, p) == "ROLLBACK_COMPLETE", at
        assert full_inventory(c, p, home) == nothing, at
        cfn.delete_stack(StackName=p)

    # update: a failure before cleanup restores everything; one in cleanup is retried
    create_chapter04(c, p)
    for at in range(1, updating + 1):
        before = full_inventory(c, p, home)
        fault(at)
        cfn.update_stack(StackName=p, TemplateBody=chapter04_update(p), Parameters=parameters(p))
        fault(0)
        now, state = full_inventory(c, p, home), status(cfn, p)
        if state == "UPDATE_ROLLBACK_COMPLETE":
            assert now == before, (at, between(before, updated, now))
            continue
        assert state == "UPDATE_COMPLETE", at
        expected = {**updated, "repository_state": now["repository_state"]}
        assert now == expected, (at, between(before, updated, now))
        cfn.delete_stack(StackName=p)
        create_chapter04(c, p)

    # delete: a failure is DELETE_FAILED; each resource is there or gone, and a retry ends it
    for at in range(1, deleting + 1):
        before = full_inventory(c, p, home)
        fault(at)
        cfn.delete_stack(StackName=p)
        fault(0)
        assert status(cfn, p) == "DELETE_FAILED", at
        now = full_inventory(c, p, home)
        assert between(before, nothing, now) == {}, at
        listed = {
            r["LogicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=p)["StackResources"]
        }
        assert ("Repository" in listed) == bool(now["repository"]) == now["git_data"], at
        assert ("Pipeline" in listed) == bool(now["pipeline"]), at
        assert cfn.describe_stacks(StackName=p)["Stacks"][0]["Outputs"]  # still describable
        cfn.delete_stack(StackName=p)
        assert full_inventory(c, p, home) == nothing, at
        if at < deleting:
            create_chapter04(c, p)
