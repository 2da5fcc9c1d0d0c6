"""Cleanup of Elastic Load Balancing (v2): chapter 07's load balancers and target groups.

Both kinds follow AWS's naming to the letter (``describe_<noun>s``, ``<Noun>Name``,
``<Noun>Arn``, ``delete_<noun>``), so one declaration serves both.
"""

from __future__ import annotations

from flovtrain.cleanup._registry import Kind, declare, named_ours


def _declare(noun: str, snake: str, order: int, removal: str, billable: bool = False) -> Kind:
    """Register the kind of AWS's ``noun`` (``"LoadBalancer"``, snake ``"load_balancer"``)."""
    return declare(
        f"elbv2 {snake.replace('_', ' ')}",
        order,
        (f"describe_{snake}s", f"{noun}s"),
        named_ours(
            "07",
            name=lambda item: item[f"{noun}Name"],
            id_=lambda item: item[f"{noun}Arn"],
            unless_owned=False,
        ),
        (f"delete_{snake}", f"{noun}Arn"),
        removal,
        billable=billable,
    )


LOAD_BALANCER = _declare(
    "LoadBalancer",
    "load_balancer",
    80,
    "delete_load_balancer (its listeners go with it)",
    billable=True,
)
TARGET_GROUP = _declare("TargetGroup", "target_group", 90, "delete_target_group")
