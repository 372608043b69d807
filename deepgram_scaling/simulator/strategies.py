"""Scaling set-ups to compare, synthesized with the real constructs.

``synthesize_strategies`` writes the README's comparison template; ``candidate_setups``
gives ``recommend`` its search space. Both synthesize with the constructs, so every
candidate has exactly the policies the constructs produce, then vary the numbers.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .params import Params
from .template import EndpointSetup, read_endpoints

#: A placeholder package ARN: synthesis needs one, the simulation does not use it.
_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/deepgram-nova-3-simulation"
_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram/self-hosted:simulation"


def _stack(out: str | Path, name: str) -> tuple[Any, Any]:
    import aws_cdk as cdk

    app = cdk.App(outdir=str(out))
    return app, cdk.Stack(app, name)


def synthesize_strategies(out: str | Path, *, peak_streams: float, capacity: float = 10.0,
                          instance_type: str = "ml.g6.2xlarge") -> Path:
    """One template with four real-time endpoints over the same instance type:

    - ``Defaults``: this library's defaults (target 75 % of the declared capacity,
      cooldowns 60 s out, 300 s in);
    - ``DeepgramDocumented``: Deepgram's documented policy (target 5, cooldowns 60/300);
    - ``StreamingSafe``: the defaults with streaming-safe scale-in;
    - ``StaticPeak``: a fixed fleet sized for the trace's peak.
    """
    import aws_cdk as cdk

    from .. import DeepgramModel, InstancePool, RealtimeDeepgramEndpoint, StreamingSafeScaleIn

    app, stack = _stack(out, "Strategies")
    model = DeepgramModel.from_model_package(_ARN)
    pools = [InstancePool(instance_type, max_concurrency=capacity)]
    peak = max(1, math.ceil(peak_streams / capacity))
    ceiling = max(2, math.ceil(peak_streams / (capacity * 0.5)) + 1)
    RealtimeDeepgramEndpoint(stack, "Defaults", model=model, instance_pools=pools,
                             max_capacity=ceiling)
    RealtimeDeepgramEndpoint(stack, "DeepgramDocumented", model=model,
                             instance_pools=[InstancePool(instance_type)], max_capacity=ceiling,
                             target_concurrency_per_instance=5,
                             scale_out_cooldown=cdk.Duration.seconds(60),
                             scale_in_cooldown=cdk.Duration.seconds(300))
    RealtimeDeepgramEndpoint(stack, "StreamingSafe", model=model, instance_pools=pools,
                             max_capacity=ceiling, scale_in=StreamingSafeScaleIn())
    RealtimeDeepgramEndpoint(stack, "StaticPeak", model=model, instance_pools=pools,
                             min_capacity=peak, max_capacity=peak)
    app.synth()
    return Path(out) / "Strategies.template.json"


def _base_setups(kind: str, pools: Sequence[str], params: Params,
                 max_capacity: int) -> dict[str, EndpointSetup]:
    import aws_cdk as cdk

    from .. import (
        AsyncDeepgramEndpoint,
        DeepgramModel,
        InstancePool,
        RealtimeDeepgramEndpoint,
        StreamingSafeScaleIn,
    )

    with tempfile.TemporaryDirectory() as out:
        app, stack = _stack(out, "Candidates")
        if kind == "realtime":
            declared = [InstancePool(p, max_concurrency=params.instance(p).capacity)
                        for p in pools]
            model = DeepgramModel.from_model_package(_ARN)
            RealtimeDeepgramEndpoint(stack, "TargetTracking", model=model,
                                     instance_pools=declared, max_capacity=max_capacity)
            RealtimeDeepgramEndpoint(stack, "StreamingSafe", model=model,
                                     instance_pools=declared, max_capacity=max_capacity,
                                     scale_in=StreamingSafeScaleIn())
        else:
            AsyncDeepgramEndpoint(stack, "Backlog", model=DeepgramModel.from_image(_IMAGE),
                                  instance_pools=list(pools), max_capacity=max_capacity,
                                  scale_in_cooldown=cdk.Duration.seconds(600))
        app.synth()
        return read_endpoints(Path(out) / "Candidates.template.json")


def candidate_setups(kind: str, pools: Sequence[str], params: Params, *,
                     max_capacity: int = 20) -> Iterator[tuple[dict[str, str], EndpointSetup]]:
    """(construct keyword arguments, set-up) pairs over targets, scale-in cooldowns,
    scale-in modes and floors. The constructs are synthesized once per structural variant
    (plain target tracking, streaming-safe scale-in, asynchronous); the numbers are then
    varied in the parsed set-up."""
    bases = _base_setups(kind, pools, params, max_capacity)
    pool_text = "[" + ", ".join(
        f'InstancePool("{p}"' + (f", max_concurrency={params.instance(p).capacity:g}"
                                 if kind == "realtime" else "") + ")"
        for p in pools) + "]"
    if kind == "realtime":
        # No scale-out cooldown here: the endpoint refuses changes while Updating, so a
        # target-tracking scale-out cooldown has no effect in the model (see policies.py);
        # the constructs' default stays.
        capacities = [params.instance(p).capacity for p in pools]
        mixed = len(set(capacities)) > 1
        for mode, base in (("target tracking", bases["TargetTracking"]),
                           ("streaming-safe", bases["StreamingSafe"])):
            for fraction in (0.5, 0.6, 0.7, 0.75, 0.8, 0.9):
                # Mixed capacities: the construct derives the companion's target from
                # target_utilization and the largest capacity; a smaller one given by hand
                # is what it warns about (realtime.py, _warn_about_a_low_companion).
                target = (round(fraction * max(capacities), 6) if mixed
                          else round(capacities[0] * fraction, 3))
                for cooldown in (300, 900):
                    for floor in (1, 2, 3):
                        policies = tuple(
                            dataclasses.replace(
                                policy, scale_in_cooldown_s=cooldown,
                                target=(fraction if policy.metric == "metric-math" else target))
                            for policy in base.target_tracking)
                        setup = dataclasses.replace(
                            base, target_tracking=policies, min_capacity=floor,
                            initial_instance_count=floor)
                        kwargs = {"instance_pools": pool_text, "min_capacity": str(floor),
                                  "max_capacity": str(max_capacity),
                                  "scale_in_cooldown": f"Duration.seconds({cooldown})"}
                        if mixed:
                            kwargs["target_utilization"] = f"{fraction:g}"
                        else:
                            kwargs["target_concurrency_per_instance"] = f"{target:g}"
                        if mode == "streaming-safe":
                            kwargs["scale_in"] = "StreamingSafeScaleIn()"
                        yield kwargs, setup
        return
    base = bases["Backlog"]
    for target_backlog in (1, 2, 5, 10, 20):
        for floor in (0, 1):
            for cooldown in (300, 600):
                policies = tuple(dataclasses.replace(p, target=float(target_backlog),
                                                     scale_in_cooldown_s=cooldown)
                                 for p in base.target_tracking)
                steps = base.step_policies if floor == 0 else ()
                setup = dataclasses.replace(base, target_tracking=policies, step_policies=steps,
                                            min_capacity=floor,
                                            initial_instance_count=max(1, floor))
                yield ({"instance_pools": pool_text, "min_capacity": str(floor),
                        "max_capacity": str(max_capacity),
                        "target_backlog_per_instance": str(target_backlog),
                        "scale_in_cooldown": f"Duration.seconds({cooldown})"}, setup)
