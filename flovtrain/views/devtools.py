"""The developer tools as tables: CodeCommit, CodeBuild, CodeDeploy, CodePipeline, CloudFormation.

What the console pages of the talk's toolchain tour show, one DataFrame per page: repositories,
branches, history, files, differences, pull requests; builds and their phases; deployments, their
instances and lifecycle events; pipeline executions and the pipeline's current state; stack
resources and events. Every ``<things>(...)`` returns fixed columns (an empty result keeps them),
newest first where there is a time; every ``iter_<things>(...)`` yields boto3's raw dicts.

Examples
--------
>>> from flovtrain.views import devtools
>>> devtools.commits("flovtrain-webapp")                    # doctest: +SKIP
>>> devtools.pipeline_state("flovtrain-webapp-pipeline")    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd

from flovtrain.session import get_session
from flovtrain.views._frames import frame, paginate, to_utc_column

REPOSITORY_COLUMNS = ["name", "default_branch", "clone_url_http", "description", "last_modified"]
BRANCH_COLUMNS = ["branch", "commit_id", "default"]
COMMIT_COLUMNS = ["commit_id", "short_id", "message", "author", "date", "parents"]
FILE_COLUMNS = ["path", "kind", "mode", "blob_id"]
DIFFERENCE_COLUMNS = ["change", "path", "before_blob", "after_blob"]
PULL_REQUEST_COLUMNS = ["id", "title", "status", "source", "destination", "merged", "created"]
BUILD_COLUMNS = ["build_id", "number", "status", "current_phase", "source_version", "started",
                 "ended", "duration_s", "artifact"]
PHASE_COLUMNS = ["phase", "status", "duration_s", "message"]
DEPLOYMENT_COLUMNS = ["deployment_id", "group", "status", "creator", "revision", "created",
                      "completed", "error"]
GROUP_COLUMNS = ["group", "application", "deployment_config", "tag_filters", "last_status"]
REVISION_COLUMNS = ["bucket", "key", "bundle", "registered", "first_used", "last_used"]
INSTANCE_COLUMNS = ["deployment_id", "instance_id", "status", "last_updated"]
EVENT_COLUMNS = ["instance_id", "event", "status", "started", "ended", "script", "output"]
EXECUTION_COLUMNS = ["execution_id", "status", "trigger", "source_commit", "source_message",
                     "started", "updated"]
STATE_COLUMNS = ["stage", "action", "status", "summary", "execution_id", "last_change", "error"]
ACTION_EXECUTION_COLUMNS = ["execution_id", "stage", "action", "status", "started", "ended",
                            "external_id", "summary"]
RESOURCE_COLUMNS = ["logical_id", "type", "physical_id", "status"]
STACK_EVENT_COLUMNS = ["time", "logical_id", "type", "status", "reason"]
EC2_COLUMNS = ["instance_id", "name", "state", "type", "public_ip", "key_name"]


def _client(service: str, session: boto3.Session | None, region: str | None) -> Any:
    return get_session(session, region).client(service, region_name=region)


def _seconds(start: Any, end: Any) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 1)


def _newest_first(rows: list[dict[str, Any]], columns: list[str], by: str,
                  *times: str) -> pd.DataFrame:
    """A fixed-column frame sorted by ``by``, largest first, with ``times`` as UTC timestamps."""
    df = frame(rows, columns)
    if len(df):
        df = df.sort_values(by, ascending=False, kind="stable").reset_index(drop=True)
    return to_utc_column(df, *times)


# -- CodeCommit -----------------------------------------------------------------------------
def iter_repositories(session: boto3.Session | None = None, region: str | None = None
                      ) -> Iterator[dict[str, Any]]:
    """Yield ``repositoryMetadata`` of every repository."""
    cc = _client("codecommit", session, region)
    names = [r["repositoryName"] for r in paginate(cc, "list_repositories", "repositories")]
    for start in range(0, len(names), 25):
        yield from cc.batch_get_repositories(
            repositoryNames=names[start:start + 25])["repositories"]


def repositories(session: boto3.Session | None = None, region: str | None = None) -> pd.DataFrame:
    """Return the CodeCommit repositories with their clone URL and default branch.

    Examples
    --------
    >>> repositories()[["name", "default_branch"]]     # doctest: +SKIP
    """
    rows = [{"name": r["repositoryName"], "default_branch": r.get("defaultBranch"),
             "clone_url_http": r.get("cloneUrlHttp"), "description": r.get("repositoryDescription"),
             "last_modified": r.get("lastModifiedDate")}
            for r in iter_repositories(session, region)]
    return to_utc_column(frame(rows, REPOSITORY_COLUMNS, sort=["name"]), "last_modified")


def branches(repository: str, session: boto3.Session | None = None,
             region: str | None = None) -> pd.DataFrame:
    """Return the repository's branches and the commit each points to.

    Examples
    --------
    >>> branches("flovtrain-webapp")                  # doctest: +SKIP
    """
    cc = _client("codecommit", session, region)
    default = cc.get_repository(repositoryName=repository)["repositoryMetadata"].get(
        "defaultBranch")
    rows = []
    for name in paginate(cc, "list_branches", "branches", repositoryName=repository):
        branch = cc.get_branch(repositoryName=repository, branchName=name)["branch"]
        rows.append({"branch": name, "commit_id": branch.get("commitId"),
                     "default": name == default})
    return frame(rows, BRANCH_COLUMNS, sort=["branch"])


def iter_commits(repository: str, branch: str | None = None, limit: int = 20,
                 session: boto3.Session | None = None, region: str | None = None
                 ) -> Iterator[dict[str, Any]]:
    """Yield ``get_commit`` dicts from the tip of ``branch`` (default branch) back along first
    parents, at most ``limit``: the console's *Commits* page."""
    cc = _client("codecommit", session, region)
    if branch is None:
        branch = cc.get_repository(repositoryName=repository)["repositoryMetadata"].get(
            "defaultBranch") or "main"
    commit_id = cc.get_branch(repositoryName=repository, branchName=branch)["branch"]["commitId"]
    for _ in range(limit):
        commit = cc.get_commit(repositoryName=repository, commitId=commit_id)["commit"]
        commit.setdefault("commitId", commit_id)
        yield commit
        parents = commit.get("parents") or []
        if not parents:
            return
        commit_id = parents[0]


