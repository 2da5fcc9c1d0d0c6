"""The developer tools as tables, in one place: the toolchain tour's console pages.

One module per service holds the views; this one gathers them under the name the chapters use
(``from flovtrain.views import devtools``):

- :mod:`~flovtrain.views.codecommit` — repositories, branches, history, files, differences,
  pull requests;
- :mod:`~flovtrain.views.codebuild` — builds, their phases and logs;
- :mod:`~flovtrain.views.codedeploy` — deployments, groups, revisions, instances, lifecycle
  events;
- :mod:`~flovtrain.views.codepipeline` — executions, the pipeline's state, action runs;
- :mod:`~flovtrain.views.cloudformation` — stack resources and events;
- :mod:`~flovtrain.views.ec2` — the workbook's instances.

Every ``<things>(...)`` returns fixed columns (an empty result keeps them), newest first where
there is a time; every ``iter_<things>(...)`` yields boto3's raw dicts.

Examples
--------
>>> from flovtrain.views import devtools
>>> devtools.commits("flovtrain-webapp")                    # doctest: +SKIP
>>> devtools.pipeline_state("flovtrain-webapp-pipeline")    # doctest: +SKIP
"""

from __future__ import annotations

from flovtrain.views.cloudformation import (
    RESOURCE_COLUMNS,
    STACK_EVENT_COLUMNS,
    iter_stack_events,
    iter_stack_resources,
    stack_events,
    stack_resources,
)
from flovtrain.views.codebuild import (
    BUILD_COLUMNS,
    PHASE_COLUMNS,
    build_log,
    build_phases,
    builds,
    iter_builds,
)
from flovtrain.views.codecommit import (
    BRANCH_COLUMNS,
    COMMIT_COLUMNS,
    DIFFERENCE_COLUMNS,
    FILE_COLUMNS,
    PULL_REQUEST_COLUMNS,
    REPOSITORY_COLUMNS,
    branches,
    commits,
    differences,
    files,
    iter_branches,
    iter_commits,
    iter_pull_requests,
    iter_repositories,
    pull_requests,
    read_file,
    repositories,
)
from flovtrain.views.codedeploy import (
    DEPLOYMENT_COLUMNS,
    EVENT_COLUMNS,
    GROUP_COLUMNS,
    INSTANCE_COLUMNS,
    REVISION_COLUMNS,
    deployment_groups,
    deployment_instances,
    deployments,
    iter_deployment_instances,
    iter_deployments,
    lifecycle_events,
    revisions,
)
from flovtrain.views.codepipeline import (
    ACTION_EXECUTION_COLUMNS,
    EXECUTION_COLUMNS,
    STATE_COLUMNS,
    action_executions,
    iter_action_executions,
    iter_action_states,
    iter_pipeline_executions,
    pipeline_executions,
    pipeline_state,
)
from flovtrain.views.ec2 import EC2_COLUMNS, instances, iter_instances

__all__ = [
    # CodeCommit
    "REPOSITORY_COLUMNS",
    "BRANCH_COLUMNS",
    "COMMIT_COLUMNS",
    "FILE_COLUMNS",
    "DIFFERENCE_COLUMNS",
    "PULL_REQUEST_COLUMNS",
    "iter_repositories",
    "repositories",
    "iter_branches",
    "branches",
    "iter_commits",
    "commits",
    "files",
    "read_file",
    "differences",
    "iter_pull_requests",
    "pull_requests",
    # CodeBuild
    "BUILD_COLUMNS",
    "PHASE_COLUMNS",
    "iter_builds",
    "builds",
    "build_phases",
    "build_log",
    # CodeDeploy
    "DEPLOYMENT_COLUMNS",
    "GROUP_COLUMNS",
    "REVISION_COLUMNS",
    "INSTANCE_COLUMNS",
    "EVENT_COLUMNS",
    "iter_deployments",
    "deployments",
    "deployment_groups",
    "revisions",
    "iter_deployment_instances",
    "deployment_instances",
    "lifecycle_events",
    # CodePipeline
    "EXECUTION_COLUMNS",
    "STATE_COLUMNS",
    "ACTION_EXECUTION_COLUMNS",
    "iter_pipeline_executions",
    "pipeline_executions",
    "iter_action_states",
    "pipeline_state",
    "iter_action_executions",
    "action_executions",
    # CloudFormation and EC2
    "RESOURCE_COLUMNS",
    "STACK_EVENT_COLUMNS",
    "iter_stack_resources",
    "stack_resources",
    "iter_stack_events",
    "stack_events",
    "EC2_COLUMNS",
    "iter_instances",
    "instances",
]
