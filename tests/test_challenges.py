"""Inline challenges: every id in the notebooks exists (and vice versa), and every check fails
on the untouched cell (answer None), fails a wrong answer with a reason, and passes the solution's
answer, which each test computes from the sandbox's state with plain boto3 or git."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import boto3
import nbformat
import pytest

import flovtrain
from flovtrain import billing, cleanup, flovtec, marketdata, project
from flovtrain.challenges import NOT_ANSWERED, Result, UnknownChallenge, challenge, challenges
from flovtrain.sandbox import control

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CALL = re.compile(r"""flovtrain\.challenge\(\s*["'](\d{2}\.\d+)["']""")
HEADING = re.compile(r"^### ✏️ Challenge (\d{2}\.\d+) · ", re.MULTILINE)
# Challenge ids each test below answers; test_every_challenge_is_tested keeps it complete.
TESTED = {
    "00": ["00.1", "00.2", "00.3"],
    "01": ["01.1", "01.2", "01.3"],
    "02": ["02.1", "02.2", "02.3"],
    "03": ["03.1", "03.2", "03.3"],
    "04": ["04.1", "04.2", "04.3"],
    "05": ["05.1", "05.2", "05.3"],
    "06": ["06.1", "06.2", "06.3"],
    "07": ["07.1", "07.2", "07.3"],
    "08": ["08.1", "08.2", "08.3"],
    "09": ["09.1", "09.2", "09.3"],
    "10": ["10.1", "10.2", "10.3"],
}


@pytest.fixture
def session() -> boto3.Session:
    """A reset sandbox and the notebook's connection to it (eu-west-1)."""
    control.reset()
    flovtrain.connect(quiet=True)
    return boto3.Session(region_name="eu-west-1")


def judge(challenge_id: str, right: object, wrong: object, reason: str) -> None:
    """None and ``wrong`` fail (``wrong`` with a reason matching ``reason``); ``right`` passes."""
    untouched = challenge(challenge_id)
    assert not untouched.passed and untouched.why == NOT_ANSWERED and untouched.hint
    assert "✗" in str(untouched) and "hint" in str(untouched)
    failed = challenge(challenge_id, wrong)
    assert not failed.passed, f"{challenge_id}: {wrong!r} passed"
    assert re.search(reason, failed.why), f"{challenge_id}: {failed.why!r}"
    passed = challenge(challenge_id, right)
    assert passed.passed, f"{challenge_id}: {right!r} failed: {passed.why}"
    assert str(passed).startswith("✓") and "✓" in passed._repr_html_()


def _notebook_ids() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                found.setdefault(path.name, []).extend(CALL.findall(cell.source))
    return found


# -- the notebooks and the package agree ----------------------------------------------------------


def test_every_challenge_in_the_notebooks_exists_and_vice_versa() -> None:
    used = [cid for ids in _notebook_ids().values() for cid in ids]
    assert sorted(used) == sorted(set(used)), "a challenge is called twice"
    assert set(used) == set(challenges())
    for name, ids in _notebook_ids().items():
        assert all(cid.startswith(name[:2] + ".") for cid in ids), name


def test_each_challenge_has_a_heading_an_untouched_answer_and_a_hidden_solution() -> None:
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            ids = CALL.findall(cell.source) if cell.cell_type == "code" else []
            if not ids:
                continue
            assert re.search(r"^answer = None  # ✏️", cell.source, re.MULTILINE), cell.id
            assert len(cell.source.splitlines()) <= 15, cell.id
            assert HEADING.findall(cells[i - 1].source) == ids, f"{path.name} {cell.id}"
            solution = cells[i + 1].source
            assert "<details><summary>Solution</summary>" in solution and "</details>" in solution


def test_every_chapter_with_challenges_has_at_least_three() -> None:
    per_chapter: dict[str, int] = {}
    for cid in challenges():
        per_chapter[cid[:2]] = per_chapter.get(cid[:2], 0) + 1
    assert all(n >= 3 for n in per_chapter.values()), per_chapter


def test_every_challenge_is_tested() -> None:
    assert sorted(cid for ids in TESTED.values() for cid in ids) == sorted(challenges())


def test_an_unknown_id_raises_and_lists_the_known_ones() -> None:
    with pytest.raises(UnknownChallenge, match=r"no challenge '99\.9'.*04\.1"):
        challenge("99.9", 1)


def test_the_result_renders_one_line() -> None:
    result = Result("04.1", "Count", False, "3 is too few", "describe them")
    assert str(result) == "✗ Challenge 04.1 · Count: 3 is too few · hint: describe them"
    assert "<em>Hint: describe them</em>" in result._repr_html_()


def test_flovtrain_exports_challenge_lazily() -> None:
    assert flovtrain.challenge is challenge


# -- each chapter: fails untouched, fails a wrong answer with its reason, passes the solution


def test_chapter_00(session: boto3.Session) -> None:
    identity = session.client("sts").get_caller_identity()
    judge("00.1", identity["Account"], identity["Arn"], "ARN")
    judge("00.1", identity["Account"], "210987654321", "not the account")
    judge("00.2", session.region_name, "us-east-1", "billing")
    users = len(session.client("iam").list_users()["Users"])
    judge("00.3", users, users + 2, "fewer IAM users")
    session.client("iam").create_user(UserName="imre")
    assert not challenge("00.3", users).passed  # the state decides, not a constant
    assert challenge("00.3", str(users + 1)).passed


def test_chapter_01(session: boto3.Session) -> None:
    iam = session.client("iam")
    assert "no alias" in challenge("01.1", "https://x.signin.aws.amazon.com/console").why
    iam.create_account_alias(AccountAlias="flovtrain")
    alias = iam.list_account_aliases()["AccountAliases"][0]
    account = session.client("sts").get_caller_identity()["Account"]
    judge(
        "01.1",
        f"https://{alias}.signin.aws.amazon.com/console",
        f"https://{account}.signin.aws.amazon.com/console",
        "account id",
    )
    zones = session.client("ec2").describe_availability_zones()["AvailabilityZones"]
    judge("01.2", [z["ZoneName"] for z in zones], [z["ZoneId"] for z in zones], "zone IDs")
    assert "missing" in challenge("01.2", [zones[0]["ZoneName"]]).why
    services = ["cloud9", "codecommit", "codepipeline", "athena"]
    absent = [s for s in services if "eu-central-2" not in session.get_available_regions(s)]
    judge("01.3", absent, [*absent, "athena"], "athena has an endpoint")
    assert "missing" in challenge("01.3", absent[:1]).why


def test_chapter_02(session: boto3.Session) -> None:
    iam = session.client("iam")
    assert "NoSuchEntity" in challenge("02.1", "system-admins").why  # AWS's own error
    for user in ("imre", "john"):
        iam.create_user(UserName=user)
    assert "no group" in challenge("02.1", "system-admins").why
    for group in ("system-admins", "readers"):  # readers: a group without a policy
        iam.create_group(GroupName=group)
        iam.add_user_to_group(GroupName=group, UserName="imre")
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.attach_group_policy(GroupName="system-admins", PolicyArn=admin)
    granting = [
        g["GroupName"]
        for g in iam.list_groups_for_user(UserName="imre")["Groups"]
        if iam.list_attached_group_policies(GroupName=g["GroupName"])["AttachedPolicies"]
    ]
    assert granting == ["system-admins"]
    judge("02.1", granting[0], admin, "the policy")
    assert "no policy is attached" in challenge("02.1", "readers").why
    assert "NoSuchEntity" in challenge("02.2", 14).why  # no policy yet: AWS's own error
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True)
    minimum = iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"]
    judge("02.2", minimum, 20, "so are shorter")
    assert "minimum is higher" in challenge("02.2", minimum - 1).why
    john = iam.get_user(UserName="john")["User"]["Arn"]

    def decision() -> str:
        found = iam.simulate_principal_policy(PolicySourceArn=john, ActionNames=["s3:CreateBucket"])
        return found["EvaluationResults"][0]["EvalDecision"]

    denied = decision()
    assert denied == "implicitDeny"  # no group yet: the state decides, not a constant
    judge("02.3", denied, "allowed", "does not answer allowed")
    iam.add_user_to_group(GroupName="system-admins", UserName="john")
    allowed = decision()
    judge("02.3", allowed, "implicitDeny", "no policy allows it")
    assert "case-sensitive" in challenge("02.3", allowed.upper()).why
    assert "not an EvalDecision" in challenge("02.3", "yes").why


def _billing_alarm(cloudwatch, topic: str, threshold: float) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName="billing-over-10-usd",
        Namespace="AWS/Billing",
        MetricName="EstimatedCharges",
        Dimensions=[{"Name": "Currency", "Value": "USD"}],
        Statistic="Maximum",
        Period=21600,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
    )


