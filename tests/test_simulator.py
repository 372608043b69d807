"""The strategy simulator against the documented mechanics, on templates the constructs
synthesize (the simulator reads only the template)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from collections.abc import Callable

import aws_cdk as cdk
import numpy as np
import pytest
from aws_cdk.assertions import Template

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    InstancePool,
    RealtimeDeepgramEndpoint,
)
from deepgram_scaling.simulator.cli import main
from deepgram_scaling.simulator.engine import Simulation
from deepgram_scaling.simulator.params import Params, Shortage
from deepgram_scaling.simulator.template import (
    EndpointSetup,
    TemplateError,
    read_endpoints,
    select_endpoint,
)

from .conftest import IMAGE_URI, PACKAGE_ARN

MONDAY = 1772409600.0  # 2026-03-02T00:00:00Z
STEP = 10
HOUR = 3600
PARAMS = Params()


@pytest.fixture(scope="module")
def setups(new_stack: Callable[..., cdk.Stack]) -> dict[str, EndpointSetup]:
    stack = new_stack("Simulated", nag=False)
    model = DeepgramModel.from_model_package(PACKAGE_ARN)
    single = RealtimeDeepgramEndpoint(stack, "Single", model=model,
                                      instance_pools=[InstancePool("ml.g6.2xlarge", max_concurrency=10)],
                                      max_capacity=20)
    single.scale_on_schedule("MorningFloor", schedule="cron(0 9 * * ? *)", min_capacity=4)
    RealtimeDeepgramEndpoint(stack, "Mixed", model=model,
                             instance_pools=[InstancePool("ml.g6.2xlarge", max_concurrency=8),
                                             InstancePool("ml.g6e.2xlarge", max_concurrency=20)],
                             max_capacity=20, high_resolution_companion=False)
    AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=["ml.g6.2xlarge"], max_capacity=4)
    return read_endpoints(Template.from_stack(stack).to_json())


def step_load(hours: float, changes: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Constant load levels: [(from hour, streams), ...]."""
    active = np.zeros(int(hours * HOUR / STEP))
    for start, level in changes:
        active[int(start * HOUR / STEP):] = level
    return active, np.zeros(len(active), dtype=np.int64)


def events(result, cause: str = "") -> list:
    return [e for e in result.events[1:] if cause in e.cause and e.kind == "change"]


# --- a step up in load -------------------------------------------------------------------


@pytest.fixture(scope="module")
def step_up(setups):
    setup = dataclasses.replace(setups["Single"], schedules=())
    active, arrivals = step_load(6, [(0, 5), (1, 50), (3, 5)])
    return Simulation(setup, PARAMS, start_epoch=MONDAY).run_realtime(active, arrivals)


def test_first_scale_out_after_the_alarm_datapoints(step_up):
    first = events(step_up)[0]
    # 3 high-resolution datapoints above target: the third at +20 s
    assert first.time_s == HOUR + (PARAMS.high_datapoints - 1) * STEP
    assert first.cause.startswith("target tracking")
    # the target is 75 % of 10 streams: ceil(50 / 7.5) = 7
    assert (first.before, first.after) == (1, 7)


def test_new_capacity_serves_after_provisioning(step_up):
    first = events(step_up)[0]
    ready = int((first.time_s + PARAMS.instance("ml.g6.2xlarge").provision_s) / STEP)
    assert step_up.in_service[ready - 1].sum() == 1
    assert step_up.in_service[ready].sum() == 7


def test_capacity_settles_at_load_over_target(step_up):
    plateau = step_up.in_service[int(2.5 * HOUR / STEP)].sum()
    assert plateau == math.ceil(50 / 7.5)


def test_no_scale_in_before_the_low_alarm_allows(step_up):
    scale_ins = [e for e in events(step_up, "below target") if e.time_s > 3 * HOUR]
    assert scale_ins
    # 15 one-minute datapoints below target after the drop at 3 h
    assert scale_ins[0].time_s >= 3 * HOUR + (PARAMS.low_datapoints - 1) * 60
    assert scale_ins[0].time_s <= 3 * HOUR + (PARAMS.low_datapoints + 1) * 60


