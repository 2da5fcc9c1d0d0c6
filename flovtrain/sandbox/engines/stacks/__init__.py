"""CloudFormation stacks: template validation, change plans and transactional operations.

- :mod:`.validation` refuses what AWS refuses before anything is created (cfn-lint's decoder
  and bundled resource schemas, AWS's messages);
- :mod:`.plan` orders resources by dependency and computes an update's add/modify/remove;
- :mod:`.transaction` runs resource handler calls in order and undoes them on failure (with a
  fault-injection hook for tests, off by default);
- :mod:`.resources` and :mod:`.operations` apply that to moto's stacks: create, update and
  delete end complete or rolled back, never half done.
"""