def test_chapter_03(session: boto3.Session) -> None:
    assert "no alarm" in challenge("03.1", "arn:aws:sns:us-east-1:123456789012:x").why
    sns = session.client("sns", region_name="us-east-1")
    cloudwatch = session.client("cloudwatch", region_name="us-east-1")
    topic = sns.create_topic(Name="billing-alerts")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="you@example.com")
    _billing_alarm(cloudwatch, topic, 10.0)
    actions = cloudwatch.describe_alarms(AlarmNames=["billing-over-10-usd"])["MetricAlarms"][0]
    judge("03.1", actions["AlarmActions"][0], subscription["SubscriptionArn"], "subscription ARN")
    assert "not in us-east-1" in challenge("03.1", topic.replace("us-east-1", "eu-west-1")).why
    billing.simulate_charges(4.20)
    billing.simulate_charges(12.50)
    for _ in range(50):  # the sandbox evaluates the alarm as the data point arrives
        alarm = cloudwatch.describe_alarms(AlarmNames=["billing-over-10-usd"])["MetricAlarms"][0]
        if alarm["StateValue"] == "ALARM":
            break
    items = cloudwatch.describe_alarm_history(AlarmName="billing-over-10-usd")["AlarmHistoryItems"]
    changes = sum(i["HistoryItemType"] == "StateUpdate" for i in items)
    assert changes >= 2 and len(items) > changes
    judge("03.2", changes, len(items), "every history item")
    assert "still 10" in challenge("03.3", 10).why
    _billing_alarm(cloudwatch, topic, 15.0)  # the solution: raise it
    threshold = cloudwatch.describe_alarms(AlarmNames=["billing-over-10-usd"])["MetricAlarms"][0]
    judge("03.3", threshold["Threshold"], 20, "not what describe_alarms reports")


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.strip()


