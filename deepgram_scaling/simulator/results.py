"""What a simulation found, and what it costs.

- :class:`Event`: one attempt to change the capacity (applied, refused or failed), and
  :class:`Result`, whose ``to_json`` gives the documented, stable output object.
- Billing counts an in-service instance until it is removed, plus its provisioning time
  when ``bill_provisioning`` is 1 (the default; AWS does not say,
  docs/aws-behaviour.md#instance-billing). The provisioning part is added when a scale-out
  starts (``fleet.py``); the in-service part from the per-step counts, here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .parts import SimulationParts

#: Causes of attempts that did not change the capacity (events of their own kind).
REFUSED = "refused: endpoint updating"
FAILED_CAPACITY = "failed: insufficient capacity in every pool"
FAILED_TIMEOUT = "failed: not in service within the provision timeout, rolled back"


@dataclass
class Event:
    time_s: float
    before: int
    after: int
    cause: str
    kind: str = "change"  # "change" (applied), "refused" (endpoint Updating) or "failed"

    def to_json(self, start_epoch: float) -> dict[str, Any]:
        when = dt.datetime.fromtimestamp(start_epoch + self.time_s, dt.timezone.utc)
        return {"time": when.isoformat().replace("+00:00", "Z"), "time_s": self.time_s,
                "from": self.before, "to": self.after, "cause": self.cause, "kind": self.kind}


@dataclass
class Result:
    """What a simulation found. ``to_json`` gives the documented, stable object."""

    endpoint: str
    kind: str
    start_epoch: float
    duration_s: float
    pools: tuple[str, ...]
    instance_seconds: dict[str, float]
    prices: dict[str, float]
    events: list[Event]
    times_s: np.ndarray
    load: np.ndarray
    in_service: np.ndarray  # steps x pools
    capacity: np.ndarray  # serving capacity per step (streams, or job slots)
    pool_capacity: tuple[float, ...] = ()  # per instance of each pool (streams, or slots)
    refused: int = 0  # capacity changes refused because the endpoint was Updating
    failed: int = 0  # capacity changes that failed (no capacity, or past the timeout)
    realtime: dict[str, float] = field(default_factory=dict)
    asynchronous: dict[str, Any] = field(default_factory=dict)

    @property
    def instance_hours(self) -> float:
        return sum(self.instance_seconds.values()) / 3600

    @property
    def cost(self) -> float:
        return sum(s / 3600 * self.prices[p] for p, s in self.instance_seconds.items())

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "duration_h": round(self.duration_s / 3600, 4),
            "instance_hours": round(self.instance_hours, 4),
            "cost": round(self.cost, 4),
            "per_pool": {
                pool: {"instance_hours": round(s / 3600, 4),
                       "cost": round(s / 3600 * self.prices[pool], 4)}
                for pool, s in self.instance_seconds.items()
            },
            "scaling_events": sum(1 for e in self.events if e.kind == "change"),
            "refused_changes": self.refused,
            "failed_changes": self.failed,
            "events": [e.to_json(self.start_epoch) for e in self.events],
        }
        data.update(self.realtime if self.kind == "realtime" else self.asynchronous)
        return data


def counts_by_step(changes: list[tuple[int, list[int]]], n_steps: int, pools: int) -> np.ndarray:
    """In-service counts per step and pool, from the list of (first step, counts) changes."""
    counts = np.zeros((n_steps, pools), dtype=np.int32)
    for (start, row), (end, _) in zip(changes, [*changes[1:], (n_steps, [])], strict=True):
        counts[start:end] = row
    return counts


def billed_result(simulation: SimulationParts, kind: str, horizon: float, load: np.ndarray,
                  counts: np.ndarray, capacity: np.ndarray,
                  pool_capacity: tuple[float, ...]) -> Result:
    """Bill the per-step in-service ``counts`` and gather the run into a :class:`Result`."""
    fleet, endpoint = simulation.fleet, simulation.endpoint
    for pool, seconds in enumerate(counts.sum(axis=0) * simulation.params.step_s):
        fleet.instance_seconds[pool] += float(seconds)
    return Result(
        pool_capacity=pool_capacity,
        endpoint=simulation.setup.name, kind=kind, start_epoch=simulation.start_epoch,
        duration_s=horizon, pools=fleet.pools,
        instance_seconds=dict(zip(fleet.pools, fleet.instance_seconds, strict=True)),
        prices=fleet.prices, events=endpoint.events, refused=endpoint.refused,
        failed=endpoint.failed, times_s=np.arange(len(load)) * simulation.params.step_s,
        load=load, in_service=counts, capacity=capacity,
    )
