"""``recommend``'s search: every candidate set-up over one trace, on every core.

The trace is read once. Candidates come from ``strategies.candidate_setups`` (synthesized
once per structural variant, numbers varied in the parsed set-up) and are simulated in
worker processes. A candidate that cannot be cheaper than the cheapest one already meeting
the service level is skipped: its floor alone (``min_capacity`` instances of the cheapest
pool for the whole trace) costs at least as much.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import Result, Simulation
from .params import Params
from .template import EndpointSetup


@dataclass(frozen=True)
class Trace:
    """One trace, read once: per-step arrays (real-time) or jobs (asynchronous)."""

    start_epoch: float
    duration_s: float
    active: np.ndarray | None = None
    arrivals: np.ndarray | None = None
    jobs: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """One candidate's figures; ``failures`` names each SLO figure above its limit."""

    index: int
    cost: float | None  # None: skipped, it could not win
    figures: dict[str, float]
    failures: tuple[str, ...] = ()

    @property
    def meets(self) -> bool:
        return self.cost is not None and not self.failures


def figures_of(result: Result) -> dict[str, float]:
    """The figures an SLO can bound, by their ``--slo`` key."""
    data = result.to_json()
    if result.kind == "realtime":
        return {"overload": data["overloaded_stream_seconds_fraction"],
                "rejected": data["rejected_streams"], "cut": data["interrupted_streams"]}
    return {**data["wait_s"], "unserved": data["unserved_jobs"]}


def failures_of(figures: dict[str, float], slo: dict[str, float]) -> tuple[str, ...]:
    failed = [f"{key} {figures[key]:g} > {limit:g}" for key, limit in slo.items()
              if figures[key] > limit]
    if figures.get("unserved"):
        failed.append(f"unserved {figures['unserved']:g} > 0")
    return tuple(failed)


def simulate(setup: EndpointSetup, trace: Trace, params: Params) -> Result:
    simulation = Simulation(setup, params, start_epoch=trace.start_epoch)
    if setup.is_async:
        return simulation.run_async(iter(trace.jobs))
    assert trace.active is not None and trace.arrivals is not None
    return simulation.run_realtime(trace.active, trace.arrivals)


# --- worker processes -----------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init(setups: Sequence[EndpointSetup], trace: Trace, params: Params,
          slo: dict[str, float], best: Any) -> None:
    _STATE.update(setups=setups, trace=trace, params=params, slo=slo, best=best)


def _floor_cost(setup: EndpointSetup, trace: Trace, params: Params) -> float:
    cheapest = min(params.instance(p).price_per_hour for p in setup.pools)
    return setup.min_capacity * cheapest * trace.duration_s / 3600


def _evaluate(index: int) -> Outcome:
    setup: EndpointSetup = _STATE["setups"][index]
    trace: Trace = _STATE["trace"]
    params: Params = _STATE["params"]
    best = _STATE["best"]
    if _floor_cost(setup, trace, params) >= best.value:
        return Outcome(index, None, {})
    result = simulate(setup, trace, params)
    figures = figures_of(result)
    failures = failures_of(figures, _STATE["slo"])
    if not failures:
        with best.get_lock():
            best.value = min(best.value, result.cost)
    return Outcome(index, result.cost, figures, failures)


def search(setups: Sequence[EndpointSetup], trace: Trace, params: Params,
           slo: dict[str, float], *, workers: int | None = None,
           progress: Callable[[int, int, Outcome | None], None] | None = None
           ) -> list[Outcome]:
    """Every candidate's outcome, in candidate order. ``progress(done, total, best)`` is
    called after each candidate."""
    workers = workers or min(len(setups), os.cpu_count() or 1)
    context = multiprocessing.get_context("fork" if "fork" in
                                          multiprocessing.get_all_start_methods() else "spawn")
    best = context.Value("d", float("inf"))
    outcomes: list[Outcome] = []
    cheapest: Outcome | None = None

    def seen(outcome: Outcome) -> None:
        nonlocal cheapest
        outcomes.append(outcome)
        if outcome.meets and (cheapest is None or (outcome.cost or 0) < (cheapest.cost or 0)):
            cheapest = outcome
        if progress:
            progress(len(outcomes), len(setups), cheapest)

    if workers <= 1:
        _init(setups, trace, params, slo, best)
        for index in range(len(setups)):
            seen(_evaluate(index))
    else:
        with context.Pool(workers, initializer=_init,
                          initargs=(setups, trace, params, slo, best)) as pool:
            for outcome in pool.imap_unordered(_evaluate, range(len(setups))):
                seen(outcome)
    return sorted(outcomes, key=lambda o: o.index)