def commits(repository: str, branch: str | None = None, limit: int = 20,
            session: boto3.Session | None = None, region: str | None = None) -> pd.DataFrame:
    """Return the history of ``branch``, newest first (commit id, message, author, date).

    Examples
    --------
    >>> commits("flovtrain-webapp")[["short_id", "message", "author"]]   # doctest: +SKIP
    """
    rows = []
    for c in iter_commits(repository, branch, limit, session, region):
        author = c.get("author") or {}
        rows.append({"commit_id": c["commitId"], "short_id": c["commitId"][:7],
                     "message": ((c.get("message") or "").strip().splitlines() or [""])[0],
                     "author": author.get("name"), "date": _git_date(author.get("date")),
                     "parents": len(c.get("parents") or [])})
    return to_utc_column(frame(rows, COMMIT_COLUMNS), "date")


def _git_date(value: str | None) -> pd.Timestamp | None:
    """CodeCommit dates are git's ``<epoch seconds> <+hhmm>``."""
    if not value:
        return None
    return pd.Timestamp(int(value.split()[0]), unit="s", tz="UTC")


def files(repository: str, commit: str | None = None, folder: str = "/",
          session: boto3.Session | None = None, region: str | None = None) -> pd.DataFrame:
    """Return every file under ``folder`` at ``commit`` (default: the default branch's tip).

    Examples
    --------
    >>> files("flovtrain-webapp")[["path", "kind"]]     # doctest: +SKIP
    """
    cc = _client("codecommit", session, region)
    rows: list[dict[str, Any]] = []
    pending = [folder]
    while pending:
        path = pending.pop()
        kwargs = {"repositoryName": repository, "folderPath": path}
        if commit:
            kwargs["commitSpecifier"] = commit
        answer = cc.get_folder(**kwargs)
        for f in answer.get("files", []):
            rows.append({"path": f["absolutePath"], "kind": "file", "mode": f.get("fileMode"),
                         "blob_id": f.get("blobId")})
        for s in answer.get("symbolicLinks", []):
            rows.append({"path": s["absolutePath"], "kind": "symlink", "mode": s.get("fileMode"),
                         "blob_id": s.get("blobId")})
        pending.extend(sub["absolutePath"] for sub in answer.get("subFolders", []))
    return frame(rows, FILE_COLUMNS, sort=["path"])


