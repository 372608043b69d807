"""The endpoint's side of a capacity change: the desired count, the ``Updating`` lock, the
outcome of each attempt (applied, refused or failed) and the events that record it.

- A capacity change puts the endpoint in ``Updating`` until every instance it adds is in
  service (or its removals are done, ``removal_s``). While it is Updating, no other
  capacity change applies: the attempt is an event of its own kind (``refused: endpoint
  updating``), and a policy whose alarm stays in ALARM tries again at its next evaluation.
  A scheduled min/max still changes the scalable target at once; the desired count follows
  when the endpoint is back in service. So the desired and in-service counts agree whenever
  a change applies, and a scale-out cannot stack on one still provisioning.
- With every pool short of capacity, a scale-out fails at once; a change whose instances
  are not in service within the variant's ``VariantInstanceProvisionTimeoutInSeconds``
  fails at the timeout. A failed change rolls back to the previous count (``failed: ...``
  events).

Which pool the instances come from, and which leave on scale-in: ``fleet.py``.
"""

from __future__ import annotations

from .fleet import Fleet
from .params import Params
from .results import FAILED_CAPACITY, FAILED_TIMEOUT, REFUSED, Event
from .template import EndpointSetup


class Endpoint:
    """One endpoint's scalable target and the capacity changes asked of it."""

    def __init__(self, setup: EndpointSetup, params: Params, fleet: Fleet) -> None:
        self.setup = setup
        self.params = params
        self.fleet = fleet
        self.min_capacity = setup.min_capacity
        self.max_capacity = setup.max_capacity
        self.desired = 0
        #: When the capacity change in progress ends (the endpoint is Updating until then).
        self.update_done: float | None = None
        #: (count before, cause) of a scale-out that will fail at ``update_done``.
        self.rollback: tuple[int, str] | None = None
        self.events: list[Event] = []
        self.attempts_listed: set[str] = set()
        self.refused_causes: set[str] = set()
        self.refused = 0
        self.failed = 0

    @property
    def updating(self) -> bool:
        """The endpoint is ``Updating``: a capacity change is still in progress."""
        return self.update_done is not None

    def start(self) -> None:
        """Put the initial instances in service at time 0."""
        self.desired = self.setup.initial_instance_count
        self.fleet.in_service[0] = self.setup.initial_instance_count
        self.events.append(Event(0.0, 0, self.desired, "initial"))
        # registering the scalable target brings the count into its bounds at once
        self.set_desired(self.desired, 0.0, "scalable target min/max")

    def done(self, t: float) -> float:
        """When the change just applied completes: cooldowns count from then."""
        return self.update_done if self.update_done is not None else t

    def _record(self, t: float, value: int, cause: str, kind: str, prefix: str) -> None:
        """A refused or failed attempt: counted every time, listed once per cause between two
        applied changes (a policy whose alarm stays in ALARM retries at every evaluation)."""
        if kind == "refused":
            self.refused += 1
        else:
            self.failed += 1
        text = f"{prefix} ({cause})"
        if text not in self.attempts_listed:
            self.attempts_listed.add(text)
            self.events.append(Event(t, self.desired, value, text, kind))

    def set_desired(self, value: int, t: float, cause: str) -> bool:
        """Ask for a new desired count (clamped into min/max), as Application Auto Scaling
        does with ``UpdateEndpointWeightsAndCapacities``. Returns whether it was applied."""
        value = max(self.min_capacity, min(self.max_capacity, value))
        if value == self.desired:
            return False
        if self.update_done is not None:
            # SageMaker refuses a capacity change while the endpoint is Updating
            # (ValidationException: Cannot update in-progress endpoint).
            if cause in self.refused_causes:
                self.refused += 1  # listed already in this update
            else:
                self.refused_causes.add(cause)
                self._record(t, value, cause, "refused", REFUSED)
            return False
        before = self.desired
        if value > before:
            if not self._scale_out(before, value, t, cause):
                return False
        else:
            self.fleet.remove(before - value, t)
            self.update_done = t + self.params.removal_s
        self.attempts_listed.clear()
        self.refused_causes.clear()
        self.events.append(Event(t, before, value, cause))
        self.desired = value
        return True

    def _scale_out(self, before: int, value: int, t: float, cause: str) -> bool:
        """Start the instances of a scale-out; False when it fails at once."""
        fleet = self.fleet
        pool = fleet.pool_with_capacity(t)
        if pool is None:
            # every pool short: the change fails and the endpoint rolls back at once
            self._record(t, value, cause, "failed", FAILED_CAPACITY)
            return False
        provision = fleet.provision_s[pool]
        timeout = self.setup.provision_timeout_s
        ready = t + provision
        if provision > timeout:
            # not in service within the variant's provision timeout: the change fails
            # at the timeout and SageMaker rolls back to the previous count
            ready = t + timeout
            self.rollback = (before, cause)
        fleet.provision(pool, value - before, t, ready)
        self.update_done = ready
        return True

    def settle(self, t: float) -> bool:
        """Bring pending instances into service and end the update when its time comes.
        Returns whether the in-service fleet changed."""
        changed = self.fleet.bring_into_service(t, discard=self.rollback is not None)
        if self.update_done is not None and t >= self.update_done:
            self.update_done = None
            if self.rollback is not None:
                before, cause = self.rollback
                self.rollback = None
                self.failed += 1
                self.events.append(Event(t, self.desired, before, f"{FAILED_TIMEOUT} ({cause})",
                                         "failed"))
                self.desired = before
            # a scheduled min/max that arrived while Updating moves the count now
            self.set_desired(self.desired, t, "scalable target min/max")
            changed = True
        return changed
