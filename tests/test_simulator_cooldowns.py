"""The simulator honours every cooldown it reads from a template: the target-tracking
scale-in cooldown and the step policies' cooldowns (docs/aws-behaviour.md#scale-out-cooldown).

Each scenario is built so that the cooldown, not an alarm's datapoints or the Updating lock,
is what spaces the changes: without the cooldown the same run changes capacity sooner.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import aws_cdk as cdk
import numpy as np
import pytest
from aws_cdk.assertions import Template
from aws_cdk.aws_applicationautoscaling import ScalingInterval

from deepgram_scaling import (
    DeepgramModel,
    InstancePool,
    RealtimeDeepgramEndpoint,
    StepScalingOptions,
)
from deepgram_scaling.simulator.engine import Result, Simulation
from deepgram_scaling.simulator.params import Params
from deepgram_scaling.simulator.template import EndpointSetup, read_endpoints

from .conftest import PACKAGE_ARN

MONDAY = 1772409600.0
STEP = 10
HOUR = 3600
#: One low datapoint is enough to scale in, so only the cooldown can hold a scale-in back.
QUICK = Params(low_datapoints=1)


@pytest.fixture(scope="module")
def setups(new_stack: Callable[..., cdk.Stack]) -> dict[str, EndpointSetup]:
    stack = new_stack("Cooldowns", nag=False)
    model = DeepgramModel.from_model_package(PACKAGE_ARN)
    pools = [InstancePool("ml.g6.2xlarge", max_concurrency=10)]
    RealtimeDeepgramEndpoint(stack, "Tracking", model=model, instance_pools=pools,
                             max_capacity=20, scale_in_cooldown=cdk.Duration.minutes(20))
    RealtimeDeepgramEndpoint(
        stack, "Steps", model=model, instance_pools=pools, max_capacity=20,
        step_scaling=StepScalingOptions(steps=[
            ScalingInterval(upper=2, change=-1), ScalingInterval(lower=2, upper=6, change=0),
            ScalingInterval(lower=6, change=2)], cooldown=cdk.Duration.minutes(20)))
    return read_endpoints(Template.from_stack(stack).to_json())


def load(hours: float, changes: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    active = np.zeros(int(hours * HOUR / STEP))
    for start, level in changes:
        active[int(start * HOUR / STEP):] = level
    return active, np.zeros(len(active), dtype=np.int64)


def changes(result: Result, cause: str) -> list:
    return [e for e in result.events[1:] if cause in e.cause and e.kind == "change"]


def gaps(events: list) -> list[float]:
    return [later.time_s - earlier.time_s for earlier, later in itertools.pairwise(events)]


def without_cooldowns(setup: EndpointSetup) -> EndpointSetup:
    return dataclasses.replace(
        setup,
        target_tracking=tuple(dataclasses.replace(p, scale_in_cooldown_s=0)
                              for p in setup.target_tracking),
        step_policies=tuple(dataclasses.replace(p, cooldown_s=0) for p in setup.step_policies))


# A load that falls by 10 streams every 5 minutes, from 150 to 10.
FALLING = [(0, 150)] + [(1 + i / 12, 150 - 10 * (i + 1)) for i in range(14)]


def test_target_tracking_scale_ins_are_a_scale_in_cooldown_apart(setups):
    # Given a 20-minute scale-in cooldown read from the template
    setup = setups["Tracking"]
    assert [p.scale_in_cooldown_s for p in setup.target_tracking] == [1200]
    active, arrivals = load(4, FALLING)
    # when the load falls step by step
    held = Simulation(setup, QUICK, start_epoch=MONDAY).run_realtime(active, arrivals)
    free = Simulation(without_cooldowns(setup), QUICK, start_epoch=MONDAY).run_realtime(
        active, arrivals)
    # then scale-ins come at least a cooldown apart, where without it they follow the load
    scale_ins = changes(held, "below target")
    assert len(scale_ins) >= 2
    assert min(gaps(scale_ins)) >= 1200
    assert min(gaps(changes(free, "below target"))) < 1200
    assert len(changes(free, "below target")) > len(scale_ins)


def test_step_scale_ins_are_a_step_cooldown_apart(setups):
    # Given a step policy removing one instance below 2 streams each, 20-minute cooldown
    setup = setups["Steps"]
    assert [p.cooldown_s for p in setup.step_policies] == [1200, 1200]
    # when 40 streams on many instances drop to 2
    active, arrivals = load(5, [(0, 80), (1, 2)])
    held = Simulation(setup, QUICK, start_epoch=MONDAY).run_realtime(active, arrivals)
    free = Simulation(without_cooldowns(setup), QUICK, start_epoch=MONDAY).run_realtime(
        active, arrivals)
    # then one instance goes per cooldown, where without it one goes every minute
    removals = changes(held, "-1")
    assert len(removals) >= 2
    assert min(gaps(removals)) >= 1200
    assert min(gaps(changes(free, "-1"))) < 1200


def test_step_scale_outs_within_the_cooldown_add_nothing_more(setups):
    # Given a step policy adding 2 instances above 6 streams each, 20-minute cooldown
    setup = setups["Steps"]
    # when the load stays far above what the fleet serves
    active, arrivals = load(3, [(0, 5), (0.5, 400)])
    held = Simulation(setup, QUICK, start_epoch=MONDAY).run_realtime(active, arrivals)
    free = Simulation(without_cooldowns(setup), QUICK, start_epoch=MONDAY).run_realtime(
        active, arrivals)
    # then the same +2 is not repeated within the cooldown
    additions = changes(held, "+2")
    assert len(additions) >= 2
    assert min(gaps(additions)) >= 1200
    assert min(gaps(changes(free, "+2"))) < 1200