def read_file(repository: str, path: str, commit: str | None = None,
              session: boto3.Session | None = None, region: str | None = None) -> str:
    """Return a file's text as CodeCommit's *Code* page shows it.

    Examples
    --------
    >>> print(read_file("flovtrain-webapp", "README.md"))   # doctest: +SKIP
    """
    cc = _client("codecommit", session, region)
    kwargs = {"repositoryName": repository, "filePath": path}
    if commit:
        kwargs["commitSpecifier"] = commit
    return cc.get_file(**kwargs)["fileContent"].decode("utf-8", "replace")


def differences(repository: str, before: str, after: str,
                session: boto3.Session | None = None, region: str | None = None) -> pd.DataFrame:
    """Return what changed between two commits or branches: the console's *Compare*.

    ``change`` is A (added), M (modified) or D (deleted).

    Examples
    --------
    >>> differences("flovtrain-webapp", "main~1", "main")     # doctest: +SKIP
    """
    cc = _client("codecommit", session, region)
    rows = []
    for d in paginate(cc, "get_differences", "differences", repositoryName=repository,
                      beforeCommitSpecifier=before, afterCommitSpecifier=after):
        b, a = d.get("beforeBlob") or {}, d.get("afterBlob") or {}
        rows.append({"change": d.get("changeType"), "path": a.get("path") or b.get("path"),
                     "before_blob": b.get("blobId"), "after_blob": a.get("blobId")})
    return frame(rows, DIFFERENCE_COLUMNS, sort=["path"])


def pull_requests(repository: str, status: str | None = None,
                  session: boto3.Session | None = None, region: str | None = None
                  ) -> pd.DataFrame:
    """Return the repository's pull requests (``status``: OPEN or CLOSED; default both).

    Examples
    --------
    >>> pull_requests("flovtrain-webapp")                  # doctest: +SKIP
    """
    cc = _client("codecommit", session, region)
    statuses = [status] if status else ["OPEN", "CLOSED"]
    rows = []
    for st in statuses:
        for pr_id in paginate(cc, "list_pull_requests", "pullRequestIds",
                              repositoryName=repository, pullRequestStatus=st):
            pr = cc.get_pull_request(pullRequestId=pr_id)["pullRequest"]
            target = (pr.get("pullRequestTargets") or [{}])[0]
            rows.append({"id": pr_id, "title": pr.get("title"),
                         "status": pr.get("pullRequestStatus"),
                         "source": (target.get("sourceReference") or "").replace("refs/heads/", ""),
                         "destination": (target.get("destinationReference") or "").replace(
                             "refs/heads/", ""),
                         "merged": bool((target.get("mergeMetadata") or {}).get("isMerged")),
                         "created": pr.get("creationDate")})
    df = frame(rows, PULL_REQUEST_COLUMNS)
    if len(df):
        df = df.assign(_n=pd.to_numeric(df["id"], errors="coerce")).sort_values("_n").drop(
            columns="_n").reset_index(drop=True)
    return to_utc_column(df, "created")


