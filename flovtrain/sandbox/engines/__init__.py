"""The sandbox's engines: what really runs or decides behind the AWS APIs the providers answer.

Each engine has a small API of its own and knows nothing of AWS requests. Runtimes:

- :mod:`.processes` — child processes the sandbox starts, stopped with it.
- :mod:`.instances` — the EC2 instance supervisor (root folder, loopback address, processes).
- :mod:`.s3` — objects read and written straight in moto's S3.
- :mod:`.gitstore` — CodeCommit's bare git repositories and their smart-HTTP endpoint.
- :mod:`.builds` — the CodeBuild runner (a buildspec run as real processes).
- :mod:`.deploy` — the CodeDeploy runner (AppSpec hooks on sandbox instances).
- :mod:`.pipeline` — the CodePipeline executor and its registry of action types.
- :mod:`.alarms` — CloudWatch alarm evaluation and the notifications AWS sends.
- :mod:`.athena` — Trino SQL on DuckDB over the sandbox's S3 and Glue.

Pure engines the sandbox builds on (no server, no moto, no I/O): :mod:`.policy` (IAM's policy
evaluation logic), with :mod:`.policy_conditions`, :mod:`.policy_validation` and
:mod:`.policy_simulator`.

The rule that keeps them apart from the API side: an engine imports moto, the standard library
and other engines, never :mod:`flovtrain.sandbox.providers` nor the seam
(``tests/test_architecture.py`` checks it). Engines raise
:class:`~.errors.EngineError`; the seam renders it as the AWS error of the same code.
Providers (:mod:`flovtrain.sandbox.providers`) are the adapters from AWS requests to engines
and back.
"""
