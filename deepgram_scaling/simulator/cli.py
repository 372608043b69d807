"""``deepgram-scaling``: replay traffic against synthesized scaling policies.

Subcommands: ``simulate``, ``compare``, ``recommend``, ``traces generate`` and
``strategies`` (synthesize the comparison strategies of the README). Errors in the input
(template, trace, parameters) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import DeepgramScalingConfigError
from .engine import Result, Simulation
from .params import DEFAULT_TYPES, Params, ParamsWarning, load_params
from .report import comparison_table, plot, summary
from .schedules import ScheduleError
from .search import Outcome, Trace, search, simulate
from .template import EndpointSetup, TemplateError, read_endpoints, select_endpoint
from .traces import async_trace_origin, generate_trace, iter_async_trace, read_realtime_trace

DEFAULT_START = "2026-03-02T00:00:00Z"  # a Monday, for traces given in relative seconds


def _epoch(text: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DeepgramScalingConfigError(f"--start must be an ISO time, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _progress() -> Callable[[float], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(fraction: float) -> None:
        filled = int(fraction * 30)
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {fraction:4.0%}")
        sys.stderr.flush()
        if fraction >= 0.98:
            sys.stderr.write("\r" + " " * 40 + "\r")

    return show


def run(setup: EndpointSetup, trace: str, params: Params, *, start: str | None = None,
        progress: Callable[[float], None] | None = None) -> Result:
    """Simulate one endpoint over a trace file of its kind."""
    if setup.is_async:
        origin = async_trace_origin(trace)
        start_epoch = origin if origin else _epoch(start or DEFAULT_START)
        jobs = ((job.arrival_s, job.processing_s) for job in iter_async_trace(trace))
        return Simulation(setup, params, start_epoch=start_epoch,
                          progress=progress).run_async(jobs)
    load = read_realtime_trace(trace, step_s=params.step_s)
    start_epoch = load.start_epoch if load.start_epoch else _epoch(start or DEFAULT_START)
    return Simulation(setup, params, start_epoch=start_epoch, progress=progress).run_realtime(
        load.active, load.arrivals)


# --- subcommands -----------------------------------------------------------------------


def choose_endpoint(endpoints: dict[str, EndpointSetup], name: str | None) -> EndpointSetup:
    """The endpoint ``--endpoint`` names, or the only one; a template with several needs
    ``--endpoint``, and the error lists them."""
    if name is None and len(endpoints) != 1:
        listed = ", ".join(sorted(endpoints))
        if not endpoints:
            raise TemplateError("the template declares no SageMaker endpoint with scaling to "
                                "simulate")
        raise TemplateError(f"the template has {len(endpoints)} endpoints: pass --endpoint "
                            f"with one of {listed}")
    return select_endpoint(endpoints, name)


def _params(args: argparse.Namespace) -> Params:
    """``--params``, then the capacities measured by ``--calibration`` result files."""
    params = load_params(args.params)
    if not args.calibration:
        return params
    from ..calibrate.simulation import with_calibrations

    try:
        calibrated: Params = with_calibrations(params, args.calibration)
    except ValueError as err:
        raise DeepgramScalingConfigError(str(err)) from None
    return calibrated


def cmd_simulate(args: argparse.Namespace) -> int:
    setup = choose_endpoint(read_endpoints(args.template), args.endpoint)
    try:
        result = run(setup, args.trace, _params(args), start=args.start,
                     progress=_progress())
    except ScheduleError as err:  # one line naming the endpoint, not a traceback
        print(f"error: endpoint {setup.name}: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_json(), indent=2) if args.json else summary(result))
    if args.plot:
        plot([(setup.name, result)], args.plot)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    params = _params(args)
    chosen: list[tuple[str, EndpointSetup]] = []
    for spec in args.templates:
        path, _, name = spec.partition(":") if not os.path.exists(spec) else (spec, "", "")
        endpoints = read_endpoints(path)
        for setup in [choose_endpoint(endpoints, name)] if name else list(endpoints.values()):
            label = (setup.name if name or len(args.templates) == 1
                     else f"{Path(path).stem}:{setup.name}")
            chosen.append((label, setup))
    kinds = {"asynchronous" if s.is_async else "real-time" for _, s in chosen}
    if len(kinds) > 1:
        raise DeepgramScalingConfigError(
            "compare needs endpoints of one kind (all real-time or all asynchronous), got "
            + ", ".join(f"{label} ({'asynchronous' if s.is_async else 'real-time'})"
                        for label, s in chosen))
    labelled = [(label, run(setup, args.trace, params, start=args.start))
                for label, setup in chosen]
    if args.json:
        print(json.dumps({label: r.to_json() for label, r in labelled}, indent=2))
    else:
        print(comparison_table(labelled))
    if args.plot:
        plot(labelled, args.plot)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    rows = generate_trace(args.kind, days=args.days, seed=args.seed, out=args.out,
                          start=args.start or DEFAULT_START, peak_per_hour=args.peak_per_hour)
    print(f"wrote {rows} rows to {args.out}")
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from .strategies import synthesize_strategies

    load = read_realtime_trace(args.trace)
    template = synthesize_strategies(args.out, peak_streams=float(load.active.max()),
                                     capacity=args.capacity, instance_type=args.instance_type)
    print(template)
    return 0


def _parse_slo(text: str, kind: str) -> dict[str, float]:
    allowed = ({"overload", "rejected", "cut"} if kind == "realtime"
               else {"p50", "p95", "p99", "max"})
    slo: dict[str, float] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in allowed:
            raise DeepgramScalingConfigError(
                f"--slo key {key!r} is not one of {sorted(allowed)} for {kind} endpoints")
        try:
            slo[key] = float(value)
        except ValueError:
            raise DeepgramScalingConfigError(
                f"--slo {key} must be a number, got {value!r}") from None
    return slo


def read_trace(kind_async: bool, trace: str, params: Params, start: str | None) -> Trace:
    """Read a trace once, for many simulations."""
    if kind_async:
        origin = async_trace_origin(trace)
        jobs = tuple((job.arrival_s, job.processing_s) for job in iter_async_trace(trace))
        return Trace(start_epoch=origin if origin else _epoch(start or DEFAULT_START),
                     duration_s=(jobs[-1][0] - jobs[0][0]) if jobs else 0.0, jobs=jobs)
    load = read_realtime_trace(trace, step_s=params.step_s)
    return Trace(start_epoch=load.start_epoch if load.start_epoch else _epoch(
        start or DEFAULT_START), duration_s=len(load.active) * params.step_s,
        active=load.active, arrivals=load.arrivals)


def _read_trace_safely(kind_async: bool, trace: str, params: Params, start: str | None
                       ) -> tuple[str, Any]:
    """``read_trace`` for another process: errors come back as values (some exception types
    here do not survive pickling)."""
    try:
        return "trace", read_trace(kind_async, trace, params, start)
    except DeepgramScalingConfigError as err:
        return "error", str(err)
    except FileNotFoundError as err:
        return "missing", err.filename


def _read_while(work: Callable[[], Any], kind_async: bool, trace: str, params: Params,
                start: str | None) -> tuple[Any, Trace]:
    """Run ``work`` (synthesis) while another process reads the trace."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" not in methods:
        return work(), read_trace(kind_async, trace, params, start)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as reader:
        future = reader.submit(_read_trace_safely, kind_async, trace, params, start)
        done = work()
        kind, value = future.result()
    if kind == "error":
        raise DeepgramScalingConfigError(value)
    if kind == "missing":
        raise FileNotFoundError(2, "no such file", value)
    return done, value


