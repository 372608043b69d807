"""Every assumption of the simulator, as parameters with defaults and their sources.

Override any of them with ``--params FILE`` (JSON or TOML with the same keys). Each default
names its entry in ``docs/aws-behaviour.md``, which gives the source or says "unconfirmed".
Prices are illustrative placeholders dated 2026-11, not AWS quotes: put your region's prices
in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeepgramScalingConfigError


class ParamsError(DeepgramScalingConfigError):
    """A parameters file holds an unknown key or a value of the wrong kind."""


class ParamsWarning(UserWarning):
    """A parameters file holds a key that no longer has an effect."""


#: Keys accepted for old parameter files, with why they no longer do anything.
RETIRED = {
    "scale_out_from_desired": (
        "the endpoint refuses capacity changes while it is Updating, so whenever a "
        "scale-out applies the desired and in-service counts agree and the basis cannot "
        "differ (see docs/simulator.md)"),
}


@dataclass(frozen=True)
class InstanceType:
    """One instance type's behaviour in the simulation.

    :param capacity: Concurrent streams one instance serves within the latency bound (from
        your load test). A capacity declared in the template (mixed-fleet metric math)
        takes precedence. Default: 10 (Deepgram's worked example of an instance that holds
        10 streams).
    :param hard_limit: Concurrent streams at which an instance refuses new ones
        (Deepgram's ``max_active_requests``). Default: 2 x capacity (an assumption).
    :param speed: Async processing-time factor (0.5 = twice as fast). Default: 1.0.
    :param provision_s: From the scale-out decision to InService. Default: 300 s (AWS's
        published measurements: about 4-6 minutes without container caching;
        docs/aws-behaviour.md#instance-provisioning-time).
    :param price_per_hour: Illustrative USD per instance-hour. Default: per type below.
    """

    capacity: float = 10.0  # your load test (docs/aws-behaviour.md#instance-capacity)
    hard_limit: float | None = None  # docs/aws-behaviour.md#instance-hard-limit
    speed: float = 1.0
    provision_s: float = 300.0  # docs/aws-behaviour.md#instance-provisioning-time
    price_per_hour: float = 1.5  # docs/aws-behaviour.md#instance-billing


#: Illustrative prices (USD/hour, 2026-11, placeholders to override) and capacities.
DEFAULT_TYPES: dict[str, InstanceType] = {
    "ml.g4dn.2xlarge": InstanceType(capacity=5, price_per_hour=1.05),
    "ml.g5.2xlarge": InstanceType(capacity=8, price_per_hour=1.52),
    "ml.g6.2xlarge": InstanceType(capacity=10, price_per_hour=1.22),
    "ml.g6e.2xlarge": InstanceType(capacity=20, price_per_hour=2.81),
    "ml.g7.2xlarge": InstanceType(capacity=14, price_per_hour=1.90),
    "ml.g7e.2xlarge": InstanceType(capacity=24, price_per_hour=3.40),
    "ml.g5.12xlarge": InstanceType(capacity=40, price_per_hour=7.09),
    "ml.g6.12xlarge": InstanceType(capacity=48, price_per_hour=5.75),
    "ml.g6e.12xlarge": InstanceType(capacity=96, price_per_hour=13.12),
}


@dataclass(frozen=True)
class Shortage:
    """A window in which a type has no capacity: SageMaker's request for it fails at once
    and it falls back to the next pool (docs/aws-behaviour.md#instance-pool-fallback)."""

    instance_type: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Params:
    """Simulation parameters.

    :param step_s: Simulation step; ``ConcurrentRequestsPerModel`` is emitted every 10 s.
    :param metric_period_s: Backlog metrics, ``HasBacklogWithoutCapacity`` and metric-math
        policies: every 60 s.
    :param high_datapoints: Datapoints above target before target tracking scales out.
        Default: 3 (practitioners' reports; AWS does not document the alarms' counts).
    :param low_datapoints: One-minute datapoints below target before it scales in.
        Default: 15 (same source).
    :param scale_in_margin: Target tracking scales in only when the metric is this fraction
        or more below the target. Default: 0.10.
    :param removal_s: How long a scale-in keeps the endpoint Updating. Default: 0
        (unconfirmed).
    :param bill_provisioning: 1 bills an instance while it provisions as well as in
        service; 0 bills from InService only. Default: 1 (AWS does not say; 1 is the
        costlier reading).
    :param types: Per instance type; unknown types use ``default_type``.
    :param shortages: Capacity shortages per type.
    """

    # Each default names its entry in docs/aws-behaviour.md (source, or "unconfirmed").
    step_s: float = 10.0  # docs/aws-behaviour.md#metric-periods
    metric_period_s: float = 60.0  # docs/aws-behaviour.md#metric-periods
    high_datapoints: int = 3  # docs/aws-behaviour.md#target-tracking-alarm-datapoints
    low_datapoints: int = 15  # docs/aws-behaviour.md#target-tracking-alarm-datapoints
    scale_in_margin: float = 0.10  # docs/aws-behaviour.md#target-tracking-scale-in-margin
    removal_s: float = 0.0  # docs/aws-behaviour.md#scale-in-duration
    bill_provisioning: int = 1  # docs/aws-behaviour.md#instance-billing
    types: Mapping[str, InstanceType] = field(default_factory=lambda: dict(DEFAULT_TYPES))
    default_type: InstanceType = InstanceType()
    shortages: tuple[Shortage, ...] = ()  # docs/aws-behaviour.md#instance-pool-fallback

    def instance(self, instance_type: str) -> InstanceType:
        return self.types.get(instance_type, self.default_type)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise ParamsError(f"{where} must be a table/object, got {data!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    if cls is Params:
        for key in sorted(set(data) & set(RETIRED)):
            warnings.warn(f"{where}: {key} no longer has an effect and is ignored: "
                          f"{RETIRED[key]}", ParamsWarning, stacklevel=3)
        data = {k: v for k, v in data.items() if k not in RETIRED}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ParamsError(f"{where}: unknown key {unknown[0]!r}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if cls is Params and key == "types":
            base = dict(DEFAULT_TYPES)
            for name, spec in (value or {}).items():
                start = dataclasses.asdict(base.get(name, InstanceType()))
                start.update(spec if isinstance(spec, Mapping) else {"?": spec})
                base[name] = _build(InstanceType, start, f"{where}.types.{name}")
            values[key] = base
        elif cls is Params and key == "default_type":
            values[key] = _build(InstanceType, value, f"{where}.default_type")
        elif cls is Params and key == "shortages":
            values[key] = tuple(_build(Shortage, s, f"{where}.shortages[{i}]")
                                for i, s in enumerate(value))
        elif key == "instance_type":
            if not isinstance(value, str):
                raise ParamsError(f"{where}.{key} must be a string, got {value!r}")
            values[key] = value
        elif value is None and key == "hard_limit":
            values[key] = None
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ParamsError(f"{where}.{key} must be a number >= 0, got {value!r}")
        else:
            values[key] = value
    return cls(**values)


def load_params(path: str | os.PathLike[str] | None = None) -> Params:
    """Defaults, overridden by a JSON or TOML file."""
    if path is None:
        return Params()
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        data = tomllib.loads(text) if os.fspath(path).endswith(".toml") else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ParamsError(f"{os.fspath(path)}: {err}") from None
    name = os.path.basename(os.fspath(path))
    built: Params = _build(Params, data, name)
    check_params(built, name)
    return built


def check_params(params: Params, where: str = "params") -> None:
    """Values the engine cannot run with: a clear error instead of a crash."""
    if params.step_s <= 0:
        raise ParamsError(f"{where}.step_s must be > 0, got {params.step_s!r}")
    ratio = params.metric_period_s / params.step_s
    if params.metric_period_s <= 0 or abs(ratio - round(ratio)) > 1e-9:
        raise ParamsError(f"{where}.metric_period_s must be a positive multiple of step_s "
                          f"({params.step_s:g}), got {params.metric_period_s!r}")
    for key in ("high_datapoints", "low_datapoints"):
        value = getattr(params, key)
        if not isinstance(value, int) or value < 1:
            raise ParamsError(f"{where}.{key} must be a whole number >= 1, got {value!r}")
    if params.bill_provisioning not in (0, 1):
        raise ParamsError(f"{where}.bill_provisioning must be 0 or 1, got "
                          f"{params.bill_provisioning!r}")
    if not 0 <= params.scale_in_margin < 1:
        raise ParamsError(f"{where}.scale_in_margin must be in [0, 1), got "
                          f"{params.scale_in_margin!r}")
    for name, spec in params.types.items():
        if spec.capacity <= 0:
            raise ParamsError(f"{where}.types.{name}.capacity must be > 0, got {spec.capacity!r}")
