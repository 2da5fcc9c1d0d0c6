"""The sandbox's providers, one module per AWS service (see :mod:`flovtrain.sandbox.seam`).

To add one: write ``providers/<service>.py`` exposing ``PROVIDER`` and list it here.
"""

PROVIDER_MODULES: tuple[str, ...] = (
    "flovtrain.sandbox.providers.iam",
    "flovtrain.sandbox.providers.sns",
    "flovtrain.sandbox.providers.cloudwatch",
    "flovtrain.sandbox.providers.billing",
    "flovtrain.sandbox.providers.budgets",
    "flovtrain.sandbox.providers.ec2",
    "flovtrain.sandbox.providers.codedeploy",
    "flovtrain.sandbox.providers.codepipeline",
    "flovtrain.sandbox.providers.cloudformation",
    "flovtrain.sandbox.providers.ssm",
    "flovtrain.sandbox.providers.codecommit",
    "flovtrain.sandbox.providers.codebuild",
    "flovtrain.sandbox.providers.athena",
)
