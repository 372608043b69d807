"""The simulator's platform mechanics, one test each, replaying templates the constructs
synthesize: the endpoint's Updating lock, pool fallback, failed changes and their rollback,
billing, and streams cut by scale-in. Each mechanic has an entry in docs/aws-behaviour.md.

Set-up shared by most tests: an endpoint whose target is 7 concurrent streams per instance
(scale-out cooldown 60 s, provisioning 300 s), one instance, and 42 streams from the first
hour on. Three 10 s datapoints above target put the high alarm in ALARM at 1 h + 20 s.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

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
from deepgram_scaling.simulator.engine import (
    FAILED_CAPACITY,
    FAILED_TIMEOUT,
    REFUSED,
    Result,
    Simulation,
)
from deepgram_scaling.simulator.params import (
    DEFAULT_TYPES,
    Params,
    ParamsWarning,
    Shortage,
    load_params,
)
from deepgram_scaling.simulator.schedules import ScheduleError, fire_times
from deepgram_scaling.simulator.template import EndpointSetup, ScheduledAction, read_endpoints

from .conftest import IMAGE_URI, PACKAGE_ARN

MONDAY = 1772409600.0  # 2026-03-02T00:00:00Z
STEP = 10
HOUR = 3600
ALARM = HOUR + 20  # the third datapoint above target after the jump at 1 h
PROVISION = 300
G6, G6E = "ml.g6.2xlarge", "ml.g6e.2xlarge"


@pytest.fixture(scope="module")
def template(new_stack: Callable[..., cdk.Stack]) -> dict:
    stack = new_stack("Mechanics", nag=False)
    model = DeepgramModel.from_model_package(PACKAGE_ARN)
    RealtimeDeepgramEndpoint(stack, "Target7", model=model,
                             instance_pools=[InstancePool(G6, max_concurrency=10),
                                             InstancePool(G6E, max_concurrency=10)],
                             max_capacity=20, target_concurrency_per_instance=7,
                             scale_out_cooldown=cdk.Duration.seconds(60))
    floor = RealtimeDeepgramEndpoint(stack, "Floor", model=model,
                                     instance_pools=[InstancePool(G6, max_concurrency=10)],
                                     max_capacity=20)
    floor.scale_on_schedule("NineOClock", schedule="cron(0 9 * * ? *)", min_capacity=4)
    jobs = AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                                 instance_pools=[G6], max_capacity=4)
    # 08:00 in New York is 13:00 UTC on Monday 2 March 2026 (EST, UTC-5)
    jobs.scale_on_schedule("MorningWarm", schedule="cron(0 8 ? * MON-FRI *)", min_capacity=2,
                           time_zone=cdk.TimeZone.AMERICA_NEW_YORK)
    return Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def setups(template: dict) -> dict[str, EndpointSetup]:
    return read_endpoints(template)


def levels(hours: float, changes: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Constant load levels: [(from second, streams), ...]."""
    active = np.zeros(int(hours * HOUR / STEP))
    for start, level in changes:
        active[int(start / STEP):] = level
    return active, np.zeros(len(active), dtype=np.int64)


def run(setup: EndpointSetup, changes: list[tuple[float, float]], hours: float = 2.0,
        params: Params | None = None) -> Result:
    active, arrivals = levels(hours, changes)
    return Simulation(setup, params or Params(), start_epoch=MONDAY).run_realtime(
        active, arrivals)


def applied(result: Result) -> list[tuple[float, int, int]]:
    return [(e.time_s, e.before, e.after) for e in result.events[1:] if e.kind == "change"]


def at(result: Result, second: float) -> list[int]:
    return result.in_service[int(second / STEP)].tolist()


def test_the_setup_reads_as_intended(setups):
    (policy,) = setups["Target7"].target_tracking
    assert (policy.target, policy.scale_out_cooldown_s) == (7.0, 60)
    assert Params().instance(G6).provision_s == PROVISION
    assert setups["Target7"].provision_timeout_s == 300


