"""Synthesis time of the example app through deepgram_scaling over the same resources written
by hand (``bench/handwritten.py``): ``make bench-synth``.

Method, chosen so that the two sides pay the same fixed costs and see the same machine:

* A pair is one fresh Python process (and so one fresh jsii Node kernel). It imports
  everything both sides need, then builds and synthesizes both apps ``--warmup`` times
  untimed. The first synthesis in a process pays several seconds of one-off Node work
  (lazy loading of aws-cdk-lib's modules, the first template validation) whatever the
  stack holds, and Node's JIT keeps speeding the next few up; timing them would measure
  the warm-up, not the construct layer. The first synthesis is printed for reference: it
  is what one ``cdk synth`` pays on top.
* The pair then times build + ``app.synth()`` of each side ``--repeats`` times, in ABBA
  order (library, hand-written, hand-written, library, ...), so that load drifting during
  the pair falls on both sides alike, and keeps each side's median. The starting side
  alternates from pair to pair.
* Each timing is taken twice: wall-clock, and CPU time of this process plus its jsii Node
  kernel (Linux ``/proc``; jsii calls are synchronous, so the two together are the work
  done). The machine is shared with other jobs, so CPU time is the steadier figure and the
  headline; wall-clock is printed next to it.
* cdk-nag is attached to neither side (context ``deepgram:nag`` false): rule checking is
  cdk-nag's cost, not the construct layer's.
* After the timings, each side is built once more with the jsii kernel requests counted
  (each one a round trip to the Node process): a figure that does not depend on the
  machine's load, printed beside the ratio.

The report is medians over pairs: each side's median and the ratio of the medians, plus
the median and range of the per-pair ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("library", "handwritten")


def _build(side: str, outdir: str) -> Any:
    if side == "library":
        import app as example

        context = example.cdk_json_context()
        context["deepgram:nag"] = False
        return example.build_app(context=context, outdir=outdir)
    from bench import handwritten

    return handwritten.build_app(outdir=outdir)


def _descendants_cpu() -> float:
    """CPU seconds used so far by this process's descendants: the jsii runtime and the
    Node kernel it starts."""
    parent: dict[str, str] = {}
    ticks: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parent[entry.name] = fields[1]
        ticks[entry.name] = int(fields[11]) + int(fields[12])  # utime + stime
    mine = {str(os.getpid())}
    grew = True
    while grew:
        found = {pid for pid, ppid in parent.items() if ppid in mine} - mine
        grew = bool(found)
        mine |= found
    mine.discard(str(os.getpid()))
    return sum(ticks[pid] for pid in mine) / os.sysconf("SC_CLK_TCK")


def _clock() -> tuple[float, float]:
    cpu = time.process_time()
    if sys.platform == "linux":
        cpu += _descendants_cpu()
    return time.perf_counter(), cpu


def kernel_requests(build: Any) -> int:
    """How many requests ``build()`` sends to the jsii kernel (create, invoke, get, ...)."""
    from jsii._kernel.providers import process

    counted = [0]
    send = process._NodeProcess.send

    def counting(self: Any, request: Any, response_type: Any) -> Any:
        counted[0] += 1
        return send(self, request, response_type)

    process._NodeProcess.send = counting  # type: ignore[method-assign]
    try:
        build()
    finally:
        process._NodeProcess.send = send  # type: ignore[method-assign]
    return counted[0]


def pair(first: str, repeats: int, warmup: int) -> dict[str, Any]:
    """One pair in this process: untimed warm-up of both sides, then ABBA timings."""
    import aws_cdk  # noqa: F401
    import cdk_nag  # noqa: F401

    import app  # noqa: F401
    import deepgram_scaling  # noqa: F401
    from bench import handwritten  # noqa: F401

    second = SIDES[1] if first == SIDES[0] else SIDES[0]
    times: dict[str, list[tuple[float, float]]] = {s: [] for s in SIDES}
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        runs = iter(range(1_000_000))

        def timed(side: str) -> tuple[float, float]:
            wall0, cpu0 = _clock()
            _build(side, os.path.join(tmp, str(next(runs)))).synth()
            wall1, cpu1 = _clock()
            return wall1 - wall0, cpu1 - cpu0

        cold, _ = timed(first)
        timed(second)
        for _ in range(warmup - 1):
            timed(first)
            timed(second)
        order = [first, second, second, first] * repeats
        for side in order[: 2 * repeats]:
            times[side].append(timed(side))
        calls = {side: kernel_requests(
            lambda side=side: _build(side, os.path.join(tmp, str(next(runs)))).synth())
            for side in SIDES}
    return {"cold": cold, "calls": calls, **{
        side: {"wall": statistics.median(w for w, _ in runs),
               "cpu": statistics.median(c for _, c in runs)}
        for side, runs in times.items()
    }}


def run_pair(first: str, repeats: int, warmup: int) -> dict[str, Any]:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CDK_CONTEXT_JSON", None)
    env.pop("CDK_OUTDIR", None)
    out = subprocess.run(
        [sys.executable, "-m", "bench.synth_ratio", "--pair", first,
         "--repeats", str(repeats), "--warmup", str(warmup)],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7, help="paired runs (default 7)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs of each side per pair, in ABBA order (default 3)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed runs of each side per pair first (default 3)")
    parser.add_argument("--pair", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pair:
        print(json.dumps(pair(args.pair, args.repeats, args.warmup)))
        return 0
    if min(args.pairs, args.repeats, args.warmup) < 1:
        parser.error("--pairs, --repeats and --warmup must be at least 1")

    results = []
    for i in range(args.pairs):
        first = SIDES[i % 2]
        r = run_pair(first, args.repeats, args.warmup)
        results.append(r)
        lib, hw = r["library"], r["handwritten"]
        print(f"pair {i + 1}/{args.pairs} ({first} first): "
              f"cpu {lib['cpu']:.2f} / {hw['cpu']:.2f} s = {lib['cpu'] / hw['cpu']:.2f}, "
              f"wall {lib['wall']:.2f} / {hw['wall']:.2f} s = {lib['wall'] / hw['wall']:.2f}",
              flush=True)

    print(f"\nbuild + synth of the example stack, {args.pairs} pairs (one fresh process each, "
          f"{args.warmup} untimed then {args.repeats} timed ABBA runs per side; no cdk-nag; "
          "shared machine, so medians):")
    ratios: dict[str, float] = {}
    for measure, what in (("cpu", "CPU time, Python + Node kernel"), ("wall", "wall-clock")):
        lib = [r["library"][measure] for r in results]
        hw = [r["handwritten"][measure] for r in results]
        per_pair = sorted(a / b for a, b in zip(lib, hw, strict=True))
        ratios[measure] = statistics.median(per_pair)
        print(f"  {what}:")
        print(f"    library (app.build_app)          {statistics.median(lib):6.3f} s")
        print(f"    hand-written (bench/handwritten) {statistics.median(hw):6.3f} s")
        of_medians = statistics.median(lib) / statistics.median(hw)
        print(f"    ratio of medians                 {of_medians:6.2f}x")
        print(f"    per-pair ratio, median           {ratios[measure]:6.2f}x  "
              f"(range {per_pair[0]:.2f}-{per_pair[-1]:.2f}x)")
    calls = {side: statistics.median(r["calls"][side] for r in results) for side in SIDES}
    print(f"  jsii kernel requests per build + synth: library {calls['library']:.0f}, "
          f"hand-written {calls['handwritten']:.0f}")
    cold = statistics.median(r["cold"] for r in results)
    print(f"  first synth in a fresh process (one-off Node cost, not in the ratio): {cold:.1f} s")
    print(f"synth ratio library / hand-written: {ratios['cpu']:.2f}x CPU "
          f"({ratios['wall']:.2f}x wall-clock), target <= 1.10x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
