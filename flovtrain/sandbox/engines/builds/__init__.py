"""The CodeBuild runner: a buildspec really run on this machine.

Modules: :mod:`.buildspec` (parse, the shell session, artifacts), :mod:`.build` (one build's
record, log and phases), :mod:`.logstore` (its CloudWatch log on disk, events capped as AWS
caps them), :mod:`.record` (a new build from its project), :mod:`.environment`
(what commands see), :mod:`.steps` (commands, source, artifacts) and :mod:`.runner` (the
builds of one account and region).

Examples
--------
>>> from flovtrain.sandbox.engines.builds import BuildRunner
>>> runner = BuildRunner("123456789012", "eu-west-1")  # doctest: +SKIP
>>> build = runner.start(project_meta, source_zip=zipped)  # doctest: +SKIP
>>> runner.wait(build.id, timeout=60)["buildStatus"]  # doctest: +SKIP
'SUCCEEDED'
"""

from flovtrain.sandbox.engines.builds.build import Build
from flovtrain.sandbox.engines.builds.environment import sandbox_env, scrub_environment
from flovtrain.sandbox.engines.builds.record import DEFAULT_TIMEOUT_MINUTES, BuildError
from flovtrain.sandbox.engines.builds.runner import BuildRunner, describe, stop, wipe

__all__ = [
    "DEFAULT_TIMEOUT_MINUTES",
    "Build",
    "BuildError",
    "BuildRunner",
    "describe",
    "sandbox_env",
    "scrub_environment",
    "stop",
    "wipe",
]