# -- CodeBuild ------------------------------------------------------------------------------
def iter_builds(project: str, session: boto3.Session | None = None, region: str | None = None
                ) -> Iterator[dict[str, Any]]:
    """Yield ``batch_get_builds`` dicts of the project's builds, newest first."""
    cb = _client("codebuild", session, region)
    ids = list(paginate(cb, "list_builds_for_project", "ids", projectName=project,
                        sortOrder="DESCENDING"))
    for start in range(0, len(ids), 100):
        yield from cb.batch_get_builds(ids=ids[start:start + 100])["builds"]


def builds(project: str, session: boto3.Session | None = None, region: str | None = None
           ) -> pd.DataFrame:
    """Return the build history of a CodeBuild project: the console's *Build history*.

    Examples
    --------
    >>> builds("flovtrain-webapp")[["number", "status", "current_phase"]]   # doctest: +SKIP
    """
    rows = []
    for b in iter_builds(project, session, region):
        rows.append({"build_id": b["id"], "number": b.get("buildNumber"),
                     "status": b.get("buildStatus"), "current_phase": b.get("currentPhase"),
                     "source_version": b.get("resolvedSourceVersion") or b.get("sourceVersion"),
                     "started": b.get("startTime"), "ended": b.get("endTime"),
                     "duration_s": _seconds(b.get("startTime"), b.get("endTime")),
                     "artifact": (b.get("artifacts") or {}).get("location")})
    return _newest_first(rows, BUILD_COLUMNS, "number", "started", "ended")


def build_phases(build_id: str, session: boto3.Session | None = None,
                 region: str | None = None) -> pd.DataFrame:
    """Return one build's phases in order, with status, duration and the failure message.

    Examples
    --------
    >>> build_phases(builds("flovtrain-webapp").build_id[0])   # doctest: +SKIP
    """
    cb = _client("codebuild", session, region)
    found = cb.batch_get_builds(ids=[build_id])["builds"]
    if not found:
        raise LookupError(f"no build {build_id}: see devtools.builds(<project>) for the ids")
    rows = []
    for p in found[0].get("phases", []):
        message = "; ".join(c.get("message", "") for c in p.get("contexts", []) if c.get("message"))
        rows.append({"phase": p.get("phaseType"), "status": p.get("phaseStatus"),
                     "duration_s": p.get("durationInSeconds"), "message": message})
    return frame(rows, PHASE_COLUMNS)


def build_log(build_id: str, session: boto3.Session | None = None,
              region: str | None = None) -> str:
    """Return a build's log from CloudWatch Logs (``/aws/codebuild/<project>``), as one text.

    Examples
    --------
    >>> print(build_log(builds("flovtrain-webapp").build_id[0]))   # doctest: +SKIP
    """
    session = get_session(session, region)
    cb = session.client("codebuild", region_name=region)
    found = cb.batch_get_builds(ids=[build_id])["builds"]
    if not found:
        raise LookupError(f"no build {build_id}: see devtools.builds(<project>) for the ids")
    logs = found[0].get("logs") or {}
    group, stream = logs.get("groupName"), logs.get("streamName")
    if not group or not stream:
        return ""
    cw = session.client("logs", region_name=region)
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    while True:
        page = cw.get_log_events(**kwargs)
        lines.extend(e["message"].rstrip("\n") for e in page.get("events", []))
        token = page.get("nextForwardToken")
        if not page.get("events") or token == kwargs.get("nextToken"):
            break
        kwargs["nextToken"] = token
    return "\n".join(lines)


