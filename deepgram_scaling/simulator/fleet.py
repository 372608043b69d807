"""The instances behind one endpoint, pool by pool: what each pool's instances hold, which
pool a new instance comes from, how instances come into service and leave it.

- Pools: new instances come from the highest-priority pool not short of capacity; a short
  pool answers at once, so falling back costs no time (``Params.shortages``,
  docs/aws-behaviour.md#instance-pool-fallback). Scale-in removes in-service instances
  from the lowest-priority pool first.
- Instances removed by scale-in cut the streams they hold, counted in whole streams per
  scale-in (the removed share of the load, rounded).
- Provisioning is billed from the scale-out decision when ``bill_provisioning`` is 1 (the
  default; AWS does not say); time in service is billed from the per-step counts, see
  ``results.py``.

Whether a change may start at all (the ``Updating`` lock), and what happens when it fails,
is the endpoint's business: ``endpoint.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .params import Params
from .template import EndpointSetup


class Fleet:
    """In-service and provisioning instances per pool, in the setup's priority order."""

    def __init__(self, setup: EndpointSetup, params: Params) -> None:
        self.params = params
        self.pools = setup.pools
        types = [params.instance(p) for p in self.pools]
        #: Per instance of each pool: streams served within the latency bound (a capacity
        #: declared in the template wins), and the count at which new streams are refused.
        self.capacity = [setup.declared_capacity.get(p, t.capacity) for p, t in
                         zip(self.pools, types, strict=True)]
        self.hard = [t.hard_limit if t.hard_limit is not None else 2 * c
                     for t, c in zip(types, self.capacity, strict=True)]
        self.provision_s = [t.provision_s for t in types]
        self.speed = [t.speed for t in types]
        self.prices = {p: t.price_per_hour for p, t in zip(self.pools, types, strict=True)}
        self.in_service = [0] * len(self.pools)
        self.pending: list[tuple[float, int]] = []  # (ready time, pool), sorted
        self.instance_seconds = [0.0] * len(self.pools)
        self.interrupted = 0  # streams cut by scale-in
        self.load_now = 0.0  # the load the in-service fleet holds at this step
        self.horizon = math.inf  # the end of the simulated time, once known
        self.changed = False  # the in-service counts changed since last looked at
        #: Called with (pool, time) when scale-in removes an in-service instance.
        self.on_removed: Callable[[int, float], None] | None = None

    def pool_with_capacity(self, t: float) -> int | None:
        """SageMaker's choice for a new instance: the highest-priority pool that is not short
        of capacity. A short pool answers at once, so passing over it costs no time."""
        for pool, name in enumerate(self.pools):
            if not any(s.instance_type == name and s.start_s <= t < s.end_s
                       for s in self.params.shortages):
                return pool
        return None

    def provision(self, pool: int, count: int, t: float, ready: float) -> None:
        """Start ``count`` instances in ``pool`` at ``t``, in service (or given up) at
        ``ready``; bill their provisioning time when ``bill_provisioning`` says so."""
        for _ in range(count):
            self.pending.append((ready, pool))
            if self.params.bill_provisioning:
                self.instance_seconds[pool] += max(0.0, min(ready, self.horizon) - t)
        self.pending.sort()

    def bring_into_service(self, t: float, *, discard: bool) -> bool:
        """Instances whose time has come go into service, or are dropped when ``discard``
        (their change failed). Returns whether the in-service fleet changed."""
        changed = False
        while self.pending and self.pending[0][0] <= t:
            _, pool = self.pending.pop(0)
            if not discard:
                self.in_service[pool] += 1
                changed = self.changed = True
        return changed

    def remove(self, count: int, t: float) -> None:
        """Scale-in removes in-service instances, lowest-priority pool first; they cut the
        streams they hold (an even spread, in whole streams)."""
        held = sum(self.in_service)
        if held:
            self.interrupted += math.floor(count * self.load_now / held + 0.5)
        for _ in range(count):
            pool = max(p for p in range(len(self.pools)) if self.in_service[p] > 0)
            self.in_service[pool] -= 1
            self.changed = True
            if self.on_removed is not None:
                self.on_removed(pool, t)
