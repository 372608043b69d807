"""``--plot FILE.png``: latency percentiles and failures against concurrency, with the SLO
bounds and the knee. Needs matplotlib (``deepgram-scaling[plot]``)."""

from __future__ import annotations

from pathlib import Path

from .result import CalibrationResult


def plot(result: CalibrationResult, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["first_result", "finalization"] if result.mode == "stream" else ["latency"]
    # the last run of each level (a confirmation replaces the first run)
    levels = {level.concurrency: level for level in result.levels if not level.interrupted}
    xs = sorted(levels)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    colours = {"first_result": "tab:blue", "finalization": "tab:orange", "latency": "tab:green"}
    for metric in metrics:
        for pct, style in (("p50", ":"), ("p95", "-"), ("p99", "--")):
            ys = [levels[x].stats[metric][pct] for x in xs]
            top.plot(xs, [float("nan") if y is None else y for y in ys], style, marker="o",
                     color=colours[metric], label=f"{metric.replace('_', ' ')} {pct}")
    for term in result.slo.terms:
        if term.metric in metrics:
            top.axhline(term.bound, color=colours[term.metric], alpha=0.5, linewidth=1)
            top.annotate(f"SLO {term}", (xs[0] if xs else 0, term.bound), fontsize=8,
                         color=colours[term.metric], va="bottom")
    if result.mode == "batch":
        throughput = top.twinx()
        throughput.plot(xs, [levels[x].stats["throughput_audio_s_per_s"] for x in xs], "-s",
                        color="tab:purple", label="throughput")
        throughput.set_ylabel("audio seconds per second", color="tab:purple")
        throughput.set_ylim(bottom=0)
    rates = [levels[x].stats["failure_rate"] * 100 for x in xs]
    bottom.bar(xs, rates, color=["tab:red" if not levels[x].passed else "tab:gray" for x in xs],
               width=0.6)
    for term in result.slo.terms:
        if term.metric == "failures":
            bottom.axhline(term.bound * 100, color="tab:red", alpha=0.5, linewidth=1)
    knee = result.measured_capacity or result.capacity
    if knee is not None:
        for axis in (top, bottom):
            axis.axvline(knee, color="black", linestyle="-.", linewidth=1)
        top.annotate(f"capacity {result.capacity}, target {result.target_concurrency}",
                     (knee, top.get_ylim()[1] * 0.92), fontsize=9, ha="right")
    from matplotlib.ticker import MaxNLocator

    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    what = "concurrent streams" if result.mode == "stream" else "concurrent requests"
    top.set_ylabel("seconds")
    top.set_title(f"{result.instance_type or result.target.get('url', '')} {result.model}: "
                  f"{what} per instance")
    top.legend(fontsize=8, loc="upper left")
    bottom.set_ylabel("failures %")
    bottom.set_xlabel(what)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
