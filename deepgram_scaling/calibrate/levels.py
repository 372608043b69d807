"""Which concurrency levels to run: ramp, bisect, confirm.

Deepgram's sizing advice is to raise concurrent streams on one instance until latency
degrades (docs/aws-behaviour.md#deepgram-sizing-by-load-test). The search doubles the level
from ``start`` until a level fails (or the stream cap is reached), bisects between the last
passing and the first failing level until they are ``resolution`` apart, then runs the
highest passing level once more. If that confirmation fails the level counts as failing and
the bisection resumes below it; a second confirmation is the last.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class Trial(Protocol):
    @property
    def concurrency(self) -> int: ...

    @property
    def passed(self) -> bool: ...


T = TypeVar("T", bound=Trial)

#: Confirmations of the top level before the search gives up narrowing.
MAX_CONFIRMATIONS = 2


@dataclass(frozen=True, kw_only=True)
class SearchPlan:
    """:param start: First level (>= 1). Default: 1.
    :param max_streams: Hard cap on concurrent streams or requests. Default: 64.
    :param factor: Ramp multiplier (> 1). Default: 2 (doubling).
    :param resolution: Stop bisecting when pass and fail are this close (>= 1). Default: 1.
    :param confirm: Re-run the highest passing level. Default: True.
    """

    start: int = 1
    max_streams: int = 64
    factor: float = 2.0
    resolution: int = 1
    confirm: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.start < 1:
            problems.append(f"start must be >= 1, got {self.start}")
        if self.max_streams < self.start:
            problems.append(f"max_streams must be >= start ({self.start}), "
                            f"got {self.max_streams}")
        if not self.factor > 1:
            problems.append(f"factor must be > 1, got {self.factor}")
        if self.resolution < 1:
            problems.append(f"resolution must be >= 1, got {self.resolution}")
        if problems:
            raise ValueError("; ".join(problems))

    def ramp(self) -> list[int]:
        """The ramp's levels, if every one passes."""
        levels, level = [], self.start
        while True:
            levels.append(level)
            if level >= self.max_streams:
                return levels
            level = min(self.max_streams, max(level + 1, math.ceil(level * self.factor)))

    def worst_case_levels(self) -> int:
        """An upper bound on the levels a search runs (ramp, bisection, confirmations)."""
        span = max(1, self.ramp()[-1] - (self.ramp()[-2] if len(self.ramp()) > 1 else 0))
        bisections = max(0, math.ceil(math.log2(max(1, span / self.resolution))))
        return len(self.ramp()) + (bisections + 1) * (1 + MAX_CONFIRMATIONS)


@dataclass
class SearchOutcome(Generic[T]):
    trials: list[T] = field(default_factory=list)
    capacity: int | None = None
    interrupted: bool = False
    stopped: str = ""


async def search(plan: SearchPlan, run_level: Callable[[int], Awaitable[T]], *,
                 may_run: Callable[[int], bool] = lambda _level: True,
                 halt: Callable[[], str | None] = lambda: None) -> SearchOutcome[T]:
    """Run levels until the capacity is known to ``plan.resolution``.

    :param run_level: Runs one level and returns its trial. Cancelling the task running
        the search (Ctrl-C) ends it: the outcome holds what was measured, ``interrupted``.
    :param may_run: Asked before each level; False stops the search (the time cap).
    :param halt: Asked before each level; a reason stops the search with it (a level that
        showed the measurement itself is void).
    """
    outcome: SearchOutcome[T] = SearchOutcome()
    passing: set[int] = set()
    failing: set[int] = set()

    async def run(level: int) -> bool | None:
        reason = halt()
        if reason:
            outcome.stopped = reason
            return None
        if not may_run(level):
            outcome.stopped = f"time cap reached before level {level}"
            return None
        try:
            trial = await run_level(level)
        except asyncio.CancelledError:
            outcome.interrupted = True
            outcome.stopped = f"interrupted during level {level}"
            return None
        outcome.trials.append(trial)
        (passing if trial.passed else failing).add(level)
        if not trial.passed:
            passing.discard(level)
        return trial.passed

    for level in plan.ramp():
        result = await run(level)
        if result is None:
            return _finish(outcome, passing)
        if not result:
            break
    else:
        outcome.stopped = f"stream cap {plan.max_streams} reached with every level passing"

    confirmations = 0
    while True:
        low = max(passing, default=0)
        high = min((f for f in failing if f > low), default=None)
        if high is not None and high - low > plan.resolution:
            result = await run((low + high) // 2)
            if result is None:
                return _finish(outcome, passing)
            continue
        if not plan.confirm or low == 0 or confirmations >= MAX_CONFIRMATIONS:
            break
        confirmations += 1
        result = await run(low)
        if result is None:
            return _finish(outcome, passing)
        if result:
            break
    return _finish(outcome, passing)


def _finish(outcome: SearchOutcome[T], passing: set[int]) -> SearchOutcome[T]:
    outcome.capacity = max(passing, default=None)
    return outcome
