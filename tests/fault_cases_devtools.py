"""Bad calls to the developer tools: CodeBuild, CodeDeploy, CodePipeline and CodeCommit.

Each :class:`fault_world.Case`: one bad call, AWS's error code and a regular expression for
its message.
"""

from __future__ import annotations

import re

from fault_world import (
    ACCOUNT,
    APPROVE,
    BUILD,
    BUILD_ROLE,
    KEEP,
    NO_APP,
    NO_GROUP,
    REGION,
    SOURCE,
    Case,
    action,
    approve,
    create_group,
    create_pipeline,
    enum_message,
    git_push_delete_default,
    git_with_credentials,
    pipeline,
)
from sandbox_fixtures import BUILD_ENVIRONMENT, create_build_project

DEVTOOLS_CASES: list[Case] = [
    # -- CodeBuild ------------------------------------------------------------------------------
    Case(
        "codebuild-project-twice",
        "codebuild",
        lambda w: create_build_project(w["codebuild"], KEEP, "version: 0.2", BUILD_ROLE),
        "ResourceAlreadyExistsException",
        re.escape(f"Project already exists: arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{KEEP}"),
    ),
    Case(
        "codebuild-start-missing",
        "codebuild",
        lambda w: w["codebuild"].start_build(projectName="fault-ghost"),
        "ResourceNotFoundException",
        re.escape(
            f"Project cannot be found: arn:aws:codebuild:{REGION}:{ACCOUNT}:project/fault-ghost"
        ),
    ),
    Case(
        "codebuild-bad-compute-type",
        "codebuild",
        lambda w: create_build_project(
            w["codebuild"],
            "fault-build",
            "version: 0.2",
            BUILD_ROLE,
            environment={**BUILD_ENVIRONMENT, "computeType": "HUGE"},
        ),
        "InvalidInputException",
        r"HUGE",
    ),
    Case(
        "codebuild-stop-missing",
        "codebuild",
        lambda w: w["codebuild"].stop_build(id=f"{KEEP}:00000000-0000-0000-0000-000000000000"),
        "ResourceNotFoundException",
        r"^Build .+ does not exist$|^Build cannot be found",
    ),
    # -- CodeDeploy -----------------------------------------------------------------------------
    Case(
        "codedeploy-app-twice",
        "codedeploy",
        lambda w: w["codedeploy"].create_application(applicationName=KEEP),
        "ApplicationAlreadyExistsException",
        rf"{KEEP} already exists",
    ),
    Case(
        "codedeploy-app-missing",
        "codedeploy",
        lambda w: w["codedeploy"].get_application(applicationName="fault-ghost"),
        "ApplicationDoesNotExistException",
        NO_APP,
    ),
    Case(
        "codedeploy-group-missing-app",
        "codedeploy",
        create_group("fault-ghost", "g"),
        "ApplicationDoesNotExistException",
        NO_APP,
    ),
    Case(
        "codedeploy-deploy-missing-group",
        "codedeploy",
        lambda w: w["codedeploy"].create_deployment(
            applicationName=KEEP,
            deploymentGroupName="fault-ghost",
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": KEEP, "key": "src.zip", "bundleType": "zip"},
            },
        ),
        "DeploymentGroupDoesNotExistException",
        NO_GROUP,
    ),
    Case(
        "codedeploy-group-missing",
        "codedeploy",
        lambda w: w["codedeploy"].get_deployment_group(
            applicationName=KEEP, deploymentGroupName="fault-ghost"
        ),
        "DeploymentGroupDoesNotExistException",
        NO_GROUP,
    ),
    Case(
        "codedeploy-deployment-missing",
        "codedeploy",
        lambda w: w["codedeploy"].get_deployment(deploymentId="d-AAAAAAAAA"),
        "DeploymentDoesNotExistException",
        r"^The deployment d-AAAAAAAAA (could not be found|does not exist with the user or AWS "
        r"account\.)",
    ),
    Case(
        "codedeploy-config-missing",
        "codedeploy",
        create_group(KEEP, "fault-group", deploymentConfigName="Ghost.Config"),
        "DeploymentConfigDoesNotExistException",
        r"^No deployment configuration found for name: Ghost\.Config$",
    ),
    Case(
        "codedeploy-group-twice",
        "codedeploy",
        create_group(KEEP, KEEP),
        "DeploymentGroupAlreadyExistsException",
        rf"{KEEP} already exists",
    ),
    # -- CodePipeline ---------------------------------------------------------------------------
    Case(
        "pipeline-one-stage",
        "codepipeline",
        create_pipeline(("Source", [SOURCE])),
        "InvalidStructureException",
        r"^Pipeline has only 1 stage\(s\)\. There should be a minimum of 2 stages in a "
        r"pipeline$",
    ),
    Case(
        "pipeline-no-source",
        "codepipeline",
        create_pipeline(("Approve", [APPROVE]), ("Approve2", [APPROVE])),
        "InvalidStructureException",
        r"^The first stage of a pipeline must contain at least one source action$",
    ),
    Case(
        "pipeline-first-stage-mixed",
        "codepipeline",
        create_pipeline(("Source", [SOURCE, BUILD]), ("Approve", [APPROVE])),
        "InvalidStructureException",
        r"^The first stage of a pipeline must contain only source actions$",
    ),
    Case(
        "pipeline-source-later",
        "codepipeline",
        create_pipeline(
            ("Source", [SOURCE]),
            ("More", [{**SOURCE, "name": "Again", "outputArtifacts": [{"name": "more"}]}]),
        ),
        "InvalidStructureException",
        r"^Source actions can only be included in the first stage of the pipeline$",
    ),
    Case(
        "pipeline-unknown-provider",
        "codepipeline",
        create_pipeline(
            ("Source", [SOURCE]), ("Build", [action("Build", "Build", "Jenkinz", inputs=("src",))])
        ),
        "InvalidActionDeclarationException",
        re.escape(
            "ActionType (Category: 'Build', Provider: 'Jenkinz', Owner: 'AWS', Version: '1') "
            "in action 'Build' is not available in region 'EU_WEST_1'"
        ),
    ),
    Case(
        "pipeline-wrong-owner",
        "codepipeline",
        create_pipeline(
            (
                "Source",
                [{**SOURCE, "actionTypeId": {**SOURCE["actionTypeId"], "owner": "ThirdParty"}}],
            ),
            ("Approve", [APPROVE]),
        ),
        "InvalidActionDeclarationException",
        re.escape(
            "ActionType (Category: 'Source', Provider: 'S3', Owner: 'ThirdParty', "
            "Version: '1') in action 'Source' is not available in region 'EU_WEST_1'"
        ),
    ),
    Case(
        "pipeline-wrong-category",
        "codepipeline",
        create_pipeline(
            ("Source", [SOURCE]),
            ("Deploy", [action("Deploy", "Deploy", "CodeBuild", inputs=("src",))]),
        ),
        "InvalidActionDeclarationException",
        re.escape(
            "ActionType (Category: 'Deploy', Provider: 'CodeBuild', Owner: 'AWS', "
            "Version: '1') in action 'Deploy' is not available in region 'EU_WEST_1'"
        ),
    ),
    Case(
        "pipeline-input-nobody-makes",
        "codepipeline",
        create_pipeline(
            ("Source", [SOURCE]), ("Build", [{**BUILD, "inputArtifacts": [{"name": "ghost"}]}])
        ),
        "InvalidStructureException",
        r"^Input artifact ghost of action Build in stage Build "
        r"does not match the output artifact of an action earlier in the pipeline$",
    ),
    Case(
        "pipeline-input-made-later",
        "codepipeline",
        create_pipeline(
            ("Source", [SOURCE]),
            (
                "Build",
                [
                    {**BUILD, "inputArtifacts": [{"name": "built"}], "runOrder": 1},
                    {
                        **BUILD,
                        "name": "Make",
                        "outputArtifacts": [{"name": "built"}],
                        "runOrder": 2,
                    },
                ],
            ),
        ),
        "InvalidStructureException",
        r"^Input artifact built of action Build in stage Build "
        r"does not match",
    ),
    Case(
        "pipeline-stage-twice",
        "codepipeline",
        create_pipeline(("Source", [SOURCE]), ("Build", [BUILD]), ("Build", [APPROVE])),
        "InvalidStageDeclarationException",
        r"^Stage name Build is already in use\. Stage names must be unique within a pipeline$",
    ),
    Case(
        "pipeline-action-twice",
        "codepipeline",
        create_pipeline(("Source", [SOURCE]), ("Build", [BUILD, {**APPROVE, "name": "Build"}])),
        "InvalidActionDeclarationException",
        r"^Action name Build is already in use in stage "
        r"Build\. Action names must be unique within a stage$",
    ),
    Case(
        "pipeline-output-twice",
        "codepipeline",
        create_pipeline(
            ("Source", [SOURCE]), ("Build", [{**BUILD, "outputArtifacts": [{"name": "src"}]}])
        ),
        "InvalidStructureException",
        r"^Output artifact name src is already in use\. Every "
        r"output artifact in the pipeline must have a unique name$",
    ),
    Case(
        "pipeline-deploy-without-input",
        "codepipeline",
        create_pipeline(
            ("Source", [SOURCE]),
            (
                "Deploy",
                [
                    action(
                        "Deploy",
                        "Deploy",
                        "CodeDeploy",
                        configuration={"ApplicationName": KEEP, "DeploymentGroupName": KEEP},
                    )
                ],
            ),
        ),
        "InvalidActionDeclarationException",
        r"^Action Deploy declares 0 input artifacts which is less than the minimum count "
        r"\(1\)$",
    ),
    Case(
        "pipeline-empty-stage",
        "codepipeline",
        create_pipeline(("Source", [SOURCE]), ("Build", [])),
        "InvalidStageDeclarationException",
        r"^Stage Build must contain at least one action$",
    ),
    Case(
        "pipeline-update-one-stage",
        "codepipeline",
        lambda w: w["codepipeline"].update_pipeline(pipeline=pipeline(KEEP, ("Source", [SOURCE]))),
        "InvalidStructureException",
        r"^Pipeline has only 1 stage\(s\)\. There should be a minimum of 2 stages",
    ),
    Case(
        "pipeline-update-unknown-provider",
        "codepipeline",
        lambda w: w["codepipeline"].update_pipeline(
            pipeline=pipeline(
                KEEP,
                ("Source", [SOURCE]),
                (
                    "Approve",
                    [
                        {
                            **APPROVE,
                            "actionTypeId": {**APPROVE["actionTypeId"], "provider": "Automatic"},
                        }
                    ],
                ),
            )
        ),
        "InvalidActionDeclarationException",
        r"Provider: 'Automatic'.+is not available",
    ),
    Case(
        "pipeline-twice",
        "codepipeline",
        lambda w: w["codepipeline"].create_pipeline(
            pipeline=pipeline(KEEP, ("Source", [SOURCE]), ("Approve", [APPROVE]))
        ),
        "PipelineNameInUseException",
        rf"^A pipeline with name '{KEEP}' already exists in account '{ACCOUNT}'$",
    ),
    Case(
        "pipeline-missing",
        "codepipeline",
        lambda w: w["codepipeline"].get_pipeline(name="fault-ghost"),
        "PipelineNotFoundException",
        rf"^Account '{ACCOUNT}' does not have a pipeline with name 'fault-ghost'$",
    ),
    Case(
        "approval-status-maybe",
        "codepipeline",
        lambda w: approve(w, "Maybe"),
        "ValidationException",
        enum_message("Maybe", "result.status", "Approved, Rejected"),
    ),
    Case(
        "approval-wrong-token",
        "codepipeline",
        lambda w: approve(w, "Approved", token="00000000-0000-0000-0000-000000000000"),
        "InvalidApprovalTokenException",
        r"^The approval token is not valid for action Approve in stage Approve",
    ),
    Case(
        "approval-missing-action",
        "codepipeline",
        lambda w: approve(w, "Approved", actionName="Ghost"),
        "ActionNotFoundException",
        r"Ghost",
    ),
    # -- CodeCommit -----------------------------------------------------------------------------
    Case(
        "codecommit-repo-twice",
        "codecommit",
        lambda w: w["codecommit"].create_repository(repositoryName=KEEP),
        "RepositoryNameExistsException",
        rf"^Repository named {KEEP} already exists$",
    ),
    Case(
        "codecommit-repo-missing",
        "codecommit",
        lambda w: w["codecommit"].get_repository(repositoryName="fault-ghost"),
        "RepositoryDoesNotExistException",
        r"^fault-ghost does not exist$",
    ),
    Case(
        "codecommit-delete-default-branch",
        "codecommit",
        lambda w: w["codecommit"].delete_branch(repositoryName=KEEP, branchName="main"),
        "DefaultBranchCannotBeDeletedException",
        r"^The specified branch is the default branch for the repository, and cannot be "
        r"deleted\. To delete this branch, you must first set another branch as the default "
        r"branch\.$",
    ),
    Case(
        "codecommit-push-delete-default",
        "codecommit",
        git_push_delete_default,
        "remote rejected",
        r"^deletion of the current branch prohibited$",
    ),
    Case(
        "codecommit-file-too-large",
        "codecommit",
        lambda w: w["codecommit"].get_file(repositoryName=KEEP, filePath="big.bin"),
        "FileTooLargeException",
        r"^The specified file exceeds the file size limit for CodeCommit\.",
    ),
    Case(
        "codecommit-bad-git-credentials",
        "codecommit",
        git_with_credentials,
        "403",
        r"^Access denied: the git credentials are not valid",
    ),
    Case(
        "codecommit-branch-missing",
        "codecommit",
        lambda w: w["codecommit"].get_branch(repositoryName=KEEP, branchName="ghost"),
        "BranchDoesNotExistException",
        r"ghost",
    ),
    Case(
        "codecommit-file-missing",
        "codecommit",
        lambda w: w["codecommit"].get_file(repositoryName=KEEP, filePath="ghost.txt"),
        "FileDoesNotExistException",
        r"ghost\.txt",
    ),
]