def _push(clone: Path, path: str, old: str, new: str, p: project.Project) -> dict:
    file = clone / path
    file.write_text(file.read_text().replace(old, new))
    before = project.executions(p.pipeline_name)[0]["pipelineExecutionId"]
    _git("commit", "-q", "-a", "-m", f"change {path}", cwd=clone)
    _git("push", "-q", "origin", "main", cwd=clone)
    return project.wait_for_pipeline(p.pipeline_name, newer_than=before, timeout=120)


def _chapter_04(session: boto3.Session, p: project.Project) -> None:
    cfn = session.client("cloudformation")
    resources = cfn.describe_stack_resources(StackName=p.stack_name)["StackResources"]
    roles = sum(r["ResourceType"] == "AWS::IAM::Role" for r in resources)
    judge("04.1", len(resources), roles, "AWS::IAM::Role")
    events = cfn.describe_stack_events(StackName=p.stack_name)["StackEvents"]
    assert "stack events" in challenge("04.1", len(events)).why
    judge("04.2", "SshCidr", "InstanceType", "port 22")
    assert "not a parameter" in challenge("04.2", "SshIp").why
    runs = session.client("codepipeline").list_pipeline_executions(pipelineName=p.pipeline_name)
    first = runs["pipelineExecutionSummaries"][-1]["trigger"]
    judge("04.3", first["triggerType"], first["triggerDetail"], "detail")


