"""Measured capacities for the strategy simulator: ``simulate``/``compare``/``recommend
--calibration FILE ...`` replace the simulator's illustrative per-type capacity with the
capacity each stream calibration measured."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

from .result import load_result, warn_inconclusive


class CalibrationFileError(ValueError):
    """A result file the simulator cannot take a capacity from."""


def measured_capacities(paths: Sequence[str]) -> dict[str, int]:
    """``{instance type: capacity}`` from stream calibration results.

    :raises CalibrationFileError: for a batch result (its capacity counts requests, not
        streams), a ``--url`` result (no instance type), no passing level, an accelerated
        or interrupted run, or two files for one type. A capacity that is only a lower
        bound (the stream cap was reached) is taken with a warning.
    """
    found: dict[str, int] = {}
    for path in paths:
        result = load_result(path)
        if result.mode != "stream":
            raise CalibrationFileError(
                f"--calibration {path} measured {result.mode} requests; the simulator's "
                "capacity is concurrent streams: pass a stream calibration")
        if result.instance_type is None:
            raise CalibrationFileError(
                f"--calibration {path} names no instance type (a --url run); calibrate "
                "the endpoint (--endpoint) to feed the simulator")
        if result.capacity is None:
            raise CalibrationFileError(f"--calibration {path}: no level met its SLO "
                                       f"({result.slo}), so it measured no capacity")
        found_problems = result.sizing_problems()
        if found_problems:
            raise CalibrationFileError(f"--calibration {path} cannot size a fleet: "
                                       f"{'; '.join(found_problems)}")
        if result.lower_bound:
            warnings.warn(f"--calibration {path}: every level passed up to the stream cap, "
                          f"so {result.capacity} is only a lower bound on the capacity",
                          stacklevel=2)
        warn_inconclusive(result, f"--calibration {path}")
        if result.instance_type in found:
            raise CalibrationFileError(f"--calibration lists {result.instance_type} twice")
        found[result.instance_type] = result.capacity
    return found


def with_calibrations(params: Any, paths: Sequence[str] | None) -> Any:
    """``params`` (a simulator ``Params``) with each calibrated type's capacity measured."""
    if not paths:
        return params
    types = dict(params.types)
    for instance_type, capacity in measured_capacities(paths).items():
        spec = types.get(instance_type, params.default_type)
        types[instance_type] = dataclasses.replace(spec, capacity=float(capacity))
    return dataclasses.replace(params, types=types)
