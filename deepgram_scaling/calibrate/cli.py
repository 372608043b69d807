"""``deepgram-scaling calibrate stream|batch``: measure what one instance serves.

Exit status: 0 when a capacity was found, 1 when no level met the SLO, 2 on bad usage,
3 when the safety checks refused the endpoint (or the confirmation was declined), 4 when
AWS would not answer the endpoint checks (a denied action, no credentials), 130 when
interrupted (after reporting what was measured).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .audio import SAMPLE_WIDTHS, AudioError, read_audio
from .levels import SearchPlan
from .report import conclusion, header, progress_line, row
from .result import CREDENTIALS_REFUSED, CalibrationResult, LevelResult
from .runner import RunOptions, lone_reference
from .safety import (
    MAX_STREAMS_CAP,
    MAX_TOTAL_HOURS_CAP,
    EndpointFacts,
    SafetyError,
    aws_error,
    count_changed,
    describe,
    detection_text,
    plan_text,
    problems,
)
from .slo import (
    BATCH_METRICS,
    DEFAULT_BATCH_SLO,
    DEFAULT_STREAM_SLO,
    STREAM_METRICS,
    SloError,
    parse_slo,
)


@dataclass(frozen=True)
class Clients:
    """boto3 clients for the endpoint path: ``sagemaker``, ``application-autoscaling`` and
    ``sagemaker-runtime`` (the last with retries off)."""

    sagemaker: Any
    autoscaling: Any
    runtime: Any


def boto3_clients(region: str, max_concurrency: int = 64) -> Clients:
    import boto3

    from .batch_client import runtime_config

    # every attempt must be seen: docs/aws-behaviour.md#calibration-sees-every-failure
    return Clients(boto3.client("sagemaker", region_name=region),
                   boto3.client("application-autoscaling", region_name=region),
                   boto3.client("sagemaker-runtime", region_name=region,
                                config=runtime_config(max_concurrency)))


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--param takes key=value, got {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepgram-scaling calibrate",
        description="Ramp concurrent streams (or pre-recorded requests) on one instance until "
                    "the SLO breaks; report the capacity and the target to scale on.")
    modes = parser.add_subparsers(dest="mode", required=True)
    for mode in ("stream", "batch"):
        sub = modes.add_parser(mode, help=f"calibrate {mode}ing" if mode == "stream"
                               else "calibrate synchronous pre-recorded requests")
        where = sub.add_mutually_exclusive_group(required=True)
        where.add_argument("--url", help="a Deepgram server: ws://host:8080 (stream) or "
                                         "http://host:8080 (batch)")
        where.add_argument("--endpoint", help="a SageMaker real-time endpoint running one "
                                              "instance")
        sub.add_argument("--region", help="the endpoint's region")
        sub.add_argument("--audio", required=True, help="WAV, or raw audio with --encoding "
                                                        "and --sample-rate")
        sub.add_argument("--encoding", choices=sorted(SAMPLE_WIDTHS),
                         help="raw audio only: its sample encoding")
        sub.add_argument("--sample-rate", type=int, help="raw audio only: samples per second")
        sub.add_argument("--channels", type=int, default=1,
                         help="raw audio only: channels (default 1)")
        sub.add_argument("--model", default="nova-3",
                         help="the Deepgram model query parameter (default nova-3)")
        sub.add_argument("--param", type=_param, action="append", default=[],
                         metavar="KEY=VALUE", help="another Deepgram query parameter")
        sub.add_argument("--hold", type=float, default=60.0, help="seconds per level "
                                                                  "(default 60)")
        sub.add_argument("--settle", type=float, default=15.0,
                         help="seconds to pause after a failed level, for the server's "
                              "backlog to drain (default 15)")
        sub.add_argument("--chunk-ms", type=float, default=100.0,
                         help="audio per message when streaming (default 100; Deepgram "
                              "advises 20-250)")
        sub.add_argument("--seed", type=int, default=0,
                         help="seeds the point of the audio file each stream starts at "
                              "(default 0); the result records it")
        sub.add_argument("--slo", default=DEFAULT_STREAM_SLO if mode == "stream"
                         else DEFAULT_BATCH_SLO, help="terms that must all hold (default "
                         "%(default)s)")
        sub.add_argument("--target-fraction", type=float, default=0.75,
                         help="target = capacity x this fraction (default 0.75; Deepgram "
                              "advises 0.7-0.8)")
        sub.add_argument("--start", type=int, default=1, help="first level (default 1)")
        sub.add_argument("--max-streams", type=int, default=64,
                         help=f"cap on concurrency (default 64, at most {MAX_STREAMS_CAP})")
        sub.add_argument("--resolution", type=int, default=1,
                         help="stop bisecting when the passing and failing levels are this "
                              "close (default 1)")
        sub.add_argument("--max-minutes", type=float, default=120.0,
                         help=f"cap on the whole run (default 120, at most "
                              f"{MAX_TOTAL_HOURS_CAP * 60:.0f})")
        sub.add_argument("--json", metavar="FILE", help="write the result (documented schema)")
        sub.add_argument("--plot", metavar="FILE.png", help="latency and failures plot")
        sub.add_argument("--yes", action="store_true", help="skip the confirmation")
        sub.add_argument("--allow-scaling", action="store_true",
                         help="calibrate an endpoint that runs or may scale to several instances")
        # Only the tests change it, together with their emulated server's clock; it needs
        # --emulated-server, and never goes with --endpoint.
        sub.add_argument("--time-scale", type=float, default=1.0, help=argparse.SUPPRESS)
        sub.add_argument("--emulated-server", action="store_true", help=argparse.SUPPRESS)
    return parser


#: Audio per streaming message Deepgram advises, in milliseconds
#: (docs/aws-behaviour.md#stream-pacing).
CHUNK_MS_ADVISED = (20, 250)


def chunk_warning(mode: str, chunk_ms: float) -> str | None:
    """A warning when a stream run's chunks fall outside what Deepgram advises."""
    low, high = CHUNK_MS_ADVISED
    if mode != "stream" or low <= chunk_ms <= high:
        return None
    return (f"warning: --chunk-ms {chunk_ms:g} is outside the {low}-{high} ms of audio per "
            "message Deepgram advises; measure with the chunk size your callers send "
            "(docs/aws-behaviour.md#stream-pacing)")


