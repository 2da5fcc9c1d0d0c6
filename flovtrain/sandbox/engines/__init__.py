"""Pure engines the sandbox builds on: evaluators with no server, no moto and no I/O."""
