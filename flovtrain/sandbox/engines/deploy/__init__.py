"""The CodeDeploy runner: deployments really run on the sandbox's EC2 instances.

Modules: :mod:`.appspec` (the AppSpec file, as the agent reads it), :mod:`.targets` (which
instances a group selects), :mod:`.hooks` (lifecycle events and hook scripts) and
:mod:`.runner` (the deployments of one account and region), :mod:`.bluegreen`
(blue/green deployments behind a load balancer).
"""

from flovtrain.sandbox.engines.deploy.runner import DeploymentRunner, InstanceRun, Run

__all__ = ["DeploymentRunner", "InstanceRun", "Run"]
