"""A calibration result feeds the constructs (``InstancePool.from_calibration``,
``calibration_target``) and the simulator (``--calibration FILE``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from deepgram_scaling import DeepgramModel, InstancePool, RealtimeDeepgramEndpoint
from deepgram_scaling.calibrate.result import calibration_target
from deepgram_scaling.calibrate.simulation import CalibrationFileError, measured_capacities
from deepgram_scaling.errors import DeepgramScalingConfigError
from deepgram_scaling.simulator.cli import _params, build_parser

from .conftest import IMAGE_URI
from .test_calibrate_units import sample_result


def write(tmp_path: Path, name: str = "g6.json", **changes: object) -> Path:
    result = sample_result()
    for key, value in changes.items():
        setattr(result, key, value)
    path = tmp_path / name
    result.write(path)
    return path


def test_a_pool_and_a_target_come_from_a_result(tmp_path: Path):
    path = write(tmp_path)
    pool = InstancePool.from_calibration(str(path))
    assert (pool.instance_type, pool.max_concurrency) == ("ml.g6.2xlarge", 12)
    assert calibration_target(path) == 9


@pytest.mark.parametrize(("changes", "message"), [
    ({"target": {"kind": "url", "url": "ws://h:8080"}},
     "needs a result that names its instance type"),
    ({"capacity": None}, "needs a capacity, got none"),
    ({"time_scale": 20.0}, "accelerated clock"),
    ({"interrupted": True, "stopped": "interrupted during level 8"}, "it was interrupted"),
    ({"mode": "batch"}, "measured batch requests"),
])
def test_a_result_without_type_or_capacity_makes_no_pool(tmp_path: Path,
                                                          changes: dict[str, object],
                                                          message: str):
    path = write(tmp_path, **changes)
    with pytest.raises(DeepgramScalingConfigError, match=message):
        InstancePool.from_calibration(str(path))


def test_a_capacity_that_is_only_a_lower_bound_makes_a_pool_with_a_warning(tmp_path: Path):
    capped = write(tmp_path, "capped.json",
                   stopped="stream cap 12 reached with every level passing")
    with pytest.warns(UserWarning, match="only a lower bound"):
        assert InstancePool.from_calibration(str(capped)).max_concurrency == 12
    with pytest.warns(UserWarning, match="only a lower bound"):
        assert measured_capacities([str(capped)]) == {"ml.g6.2xlarge": 12}


def test_a_capacity_judged_on_too_few_samples_warns_every_reader(tmp_path: Path):
    import dataclasses

    from deepgram_scaling.calibrate.result import calibration_target

    # given a result whose capacity level passed with its growth term unmeasured
    result = sample_result()
    note = "lag_growth_p50: no stream spanned 10 s of audio"
    result.levels = [dataclasses.replace(level, notes=(note,)) for level in result.levels]
    path = tmp_path / "thin.json"
    result.write(path)
    # then the constructs, the target and the simulator each warn, naming it
    with pytest.warns(UserWarning, match="inconclusive verdict .*no stream spanned 10 s"):
        InstancePool.from_calibration(str(path))
    with pytest.warns(UserWarning, match="inconclusive"):
        calibration_target(path)
    with pytest.warns(UserWarning, match="inconclusive"):
        measured_capacities([str(path)])


def test_a_search_that_found_its_knee_warns_of_nothing(tmp_path: Path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert InstancePool.from_calibration(str(write(tmp_path))).max_concurrency == 12


def test_a_level_measured_on_several_instances_counts_per_instance():
    # given --allow-scaling on an endpoint running 3 instances, where level 12 passed
    result = sample_result()
    result.target = {**result.target, "instance_count": 3}
    # when
    result.set_capacity(12)
    # then
    assert (result.capacity, result.measured_capacity, result.target_concurrency) == (4, 12, 3)
    from deepgram_scaling.calibrate.report import conclusion

    assert "divided by 3" in conclusion(result)
    result.target = {**result.target, "instance_count": 1}
    result.set_capacity(12)
    assert (result.capacity, result.measured_capacity) == (12, 12)
    assert "divided by" not in conclusion(result)


def test_an_unreadable_result_is_a_config_error(tmp_path: Path):
    with pytest.raises(DeepgramScalingConfigError, match="from_calibration cannot read"):
        InstancePool.from_calibration(str(tmp_path / "missing.json"))


def test_a_one_instance_calibration_deployment_scales_on_the_measured_target(
        tmp_path: Path, new_stack: Callable[..., cdk.Stack]):
    # given a calibrated type, deployed pinned to one instance as docs/calibration.md shows
    path = write(tmp_path)
    stack = new_stack("Calibrated", nag=False)  # cdk-nag runs on the same construct elsewhere
    # when
    RealtimeDeepgramEndpoint(stack, "Speech", model=DeepgramModel.from_image(IMAGE_URI),
                             instance_pools=[InstancePool.from_calibration(str(path))],
                             min_capacity=1, max_capacity=1,
                             target_concurrency_per_instance=calibration_target(path))
    template = Template.from_stack(stack)
    # then
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {
        "ProductionVariants": [Match.object_like({"InstanceType": "ml.g6.2xlarge",
                                                  "InitialInstanceCount": 1})]})
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget",
                                     {"MinCapacity": 1, "MaxCapacity": 1})
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalingPolicy", {
        "TargetTrackingScalingPolicyConfiguration": Match.object_like({"TargetValue": 9})})


def recommend_args(*calibrations: Path) -> list[str]:
    return ["recommend", "--trace", "t.csv", "--kind", "realtime", "--pools",
            "ml.g6.2xlarge", "--slo", "overload=0", "--calibration", *map(str, calibrations)]


def test_the_simulator_takes_measured_capacities(tmp_path: Path):
    # given a g6 result measuring 12 (the simulator's illustrative g6 capacity is 10)
    args = build_parser().parse_args(recommend_args(write(tmp_path)))
    # when
    params = _params(args)
    # then
    assert params.instance("ml.g6.2xlarge").capacity == 12
    assert params.instance("ml.g5.2xlarge").capacity == 8  # untouched


@pytest.mark.parametrize(("changes", "message"), [
    ({"mode": "batch"}, "measured batch requests"),
    ({"target": {"kind": "url", "url": "ws://h"}}, "names no instance type"),
    ({"capacity": None}, "no level met its SLO"),
    ({"time_scale": 20.0}, "accelerated clock"),
    ({"interrupted": True, "stopped": "interrupted during level 8"}, "it was interrupted"),
])
def test_the_simulator_refuses_results_that_measured_no_stream_capacity(
        tmp_path: Path, changes: dict[str, object], message: str):
    path = write(tmp_path, **changes)
    with pytest.raises(CalibrationFileError, match=message):
        measured_capacities([str(path)])
    with pytest.raises(DeepgramScalingConfigError, match=message):
        _params(build_parser().parse_args(recommend_args(path)))


def test_two_results_for_one_type_are_refused(tmp_path: Path):
    one, two = write(tmp_path, "a.json"), write(tmp_path, "b.json")
    with pytest.raises(CalibrationFileError, match=r"lists ml\.g6\.2xlarge twice"):
        measured_capacities([str(one), str(two)])