def _print(text: str) -> None:
    print(text, flush=True)


def main(argv: Sequence[str] | None = None, *, clients: Clients | None = None,
         transport_factory: Callable[[str, dict[str, str]], Any] | None = None,
         confirm: Callable[[str], str] = input) -> int:
    """Entry point. ``clients`` and ``transport_factory`` replace boto3 and the SageMaker
    transport (the tests pass stubs)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        audio = read_audio(args.audio, encoding=args.encoding, sample_rate=args.sample_rate,
                           channels=args.channels)
        metrics = STREAM_METRICS if args.mode == "stream" else BATCH_METRICS
        slo = parse_slo(args.slo, metrics=metrics)
        # an endpoint is real unless a test handed in its transport (never from the shell)
        real_endpoint = args.endpoint and transport_factory is None
        if args.time_scale != 1 and (real_endpoint or not args.emulated_server):
            raise ValueError("--time-scale is for the test suite's emulated server only: it "
                             "would send audio faster than real time to a real server")
        if args.max_streams > MAX_STREAMS_CAP:
            raise ValueError(f"--max-streams must be at most {MAX_STREAMS_CAP}, "
                             f"got {args.max_streams}")
        if not 0 < args.max_minutes <= MAX_TOTAL_HOURS_CAP * 60:
            raise ValueError(f"--max-minutes must be in (0, {MAX_TOTAL_HOURS_CAP * 60:.0f}], "
                             f"got {args.max_minutes}")
        plan = SearchPlan(start=args.start, max_streams=args.max_streams,
                          resolution=args.resolution)
        options = RunOptions(hold_s=args.hold, target_fraction=args.target_fraction,
                             max_total_s=args.max_minutes * 60, time_scale=args.time_scale,
                             chunk_s=args.chunk_ms / 1000, settle_s=args.settle,
                             seed=args.seed)
    except (OSError, AudioError, SloError, ValueError) as err:
        print(f"calibrate: {err}", file=sys.stderr)
        return 2
    warning = chunk_warning(args.mode, args.chunk_ms)
    if warning:  # before any AWS call or question
        print(f"calibrate: {warning}", file=sys.stderr)
    params = dict(args.param)
    target: dict[str, Any] | None = None
    facts: EndpointFacts | None = None
    if args.endpoint:
        if not args.region:
            print("calibrate: --endpoint needs --region", file=sys.stderr)
            return 2
        if args.mode == "stream" and transport_factory is None:
            # before any AWS call or question: the transport needs Python 3.12+
            from .transports import TransportMissingError, sagemaker_transport_factory

            try:
                transport_factory = sagemaker_transport_factory(args.endpoint, args.region)
            except TransportMissingError as err:
                print(f"calibrate: {err}", file=sys.stderr)
                return 2
        clients = clients or boto3_clients(args.region, args.max_streams)
        try:
            facts = describe(clients.sagemaker, clients.autoscaling, args.endpoint,
                             args.region)
        except SafetyError as err:
            print(f"calibrate: refused: {err}", file=sys.stderr)
            return 3
        except Exception as err:
            reason = aws_error(err)
            if reason is None:
                raise
            print(f"calibrate: refused: cannot read endpoint {args.endpoint}: {reason} (the "
                  "actions calibrate needs: docs/calibration.md#permissions)", file=sys.stderr)
            return 4
        found = problems(facts, allow_scaling=args.allow_scaling)
        if found:
            for problem in found:
                print(f"calibrate: refused: {problem}", file=sys.stderr)
            return 3
        target = facts.to_target()
        _print(f"endpoint {facts.endpoint_name}: {facts.instance_count} x "
               f"{facts.instance_type}, variant {facts.variant_name}")
        _print(plan_text(plan, hold_s=args.hold,
                         close_s=options.close_timeout_s + options.settle_s,
                         max_total_s=options.max_total_s or 0, instance_count=facts.instance_count,
                         reference=args.mode == "stream" and lone_reference(
                             plan, slo, min(args.hold, audio.duration_s))))
        if args.mode == "stream":
            _print(detection_text(slo, min(args.hold, audio.duration_s)))
        if not args.yes:
            try:
                answer = confirm("start the calibration? [y/N] ")
            except (EOFError, KeyboardInterrupt):
                answer = ""
            if answer.strip().lower() != "y":
                print("\ncalibrate: not confirmed", file=sys.stderr)
                return 3
    _print(f"calibrating {args.mode} on {args.url or args.endpoint}: {audio.source} "
           f"({audio.duration_s:.1f} s), model {args.model}, SLO {slo}")
    if args.endpoint is None and args.mode == "stream":
        _print(detection_text(slo, min(args.hold, audio.duration_s)))
    if args.mode == "stream" and lone_reference(plan, slo, min(args.hold, audio.duration_s)):
        _print(f"growth reference: one stream alone for {args.hold:g} s before level "
               f"{plan.start}, since lag growth is judged against the least loaded streams")
    _print(header(args.mode))
    try:
        result = asyncio.run(_run(args, audio=audio, slo=slo, plan=plan, options=options,
                                  params=params, target=target, clients=clients,
                                  transport_factory=transport_factory))
    except RuntimeError as err:  # the SDK or the SageMaker transport is missing
        print(f"calibrate: {err}", file=sys.stderr)
        return 2
    if facts is not None and args.allow_scaling and clients is not None:
        warning = count_changed(clients.sagemaker, facts)
        if warning:
            print(f"calibrate: {warning}", file=sys.stderr)
    if result.interrupted and result.levels and result.levels[-1].interrupted:
        _print(row(args.mode, result.levels[-1]))
    _print("")
    _print(conclusion(result))
    if args.json:
        result.write(args.json)
        _print(f"wrote {args.json}")
    if args.plot and result.levels:
        from .plot import plot

        plot(result, args.plot)
        _print(f"wrote {args.plot}")
    return exit_status(result)


def exit_status(result: CalibrationResult) -> int:
    """130 after Ctrl-C, 4 when the credentials were refused mid-run, 0 with a capacity,
    1 without one."""
    if result.interrupted:
        return 130
    if result.stopped.startswith(CREDENTIALS_REFUSED):
        return 4
    return 0 if result.capacity is not None else 1


async def _run(args: argparse.Namespace, *, clients: Clients | None,
               transport_factory: Callable[[str, dict[str, str]], Any] | None,
               **kwargs: Any) -> CalibrationResult:
    from .api import calibrate_batch, calibrate_stream

    def show_level(level: LevelResult) -> None:
        sys.stderr.write("\r\033[K")
        _print(row(args.mode, level))

    def show_progress(concurrency: int, elapsed: float, hold: float,
                      records: list[Any]) -> None:
        sys.stderr.write("\r\033[K" + progress_line(concurrency, elapsed, hold, records))
        sys.stderr.flush()

    common = {"model": args.model, "on_level": show_level, "on_progress": show_progress,
              **kwargs}
    if args.mode == "stream":
        if args.url:
            return await calibrate_stream(url=args.url, **common)
        return await calibrate_stream(transport_factory=transport_factory, **common)
    if args.url:
        return await calibrate_batch(url=args.url, **common)
    from .batch_client import endpoint_invoker

    assert clients is not None
    invoker = endpoint_invoker(clients.runtime, endpoint_name=args.endpoint,
                               audio=kwargs["audio"], model=args.model, params=kwargs["params"],
                               max_concurrency=kwargs["plan"].max_streams)
    return await calibrate_batch(invoker=invoker, **common)
