"""What a run loop and the billing read from a simulation: its parts, as a protocol.

``engine.Simulation`` builds the parts and satisfies this protocol; the loops
(``realtime_loop.py``, ``async_loop.py``) and ``results.py`` depend on the protocol only, so
none of them imports the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .endpoint import Endpoint
from .fleet import Fleet
from .params import Params
from .policies import Policies
from .template import EndpointSetup


class SimulationParts(Protocol):
    """One endpoint's set-up, parameters and the state a run advances."""

    setup: EndpointSetup
    params: Params
    start_epoch: float
    progress: Callable[[float], None] | None
    fleet: Fleet
    endpoint: Endpoint
    policies: Policies