def _chapter_05(session: boto3.Session, p: project.Project, work: Path) -> None:
    clone = work / "clone05"
    _git("clone", "-q", p.clone_url, str(clone), cwd=work)
    _git("config", "user.name", "Tester", cwd=clone)
    _git("config", "user.email", "tester@example.com", cwd=clone)
    assert "BranchDoesNotExist" in challenge("05.1", "0" * 40).why  # AWS's own error
    _git("switch", "-q", "-c", "feature/readme", cwd=clone)
    (clone / "README.md").write_text("# Team\n")
    _git("commit", "-q", "-a", "-m", "README", cwd=clone)
    _git("push", "-q", "origin", "feature/readme", cwd=clone)
    cc = session.client("codecommit")
    branch = cc.get_branch(repositoryName=p.repository_name, branchName="feature/readme")
    main = cc.get_branch(repositoryName=p.repository_name, branchName="main")
    tip, main_tip = branch["branch"]["commitId"], main["branch"]["commitId"]
    assert tip == _git("rev-parse", "HEAD", cwd=clone) != main_tip
    judge("05.1", tip, main_tip, "main's newest commit")
    assert challenge("05.1", tip[:7].upper()).passed
    assert "too short" in challenge("05.1", tip[:4]).why
    codebuild = session.client("codebuild")
    env = codebuild.batch_get_projects(names=[p.build_project])["projects"][0]["environment"]
    judge("05.2", env["image"], env["computeType"], "compute type")
    assert "with its tag" in challenge("05.2", env["image"].split(":")[0]).why
    cd = session.client("codedeploy")
    ids = cd.list_deployments(
        applicationName=p.application_name, deploymentGroupName=p.deployment_group
    )["deployments"]
    found = cd.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
    first = min(found, key=lambda d: d["createTime"])["deploymentId"]
    instances = cd.list_deployment_instances(deploymentId=first)["instancesList"]
    events = [
        e
        for i in instances
        for e in cd.get_deployment_instance(deploymentId=first, instanceId=i)["instanceSummary"][
            "lifecycleEvents"
        ]
    ]
    appspec = cc.get_file(repositoryName=p.repository_name, filePath="appspec.yml")["fileContent"]
    hooks = __import__("yaml").safe_load(appspec)["hooks"]
    assert 0 < len(hooks) < len(events), events
    judge("05.3", len(events), len(hooks), "DownloadBundle")
    assert "fewer events" in challenge("05.3", len(events) + 5).why


def _chapter_06(session: boto3.Session, p: project.Project, work: Path) -> None:
    clone = work / "clone"
    _git("clone", "-q", p.clone_url, str(clone), cwd=work)
    _git("config", "user.name", "Tester", cwd=clone)
    _git("config", "user.email", "tester@example.com", cwd=clone)
    assert "only the generated initial commit" in challenge("06.1", "Tester").why
    first = challenge("06.2", _git("rev-parse", "HEAD", cwd=clone))
    assert first.passed, first.why  # before any push: the seed commit was built
    seed = _git("rev-parse", "HEAD", cwd=clone)
    index = "webapp/templates/index.html"
    page = "<p>You just created a web application, deployed by your own pipeline.</p>"
    assert _push(clone, index, page, "<p>Hello</p>", p)["status"] == "Succeeded"
    cc = session.client("codecommit")
    tip = cc.get_branch(repositoryName=p.repository_name, branchName="main")["branch"]["commitId"]
    author = cc.get_commit(repositoryName=p.repository_name, commitId=tip)["commit"]["author"]
    judge("06.1", author["name"], "flovtrain", "initial commit")
    newest = project.executions(p.pipeline_name)[0]
    built = newest["sourceRevisions"][0]["revisionId"]
    assert built == _git("rev-parse", "HEAD", cwd=clone)
    judge("06.2", built, seed, "earlier execution")
    assert challenge("06.2", built[:7]).passed
    assert "no build" in challenge("06.3", "BUILD").why
    headline = "<h1>Congratulations!</h1>"
    assert _push(clone, index, headline, "<h1>Welcome</h1>", p)["status"] == "Failed"
    codebuild = session.client("codebuild")
    build_id = codebuild.list_builds_for_project(projectName=p.build_project)["ids"][0]
    phases = codebuild.batch_get_builds(ids=[build_id])["builds"][0]["phases"]
    failed = [ph["phaseType"] for ph in phases if ph.get("phaseStatus") == "FAILED"]
    assert len(failed) == 1
    judge("06.3", failed[0], "FAILED", "status")