def test_scale_in_cooldown_holds(setups):
    # The step-up run cannot show it: its one scale-in waits 15 low datapoints, longer than
    # the cooldown. Here one low datapoint is enough and the load falls every minute, so
    # only the cooldown spaces the scale-ins.
    setup = dataclasses.replace(setups["Single"], schedules=())
    cooldown = max(p.scale_in_cooldown_s for p in setup.target_tracking)
    assert cooldown == 300  # the construct's default, read from the template
    active, arrivals = step_load(3, [(0, 150)] + [(1 + i / 60, 140 - 10 * i) for i in range(14)])
    quick = dataclasses.replace(PARAMS, low_datapoints=1)
    held = Simulation(setup, quick, start_epoch=MONDAY).run_realtime(active, arrivals)
    scale_ins = events(held, "below target")
    assert len(scale_ins) >= 3
    assert all(later.time_s - earlier.time_s >= cooldown
               for earlier, later in itertools.pairwise(scale_ins))
    # without the cooldown the same fall is followed minute by minute
    free = dataclasses.replace(setup, target_tracking=tuple(
        dataclasses.replace(p, scale_in_cooldown_s=0) for p in setup.target_tracking))
    unheld = events(Simulation(free, quick, start_epoch=MONDAY).run_realtime(active, arrivals),
                    "below target")
    assert min(later.time_s - earlier.time_s
               for earlier, later in itertools.pairwise(unheld)) < cooldown


def test_streams_cut_only_by_scale_in(step_up):
    # 5 streams on 7 instances at 3 h: scale-in to ceil(7 x (5/7) / 7.5) = 1 removes six
    # instances holding 6 x 5/7 = 4.3 streams, 4 whole streams
    scale_ins = [(e.before, e.after) for e in events(step_up, "below target")]
    assert scale_ins == [(7, 1)]
    assert step_up.to_json()["interrupted_streams"] == 4
    assert step_up.to_json()["rejected_streams"] == 0


# --- scheduled floor ---------------------------------------------------------------------


def test_scheduled_floor_applies_at_its_time(setups):
    active, arrivals = step_load(12, [(0, 2)])
    result = Simulation(setups["Single"], PARAMS, start_epoch=MONDAY).run_realtime(active, arrivals)
    (floor,) = events(result, "scheduled MorningFloor")
    assert floor.time_s == 9 * HOUR and floor.after == 4
    assert result.in_service[int(9 * HOUR / STEP) + 31].sum() == 4  # after provisioning


# --- asynchronous wake-up ----------------------------------------------------------------


def one_job_after_an_idle_day(arrival: float = 86400.0) -> list[tuple[float, float]]:
    return [(arrival, 40.0)]


def test_one_job_wakes_the_endpoint_through_has_backlog_without_capacity(setups):
    result = Simulation(setups["Jobs"], PARAMS, start_epoch=MONDAY).run_async(
        one_job_after_an_idle_day())
    data = result.to_json()
    assert data["completed"] == 1 and data["unserved_jobs"] == 0
    (wake,) = data["time_to_first_instance_s"]
    # two one-minute alarm periods (+ up to one period of alignment) plus provisioning
    limit = 2 * 60 + 60 + PARAMS.instance("ml.g6.2xlarge").provision_s + STEP
    assert wake <= limit
    assert any("HasBacklogWithoutCapacity" in e.cause for e in result.events)
    assert any(e.after == 0 for e in result.events)  # it had scaled to zero while idle


def test_without_the_step_policy_a_small_backlog_waits(setups):
    setup = dataclasses.replace(setups["Jobs"], step_policies=())
    result = Simulation(setup, PARAMS, start_epoch=MONDAY).run_async(
        one_job_after_an_idle_day(), drain_s=6 * HOUR)
    data = result.to_json()
    assert data["unserved_jobs"] == 1  # 1 job < target 5: target tracking never wakes
    assert data["time_to_first_instance_s"] == []