# --- the Updating lock ---------------------------------------------------------------------


def test_42_streams_at_target_7_settle_at_6_with_no_overshoot(setups):
    # given a 60 s scale-out cooldown, far shorter than the 300 s of provisioning
    # when 42 streams arrive at 1 h
    result = run(setups["Target7"], [(0, 5), (HOUR, 42)])
    # then one scale-out, to ceil(42 / 7) = 6, and nothing stacks on it while it provisions
    assert applied(result) == [(ALARM, 1, 6)]
    assert at(result, ALARM + PROVISION - STEP) == [1, 0]
    assert at(result, ALARM + PROVISION) == [6, 0]
    assert result.in_service[-1].tolist() == [6, 0]
    # the policy kept asking every 10 s while its alarm stayed in ALARM: 29 refusals
    # (1 h + 30 s to 1 h + 310 s), listed once
    data = result.to_json()
    assert data["refused_changes"] == 29
    refused = [e for e in result.events if e.kind == "refused"]
    assert [(e.time_s, e.before, e.after) for e in refused] == [(ALARM + STEP, 6, 20)]
    assert refused[0].cause.startswith(REFUSED)
    assert data["scaling_events"] == 2  # initial + the scale-out


def test_a_scale_out_while_updating_is_refused_and_applied_later(setups):
    # given 42 streams at 1 h, then 84 at 1 h + 2 min while the first scale-out provisions
    result = run(setups["Target7"], [(0, 5), (HOUR, 42), (HOUR + 120, 84)])
    # then the second scale-out is refused while the endpoint is Updating...
    refused = [e for e in result.events if e.kind == "refused"]
    assert refused[0].time_s == ALARM + STEP
    assert refused[0].cause == f"{REFUSED} (target tracking ConcurrentRequestsPerModel above target)"
    # ...and applied at the first evaluation after the six instances are in service:
    # 84 / 6 = 14 per instance, the alarm is still in ALARM, ceil(6 x 14 / 7) = 12
    assert applied(result) == [(ALARM, 1, 6), (ALARM + PROVISION, 6, 12)]
    assert at(result, ALARM + 2 * PROVISION) == [12, 0]
    assert result.in_service[-1].tolist() == [12, 0]


def test_a_scheduled_minimum_moves_the_count_once_the_endpoint_is_in_service(setups):
    # given a floor of 4 from 09:00 and a scale-out to 3 (21 streams at 7.5) at 08:58:20
    nine = 9 * HOUR
    result = run(setups["Floor"], [(0, 2), (nine - 120, 21)], hours=10)
    # then the schedule's attempt at 09:00 is refused, the floor applies at 09:03:20
    assert applied(result) == [(nine - 100, 1, 3), (nine - 100 + PROVISION, 3, 4)]
    (refused,) = [e for e in result.events if e.kind == "refused" and "NineOClock" in e.cause]
    assert (refused.time_s, refused.before, refused.after) == (nine, 3, 4)
    assert refused.cause == f"{REFUSED} (scheduled NineOClock)"
    assert at(result, nine - 100 + 2 * PROVISION) == [4]


# --- scheduled actions: time zones, the async run --------------------------------------------


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("schedule", "zone", "fires_at"), [
    # 18:00 in Tokyo (UTC+9) is 09:00 UTC
    ("at(2026-03-02T18:00:00)", "Asia/Tokyo", 9 * HOUR),
    # 10:00 in Berlin (CET, UTC+1) is 09:00 UTC
    ("cron(0 10 * * ? *)", "Europe/Berlin", 9 * HOUR),
    # 04:00 in New York (EST, UTC-5) is 09:00 UTC
    ("cron(0 4 ? * MON *)", "America/New_York", 9 * HOUR),
    # a rate counts from the start: the time zone plays no part
    ("rate(9 hours)", "Asia/Tokyo", 9 * HOUR),
])
def test_a_scheduled_action_fires_at_the_utc_instant_of_its_time_zone(setups, schedule, zone,
                                                                       fires_at):
    # given the floor's action moved into a time zone
    action = ScheduledAction(name="Zoned", schedule=schedule, timezone=zone, min_capacity=4,
                             max_capacity=None)
    setup = dataclasses.replace(setups["Floor"], schedules=(action,))
    # when a quiet Monday is replayed from 00:00 UTC
    result = run(setup, [(0, 2)], hours=12)
    # then the floor applies at the UTC instant, not at the local time read as UTC
    assert applied(result) == [(fires_at, 1, 4)]


