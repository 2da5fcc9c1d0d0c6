"""The sandbox's providers, one per AWS service (see :mod:`flovtrain.sandbox.seam`).

A provider adapts AWS requests to the engines (:mod:`flovtrain.sandbox.engines`) and back; its
state lives in per-account, per-region backends. To add one: write ``providers/<service>.py``
(or a package) exposing ``PROVIDER`` and list it here. A provider also declares what its service
adds elsewhere: CloudFormation resource types (:mod:`.cfn_types`) and pipeline action types
(:func:`._common.pipeline_action`). Modules here that are not providers: ``_common``,
``cfn_types`` and ``codedeploy_revisions`` (part of the CodeDeploy provider).
"""

PROVIDER_MODULES: tuple[str, ...] = (
    "flovtrain.sandbox.providers.iam",
    "flovtrain.sandbox.providers.sts",
    "flovtrain.sandbox.providers.sns",
    "flovtrain.sandbox.providers.cloudwatch",
    "flovtrain.sandbox.providers.logs",
    "flovtrain.sandbox.providers.billing",
    "flovtrain.sandbox.providers.budgets",
    "flovtrain.sandbox.providers.ec2",
    "flovtrain.sandbox.providers.s3",
    "flovtrain.sandbox.providers.codedeploy",
    "flovtrain.sandbox.providers.codepipeline",
    "flovtrain.sandbox.providers.cloudformation",
    "flovtrain.sandbox.providers.ssm",
    "flovtrain.sandbox.providers.codecommit",
    "flovtrain.sandbox.providers.codebuild",
    "flovtrain.sandbox.providers.athena",
    "flovtrain.sandbox.providers.route53",
    "flovtrain.sandbox.providers.elbv2",
    "flovtrain.sandbox.providers.glacier",
    "flovtrain.sandbox.providers.rds",
    "flovtrain.sandbox.providers.cloudtrail",
)