def test_a_backlog_above_target_wakes_target_tracking_alone(setups):
    setup = dataclasses.replace(setups["Jobs"], step_policies=())
    jobs = [(86400.0 + i, 40.0) for i in range(8)]  # backlog 8 > target 5
    result = Simulation(setup, PARAMS, start_epoch=MONDAY).run_async(jobs, drain_s=6 * HOUR)
    assert result.to_json()["completed"] == 8


# --- mixed fleet ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shortage(setups):
    params = dataclasses.replace(PARAMS, shortages=(Shortage("ml.g6.2xlarge", 1 * HOUR, 3 * HOUR),))
    # 60 streams during the g6 shortage, 100 after it, then 4: the last scale-in empties the
    # g6e pool and reaches into the g6 one.
    active, arrivals = step_load(8, [(0, 4), (1.5, 60), (3.5, 100), (6, 4)])
    return Simulation(setups["Mixed"], params, start_epoch=MONDAY).run_realtime(active, arrivals)


def test_fallback_pool_serves_during_the_primary_shortage(shortage):
    during = shortage.in_service[int(2.5 * HOUR / STEP)]
    # 60 streams at 6 per instance (0.75 x the g6's 8) need 10: the initial g6 instance
    # and nine g6e instances
    assert (during[0], during[1]) == (1, 9)
    assert shortage.to_json()["per_pool"]["ml.g6e.2xlarge"]["instance_hours"] > 0


def test_scale_in_removes_fallback_instances_first(shortage):
    drops = [(earlier, later) for earlier, later in itertools.pairwise(shortage.in_service)
             if later.sum() < earlier.sum()]
    assert any(later[0] < earlier[0] for earlier, later in drops)  # one reaches the g6 pool
    for earlier, later in drops:
        removed = earlier.sum() - later.sum()
        # g6e instances go first; a g6 instance only once no g6e instance remains
        assert earlier[1] - later[1] == min(earlier[1], removed)
        if later[0] < earlier[0]:
            assert later[1] == 0, "a g6 instance went while g6e instances remained"


def test_mixed_fleet_is_held_at_the_declared_utilization(setups):
    active, arrivals = step_load(4, [(0, 60)])
    result = Simulation(setups["Mixed"], PARAMS, start_epoch=MONDAY).run_realtime(active, arrivals)
    final = result.in_service[-1]
    per_instance = 60 / final.sum()
    assert per_instance / 8 <= 0.75 + 1e-9  # the g6 pool (capacity 8) binds
    assert 60 / (final.sum() - 1) / 8 > 0.75 * 0.9  # one fewer would be above the scale-in line


# --- the example app -----------------------------------------------------------------------


def test_example_templates_simulate(example_template, tmp_path):
    from deepgram_scaling.simulator.traces import generate_trace

    realtime_trace = tmp_path / "rt.csv"
    generate_trace("contact-centre", days=0.5, seed=3, out=realtime_trace, peak_per_hour=300)
    async_trace = tmp_path / "jobs.csv"
    generate_trace("batch-uploads", days=0.5, seed=3, out=async_trace)
    path = tmp_path / "example.json"
    path.write_text(json.dumps(example_template.to_json()))
    for endpoint, trace in (("Realtime", realtime_trace), ("Batch", async_trace)):
        assert main(["simulate", str(path), "--endpoint", endpoint, "--trace", str(trace),
                     "--json"]) == 0