def _chapter_10(session: boto3.Session, p: project.Project) -> None:
    ec2 = session.client("ec2")
    reservations = ec2.describe_instances(
        Filters=[
            {"Name": "instance-state-name", "Values": ["running"]},
            {"Name": "tag-key", "Values": ["flovtrain:workshop"]},
        ]
    )["Reservations"]
    ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    assert len(ids) == 1
    judge("10.1", ids[0], f"{p.project_id}-WebApp", "Name tag")
    keep = ["account alias", "password policy", "billing-alerts"]
    todo = cleanup.plan(regions=["eu-west-1", "us-east-1"], keep=keep)
    kept = sorted(set(todo[todo.keep].kind))
    assert len(kept) >= 4, kept
    billable = todo[todo.billable].kind.iloc[0]
    judge("10.2", kept, [*kept, billable], "costs money")
    assert "still exists" in challenge("10.3", "DELETE_COMPLETE").why
    cleanup.run(todo, dry_run=False)
    assert "no workshop instance" in challenge("10.1", ids[0]).why
    stacks = session.client("cloudformation").list_stacks()["StackSummaries"]
    status = next(s["StackStatus"] for s in stacks if s["StackName"] == p.stack_name)
    judge("10.3", status, "does not exist", "list_stacks still lists it")


def test_chapters_04_05_06_10_on_one_project(
    session: boto3.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # credentials/ of the saved key go here
    assert "does not exist" in challenge("04.1", 14).why  # no stack yet: AWS's own error
    p = project.create_project(save_key=False)
    _chapter_04(session, p)
    _chapter_05(session, p, tmp_path)
    _chapter_06(session, p, tmp_path)
    # what chapter 10 keeps: chapter 01's alias, 02's password policy, 03's billing alarm
    iam = session.client("iam")
    iam.create_account_alias(AccountAlias="flovtrain")
    iam.update_account_password_policy(MinimumPasswordLength=14)
    sns = session.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="billing-alerts")["TopicArn"]
    _billing_alarm(session.client("cloudwatch", region_name="us-east-1"), topic, 10.0)
    _chapter_10(session, p)


def test_chapter_08(session: boto3.Session) -> None:
    from flovtrain import athena

    account = session.client("sts").get_caller_identity()["Account"]
    bucket, results = f"flovtec-marketdata-{account}", f"s3://flovtec-marketdata-{account}/r/"
    assert "NoSuchBucket" in challenge("08.1", "BTCUSDT").why  # AWS's own words
    session.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert "no market data" in challenge("08.1", "BTCUSDT").why
    marketdata.upload(bucket, days=30, progress=False)
    frames = []
    for symbol, _day, raw in marketdata.iter_klines(["BTCUSDT", "ETHUSDT", "SOLUSDT"], days=7):
        frames.append(marketdata.parse_csv(raw).assign(symbol=symbol))
    trades = (
        __import__("pandas").concat(frames).groupby("symbol").number_of_trades.sum().sort_values()
    )
    judge("08.1", trades.index[-1].lower(), trades.index[0], "fewer trades")
    assert "not a symbol" in challenge("08.1", "DOGEUSDT").why

    def q(sql: str, workgroup: str = "primary"):
        return athena.query(
            sql, database="marketdata", workgroup=workgroup, output_location=results
        )

    athena.query("CREATE DATABASE IF NOT EXISTS marketdata", output_location=results)
    q(marketdata.table_ddl("marketdata", bucket))
    q("MSCK REPAIR TABLE klines")
    one_date = q("""SELECT count(*) AS n FROM klines WHERE "date" = '2025-01-02'""")
    everything = q("SELECT count(*) AS n FROM klines")
    judge("08.2", one_date.attrs["bytes_scanned"], everything.attrs["bytes_scanned"], "whole table")
    assert "bills at least" in challenge("08.2", 10 * 2**20).why
    client = session.client("athena")
    client.create_work_group(
        Name="capped",
        Configuration={
            "ResultConfiguration": {"OutputLocation": results},
            "BytesScannedCutoffPerQuery": 10_000_000,
        },
    )
    assert "no query" in challenge("08.3", "FAILED").why
    started = client.start_query_execution(
        QueryString="SELECT count(*) FROM klines",
        QueryExecutionContext={"Database": "marketdata"},
        WorkGroup="capped",
    )["QueryExecutionId"]
    for _ in range(100):
        status = client.get_query_execution(QueryExecutionId=started)["QueryExecution"]["Status"]
        if status["State"] not in ("QUEUED", "RUNNING"):
            break
        __import__("time").sleep(0.2)
    assert status["State"] != "SUCCEEDED", status
    judge("08.3", status["State"], "SUCCEEDED", "did not succeed")