def _search_progress() -> Callable[[int, int, Outcome | None], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, best: Outcome | None) -> None:
        text = f"best so far: cost {best.cost:.2f}" if best and best.cost is not None else (
            "none meets the service level yet")
        sys.stderr.write(f"\r\033[Kcandidate {done}/{total}, {text}")
        if done == total:
            sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    return show


NEAREST_MISSES = 5


def cmd_recommend(args: argparse.Namespace) -> int:
    from .strategies import candidate_setups

    params = _params(args)
    slo = _parse_slo(args.slo, args.kind)
    if args.workers is not None and args.workers < 1:
        raise DeepgramScalingConfigError(f"--workers must be >= 1, got {args.workers}")
    pools = [p.strip() for p in args.pools.split(",") if p.strip()]
    candidates, trace = _read_while(
        lambda: list(candidate_setups(args.kind, pools, params, max_capacity=args.max_capacity)),
        args.kind == "async", args.trace, params, args.start)
    outcomes = search([setup for _, setup in candidates], trace, params, slo,
                      workers=args.workers, progress=_search_progress())
    tried = sum(1 for o in outcomes if o.cost is not None)
    skipped = len(outcomes) - tried
    pruned = f", {skipped} skipped (their floor alone costs more)" if skipped else ""
    meeting = [o for o in outcomes if o.meets]
    if not meeting:
        print(f"no candidate of {tried} met the service level {args.slo}; raise --max-capacity "
              "or relax --slo", file=sys.stderr)
        misses = sorted((o for o in outcomes if o.cost is not None),
                        key=lambda o: o.cost or 0.0)[:NEAREST_MISSES]
        print("nearest misses (cheapest first, with what failed):", file=sys.stderr)
        for miss in misses:
            kwargs = candidates[miss.index][0]
            print(f"  cost {miss.cost:.2f}: {'; '.join(miss.failures)}  <- "
                  + ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "instance_pools"),
                  file=sys.stderr)
        evaluated = [o for o in outcomes if o.cost is not None]
        print("closest on each figure:", file=sys.stderr)
        for key, limit in slo.items():
            closest = min(evaluated, key=lambda o: (o.figures[key], o.cost or 0.0))
            kwargs = candidates[closest.index][0]
            print(f"  {key} {closest.figures[key]:g} (limit {limit:g}) at cost {closest.cost:.2f}"
                  "  <- " + ", ".join(f"{k}={v}" for k, v in kwargs.items()
                                      if k != "instance_pools"), file=sys.stderr)
        return 1
    winner = min(meeting, key=lambda o: (o.cost or 0.0, o.index))
    kwargs, setup = candidates[winner.index]
    result = simulate(setup, trace, params)
    construct = "RealtimeDeepgramEndpoint" if args.kind == "realtime" else "AsyncDeepgramEndpoint"
    print(f"# cheapest of {tried} candidates meeting {args.slo}{pruned}: cost {result.cost:.2f}")
    print(summary(result))
    illustrative = [p for p in pools if not capacity_is_given(p, params)] \
        if args.kind == "realtime" else []
    print()
    if illustrative:
        print(f"# ILLUSTRATIVE: the capacity of {', '.join(illustrative)} is the simulator's "
              "default, not a measurement,\n# and so are max_concurrency and the targets "
              "below. Load-test one instance, put its\n# capacity in --params "
              "(types.<instance type>.capacity) and run recommend again.")
    if args.kind == "async":
        # docs/aws-behaviour.md#async-marketplace: the construct warns on a Marketplace package
        print("# model: a self-hosted image (DeepgramModel.from_image); Deepgram does not "
              "support\n# asynchronous endpoints on Marketplace packages for now")
    print(f"{construct}(scope, \"Endpoint\", model=model,")
    for key, value in kwargs.items():
        note = "  # illustrative, not measured" if key == "instance_pools" and illustrative \
            else ""
        print(f"    {key}={value},{note}")
    print(")")
    return 0