# -- CodeDeploy -----------------------------------------------------------------------------
def iter_deployments(application: str, group: str | None = None,
                     session: boto3.Session | None = None, region: str | None = None
                     ) -> Iterator[dict[str, Any]]:
    """Yield ``batch_get_deployments`` dicts of the application's deployments."""
    cd = _client("codedeploy", session, region)
    # AWS wants a group whenever an application is named: ask group by group
    groups = [group] if group else list(paginate(cd, "list_deployment_groups", "deploymentGroups",
                                                 applicationName=application))
    ids = [i for g in groups for i in paginate(cd, "list_deployments", "deployments",
                                               applicationName=application,
                                               deploymentGroupName=g)]
    for start in range(0, len(ids), 25):
        yield from cd.batch_get_deployments(deploymentIds=ids[start:start + 25])["deploymentsInfo"]


def _revision(rev: dict[str, Any] | None) -> str | None:
    s3 = (rev or {}).get("s3Location") or {}
    return f"s3://{s3['bucket']}/{s3['key']}" if s3.get("bucket") else None


def deployments(application: str, group: str | None = None,
                session: boto3.Session | None = None, region: str | None = None) -> pd.DataFrame:
    """Return the deployment history, newest first: the console's *Deployments*.

    Examples
    --------
    >>> deployments("flovtrain-webapp")[["deployment_id", "status"]]   # doctest: +SKIP
    """
    rows = [{"deployment_id": d["deploymentId"], "group": d.get("deploymentGroupName"),
             "status": d.get("status"), "creator": d.get("creator"),
             "revision": _revision(d.get("revision")), "created": d.get("createTime"),
             "completed": d.get("completeTime"),
             "error": (d.get("errorInformation") or {}).get("message")}
            for d in iter_deployments(application, group, session, region)]
    return _newest_first(rows, DEPLOYMENT_COLUMNS, "created", "created", "completed")


def deployment_groups(application: str, session: boto3.Session | None = None,
                      region: str | None = None) -> pd.DataFrame:
    """Return the application's deployment groups, their tag filters and last status."""
    cd = _client("codedeploy", session, region)
    rows = []
    for name in paginate(cd, "list_deployment_groups", "deploymentGroups",
                         applicationName=application):
        g = cd.get_deployment_group(applicationName=application,
                                    deploymentGroupName=name)["deploymentGroupInfo"]
        filters = ", ".join(f"{f.get('Key')}={f.get('Value')}" for f in g.get("ec2TagFilters", []))
        last = (g.get("lastAttemptedDeployment") or {}).get("status")
        rows.append({"group": name, "application": application,
                     "deployment_config": g.get("deploymentConfigName"), "tag_filters": filters,
                     "last_status": last})
    return frame(rows, GROUP_COLUMNS, sort=["group"])


def revisions(application: str, session: boto3.Session | None = None,
              region: str | None = None) -> pd.DataFrame:
    """Return the application's registered revisions (the zips in S3), newest first."""
    cd = _client("codedeploy", session, region)
    found = list(paginate(cd, "list_application_revisions", "revisions",
                          applicationName=application))
    rows = []
    for start in range(0, len(found), 25):
        chunk = found[start:start + 25]
        info = cd.batch_get_application_revisions(applicationName=application,
                                                  revisions=chunk).get("revisions", [])
        for item in info:
            s3 = (item.get("revisionLocation") or {}).get("s3Location") or {}
            gi = item.get("genericRevisionInfo") or {}
            rows.append({"bucket": s3.get("bucket"), "key": s3.get("key"),
                         "bundle": s3.get("bundleType"), "registered": gi.get("registerTime"),
                         "first_used": gi.get("firstUsedTime"),
                         "last_used": gi.get("lastUsedTime")})
    return _newest_first(rows, REVISION_COLUMNS, "registered",
                         "registered", "first_used", "last_used")


def _instance_summaries(deployment_id: str, cd: Any) -> list[dict[str, Any]]:
    ids = list(paginate(cd, "list_deployment_instances", "instancesList",
                        deploymentId=deployment_id))
    return [cd.get_deployment_instance(deploymentId=deployment_id,
                                       instanceId=i)["instanceSummary"] for i in ids]