def test_chapter_09(session: boto3.Session) -> None:
    sns, sqs = session.client("sns"), session.client("sqs")
    topic = sns.create_topic(Name="flovtrain-orders")["TopicArn"]
    arns, urls = [], []
    for name in ("flovtrain-orders-billing", "flovtrain-orders-shipping"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
        arns.append(arn["QueueArn"])
        urls.append(url)
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    judge("09.1", [s["Endpoint"] for s in subs], urls, "queue URLs")
    assert "missing" in challenge("09.1", arns[:1]).why
    account = session.client("sts").get_caller_identity()["Account"]
    bucket = f"flovtrain-firehose-{account}-eu-west-1"
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    rule = {"ID": "archive-clicks", "Status": "Enabled", "Filter": {"Prefix": "clicks/"}}
    transitions = [
        {"Days": 30, "StorageClass": "GLACIER"},
        {"Days": 180, "StorageClass": "DEEP_ARCHIVE"},
    ]
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [{**rule, "Transitions": transitions, "Expiration": {"Days": 730}}]
        },
    )
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    judge("09.2", rules[0]["Expiration"]["Days"], 180, "DEEP_ARCHIVE")
    ssm = session.client("ssm")
    assert "no SecureString" in challenge("09.3", "/flovtrain/shop/db-password").why
    ssm.put_parameter(Name="/flovtrain/shop/db-host", Value="db.internal", Type="String")
    ssm.put_parameter(Name="/flovtrain/shop/db-password", Value="s3cret-Pw", Type="SecureString")
    found = ssm.get_parameters_by_path(Path="/flovtrain/shop/")["Parameters"]
    secure = [p["Name"] for p in found if p["Type"] == "SecureString"]
    judge("09.3", secure, "/flovtrain/shop/db-host", "is a String")


def test_a_wrong_kind_of_answer_is_a_reason_not_an_exception(session: boto3.Session) -> None:
    result = challenge("00.3", object())
    assert not result.passed and "not a number" in result.why
    assert json.dumps(str(result))  # one printable line


def _approval(name: str) -> dict:
    return {
        "name": name,
        "actionTypeId": {
            "category": "Approval",
            "owner": "AWS",
            "provider": "Manual",
            "version": "1",
        },
        "runOrder": 1,
    }


def _waiting(cp, stage: str) -> str:
    """The token of the approval waiting in ``stage`` (polls until it waits)."""
    for _ in range(100):
        for state in cp.get_pipeline_state(name=flovtec.PIPELINE)["stageStates"]:
            latest = state["actionStates"][0].get("latestExecution") or {}
            if state["stageName"] == stage and latest.get("token"):
                return latest["token"]
        __import__("time").sleep(0.2)
    raise AssertionError(f"no approval waits in {stage}")


