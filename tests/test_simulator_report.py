"""The simulator's readable output (``simulator/report.py``): the summary of one run, the
comparison table of several and the plot, on results built by hand so that every figure
printed can be worked out from the inputs."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pytest

from deepgram_scaling.errors import DeepgramScalingConfigError
from deepgram_scaling.simulator.report import comparison_table, plot, summary
from deepgram_scaling.simulator.results import REFUSED, Event, Result

STEP_S = 10.0
MONDAY = 1772409600.0  # 2026-03-02 00:00 UTC


def realtime_result(*, refused: int = 0, failed: int = 0, label: str = "Realtime") -> Result:
    """Two pools for one hour: 2 h and 1 h of instances, 1.0 and 3.0 per hour."""
    steps = 360
    return Result(
        endpoint=label, kind="realtime", start_epoch=MONDAY, duration_s=steps * STEP_S,
        pools=("ml.g6.2xlarge", "ml.g6e.2xlarge"),
        instance_seconds={"ml.g6.2xlarge": 7200.0, "ml.g6e.2xlarge": 3600.0},
        prices={"ml.g6.2xlarge": 1.0, "ml.g6e.2xlarge": 3.0},
        events=[Event(0.0, 1, 1, "initial"), Event(600.0, 1, 2, "scale-out"),
                Event(900.0, 2, 2, REFUSED, kind="refused")],
        times_s=np.arange(steps) * STEP_S, load=np.linspace(0, 30, steps),
        in_service=np.column_stack([np.full(steps, 2), np.ones(steps)]).astype(np.int32),
        capacity=np.full(steps, 36.0), pool_capacity=(8.0, 20.0),
        refused=refused, failed=failed,
        realtime={"overloaded_stream_seconds_fraction": 0.0025, "peak_overload": 3.0,
                  "rejected_streams": 4, "interrupted_streams": 2.0},
    )


def async_result(*, wakes: list[float], label: str = "Batch") -> Result:
    steps = 720
    return Result(
        endpoint=label, kind="async", start_epoch=MONDAY, duration_s=steps * STEP_S,
        pools=("ml.g6.2xlarge",), instance_seconds={"ml.g6.2xlarge": 5400.0},
        prices={"ml.g6.2xlarge": 2.0},
        events=[Event(0.0, 0, 0, "initial"), Event(60.0, 0, 1, "wake-up")],
        times_s=np.arange(steps) * STEP_S, load=np.zeros(steps),
        in_service=np.ones((steps, 1), dtype=np.int32), capacity=np.ones(steps),
        pool_capacity=(1.0,),
        asynchronous={"wait_s": {"p50": 12.0, "p95": 240.0, "p99": 300.0, "max": 310.0},
                      "jobs": 42, "unserved_jobs": 1, "time_to_first_instance_s": wakes},
    )


def test_realtime_summary_gives_cost_per_pool_and_the_service_level():
    # given a real-time run with no refused or failed change
    result = realtime_result()

    # when it is summarized
    text = summary(result)

    # then it states the run, the bill per pool (7200 s x 1.0/h + 3600 s x 3.0/h = 5.00)
    # and the stream figures, and says nothing of refused changes
    assert text.splitlines() == [
        "endpoint Realtime (realtime), 1 h simulated",
        "  instance-hours 3.00, cost 5.00 (illustrative prices), 2 scaling events",
        "    ml.g6.2xlarge: 2.00 h, 2.00",
        "    ml.g6e.2xlarge: 1.00 h, 3.00",
        "  overloaded stream-seconds 0.250 %, peak overload 3 streams, rejected streams 4, "
        "streams cut by scale-in 2.0",
    ]


def test_summary_names_refused_and_failed_changes_when_there_were_some():
    # given a run where the endpoint refused two changes and one failed
    result = realtime_result(refused=2, failed=1)

    # when it is summarized
    lines = summary(result).splitlines()

    # then a line counts both, right after the cost
    assert lines[2] == ("  capacity changes refused while the endpoint was Updating 2, failed "
                        "(no capacity, or past the provision timeout) 1")


def test_async_summary_gives_waits_and_wake_ups():
    # given an asynchronous run that woke from zero three times
    result = async_result(wakes=[30.0, 90.0, 400.0])

    # when it is summarized
    lines = summary(result).splitlines()

    # then the waits, the jobs and the wake-ups (median and max) are printed
    assert lines[0] == "endpoint Batch (async), 2 h simulated"
    assert lines[-2] == ("  wait p50 12 s, p95 240 s, p99 300 s, max 310 s; jobs 42, "
                         "unserved 1")
    assert lines[-1] == ("  time to first instance after idle: 3 wake-ups, median 90 s, "
                         "max 400 s")


def test_async_summary_without_a_wake_up_has_no_wake_up_line():
    # given an asynchronous run that never scaled from zero
    result = async_result(wakes=[])

    # when it is summarized
    text = summary(result)

    # then the waits close the summary
    assert "wake-ups" not in text
    assert text.splitlines()[-1].startswith("  wait p50 12 s")


def test_realtime_comparison_has_one_row_per_policy():
    # given two real-time runs
    labelled = [("target", realtime_result()), ("steps", realtime_result(label="Other"))]

    # when they are compared
    lines = comparison_table(labelled).splitlines()

    # then a Markdown table with the stream columns has one row for each, in order
    assert lines[0].startswith("| policy | instance-hours | cost | overloaded stream-s |")
    assert lines[1] == "|---|---|---|---|---|---|---|---|"
    assert lines[2:] == [
        "| target | 3.0 | 5.00 | 0.25 % | 3 | 4 | 2 | 2 |",
        "| steps | 3.0 | 5.00 | 0.25 % | 3 | 4 | 2 | 2 |",
    ]


def test_async_comparison_counts_wake_ups():
    # given two asynchronous runs, one with two wake-ups
    labelled = [("a", async_result(wakes=[30.0, 60.0])), ("b", async_result(wakes=[]))]

    # when they are compared
    lines = comparison_table(labelled).splitlines()

    # then the wait columns and the wake-up count are filled in
    assert lines[0].startswith("| policy | instance-hours | cost | wait p50 |")
    assert lines[2] == "| a | 1.5 | 3.00 | 12 s | 240 s | 300 s | 310 s | 2 | 2 |"
    assert lines[3] == "| b | 1.5 | 3.00 | 12 s | 240 s | 300 s | 310 s | 0 | 2 |"


def test_comparison_refuses_endpoints_of_two_kinds():
    # given a real-time and an asynchronous run
    labelled = [("rt", realtime_result()), ("async", async_result(wakes=[]))]

    # when they are compared, then the error names both kinds
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"one kind .* got \['async', 'realtime'\]"):
        comparison_table(labelled)


def test_plot_writes_one_panel_per_result(tmp_path):
    from PIL import Image  # Pillow comes with matplotlib (dev extra)

    # given a real-time and an asynchronous result
    out = tmp_path / "runs.png"

    # when they are plotted
    plot([("rt", realtime_result()), ("async", async_result(wakes=[30.0]))], str(out))

    # then a PNG is written whose height grows with the two panels (2 x 2.6 + 0.6 in at 110 dpi)
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (11 * 110, round((2 * 2.6 + 0.6) * 110))


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch, tmp_path):
    # given an environment where matplotlib cannot be imported
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)

    # when a plot is asked for, then the error names the extra to install
    with pytest.raises(DeepgramScalingConfigError, match=r"deepgram-scaling\[plot\]"):
        plot([("rt", realtime_result())], str(tmp_path / "never.png"))
    assert not (tmp_path / "never.png").exists()