def test_cron_in_a_time_zone_follows_its_daylight_saving_change():
    # given 09:00 every day in New York, across the switch to EDT on Sunday 8 March 2026
    times = list(fire_times("cron(0 9 * * ? *)", "America/New_York", utc("2026-03-07T00:00:00"),
                            utc("2026-03-10T00:00:00")))
    # then 14:00 UTC under EST (UTC-5), 13:00 UTC under EDT (UTC-4)
    assert times == [utc("2026-03-07T14:00:00"), utc("2026-03-08T13:00:00"),
                     utc("2026-03-09T13:00:00")]


@pytest.mark.parametrize(("schedule", "days"), [
    ("cron(0 9 L * ? *)", ["03-31", "04-30", "05-31"]),
    ("cron(0 9 LW * ? *)", ["03-31", "04-30", "05-29"]),
    ("cron(0 9 1W * ? *)", ["03-02", "04-01", "05-01"]),  # 1 March 2026 is a Sunday
    ("cron(0 9 ? * 6L *)", ["03-27", "04-24", "05-29"]),
    ("cron(0 9 ? * 3#2 *)", ["03-10", "04-14", "05-12"]),
])
def test_last_weekday_and_nth_day_wildcards_fire_on_their_days(schedule, days):
    # given the L, W and # wildcards over March to May 2026
    times = fire_times(schedule, None, utc("2026-03-01T00:00:00"), utc("2026-06-01T00:00:00"))
    # then each fires once a month, on the documented day
    assert [t.strftime("%m-%d") for t in times] == days


def test_a_rate_keeps_counting_from_the_run_start_in_a_later_window():
    # given rate(5 hours) counted from 00:00, asked only for the second day
    start = utc("2026-03-02T00:00:00")
    times = list(fire_times("rate(5 hours)", None, start + dt.timedelta(days=1),
                            start + dt.timedelta(days=2), anchor=start))
    # then the firings keep the 5-hour grid from the start: 25 h, 30 h, ... 45 h
    assert [(t - start) / dt.timedelta(hours=1) for t in times] == [25, 30, 35, 40, 45]


@pytest.mark.parametrize(("schedule", "zone", "says"), [
    ("cron(0 25 * * ? *)", None, "has hours '25'"),
    ("cron(0 9 * * *)", None, "must have six fields"),
    ("cron(0 9 ? * MON *)", "Mars/Olympus", "time zone 'Mars/Olympus' is not an IANA"),
])
def test_the_simulator_refuses_what_application_auto_scaling_refuses(schedule, zone, says):
    # given a schedule AWS would refuse / when its times are asked / then the problem is named
    with pytest.raises(ScheduleError, match=says):
        list(fire_times(schedule, zone, utc("2026-03-02T00:00:00"), utc("2026-03-03T00:00:00")))


def test_simulate_reports_a_bad_schedule_in_one_line(template, tmp_path, capsys):
    # given a template whose scheduled action has hour 25
    bad = json.loads(json.dumps(template).replace("cron(0 9 * * ? *)", "cron(0 25 * * ? *)"))
    path = tmp_path / "bad-schedule.json"
    path.write_text(json.dumps(bad))
    trace = tmp_path / "t.csv"
    trace.write_text("start,duration_s\n0,30\n")
    # when it is simulated
    status = main(["simulate", str(path), "--endpoint", "Floor", "--trace", str(trace)])
    # then one line names the endpoint, the action and the field, and the status is 2
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1
    assert err[0].startswith("error: endpoint Floor: scheduled action 'NineOClock': "
                             "'cron(0 25 * * ? *)' has hours '25'")


