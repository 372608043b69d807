"""Readable summaries, comparison tables and plots of simulation results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from ..errors import DeepgramScalingConfigError
from .engine import Result


def summary(result: Result) -> str:
    data = result.to_json()
    lines = [
        f"endpoint {result.endpoint} ({result.kind}), {data['duration_h']:g} h simulated",
        f"  instance-hours {data['instance_hours']:.2f}, cost {data['cost']:.2f} "
        f"(illustrative prices), {data['scaling_events']} scaling events",
    ]
    if data["refused_changes"] or data["failed_changes"]:
        lines.append(f"  capacity changes refused while the endpoint was Updating "
                     f"{data['refused_changes']}, failed (no capacity, or past the provision "
                     f"timeout) {data['failed_changes']}")
    for pool, figures in data["per_pool"].items():
        lines.append(f"    {pool}: {figures['instance_hours']:.2f} h, {figures['cost']:.2f}")
    if result.kind == "realtime":
        lines.append(
            f"  overloaded stream-seconds {100 * data['overloaded_stream_seconds_fraction']:.3f} %"
            f", peak overload {data['peak_overload']:g} streams, rejected streams "
            f"{data['rejected_streams']}, streams cut by scale-in {data['interrupted_streams']}")
    else:
        waits = data["wait_s"]
        lines.append(f"  wait p50 {waits['p50']:g} s, p95 {waits['p95']:g} s, p99 "
                     f"{waits['p99']:g} s, max {waits['max']:g} s; jobs {data['jobs']}, "
                     f"unserved {data['unserved_jobs']}")
        wakes = data["time_to_first_instance_s"]
        if wakes:
            lines.append(f"  time to first instance after idle: {len(wakes)} wake-ups, "
                         f"median {float(np.median(wakes)):g} s, max {max(wakes):g} s")
    return "\n".join(lines)


def comparison_table(labelled: Sequence[tuple[str, Result]]) -> str:
    """A Markdown table: cost and service level side by side."""
    kinds = {r.kind for _, r in labelled}
    if len(kinds) != 1:
        raise DeepgramScalingConfigError(
            "compare needs endpoints of one kind (all real-time or all asynchronous), got "
            f"{sorted(kinds)}")
    if kinds == {"realtime"}:
        header = ("| policy | instance-hours | cost | overloaded stream-s | peak overload | "
                  "rejected | cut by scale-in | events |\n|---|---|---|---|---|---|---|---|")
        rows = []
        for label, result in labelled:
            d = result.to_json()
            rows.append(
                f"| {label} | {d['instance_hours']:.1f} | {d['cost']:.2f} | "
                f"{100 * d['overloaded_stream_seconds_fraction']:.2f} % | {d['peak_overload']:g}"
                f" | {d['rejected_streams']} | {d['interrupted_streams']:.0f} | "
                f"{d['scaling_events']} |")
    else:
        header = ("| policy | instance-hours | cost | wait p50 | wait p95 | wait p99 | max | "
                  "wake-ups | events |\n|---|---|---|---|---|---|---|---|---|")
        rows = []
        for label, result in labelled:
            d = result.to_json()
            w = d["wait_s"]
            rows.append(f"| {label} | {d['instance_hours']:.1f} | {d['cost']:.2f} | "
                        f"{w['p50']:g} s | {w['p95']:g} s | {w['p99']:g} s | {w['max']:.0f} s | "
                        f"{len(d['time_to_first_instance_s'])} | {d['scaling_events']} |")
    return "\n".join([header, *rows])


def plot(results: Sequence[tuple[str, Result]], out: str) -> None:
    """Load against capacity, stacked per pool, with scaling events marked; one panel per
    result."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DeepgramScalingConfigError(
            "--plot needs matplotlib: pip install 'deepgram-scaling[plot]'") from None
    figure, axes = plt.subplots(len(results), 1, figsize=(11, 2.6 * len(results) + 0.6),
                                sharex=True, squeeze=False)
    for axis, (label, result) in zip(axes[:, 0], results, strict=True):
        start = dt.datetime.fromtimestamp(result.start_epoch, dt.timezone.utc)
        hours = result.times_s / 3600
        stride = max(1, len(hours) // 4000)
        per_pool = [result.in_service[::stride, i] * result.pool_capacity[i]
                    for i in range(len(result.pools))]
        axis.stackplot(hours[::stride], *per_pool, labels=list(result.pools), alpha=0.45,
                       step="post")
        axis.plot(hours[::stride], result.load[::stride], color="black", linewidth=0.8,
                  label="concurrent streams" if result.kind == "realtime" else "backlog")
        for event in result.events[1:]:
            if event.kind != "change":
                continue  # refused and failed attempts changed nothing
            axis.axvline(event.time_s / 3600, color="tab:red", alpha=0.12, linewidth=0.6)
        axis.set_title(f"{label}: cost {result.cost:.0f}, "
                       f"{result.instance_hours:.0f} instance-hours", fontsize=9, loc="left")
        axis.set_ylabel("streams" if result.kind == "realtime" else "jobs")
        axis.legend(loc="upper right", fontsize=7, ncol=len(result.pools) + 1)
        axis.grid(alpha=0.2)
        axis.set_xlabel(f"hours since {start:%Y-%m-%d %H:%M} UTC (red: scaling events)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)

