"""The simulation: replay a trace against one endpoint's synthesized scaling set-up.

Every number is a parameter (``params.py``); every mechanic has an entry with its source in
``docs/aws-behaviour.md``. Time advances in 10 s steps. The model is split by concern, and
each module's docstring states the mechanics it implements:

- ``fleet.py``: the instances per pool: which pool a new instance comes from (capacity
  shortages, fallback), provisioning, scale-in order, streams cut by scale-in.
- ``endpoint.py``: the endpoint's state: the desired count, the ``Updating`` lock that
  refuses changes, failures and rollbacks, and the events recording each attempt.
- ``policies.py``: the policy evaluation: target tracking (alarms, scale-in cooldown),
  step scaling, how several policies combine, and scheduled min/max changes.
- ``realtime_loop.py`` and ``async_loop.py``: the two run loops, which feed the policies
  their datapoints and measure the service (overload and rejections; queue waits).
- ``results.py``: the :class:`Result` and its JSON object, and billing.

:class:`Simulation` puts them together for one run. The loops and ``results.py`` see it
through the ``parts.SimulationParts`` protocol and never import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .async_loop import WAIT_BINS, run_async
from .endpoint import Endpoint
from .fleet import Fleet
from .params import Params
from .policies import Policies
from .realtime_loop import run_realtime
from .results import FAILED_CAPACITY, FAILED_TIMEOUT, REFUSED, Event, Result
from .template import EndpointSetup

__all__ = [
    "FAILED_CAPACITY",
    "FAILED_TIMEOUT",
    "REFUSED",
    "WAIT_BINS",
    "Event",
    "Result",
    "Simulation",
]


class Simulation:
    """One endpoint, one trace. Call :meth:`run_realtime` or :meth:`run_async` once."""

    def __init__(self, setup: EndpointSetup, params: Params, *, start_epoch: float,
                 progress: Callable[[float], None] | None = None) -> None:
        self.setup = setup
        self.params = params
        self.start_epoch = start_epoch
        self.progress = progress
        self.fleet = Fleet(setup, params)
        self.endpoint = Endpoint(setup, params, self.fleet)
        self.policies = Policies(setup, params, self.endpoint)

    def run_realtime(self, active: np.ndarray, arrivals: np.ndarray) -> Result:
        """``active``: streams open per step; ``arrivals``: streams that start in each step."""
        return run_realtime(self, active, arrivals)

    def run_async(self, jobs: Iterable[tuple[float, float]], *, drain_s: float = 86400.0
                  ) -> Result:
        """``jobs``: (arrival seconds, processing seconds) in arrival order."""
        return run_async(self, jobs, drain_s=drain_s)