def deployment_instances(deployment_id: str, session: boto3.Session | None = None,
                         region: str | None = None) -> pd.DataFrame:
    """Return the instances a deployment ran on and their status."""
    cd = _client("codedeploy", session, region)
    rows = [{"deployment_id": deployment_id,
             "instance_id": (s.get("instanceId") or "").rsplit("/", 1)[-1],
             "status": s.get("status"), "last_updated": s.get("lastUpdatedAt")}
            for s in _instance_summaries(deployment_id, cd)]
    return to_utc_column(frame(rows, INSTANCE_COLUMNS, sort=["instance_id"]), "last_updated")


def lifecycle_events(deployment_id: str, session: boto3.Session | None = None,
                     region: str | None = None) -> pd.DataFrame:
    """Return every instance's lifecycle events (ApplicationStop ... ValidateService) in order,
    with the script that ran and the tail of its output."""
    cd = _client("codedeploy", session, region)
    rows = []
    for s in _instance_summaries(deployment_id, cd):
        instance = (s.get("instanceId") or "").rsplit("/", 1)[-1]
        for e in s.get("lifecycleEvents", []):
            diag = e.get("diagnostics") or {}
            rows.append({"instance_id": instance, "event": e.get("lifecycleEventName"),
                         "status": e.get("status"), "started": e.get("startTime"),
                         "ended": e.get("endTime"), "script": diag.get("scriptName"),
                         "output": (diag.get("logTail") or "").strip()})
    return to_utc_column(frame(rows, EVENT_COLUMNS), "started", "ended")