def test_the_async_run_applies_a_scheduled_floor_in_its_time_zone(setups):
    # given the async endpoint's floor of 2 from 08:00 New York time, and one job at 13:30 UTC
    jobs = [(13.5 * HOUR, 40.0)]
    # when Monday is replayed with and without the scheduled action
    warm = Simulation(setups["Jobs"], Params(), start_epoch=MONDAY).run_async(jobs)
    cold = Simulation(dataclasses.replace(setups["Jobs"], schedules=()), Params(),
                      start_epoch=MONDAY).run_async(jobs)
    # then with it, two instances are asked for at 13:00 UTC and the job starts at once
    assert (13 * HOUR, 0, 2) in applied(warm)
    assert [e.cause for e in warm.events if e.time_s == 13 * HOUR] == ["scheduled MorningWarm"]
    assert warm.to_json()["wait_s"]["max"] == 0.0
    assert warm.to_json()["time_to_first_instance_s"] == []
    # without it, nothing runs at 13:00 and the job waits for the wake-up
    assert at(cold, 13 * HOUR + PROVISION) == [0]
    assert cold.to_json()["wait_s"]["max"] > 120


SIMULATOR = Path(__file__).resolve().parent.parent / "deepgram_scaling" / "simulator"


@pytest.mark.parametrize("module", ["realtime_loop.py", "async_loop.py", "results.py"])
def test_the_run_loops_and_results_do_not_import_the_engine(module):
    # given the module's source, type-checking imports included
    tree = ast.parse((SIMULATOR / module).read_text())
    imported = [node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names]
    # then nothing there imports engine.py, so the engine is the only module that joins them
    assert not [name for name in imported if name.split(".")[-1] == "engine"], imported


# --- instance pools ------------------------------------------------------------------------


def test_a_short_first_pool_gives_the_first_new_instance_from_the_second_as_fast(setups):
    # given the g6 pool short of capacity for the first two hours
    params = dataclasses.replace(Params(), shortages=(Shortage(G6, 0, 2 * HOUR),))
    short = run(setups["Target7"], [(0, 5), (HOUR, 42)], params=params)
    plenty = run(setups["Target7"], [(0, 5), (HOUR, 42)])
    # then the five new instances come from g6e, in service at the same step as g6 would be
    assert applied(short) == applied(plenty) == [(ALARM, 1, 6)]
    assert at(short, ALARM + PROVISION - STEP) == [1, 0]
    assert at(short, ALARM + PROVISION) == [1, 5]
    assert at(plenty, ALARM + PROVISION) == [6, 0]
    # billed: g6e from launch (300 s provisioning) to the end, 5 instances
    assert short.instance_seconds[G6E] == 5 * (2 * HOUR - ALARM)


def test_with_every_pool_short_the_change_fails_and_is_retried(setups):
    # given both pools short from 1 h to 1.5 h
    shortages = (Shortage(G6, HOUR, 1.5 * HOUR), Shortage(G6E, HOUR, 1.5 * HOUR))
    params = dataclasses.replace(Params(), shortages=shortages)
    result = run(setups["Target7"], [(0, 5), (HOUR, 42)], params=params)
    # then every attempt fails at once (178, from 1 h + 20 s to 1 h 29 min 50 s, listed once),
    # the count stays at 1, and the first attempt after the shortage applies
    failed = [e for e in result.events if e.kind == "failed"]
    assert [(e.time_s, e.before, e.after) for e in failed] == [(ALARM, 1, 6)]
    assert failed[0].cause.startswith(FAILED_CAPACITY)
    assert result.to_json()["failed_changes"] == 178
    assert applied(result) == [(1.5 * HOUR, 1, 6)]


