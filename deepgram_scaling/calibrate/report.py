"""What the terminal shows: a progress line while a level runs, a table row per level, and
the code to paste into a stack."""

from __future__ import annotations

from typing import Any

from .levels import MAX_CONFIRMATIONS
from .result import CREDENTIALS_REFUSED, CalibrationResult, LevelResult
from .slo import detection_limit


def _ms(value: Any) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{value * 1000:.0f}"


def progress_line(concurrency: int, elapsed: float, hold: float, records: list[Any]) -> str:
    failed = sum(1 for r in records if getattr(r, "failure", None))
    return (f"level {concurrency:>4}: {min(elapsed, hold):5.0f}/{hold:.0f} s, "
            f"{len(records)} done, {failed} failed")


def header(mode: str) -> str:
    if mode == "stream":
        return (f"{'streams':>7} {'first p50/p95 ms':>17} {'final lag p50/p95 ms':>21} "
                f"{'failures':>12}  verdict")
    return f"{'requests':>8} {'latency p50/p95 ms':>19} {'audio s/s':>9} {'failures':>12}  verdict"


def row(mode: str, level: LevelResult) -> str:
    s = level.stats
    failures = f"{s['failures']}/{s['attempts']}"
    verdict = ("interrupted" if level.interrupted else "pass" if level.passed
               else "FAIL: " + "; ".join(level.violations))
    if level.notes:
        verdict += " [inconclusive: " + "; ".join(level.notes) + "]"
    notes = s.get("notes") or {}
    if notes:
        verdict += " [notes: " + ", ".join(f"{k} {v}" for k, v in sorted(notes.items())) + "]"
    if mode == "stream":
        first, lag = s["first_result"], s["finalization"]
        return (f"{level.concurrency:>7} {_ms(first['p50']):>8}/{_ms(first['p95']):<8} "
                f"{_ms(lag['p50']):>10}/{_ms(lag['p95']):<10} {failures:>12}  {verdict}")
    latency = s["latency"]
    return (f"{level.concurrency:>8} {_ms(latency['p50']):>9}/{_ms(latency['p95']):<9} "
            f"{s['throughput_audio_s_per_s']:>9.2f} {failures:>12}  {verdict}")


def conclusion(result: CalibrationResult) -> str:
    """The capacity, the target and the code that uses them."""
    lines = []
    if result.interrupted or result.stopped:
        lines.append(f"stopped: {result.stopped}")
    if result.stopped.startswith(CREDENTIALS_REFUSED):
        lines.append("nothing to paste: the levels before the refusal cannot tell the capacity; "
                     "renew the credentials and run again")
        return "\n".join(lines)
    if result.capacity is None:
        lines.append(f"no level met the SLO ({result.slo}); nothing to paste")
        if any(level.concurrency == 1 and not level.interrupted for level in result.levels):
            lines.append("even one stream failed it: compare level 1's figures with the SLO "
                         "(an unloaded server's own latency, or a wrong URL or parameter)")
        return "\n".join(lines)
    target = result.target_concurrency
    what = "streams" if result.mode == "stream" else "concurrent requests"
    bound = "at least " if result.lower_bound else ""
    lines.append(f"capacity: {bound}{result.capacity} {what} per instance within {result.slo}")
    if result.instance_count > 1:
        lines.append(f"          (level {result.measured_capacity} passed on "
                     f"{result.instance_count} instances; divided by {result.instance_count}, "
                     "assuming the endpoint spread the load evenly)")
    if result.lower_bound:
        lines.append("          every level passed up to the stream cap: raise --max-streams "
                     "to find the knee")
    lines.append(f"target:   {target} ({result.target_fraction:.0%} of the capacity, rounded "
                 "down)")
    lines += _caveats(result)
    instance = result.instance_type or "ml.g6.2xlarge"
    note = "" if result.instance_type else "  # the instance type you measured"
    lines += ["", "paste into your stack:",
              f'    InstancePool("{instance}", max_concurrency={result.capacity}),{note}',
              f"    target_concurrency_per_instance={target},",
              "or read the file: InstancePool.from_calibration(PATH) and "
              "calibration_target(PATH)"]
    return "\n".join(lines)


def _caveats(result: CalibrationResult) -> list[str]:
    """What the reader must know before trusting the capacity."""
    out = []
    top = [lv for lv in result.levels if lv.concurrency == result.measured_capacity
           and not lv.interrupted]
    failed_confirmations = [lv for lv in result.levels if not lv.passed and not lv.interrupted
                            and any(lv.concurrency == o.concurrency and o.passed
                                    for o in result.levels)]
    if len(failed_confirmations) >= MAX_CONFIRMATIONS and len(top) == 1:
        out.append(f"warning: level {result.measured_capacity} ran once and was not confirmed "
                   f"(two confirmations above it failed): rerun with --start "
                   f"{result.measured_capacity}")
    if top and top[-1].notes:
        out.append(f"warning: the capacity level is inconclusive: {'; '.join(top[-1].notes)}")
    attempts = top[-1].stats.get("attempts") if top else None
    if isinstance(attempts, int) and attempts > 0:
        out.append(f"note: with {attempts} attempts at the capacity level the failure term "
                   f"resolves {100 / attempts:.2g} %; smaller failure rates read as 0")
    if result.mode == "stream" and result.capacity is not None:
        stream_s = min(result.hold_s, float(result.audio.get("duration_s") or 0.0))
        spans = top[-1].stats.get("growth_span") if top else None
        span = spans.get("p50") if isinstance(spans, dict) else None
        # the finals' measured span decides whether lag_growth could see an overload
        # (files written before it was measured: the stream's length)
        limit = detection_limit(result.slo, stream_s,
                                float(span) if isinstance(span, (int, float)) else None)
        if limit is None or result.capacity > limit:
            out.append(f"warning: with {stream_s:g} s streams, one stream more than "
                       f"{result.capacity} may pass {result.slo}: the SLO sees a one-stream "
                       f"overload only up to a capacity of about {max(0.0, limit or 0.0):.0f}; "
                       "use longer audio and hold, or a lag_growth term "
                       "(docs/calibration.md#keeps-up)")
    return out