def test_json_output_has_the_documented_keys(example_template, tmp_path, capsys):
    from deepgram_scaling.simulator.traces import generate_trace

    trace = tmp_path / "flat.csv"
    generate_trace("flat", days=0.1, seed=1, out=trace, peak_per_hour=200)
    path = tmp_path / "example.json"
    path.write_text(json.dumps(example_template.to_json()))
    assert main(["simulate", str(path), "--endpoint", "Realtime", "--trace", str(trace),
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("instance_hours", "cost", "per_pool", "events", "overloaded_stream_seconds_fraction",
                "peak_overload", "rejected_streams"):
        assert key in data
    assert set(data["events"][0]) >= {"time", "from", "to", "cause"}


# --- bad input ---------------------------------------------------------------------------


def test_unknown_endpoint_lists_the_endpoints(setups):
    with pytest.raises(TemplateError, match=r"no endpoint 'Nope' in the template; endpoints: Jobs, Mixed, Single"):
        select_endpoint(setups, "Nope")


def test_unsupported_scaling_names_the_resource(example_template):
    template = json.loads(json.dumps(example_template.to_json()))
    policy_id = next(k for k, r in template["Resources"].items()
                     if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy")
    template["Resources"][policy_id]["Properties"]["PolicyType"] = "PredictiveScaling"
    with pytest.raises(TemplateError, match=rf"{policy_id}.PolicyType 'PredictiveScaling' is not supported"):
        read_endpoints(template)


def test_deploy_time_values_are_refused_with_the_property(example_template):
    template = json.loads(json.dumps(example_template.to_json()))
    target_id = next(k for k, r in template["Resources"].items()
                     if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget")
    template["Resources"][target_id]["Properties"]["MaxCapacity"] = {"Ref": "MaxParam"}
    with pytest.raises(TemplateError, match=rf"{target_id}.MaxCapacity must be a literal number"):
        read_endpoints(template)


def test_cli_reports_a_malformed_trace_row_with_its_line(example_template, tmp_path, capsys):
    trace = tmp_path / "bad.csv"
    trace.write_text("start,duration_s\n0,30\n10,abc\n")
    path = tmp_path / "t.json"
    path.write_text(json.dumps(example_template.to_json()))
    assert main(["simulate", str(path), "--endpoint", "Realtime", "--trace", str(trace)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: bad.csv:3: ")


def test_cli_unknown_endpoint(example_template, tmp_path, capsys):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(example_template.to_json()))
    trace = tmp_path / "t.csv"
    trace.write_text("start,duration_s\n0,30\n")
    assert main(["simulate", str(path), "--endpoint", "Nope", "--trace", str(trace)]) == 2
    assert "endpoints: Batch, Realtime" in capsys.readouterr().err


# --- the other subcommands ----------------------------------------------------------------


def test_recommend_prints_construct_arguments_that_meet_the_slo(tmp_path, capsys):
    trace = tmp_path / "flat.csv"
    assert main(["traces", "generate", "flat", "--days", "0.25", "--seed", "2",
                 "--peak-per-hour", "300", "-o", str(trace)]) == 0
    assert main(["recommend", "--trace", str(trace), "--kind", "realtime",
                 "--pools", "ml.g6.2xlarge", "--slo", "overload=0.01", "--max-capacity", "10"]) == 0
    out = capsys.readouterr().out
    assert "RealtimeDeepgramEndpoint(scope" in out
    assert 'InstancePool("ml.g6.2xlarge", max_concurrency=10)' in out
    assert "target_concurrency_per_instance=" in out


def _printed_construct(out: str) -> str:
    """The construct call recommend prints, from its name to the closing parenthesis."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(("RealtimeDeepgramEndpoint(", "AsyncDeepgramEndpoint(")))
    end = lines.index(")", start)
    return "\n".join(lines[start:end + 1])


def _warnings_of(code: str, stack: cdk.Stack, model: DeepgramModel) -> list[str]:
    from aws_cdk.assertions import Annotations, Match

    from deepgram_scaling import AsyncDeepgramEndpoint, StreamingSafeScaleIn

    namespace = {"scope": stack, "model": model, "InstancePool": InstancePool,
                 "Duration": cdk.Duration, "StreamingSafeScaleIn": StreamingSafeScaleIn,
                 "RealtimeDeepgramEndpoint": RealtimeDeepgramEndpoint,
                 "AsyncDeepgramEndpoint": AsyncDeepgramEndpoint}
    exec(compile(code, "recommend", "exec"), namespace)
    found = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    return [str(w.entry.data) for w in found]


def test_recommend_prints_settings_the_library_does_not_warn_about(tmp_path, capsys,
                                                                    new_stack):
    # given pools whose illustrative capacities differ, the smaller one first
    trace = tmp_path / "flat.csv"
    assert main(["traces", "generate", "flat", "--days", "0.25", "--seed", "2",
                 "--peak-per-hour", "300", "-o", str(trace)]) == 0
    capsys.readouterr()

    # when recommend runs
    assert main(["recommend", "--trace", str(trace), "--kind", "realtime", "--pools",
                 "ml.g6.2xlarge,ml.g6e.2xlarge", "--slo", "overload=0.01",
                 "--max-capacity", "10", "--workers", "1"]) == 0
    out = capsys.readouterr().out

    # then the construct call it prints synthesizes without a warning
    code = _printed_construct(out)
    assert "target_utilization=" in code
    assert _warnings_of(code, new_stack("Recommended"), DeepgramModel.from_model_package(
        PACKAGE_ARN)) == []
    # and the capacities it was given by nobody are labelled as such
    assert "# ILLUSTRATIVE: the capacity of ml.g6.2xlarge, ml.g6e.2xlarge is the " \
        "simulator's default, not a measurement" in out
    assert "max_concurrency=20)],  # illustrative, not measured" in code


def test_recommend_prints_measured_capacities_without_the_label(tmp_path, capsys, new_stack):
    # given capacities measured by a load test, passed in --params
    trace = tmp_path / "flat.csv"
    assert main(["traces", "generate", "flat", "--days", "0.25", "--seed", "2",
                 "--peak-per-hour", "300", "-o", str(trace)]) == 0
    params = tmp_path / "measured.json"
    params.write_text(json.dumps({"types": {"ml.g6.2xlarge": {"capacity": 12}}}))
    capsys.readouterr()

    # when recommend runs
    assert main(["recommend", "--trace", str(trace), "--kind", "realtime", "--pools",
                 "ml.g6.2xlarge", "--slo", "overload=0.01", "--max-capacity", "10",
                 "--workers", "1", "--params", str(params)]) == 0
    out = capsys.readouterr().out

    # then the measured capacity is printed as it is, with no illustrative label
    code = _printed_construct(out)
    assert 'InstancePool("ml.g6.2xlarge", max_concurrency=12)' in code
    assert "illustrative" not in out.lower().replace("(illustrative prices)", "")
    assert _warnings_of(code, new_stack("Measured"), DeepgramModel.from_model_package(
        PACKAGE_ARN)) == []


def test_recommend_for_async_prints_settings_the_library_does_not_warn_about(
        tmp_path, capsys, new_stack):
    trace = tmp_path / "batch.csv"
    assert main(["traces", "generate", "batch-uploads", "--days", "0.25",
                 "-o", str(trace)]) == 0
    capsys.readouterr()

    assert main(["recommend", "--trace", str(trace), "--kind", "async", "--pools",
                 "ml.g6.2xlarge,ml.g6e.2xlarge", "--slo", "p95=600", "--workers", "1"]) == 0
    out = capsys.readouterr().out

    # the call asks for a self-hosted image, and with one it synthesizes without a warning
    assert "# model: a self-hosted image (DeepgramModel.from_image)" in out
    assert _warnings_of(_printed_construct(out), new_stack("RecommendedAsync"),
                        DeepgramModel.from_image(IMAGE_URI)) == []


def test_recommend_rejects_an_unknown_slo_key(tmp_path, capsys):
    trace = tmp_path / "t.csv"
    trace.write_text("start,duration_s\n0,30\n")
    assert main(["recommend", "--trace", str(trace), "--kind", "realtime", "--pools",
                 "ml.g6.2xlarge", "--slo", "latency=1"]) == 2
    assert "--slo key 'latency' is not one of" in capsys.readouterr().err


def test_compare_prints_one_row_per_endpoint(setups, example_template, tmp_path, capsys):
    path = tmp_path / "example.json"
    path.write_text(json.dumps(example_template.to_json()))
    trace = tmp_path / "flat.csv"
    main(["traces", "generate", "flat", "--days", "0.1", "--seed", "1", "-o", str(trace)])
    capsys.readouterr()
    assert main(["compare", f"{path}:Realtime", f"{path}:Realtime", "--trace", str(trace)]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert table[0].startswith("| policy | instance-hours | cost |") and len(table) == 4
    assert main(["compare", str(path), "--trace", str(trace)]) == 2  # real-time and async mixed
    assert "compare needs endpoints of one kind" in capsys.readouterr().err


def test_utilization_is_held_beside_the_high_resolution_companion(example_template):
    # The example's real-time endpoint: metric math on pools (8, 20, 6) at 0.75, plus the
    # companion at 7 concurrent requests per instance. The fleet ends within the bound.
    setup = dataclasses.replace(read_endpoints(example_template.to_json())["Realtime"],
                                schedules=(), max_capacity=40)
    assert len(setup.target_tracking) == 2
    active, arrivals = step_load(4, [(0, 60)])
    result = Simulation(setup, PARAMS, start_epoch=MONDAY).run_realtime(active, arrivals)
    final = result.in_service[-1]
    assert 60 / final.sum() / 8 <= 0.75 + 1e-9  # every g6 instance at or below 75 %
    assert final[0] == final.sum()  # no shortage: all from the primary pool


# --- review findings -----------------------------------------------------------------------


def test_async_jobs_never_start_before_they_arrive(setups):
    setup = dataclasses.replace(setups["Jobs"], min_capacity=1, step_policies=())
    result = Simulation(setup, PARAMS, start_epoch=MONDAY).run_async([(15.0, 40.0)],
                                                                     drain_s=HOUR)
    assert result.to_json()["wait_s"]["max"] == 5.0  # arrives at 15 s, next step at 20 s


def test_requeued_jobs_are_counted_once(setups):
    # three two-hour jobs on three one-slot instances; idle-looking backlog scales in and
    # requeues two of them: still three jobs, three waits, three completions
    setup = dataclasses.replace(setups["Jobs"], initial_instance_count=3,
                                max_concurrent_invocations=1, step_policies=())
    jobs = [(0.0, 7200.0)] * 3
    data = Simulation(setup, PARAMS, start_epoch=MONDAY).run_async(jobs).to_json()
    assert data["jobs"] == 3 and data["completed"] == 3 and data["unserved_jobs"] == 0
    assert data["wait_s"]["max"] == 0.0  # each wait counted at its first start only
    assert any(e.after < e.before for e in Simulation(
        setup, PARAMS, start_epoch=MONDAY).run_async(jobs).events[1:])


def test_a_scale_out_cooldown_shorter_than_provisioning_no_longer_over_scales(setups):
    # The endpoint refuses changes while Updating, so a second scale-out cannot stack on
    # one still provisioning: 60 s and 600 s cooldowns give the same single scale-out.
    base = dataclasses.replace(setups["Single"], schedules=())
    active, arrivals = step_load(2, [(0, 5), (0.5, 50)])

    def scale_outs(cooldown: int) -> list[tuple[float, int, int]]:
        policies = tuple(dataclasses.replace(p, scale_out_cooldown_s=cooldown)
                         for p in base.target_tracking)
        setup = dataclasses.replace(base, target_tracking=policies)
        result = Simulation(setup, PARAMS, start_epoch=MONDAY).run_realtime(active, arrivals)
        return [(e.time_s, e.before, e.after) for e in result.events[1:] if e.kind == "change"]

    assert scale_outs(60) == scale_outs(600) == [(0.5 * HOUR + 20, 1, math.ceil(50 / 7.5))]


def test_fallback_is_immediate_and_billed_from_launch(setups):
    # g6 short all along: the second instance comes from g6e at once, billed from launch
    params = dataclasses.replace(PARAMS, shortages=(Shortage("ml.g6.2xlarge", 0, 10 * HOUR),))
    setup = dataclasses.replace(setups["Mixed"], initial_instance_count=1, min_capacity=2)
    active, arrivals = step_load(1, [(0, 1)])
    result = Simulation(setup, params, start_epoch=MONDAY).run_realtime(active, arrivals)
    launched = next(e for e in result.events if e.after == 2)
    assert launched.time_s == 0.0
    provision = PARAMS.instance("ml.g6e.2xlarge").provision_s
    assert result.in_service[int(provision / STEP)].tolist() == [1, 1]
    assert result.instance_seconds["ml.g6e.2xlarge"] == HOUR


def test_parameters_the_engine_cannot_run_with_are_refused(tmp_path):
    from deepgram_scaling.simulator.params import ParamsError, load_params

    for body, message in (('{"step_s": 0}', "step_s must be > 0"),
                          ('{"metric_period_s": 25}', "metric_period_s must be a positive multiple"),
                          ('{"high_datapoints": 2.5}', "high_datapoints must be a whole number"),
                          ('{"types": {"ml.g6.2xlarge": {"capacity": 0}}}', "capacity must be > 0"),
                          ('{"nonsense": 1}', "unknown key 'nonsense'")):
        path = tmp_path / "p.json"
        path.write_text(body)
        with pytest.raises(ParamsError, match=message):
            load_params(path)


def test_recommend_prints_the_nearest_misses_when_nothing_meets(tmp_path, capsys):
    # given an SLO no candidate can meet (no stream may ever wait on an overloaded instance,
    # and none may be cut) on a flat trace
    trace = tmp_path / "flat.csv"
    assert main(["traces", "generate", "flat", "--days", "0.25", "--seed", "2",
                 "--peak-per-hour", "300", "-o", str(trace)]) == 0
    capsys.readouterr()
    status = main(["recommend", "--trace", str(trace), "--kind", "realtime", "--pools",
                   "ml.g6.2xlarge", "--slo", "overload=0,cut=0", "--max-capacity", "2",
                   "--workers", "1"])
    # then it fails and lists the five cheapest candidates with the figure that failed each
    assert status == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("no candidate of 72 met the service level overload=0,cut=0; raise "
                      "--max-capacity or relax --slo")
    assert err[1] == "nearest misses (cheapest first, with what failed):"
    misses = err[2:7]
    assert len(misses) == 5
    assert err[7] == "closest on each figure:"
    assert [line.split()[0] for line in err[8:]] == ["overload", "cut"]
    costs = [float(line.split("cost ")[1].split(":")[0]) for line in misses]
    assert costs == sorted(costs)
    assert all(re.search(r"(overload [0-9.e-]+ > 0|cut \d+ > 0)", line) for line in misses)
    assert all("target_concurrency_per_instance=" in line for line in misses)


def test_recommend_on_two_workers_agrees_with_one(tmp_path, capsys):
    trace = tmp_path / "flat.csv"
    main(["traces", "generate", "flat", "--days", "0.25", "--seed", "2", "--peak-per-hour",
          "300", "-o", str(trace)])
    capsys.readouterr()
    outputs = []
    for workers in ("1", "2"):
        assert main(["recommend", "--trace", str(trace), "--kind", "realtime", "--pools",
                     "ml.g6.2xlarge", "--slo", "overload=0.01", "--max-capacity", "10",
                     "--workers", workers]) == 0
        outputs.append(capsys.readouterr().out.splitlines()[0])
    # the same winner at the same cost (how many were skipped may differ with timing)
    assert outputs[0].rsplit("cost ", 1)[1] == outputs[1].rsplit("cost ", 1)[1]
    assert outputs[0].startswith("# cheapest of ")


def test_recommend_rejects_zero_workers(tmp_path, capsys):
    trace = tmp_path / "t.csv"
    trace.write_text("start,duration_s\n0,30\n")
    assert main(["recommend", "--trace", str(trace), "--kind", "realtime", "--pools",
                 "ml.g6.2xlarge", "--slo", "cut=1", "--workers", "0"]) == 2
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err


def test_recommend_reports_trace_errors_read_beside_synthesis(tmp_path, capsys):
    # the trace is read in another process while the candidates synthesize: its errors
    # still come back as one line with the file and the row
    bad = tmp_path / "bad.csv"
    bad.write_text("start,duration_s\n0,30\n10,abc\n")
    args = ["--kind", "realtime", "--pools", "ml.g6.2xlarge", "--slo", "cut=1"]
    assert main(["recommend", "--trace", str(bad), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: bad.csv:3: ")
    assert main(["recommend", "--trace", str(tmp_path / "none.csv"), *args]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'none.csv'}: no such file"