# -- CodePipeline ---------------------------------------------------------------------------
def iter_pipeline_executions(pipeline: str, session: boto3.Session | None = None,
                             region: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``list_pipeline_executions`` summaries (newest first, as AWS returns them)."""
    cp = _client("codepipeline", session, region)
    yield from paginate(cp, "list_pipeline_executions", "pipelineExecutionSummaries",
                        pipelineName=pipeline)


def pipeline_executions(pipeline: str, session: boto3.Session | None = None,
                        region: str | None = None) -> pd.DataFrame:
    """Return the pipeline's execution history, newest first: status, trigger and source commit.

    Examples
    --------
    >>> pipeline_executions("flovtrain-webapp-pipeline")[["status", "trigger"]]  # doctest: +SKIP
    """
    rows = []
    for e in iter_pipeline_executions(pipeline, session, region):
        source = (e.get("sourceRevisions") or [{}])[0]
        rows.append({"execution_id": e["pipelineExecutionId"], "status": e.get("status"),
                     "trigger": (e.get("trigger") or {}).get("triggerType"),
                     "source_commit": source.get("revisionId"),
                     "source_message": (source.get("revisionSummary") or "").strip(),
                     "started": e.get("startTime"), "updated": e.get("lastUpdateTime")})
    return _newest_first(rows, EXECUTION_COLUMNS, "started", "started", "updated")


def pipeline_state(pipeline: str, session: boto3.Session | None = None,
                   region: str | None = None) -> pd.DataFrame:
    """Return the pipeline's stages and actions with their latest status (the pipeline page).

    Examples
    --------
    >>> pipeline_state("flovtrain-webapp-pipeline")[["stage", "action", "status"]]  # doctest: +SKIP
    """
    cp = _client("codepipeline", session, region)
    state = cp.get_pipeline_state(name=pipeline)
    rows = []
    for stage in state.get("stageStates", []):
        latest = stage.get("latestExecution") or {}
        for action in stage.get("actionStates", []):
            run = action.get("latestExecution") or {}
            rows.append({"stage": stage["stageName"], "action": action["actionName"],
                         "status": run.get("status") or latest.get("status"),
                         "summary": (run.get("summary") or "").strip(),
                         "execution_id": latest.get("pipelineExecutionId"),
                         "last_change": run.get("lastStatusChange"),
                         "error": (run.get("errorDetails") or {}).get("message")})
    return to_utc_column(frame(rows, STATE_COLUMNS), "last_change")


def action_executions(pipeline: str, execution_id: str | None = None,
                      session: boto3.Session | None = None, region: str | None = None
                      ) -> pd.DataFrame:
    """Return the action runs of one execution (default: all), in the order they started."""
    cp = _client("codepipeline", session, region)
    kwargs: dict[str, Any] = {"pipelineName": pipeline}
    if execution_id:
        kwargs["filter"] = {"pipelineExecutionId": execution_id}
    rows = []
    for a in paginate(cp, "list_action_executions", "actionExecutionDetails", **kwargs):
        out = (a.get("output") or {}).get("executionResult") or {}
        rows.append({"execution_id": a.get("pipelineExecutionId"), "stage": a.get("stageName"),
                     "action": a.get("actionName"), "status": a.get("status"),
                     "started": a.get("startTime"), "ended": a.get("lastUpdateTime"),
                     "external_id": out.get("externalExecutionId"),
                     "summary": (out.get("externalExecutionSummary") or "").strip()})
    return to_utc_column(frame(rows, ACTION_EXECUTION_COLUMNS, sort=["started"]),
                         "started", "ended")


# -- CloudFormation and EC2 -----------------------------------------------------------------
def stack_resources(stack: str, session: boto3.Session | None = None,
                    region: str | None = None) -> pd.DataFrame:
    """Return what the stack created (CodeStar's *Project resources*), by logical id.

    Examples
    --------
    >>> stack_resources("flovtrain-webapp")[["logical_id", "type", "status"]]  # doctest: +SKIP
    """
    cfn = _client("cloudformation", session, region)
    rows = [{"logical_id": r["LogicalResourceId"], "type": r.get("ResourceType"),
             "physical_id": r.get("PhysicalResourceId"), "status": r.get("ResourceStatus")}
            for r in paginate(cfn, "list_stack_resources", "StackResourceSummaries",
                              StackName=stack)]
    return frame(rows, RESOURCE_COLUMNS, sort=["logical_id"])


def stack_events(stack: str, session: boto3.Session | None = None,
                 region: str | None = None) -> pd.DataFrame:
    """Return the stack's events, newest first (what happened while it was created)."""
    cfn = _client("cloudformation", session, region)
    rows = [{"time": e.get("Timestamp"), "logical_id": e.get("LogicalResourceId"),
             "type": e.get("ResourceType"), "status": e.get("ResourceStatus"),
             "reason": e.get("ResourceStatusReason")}
            for e in paginate(cfn, "describe_stack_events", "StackEvents", StackName=stack)]
    return to_utc_column(frame(rows, STACK_EVENT_COLUMNS), "time")


def instances(tag_key: str = "flovtrain:workshop", tag_value: str | None = None,
              session: boto3.Session | None = None, region: str | None = None) -> pd.DataFrame:
    """Return EC2 instances carrying tag ``tag_key`` (=``tag_value`` if given), not terminated."""
    ec2 = _client("ec2", session, region)
    filters = [{"Name": "instance-state-name",
                "Values": ["pending", "running", "stopping", "stopped"]}]
    filters.append({"Name": f"tag:{tag_key}", "Values": [tag_value]} if tag_value
                   else {"Name": "tag-key", "Values": [tag_key]})
    rows = []
    for reservation in paginate(ec2, "describe_instances", "Reservations", Filters=filters):
        for i in reservation.get("Instances", []):
            tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
            rows.append({"instance_id": i["InstanceId"], "name": tags.get("Name"),
                         "state": (i.get("State") or {}).get("Name"),
                         "type": i.get("InstanceType"), "public_ip": i.get("PublicIpAddress"),
                         "key_name": i.get("KeyName")})
    return frame(rows, EC2_COLUMNS, sort=["name", "instance_id"])