def test_chapter_07(session: boto3.Session) -> None:
    dev = session.client("sts").get_caller_identity()["Account"]
    prod = flovtec.assume_role(flovtec.prod_role_arn(), region="us-east-1", session=session)
    staging = flovtec.staging_bucket_name()
    assert "NoSuchBucket" in challenge("07.1", "s3:PutObject").why  # AWS's own error
    s3p = prod.client("s3")
    s3p.create_bucket(Bucket=staging)
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{dev}:root"},
            "Action": ["s3:PutObject"],
            "Resource": f"arn:aws:s3:::{staging}/releases/*",
        },
        {  # another principal's grant is not the DEV/UAT account's
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": ["s3:GetObject"],
            "Resource": f"arn:aws:s3:::{staging}/*",
        },
    ]
    s3p.put_bucket_policy(
        Bucket=staging, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements})
    )
    policy = json.loads(s3p.get_bucket_policy(Bucket=staging)["Policy"])
    allowed = [a for s in policy["Statement"] if dev in str(s["Principal"]) for a in s["Action"]]
    judge("07.1", allowed, "s3:GetObject", "denied")
    assert "does not allow s3:DeleteObject" in challenge("07.1", [*allowed, "s3:DeleteObject"]).why
    assert challenge("07.1", allowed[0].lower()).passed  # action names ignore case, as IAM does

    # the DEV/UAT pipeline, reduced to its source and its two approvals
    iam, s3 = session.client("iam"), session.client("s3")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="flovtec-toolchain", AssumeRolePolicyDocument=json.dumps(trust))
    artifacts = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}
    iam.put_role_policy(  # CodePipeline reads the source and writes artifacts as this role
        RoleName="flovtec-toolchain",
        PolicyName="artifacts",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [artifacts]}),
    )
    where = {"CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}
    source, artifacts = f"flovtec-source-{dev}", f"flovtec-artifacts-{dev}-eu-west-1"
    for bucket in (source, artifacts):
        s3.create_bucket(Bucket=bucket, **where)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=source, Key="source/app.zip", Body=flovtec.app_zip())
    source_action = {
        "name": "Source",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {
            "S3Bucket": source,
            "S3ObjectKey": "source/app.zip",
            "PollForSourceChanges": "false",
        },
        "outputArtifacts": [{"name": "SourceOutput"}],
        "runOrder": 1,
    }
    stages = [
        {"name": "Source", "actions": [source_action]},
        {"name": "UAT", "actions": [_approval("ApproveUAT")]},
        {"name": "PROD", "actions": [_approval("ApprovePROD")]},
    ]
    cp = session.client("codepipeline")
    cp.create_pipeline(
        pipeline={
            "name": flovtec.PIPELINE,
            "roleArn": role["Role"]["Arn"],
            "artifactStore": {"type": "S3", "location": artifacts},
            "stages": stages,
        }
    )

    def approve(stage: str, summary: str) -> None:
        cp.put_approval_result(
            pipelineName=flovtec.PIPELINE,
            stageName=stage,
            actionName=f"Approve{stage}",
            token=_waiting(cp, stage),
            result={"status": "Approved", "summary": summary},
        )

    approve("UAT", "DEV looks good")
    _waiting(cp, "PROD")
    assert "nobody has approved" in challenge("07.2", "UAT signed off").why
    approve("PROD", "UAT signed off")
    assert flovtec.wait_for_pipeline(flovtec.PIPELINE, timeout=30, session=session) == "Succeeded"
    state = cp.get_pipeline_state(name=flovtec.PIPELINE)["stageStates"]
    prod_stage = next(s for s in state if s["stageName"] == "PROD")
    summary = prod_stage["actionStates"][0]["latestExecution"]["summary"]
    judge("07.2", summary, "DEV looks good", "UAT approval")

    # the front door: an ALB in PROD and the alias app.<domain> -> it
    assert "no hosted zone" in challenge("07.3", "x.elb.amazonaws.com").why
    ec2, elb = prod.client("ec2"), prod.client("elbv2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    subnet_ids = sorted(s["SubnetId"] for s in subnets["Subnets"])[:2]
    albs = [
        elb.create_load_balancer(Name=name, Subnets=subnet_ids)["LoadBalancers"][0]
        for name in ("flovtec-prod-alb", "flovtec-other-alb")
    ]
    r53 = prod.client("route53")
    zone = r53.create_hosted_zone(Name="flovtec.example", CallerReference="t")["HostedZone"]
    alias = {
        "HostedZoneId": albs[0]["CanonicalHostedZoneId"],
        "DNSName": albs[0]["DNSName"],
        "EvaluateTargetHealth": True,
    }
    record = {"Name": "app.flovtec.example", "Type": "A", "AliasTarget": alias}
    r53.change_resource_record_sets(
        HostedZoneId=zone["Id"],
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]},
    )
    records = r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    target = next(r["AliasTarget"]["DNSName"] for r in records if r["Name"].startswith("app."))
    judge("07.3", target, albs[1]["DNSName"], "does not point at it")
    assert "record's name" in challenge("07.3", "app.flovtec.example.").why
    assert "not an address" in challenge("07.3", "192.0.2.10").why
    assert challenge("07.3", "dualstack." + albs[0]["DNSName"].upper()).passed