def capacity_is_given(instance_type: str, params: Params) -> bool:
    """Whether an instance type's capacity was given (``--params``) rather than left at the
    simulator's illustrative default: the one place recommend learns where a capacity came
    from."""
    default = DEFAULT_TYPES.get(instance_type, Params().default_type)
    return params.instance(instance_type).capacity != default.capacity


TRACE_HELP = "the traffic trace (CSV; 'deepgram-scaling traces generate' makes one)"
PARAMS_HELP = "simulator parameters (JSON or TOML) overriding the defaults"
START_HELP = f"calendar start of a trace given in relative seconds (default: {DEFAULT_START})"
JSON_HELP = "print the figures as JSON"
CALIBRATION_HELP = ("results of 'deepgram-scaling calibrate stream --json': each one's "
                    "measured capacity replaces its instance type's illustrative one")
PLOT_HELP = "also draw load and capacity over time into this PNG (needs matplotlib)"


def _add_replay_options(command: argparse.ArgumentParser) -> None:
    """The options simulate and compare share: the trace, what the simulator assumes, and
    how the figures come out."""
    command.add_argument("--trace", required=True, help=TRACE_HELP)
    command.add_argument("--params", metavar="FILE", help=PARAMS_HELP)
    command.add_argument("--calibration", nargs="+", metavar="FILE", help=CALIBRATION_HELP)
    command.add_argument("--start", help=START_HELP)
    command.add_argument("--json", action="store_true", help=JSON_HELP)
    command.add_argument("--plot", metavar="OUT.png", help=PLOT_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepgram-scaling",
        description="Replay traffic against the scaling policy that cdk synth produced.")
    sub = parser.add_subparsers(dest="command", required=True)

    simulate = sub.add_parser("simulate", help="one endpoint of a template over a trace")
    simulate.add_argument("template", help="a synthesized template (cdk.out/STACK.template.json)")
    simulate.add_argument("--endpoint", help="endpoint construct id or logical id "
                          "(default: the only endpoint; required when there are several)")
    _add_replay_options(simulate)
    simulate.set_defaults(func=cmd_simulate)

    compare = sub.add_parser("compare", help="several policies over the same trace")
    compare.add_argument("templates", nargs="+", metavar="TEMPLATE[:ENDPOINT]",
                         help="templates, each with an endpoint to pick (default: all of "
                              "its endpoints)")
    _add_replay_options(compare)
    compare.set_defaults(func=cmd_compare)

    recommend = sub.add_parser("recommend", help="search for the cheapest policy meeting an SLO")
    recommend.add_argument("--trace", required=True, help=TRACE_HELP)
    recommend.add_argument("--kind", choices=["realtime", "async"], required=True,
                           help="the endpoint type to recommend settings for")
    recommend.add_argument("--pools", required=True, help="instance types, comma-separated, "
                           "in priority order")
    recommend.add_argument("--slo", required=True,
                           help="realtime: overload=0.01,rejected=0,cut=10; async: p95=300")
    recommend.add_argument("--max-capacity", type=int, default=20,
                           help="the largest fleet to consider (default: 20)")
    recommend.add_argument("--workers", type=int, help="processes to simulate in (default: "
                           "one per core)")
    recommend.add_argument("--params", metavar="FILE", help=PARAMS_HELP + "; measured "
                           "capacities go in types.<instance type>.capacity")
    recommend.add_argument("--calibration", nargs="+", metavar="FILE", help=CALIBRATION_HELP)
    recommend.add_argument("--start", help=START_HELP)
    recommend.set_defaults(func=cmd_recommend)

    traces = sub.add_parser("traces", help="synthetic traces")
    traces_sub = traces.add_subparsers(dest="traces_command", required=True)
    generate = traces_sub.add_parser("generate", help="a seeded synthetic trace")
    generate.add_argument("kind", choices=["contact-centre", "batch-uploads", "flat"],
                          help="the traffic shape")
    generate.add_argument("--days", type=float, default=1.0,
                          help="length of the trace (default: 1)")
    generate.add_argument("--seed", type=int, default=1,
                          help="random seed: the same seed gives the same trace (default: 1)")
    generate.add_argument("--start", help=f"calendar start (default: {DEFAULT_START})")
    generate.add_argument("--peak-per-hour", type=float,
                          help="arrivals per hour at the peak (default: the shape's own)")
    generate.add_argument("-o", "--out", required=True, metavar="FILE",
                          help="the CSV file to write")
    generate.set_defaults(func=cmd_generate)

    strategies = sub.add_parser("strategies", help="synthesize the README's comparison "
                                "strategies into a template")
    strategies.add_argument("--trace", required=True, help="a real-time trace (sizes the "
                            "static fleet for its peak)")
    strategies.add_argument("--instance-type", default="ml.g6.2xlarge",
                            help="the instance type of every strategy (default: "
                                 "ml.g6.2xlarge)")
    strategies.add_argument("--capacity", type=float, default=10.0,
                            help="concurrent streams one instance serves, from your load "
                                 "test (default: 10, illustrative)")
    strategies.add_argument("-o", "--out", required=True, metavar="DIR",
                            help="the directory to synthesize into")
    strategies.set_defaults(func=cmd_strategies)
    return parser


def _warn(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: Any = None, line: str | None = None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ParamsWarning)
            warnings.showwarning = _warn
            status: int = args.func(args)
        return status
    except (DeepgramScalingConfigError, TemplateError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"error: {err.filename}: no such file", file=sys.stderr)
        return 2


def simulate_command(argv: Sequence[str]) -> int:
    """``deepgram-scaling simulate ...``: the arguments after the command's name."""
    return main(["simulate", *argv])


def compare_command(argv: Sequence[str]) -> int:
    return main(["compare", *argv])


def recommend_command(argv: Sequence[str]) -> int:
    return main(["recommend", *argv])


def traces_command(argv: Sequence[str]) -> int:
    return main(["traces", *argv])


def strategies_command(argv: Sequence[str]) -> int:
    return main(["strategies", *argv])


if __name__ == "__main__":
    sys.exit(main())