def test_instances_not_in_service_within_the_provision_timeout_roll_back(setups):
    # given g6 instances that take 400 s, beyond the variant's 300 s timeout
    types = dict(DEFAULT_TYPES, **{G6: dataclasses.replace(DEFAULT_TYPES[G6], provision_s=400)})
    params = dataclasses.replace(Params(), types=types)
    result = run(setups["Target7"], [(0, 5), (HOUR, 42)], hours=1.25, params=params)
    # then the scale-out fails at the timeout, the count rolls back to 1, and the policy,
    # still in ALARM, tries again at once
    assert applied(result) == [(ALARM, 1, 6), (ALARM + 300, 1, 6), (ALARM + 600, 1, 6)]
    rollbacks = [(e.time_s, e.before, e.after) for e in result.events if e.kind == "failed"]
    assert rollbacks == [(ALARM + 300, 6, 1), (ALARM + 600, 6, 1)]
    assert all(e.cause.startswith(FAILED_TIMEOUT) for e in result.events if e.kind == "failed")
    assert result.in_service[:, 0].max() == 1
    # billed: the one instance throughout, and five instances for each attempt until the
    # timeout (the third attempt up to the end of the trace)
    horizon = 1.25 * HOUR
    assert result.instance_seconds[G6] == horizon + 5 * (300 + 300 + (horizon - ALARM - 600))


def test_provisioning_time_is_billed_only_when_bill_provisioning_is_1(setups):
    charged = run(setups["Target7"], [(0, 5), (HOUR, 42)])
    free = run(setups["Target7"], [(0, 5), (HOUR, 42)],
               params=dataclasses.replace(Params(), bill_provisioning=0))
    assert charged.instance_seconds[G6] - free.instance_seconds[G6] == 5 * PROVISION
    assert free.instance_seconds[G6] == 2 * HOUR + 5 * (2 * HOUR - ALARM - PROVISION)


# --- streams cut by scale-in -----------------------------------------------------------------


def test_streams_cut_by_scale_in_are_whole_streams(setups):
    # given 42 streams on 6 instances, then 7 streams from 1.5 h
    result = run(setups["Target7"], [(0, 5), (HOUR, 42), (1.5 * HOUR, 7)], hours=3)
    # then scale-in to ceil(6 x (7/6) / 7) = 1 removes 5 instances holding 5 x 7/6 = 5.83
    # streams: 6 whole streams cut
    scale_ins = [(b, a) for _, b, a in applied(result) if a < b]
    assert scale_ins == [(6, 1)]
    data = result.to_json()
    assert data["interrupted_streams"] == 6
    assert isinstance(data["interrupted_streams"], int)


# --- parameters ---------------------------------------------------------------------------


def test_a_params_file_setting_the_retired_scale_out_basis_still_loads(template, tmp_path,
                                                                      capsys):
    # given a parameters file written for the old model
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"scale_out_from_desired": 0, "high_datapoints": 3}))
    # then it loads, with a warning naming the file and the key
    with pytest.warns(ParamsWarning, match=r"old.json: scale_out_from_desired no longer has an "
                                           r"effect and is ignored"):
        params = load_params(path)
    assert params == Params()
    # and the CLI prints that warning as one line of stderr, then simulates
    template_path = tmp_path / "t.json"
    template_path.write_text(json.dumps(template))
    trace = tmp_path / "t.csv"
    trace.write_text("start,duration_s\n0,30\n")
    assert main(["simulate", str(template_path), "--endpoint", "Target7", "--trace", str(trace),
                 "--params", str(path), "--json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("warning: old.json: scale_out_from_desired no longer has an effect")


def test_bill_provisioning_must_be_0_or_1(tmp_path):
    from deepgram_scaling.simulator.params import ParamsError

    path = tmp_path / "p.json"
    path.write_text('{"bill_provisioning": 2}')
    with pytest.raises(ParamsError, match=r"p.json.bill_provisioning must be 0 or 1, got 2"):
        load_params(path)
