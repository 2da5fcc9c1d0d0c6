"""Load balancer health checks: real HTTP requests on the target group's settings.

One checker thread per (target group, target, port) in use by a load balancer sends
``GET <HealthCheckPath>`` to the target's loopback address every ``HealthCheckIntervalSeconds``
(the first at once) and moves the target between AWS's states:

- ``initial`` (``Elb.RegistrationInProgress`` until the first check, then
  ``Elb.InitialHealthChecking``) -> ``healthy`` after one passing check, or ``unhealthy`` after
  ``UnhealthyThresholdCount`` consecutive failures;
- ``healthy`` -> ``unhealthy`` after ``UnhealthyThresholdCount`` consecutive failures;
- ``unhealthy`` -> ``healthy`` after ``HealthyThresholdCount`` consecutive passes;
- a failure's reason: ``Target.ResponseCodeMismatch`` (a code outside the matcher),
  ``Target.Timeout`` (no answer within ``HealthCheckTimeoutSeconds``) or
  ``Target.FailedHealthChecks`` (connection refused, malformed answer);
- ``draining`` (``Target.DeregistrationInProgress``) for ``deregistration_delay`` after a
  target leaves, then forgotten.

Examples
--------
>>> code_matches("200-299", 204), code_matches("200,302", 404)
(True, False)
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Target health descriptions as AWS words them.
DESCRIPTIONS = {
    "Elb.RegistrationInProgress": "Target registration is in progress",
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.NotRegistered": "Target is not registered to the target group",
    "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.HealthCheckDisabled": "Health checks are disabled",
}
USER_AGENT = "ELB-HealthChecker/2.0"

Key = tuple[str, str, int]  # target group ARN, target id, port


@dataclass(frozen=True)
class Settings:
    """A target group's health check settings (``DescribeTargetGroups`` names)."""

    path: str = "/"
    port: int | None = None  # None: the traffic port
    interval: float = 30.0
    timeout: float = 5.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    matcher: str = "200"
    enabled: bool = True


@dataclass
class Health:
    """One target's state as ``DescribeTargetHealth`` shows it."""

    state: str
    reason: str | None = None
    description: str | None = None


def code_matches(matcher: str, code: int) -> bool:
    """Whether HTTP ``code`` is one of the matcher's (``"200"``, ``"200-299"``, ``"200,302"``)."""
    for part in str(matcher).split(","):
        low, _, high = part.strip().partition("-")
        if low and int(low) <= code <= int(high or low):
            return True
    return False


def probe(address: str, port: int, settings: Settings) -> tuple[bool, str | None, str | None]:
    """Send one health check; return ``(passed, reason, description)``."""
    connection = http.client.HTTPConnection(address, port, timeout=settings.timeout)
    try:
        connection.request(
            "GET",
            settings.path or "/",
            headers={"Host": f"{address}:{port}", "User-Agent": USER_AGENT, "Connection": "close"},
        )
        code = connection.getresponse().status
    except TimeoutError:
        return False, "Target.Timeout", DESCRIPTIONS["Target.Timeout"]
    except (OSError, http.client.HTTPException):
        return False, "Target.FailedHealthChecks", DESCRIPTIONS["Target.FailedHealthChecks"]
    finally:
        connection.close()
    if code_matches(settings.matcher, code):
        return True, None, None
    return False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]"


class _Checker:
    """The checks of one target: a thread that probes and keeps the target's state."""

    def __init__(
        self,
        key: Key,
        address: Callable[[], str | None],
        settings: Callable[[], Settings],
    ) -> None:
        self.key = key
        self.address = address
        self.settings = settings
        self.health = Health("initial", "Elb.RegistrationInProgress")
        self.health.description = DESCRIPTIONS["Elb.RegistrationInProgress"]
        self.passes = 0
        self.failures = 0
        self.checks = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"health {key[1]}:{key[2]}")
        self.thread.daemon = True

    def run(self) -> None:
        while not self.stopping.is_set():
            settings = self.settings()
            if not settings.enabled:
                self.health = Health("unavailable", "Target.HealthCheckDisabled")
                self.health.description = DESCRIPTIONS["Target.HealthCheckDisabled"]
            else:
                address = self.address()
                port = settings.port or self.key[2]
                if address is None:
                    result = (
                        False,
                        "Target.FailedHealthChecks",
                        DESCRIPTIONS["Target.FailedHealthChecks"],
                    )
                else:
                    result = probe(address, port, settings)
                if not self.stopping.is_set():
                    self.record(*result, settings=settings)
            self.stopping.wait(max(settings.interval, 0.05))

    def record(
        self, passed: bool, reason: str | None, text: str | None, settings: Settings
    ) -> None:
        self.checks += 1
        if passed:
            self.passes, self.failures = self.passes + 1, 0
        else:
            self.passes, self.failures = 0, self.failures + 1
        state = self.health.state
        if passed and (
            state in ("initial", "unavailable") or self.passes >= settings.healthy_threshold
        ):
            self.health = Health("healthy")
        elif not passed and self.failures >= settings.unhealthy_threshold:
            self.health = Health("unhealthy", reason, text)
        elif state == "unhealthy" and not passed:
            self.health = Health("unhealthy", reason, text)
        elif state == "initial":
            self.health = Health(
                "initial", "Elb.InitialHealthChecking", DESCRIPTIONS["Elb.InitialHealthChecking"]
            )


_lock = threading.Lock()
_checkers: dict[Key, _Checker] = {}
_draining: dict[Key, float] = {}  # key -> monotonic deadline


def watch(key: Key, address: Callable[[], str | None], settings: Callable[[], Settings]) -> None:
    """Start checking a target (idempotent); it starts ``initial``."""
    with _lock:
        if key in _checkers:
            return
        _draining.pop(key, None)
        checker = _checkers[key] = _Checker(key, address, settings)
    checker.thread.start()


def unwatch(key: Key, drain_seconds: float = 0.0) -> None:
    """Stop checking a target that left the group; it shows ``draining`` for ``drain_seconds``."""
    with _lock:
        checker = _checkers.pop(key, None)
        if drain_seconds > 0 and checker is not None:
            _draining[key] = time.monotonic() + drain_seconds
    if checker is not None:
        checker.stopping.set()


def watched() -> set[Key]:
    with _lock:
        return set(_checkers)


def state(key: Key) -> Health | None:
    """Return the target's health, ``draining`` while it drains, or None if not checked."""
    with _lock:
        checker = _checkers.get(key)
        if checker is not None:
            return checker.health
        deadline = _draining.get(key)
        if deadline is not None and time.monotonic() >= deadline:
            _draining.pop(key, None)
            deadline = None
    if deadline is not None:
        return Health(
            "draining",
            "Target.DeregistrationInProgress",
            DESCRIPTIONS["Target.DeregistrationInProgress"],
        )
    return None


def draining(target_group_arn: str) -> list[tuple[str, int]]:
    """Return the ``(target id, port)`` pairs of a group that are still draining."""
    now = time.monotonic()
    with _lock:
        return [(k[1], k[2]) for k, t in _draining.items() if k[0] == target_group_arn and t > now]


def checks(key: Key) -> int:
    """Return how many checks the target has had (for tests and views)."""
    with _lock:
        checker = _checkers.get(key)
    return checker.checks if checker else 0


def stop_all() -> None:
    """Stop every checker and forget every state (sandbox stop or reset)."""
    with _lock:
        checkers = list(_checkers.values())
        _checkers.clear()
        _draining.clear()
    for checker in checkers:
        checker.stopping.set()
