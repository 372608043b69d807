"""``deepgram-scaling calibrate`` end to end through the real Deepgram SDK against the
emulated server in tests/deepgram_emulator.py, on a clock 20 times faster than the wall
(the emulator runs at the same factor), so a whole search takes seconds.

The emulator's true knee is its ``stream_capacity``: at or below it every stream keeps up
with real time (finals about 0.6 s after their audio); one stream more and each falls
behind by ``1 / (capacity + 1)`` of every second, so with audio of at least ``1.3 x bound x
(capacity + 1)`` seconds the finalization lag passes its bound before a stream ends. The
search must land within one step (one stream) of it.

The long searches run once per session in worker processes, eight at a time (the
``searches`` fixture), each alone on its process's event loop.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from deepgram_scaling.calibrate import (
    Audio,
    CalibrationResult,
    RunOptions,
    SearchPlan,
    calibrate_batch,
    calibrate_stream,
    parse_slo,
)
from deepgram_scaling.calibrate.slo import BATCH_METRICS, DEFAULT_STREAM_SLO, STREAM_METRICS

from .deepgram_emulator import Emulator, Refused, quiet_collector, ticking

SCALE = 20.0
#: SLOs of the knee tests. A wall-clock stall of the test process (a loaded machine) reads
#: as 20 times longer; bounds of 3-4 s leave 120-170 ms of wall-clock margin over the
#: emulator's 0.6 s at its knee, and long enough audio still overloads one stream more.
#: The lag_growth term (bound 0.03: a stall of the loaded machine adds a one-off jump to a
#: stream's lag, not a slope) sees one stream over any capacity below 32, whatever the audio.
LOOSE = "first_result_p95<=3,finalization_p95<=4,lag_growth_p50<=0.03,failures<=0.5%"
TIGHTER = "first_result_p95<=3,finalization_p95<=3,lag_growth_p50<=0.03,failures<=1%"
#: Without the lag_growth term: one stream over 12 stays under a 4 s lag for 20 s streams.
NO_GROWTH = "first_result_p95<=3,finalization_p95<=4,failures<=0.5%"


def silence(seconds: float, rate: int = 8000) -> Audio:
    return Audio(pcm=b"\x00\x00" * int(rate * seconds), encoding="linear16", sample_rate=rate,
                 source=f"{seconds:g}s")


def located(seconds: float, rate: int = 8000) -> Audio:
    """Audio that tells the emulator where in the file each stream starts."""
    return Audio(pcm=ticking(seconds, rate), encoding="linear16", sample_rate=rate,
                 source=f"{seconds:g}s-ticking")


def options(hold_s: float, scale: float = SCALE, **kwargs: Any) -> RunOptions:
    kwargs.setdefault("settle_s", 2.0)
    return RunOptions(hold_s=hold_s, time_scale=scale, chunk_s=0.5, **kwargs)


def emulator(scale: float = SCALE, **kwargs: Any) -> Emulator:
    kwargs.setdefault("final_s", 1.0)
    return Emulator(time_scale=scale, **kwargs)


async def stream_search(capacity: float, audio_s: float, slo: str | None = None,
                        plan: SearchPlan | None = None, **kwargs: Any
                        ) -> tuple[CalibrationResult, Emulator]:
    # latency rising with load before the knee, finals at an uneven cadence set by the
    # audio, shared by every stream, each with a lag of its own
    cuts = kwargs.pop("cuts", ((0.5, 1.5), (0.0, 0.3)))
    async with emulator(stream_capacity=capacity, congestion=True, seed=kwargs.pop("seed", 7),
                        content_cuts=(audio_s, *cuts)) as emu:
        result = await calibrate_stream(
            audio=located(audio_s), url=emu.ws_url, plan=plan or SearchPlan(max_streams=8),
            options=options(audio_s),
            slo=parse_slo(slo, metrics=STREAM_METRICS) if slo else None, **kwargs)
        return result, emu


#: The knee cases: (capacity, audio seconds, SLO, plan). At 12 one stream more falls behind
#: by 1/13 of a second a second, 1.5 s over 20 s streams, which only the lag_growth term sees
#: (the finals before CloseStream of shorter streams span under the 10 s it needs).
KNEE_CASES = {
    "knee-2": (2, 12.0, LOOSE, SearchPlan(max_streams=4)),
    "knee-4": (4, 14.0, TIGHTER, SearchPlan(start=2, max_streams=6)),
    "knee-12": (12, 20.0, LOOSE, SearchPlan(start=12, max_streams=13)),
}


async def uneven_cuts() -> tuple[CalibrationResult, Emulator]:
    # audio whose own cut points come 2-8 s apart, each final 0.3-2 s late whatever the
    # load, at the same points of the file for every stream
    return await stream_search(3, 30.0, LOOSE, SearchPlan(start=3, max_streams=4,
                                                            confirm=False),
                               cuts=((2.0, 8.0), (0.3, 2.0)))


async def no_growth_term() -> tuple[CalibrationResult, Emulator]:
    # the capacity-12 server, 20 s streams and an SLO on the lag alone
    async with emulator(stream_capacity=12) as emu:
        return await calibrate_stream(
            audio=silence(20.0), url=emu.ws_url,
            plan=SearchPlan(start=12, max_streams=13, confirm=False),
            options=options(20.0), slo=parse_slo(NO_GROWTH, metrics=STREAM_METRICS)), emu


async def endpoint_path() -> tuple[CalibrationResult, Emulator]:
    # the emulator's sessions behind an SDK transport, without a socket
    async with emulator(stream_capacity=2) as emu:
        result = await calibrate_stream(
            audio=silence(10.0), transport_factory=emu.transport_factory,
            plan=SearchPlan(max_streams=3), options=options(10.0),
            slo=parse_slo(TIGHTER, metrics=STREAM_METRICS),
            target={"kind": "endpoint", "endpoint_name": "Streaming-1",
                    "instance_type": "ml.g6.2xlarge", "instance_count": 1})
        return result, emu


async def defaults() -> tuple[CalibrationResult, Emulator]:
    # the default SLO and chunk size (100 ms), at the 10 x they allow, on a server of
    # capacity 3 without congestion; the hold is short, the settle pause shorter (the
    # default 15 s would only add wall time) and the search starts at 3
    async with emulator(scale=10.0, stream_capacity=3) as emu:
        return await calibrate_stream(
            audio=silence(12.0), url=emu.ws_url, plan=SearchPlan(start=3, max_streams=4),
            options=RunOptions(hold_s=12.0, time_scale=10.0, settle_s=2.0)), emu


async def above_the_knee() -> tuple[CalibrationResult, Emulator]:
    # a first level of 4 streams on a capacity-3 server, judged on lag growth alone
    async with emulator(stream_capacity=3) as emu:
        return await calibrate_stream(
            audio=silence(20.0), url=emu.ws_url,
            plan=SearchPlan(start=4, max_streams=4, confirm=False), options=options(20.0),
            slo=parse_slo("first_result_p95<=3,lag_growth_p50<=0.03,failures<=0.5%",
                          metrics=STREAM_METRICS)), emu


async def longer_than_the_hold() -> tuple[CalibrationResult, Emulator]:
    # a 60 s file with its own cut points, held 25 s a level, from 2 streams on a
    # capacity-3 server: one reference stream covers only part of the file
    async with emulator(stream_capacity=3, congestion=True,
                        content_cuts=(60.0, (0.5, 1.5), (0.0, 0.3))) as emu:
        return await calibrate_stream(
            audio=located(60.0), url=emu.ws_url,
            plan=SearchPlan(start=2, max_streams=4, confirm=False), options=options(25.0),
            slo=parse_slo(LOOSE, metrics=STREAM_METRICS)), emu


async def cancelled() -> tuple[CalibrationResult, Emulator]:
    # a run cancelled while its second level streams
    async with emulator(stream_capacity=8) as emu:
        task = asyncio.ensure_future(calibrate_stream(
            audio=silence(8.0), url=emu.ws_url, plan=SearchPlan(max_streams=8),
            options=options(8.0), on_level=lambda _lv: None,
            slo=parse_slo(LOOSE, metrics=STREAM_METRICS)))
        while emu.active < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        task.cancel()
        result = await task
        await asyncio.sleep(0.2)
        return result, emu


async def short_run(via: str = "url", plan: SearchPlan | None = None,
                    **server: Any) -> tuple[CalibrationResult, Emulator]:
    """3 s streams on a fast server set up by ``server``, through its URL or its in-process
    transport."""
    async with emulator(stream_capacity=100, **server) as emu:
        reach: dict[str, Any] = ({"url": emu.ws_url} if via == "url"
                                 else {"transport_factory": emu.transport_factory})
        return await calibrate_stream(
            audio=silence(3.0), plan=plan or SearchPlan(start=2, max_streams=2, confirm=False),
            options=options(3.0), slo=parse_slo(LOOSE, metrics=STREAM_METRICS), **reach), emu


async def botocore_cannot_renew() -> tuple[CalibrationResult, Emulator]:
    from botocore.exceptions import UnauthorizedSSOTokenError

    # a transport whose credentials cannot be renewed from its fourth stream on (an expired
    # SSO session, as botocore raises it when a stream asks for them)
    async with emulator(stream_capacity=100) as emu:
        made: list[str] = []

        def factory(url: str, headers: dict[str, str]) -> Any:
            made.append(url)
            if len(made) >= 4:
                raise UnauthorizedSSOTokenError()
            return emu.transport_factory(url, headers)

        return await calibrate_stream(
            audio=silence(3.0), transport_factory=factory, plan=SearchPlan(max_streams=8),
            options=options(3.0), slo=parse_slo(LOOSE, metrics=STREAM_METRICS)), emu


async def refusals() -> tuple[CalibrationResult, Emulator]:
    # a fast server that refuses a fourth concurrent stream with HTTP 503
    async with emulator(stream_capacity=100, max_active=3) as emu:
        return await calibrate_stream(audio=silence(3.0), url=emu.ws_url,
                                      plan=SearchPlan(max_streams=8), options=options(4.0),
                                      slo=parse_slo(LOOSE, metrics=STREAM_METRICS)), emu


async def reset_connection(slo: str) -> tuple[CalibrationResult, Emulator]:
    # a server that resets its second connection mid-stream
    async with emulator(stream_capacity=100, reset_connections=frozenset({2})) as emu:
        return await calibrate_stream(
            audio=silence(3.0), url=emu.ws_url,
            plan=SearchPlan(start=2, max_streams=2, confirm=False), options=options(3.0),
            slo=parse_slo(slo, metrics=STREAM_METRICS)), emu


async def batch_knee() -> tuple[CalibrationResult, Emulator]:
    # 10 s requests on a server transcribing 5 audio seconds per second: n concurrent
    # requests take 2 n s (+0.1 s), so latency p95 <= 5 s holds up to 2
    async with emulator(batch_capacity=5) as emu:
        return await calibrate_batch(
            audio=silence(10.0), url=emu.http_url, plan=SearchPlan(max_streams=4),
            options=options(6.0),
            slo=parse_slo("latency_p95<=5,failures<=0.5%", metrics=BATCH_METRICS)), emu


@dataclass(frozen=True)
class Served:
    """What a test reads of an emulator once its search has ended (the emulator itself
    stays in the worker process that ran it)."""

    open_sessions: int
    active: int
    #: Where in the file each ended session's audio began (content cuts only).
    file_starts: frozenset[float]
    #: Audio seconds between two frames of one session, over every session.
    frame_steps: frozenset[float]
    connections: int
    close_streams: int
    left_without_close_stream: int


def _served(emu: Emulator) -> Served:
    return Served(open_sessions=len(emu.sessions), active=emu.active,
                  file_starts=frozenset(s.file_start for s in emu.ended
                                        if s.file_start is not None),
                  frame_steps=frozenset(round(b - a, 4) for s in emu.ended
                                        for (_, a), (_, b) in zip(s.arrivals, s.arrivals[1:],
                                                                  strict=False)),
                  connections=emu.connections, close_streams=emu.control.count("CloseStream"),
                  left_without_close_stream=emu.streams_left_without_close_stream())


#: The long searches of this module, by name, the longest first.
SEARCHES: dict[str, Callable[[], Awaitable[tuple[CalibrationResult, Emulator]]]] = {
    "uneven-cuts": uneven_cuts,
    **{name: functools.partial(stream_search, *case) for name, case in KNEE_CASES.items()},
    "defaults": defaults, "endpoint-path": endpoint_path, "batch-knee": batch_knee,
    "no-growth-term": no_growth_term,
    "refusals": refusals, "above-the-knee": above_the_knee,
    "longer-than-the-hold": longer_than_the_hold, "cancelled": cancelled,
    "credentials-403": functools.partial(short_run, plan=SearchPlan(max_streams=8),
                                         forbid_from=5),
    "credentials-botocore": botocore_cannot_renew,
    "skipped-messages": functools.partial(short_run, junk=True),
    "url-no-metadata": functools.partial(short_run, metadata=False,
                                         plan=SearchPlan(max_streams=1, confirm=False)),
    "sagemaker-no-metadata": functools.partial(short_run, "transport", metadata=False),
    "sagemaker-error-after-close": functools.partial(short_run, "transport",
                                                     error_after_close="Input stream broken"),
    "reset-strict": functools.partial(reset_connection, "failures<=0.5%"),
    "reset-lenient": functools.partial(reset_connection, "failures<=60%"),
}
#: Worker processes the searches share. Each search runs alone on its process's event loop:
#: searches sharing one loop delay each other's timers, and a neighbour's load rising
#: during a level reads, on the accelerated clock, as the lag growth the keeps-up term
#: judges. Each uses a fifth to a third of one core.
WORKERS = 8


def search_in_a_worker(name: str) -> tuple[CalibrationResult, Served]:
    with quiet_collector():
        result, emu = asyncio.run(SEARCHES[name]())
    return result, _served(emu)


@pytest.fixture(scope="module")
def searches() -> dict[str, tuple[CalibrationResult, Served]]:
    """Every search of this module that streams, each run once in a worker process, eight
    at a time: about 11 s instead of 65 s one after the other. Beside two busy loops on this
    2-core machine every test reading them still passes; in one process they did not."""
    context = multiprocessing.get_context("spawn")  # no fork of a process running threads
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
        return dict(zip(SEARCHES, pool.map(search_in_a_worker, SEARCHES), strict=True))


@pytest.mark.parametrize("name", list(KNEE_CASES))
def test_the_stream_search_finds_the_knee_for_several_capacities_slos_and_audio(
        searches: dict[str, tuple[CalibrationResult, Served]], name: str):
    # given a server of a known capacity, an audio length and an SLO
    capacity, audio_s, _, _ = KNEE_CASES[name]
    # when searched
    result, emu = searches[name]
    # then the capacity is the knee or one step below it, never above
    assert result.capacity in (capacity - 1, capacity), (capacity, audio_s, [
        (lv.concurrency, lv.violations, lv.stats["lag_growth"]["p50"])
        for lv in result.levels])
    failing = [lv for lv in result.levels if not lv.passed]
    assert failing and all(lv.violations for lv in failing)
    assert result.levels[-1].concurrency == result.capacity  # the confirmation
    assert emu.open_sessions == 0 and emu.active == 0


def test_the_default_slo_and_chunks_find_the_knee(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a capacity-3 server, searched with the default SLO and chunk size
    result, emu = searches["defaults"]
    # then one stream over it (falling behind by a quarter second a second) fails, and the
    # capacity is the knee or one step below it
    assert str(result.slo) == str(parse_slo(DEFAULT_STREAM_SLO, metrics=STREAM_METRICS))
    assert result.capacity in (2, 3), [(lv.concurrency, lv.violations) for lv in result.levels]
    assert [lv.concurrency for lv in result.levels][:2] == [3, 4]
    assert not next(lv for lv in result.levels if lv.concurrency == 4).passed
    # and the streams sent 100 ms chunks
    assert emu.frame_steps == {0.1}


def test_the_knee_is_found_when_the_audio_sets_uneven_cut_points_and_lags(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given audio whose own cut points and lags are the file's, shared by every stream: the
    # lag's slope over one stream is the file's, not the load's
    # when searched on a capacity-3 server
    result, emu = searches["uneven-cuts"]
    # then judged against the first level's lag at the same point of the file, the growth
    # is the load's: the knee or one step below it
    assert result.capacity in (2, 3), [(lv.concurrency, lv.violations) for lv in result.levels]
    assert result.levels[0].passed
    # and, the search starting at 3, the growth was judged against one stream run alone first
    assert result.growth_reference == 1 and result.levels[0].concurrency == 3
    # and the streams started at several points of the file, on whole chunks
    starts = emu.file_starts
    assert len(starts) > 3 and all(round(x / 0.5, 6).is_integer() for x in starts)


def test_a_first_level_above_the_knee_fails_on_growth_against_a_stream_run_alone(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a capacity-3 server and a search starting at 4, judged on lag growth alone
    # when searched
    result, _ = searches["above-the-knee"]
    # then the first level fails on growth (judged against itself it would have none)
    first = result.levels[0]
    assert first.concurrency == 4 and not first.passed
    assert [v.split(" ")[0] for v in first.violations] == ["lag_growth_p50<=0.03"]
    assert result.growth_reference == 1 and (result.growth_reference_points or 0) >= 3
    assert result.capacity in (2, 3)


def test_with_audio_longer_than_the_hold_the_streams_start_where_the_reference_streamed(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a 60 s file held 25 s a level, from 2 streams, on a capacity-3 server
    # when searched
    result, emu = searches["longer-than-the-hold"]
    # then the streams after the reference started within its first 5 s or less (what it
    # sent of its 25 s, less the 20 s shared), which the result records
    assert result.growth_reference == 1 and result.start_window_s is not None
    low, high = result.start_window_s
    assert 3.0 <= high - low <= 5.0
    outside = [x for x in emu.file_starts if not 0 <= (x - low) % 60.0 <= 5.0 + 1e-6]
    assert len(outside) <= 2  # the warm-up's and the reference's own start
    # and growth was measured on the levels, which land on the knee or one step below
    assert all(lv.stats["lag_growth"]["n"] > 0 for lv in result.levels)
    assert result.capacity in (2, 3), [(lv.concurrency, lv.violations) for lv in result.levels]


def test_without_the_keeps_up_term_one_stream_over_a_large_capacity_passes(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given the capacity-12 server, 20 s streams and an SLO on the lag alone
    # when 13 streams run
    level = searches["no-growth-term"][0].levels[-1]
    # then the overloaded level passes its lag bound while its lag grows steadily
    assert level.concurrency == 13 and level.passed
    assert level.stats["lag_growth"]["p50"] > 0.05
    # and without a growth term no stream ran alone before the first level, of 12
    assert searches["no-growth-term"][0].growth_reference == 12


def test_the_endpoint_path_drives_the_sdk_through_a_transport_factory(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given the emulator's sessions behind an SDK transport, without a socket
    # when searched
    result, emu = searches["endpoint-path"]
    # then
    assert result.capacity in (1, 2)
    assert result.instance_type == "ml.g6.2xlarge"
    # every stream of every level, and the warm-up's, went through it and ended cleanly
    assert emu.connections == 1 + sum(lv.stats["attempts"] for lv in result.levels)
    assert emu.close_streams == emu.connections


def test_refusals_past_the_servers_limit_count_as_failures(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a fast server that refuses a fourth concurrent stream with HTTP 503
    # when searched
    result = searches["refusals"][0]
    # then
    assert result.capacity == 3
    four = next(lv for lv in result.levels if lv.concurrency == 4)
    assert four.stats["failure_kinds"].get("http-503", 0) >= 1
    assert any("failures<=0.5%" in v for v in four.violations)


def test_a_reset_connection_is_a_failure_of_its_level(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a server that resets its second connection mid-stream
    # when searched with a strict and a lenient failure bound
    strict, lenient = searches["reset-strict"][0], searches["reset-lenient"][0]
    # then
    level = strict.levels[0]
    assert (level.stats["failures"], level.stats["failure_kinds"]) == (1, {"reset-1011": 1})
    assert not level.passed and strict.capacity == 1  # bisected down below the start
    assert lenient.levels[0].passed and lenient.capacity == 2


def test_cancelling_closes_every_stream_and_still_reports(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a run cancelled while its second level streams
    # when
    result, emu = searches["cancelled"]
    # then
    assert result.interrupted and result.stopped.startswith("interrupted during level 2")
    assert [lv.concurrency for lv in result.levels] == [1, 2]
    assert result.levels[-1].interrupted and not result.levels[-1].passed
    assert result.capacity == 1
    assert emu.active == 0 and emu.open_sessions == 0
    assert emu.left_without_close_stream == 0


def test_the_batch_search_finds_the_latency_knee(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given 10 s requests on a server transcribing 5 audio seconds per second: n concurrent
    # requests take 2 n s (+0.1 s), so latency p95 <= 5 s holds up to 2
    # when searched
    result = searches["batch-knee"][0]
    # then
    assert result.capacity is not None and abs(result.capacity - 2) <= 1
    passing = [lv for lv in result.levels if lv.passed]
    assert all(lv.stats["throughput_audio_s_per_s"] > 0 for lv in passing)
    assert result.mode == "batch" and result.target == {"kind": "url",
                                                        "url": result.target["url"]}


@pytest.mark.parametrize("kwargs", [{}, {"url": "ws://x", "transport_factory": print}])
def test_exactly_one_way_to_reach_the_server(kwargs: dict[str, Any]):
    with pytest.raises(ValueError, match="exactly one of url and transport_factory"):
        asyncio.run(calibrate_stream(audio=silence(1.0), **kwargs))


def test_the_emulator_speaks_the_protocol_the_sdk_reads():
    # given one stream through the SDK's own WebSocket transport
    from deepgram_scaling.calibrate.sdk import deepgram_client

    async def run() -> tuple[list[Any], Emulator]:
        async with emulator(stream_capacity=4) as emu:
            with deepgram_client(url=emu.ws_url) as client:
                async with client.listen.v1.connect(model="nova-3", request_options={
                        "additional_query_parameters": {**silence(1).query(),
                                                        "interim_results": "true"}}) as socket:
                    received: list[Any] = []
                    # when: 2.5 s of audio, Finalize, KeepAlive, then CloseStream
                    for _ in range(5):
                        await socket.send_media(b"\x00\x00" * 4000)
                        await asyncio.sleep(0.5 / SCALE)
                    await socket.send_finalize()
                    await socket.send_keep_alive()
                    await asyncio.sleep(1.0 / SCALE)
                    await socket.send_close_stream()
                    async for message in socket:
                        received.append(message)
            return received, emu

    received, emu = asyncio.run(run())
    # then: typed interim and final Results, a flush marked from_finalize, Metadata last
    kinds = [type(m).__name__ for m in received]
    assert kinds[-1] == "ListenV1Metadata" and set(kinds[:-1]) == {"ListenV1Results"}
    finals = [m for m in received if getattr(m, "is_final", False)]
    assert [(f.start, f.duration) for f in finals] == [(0.0, 1.0), (1.0, 1.0), (2.0, 0.5)]
    assert finals[-1].from_finalize and [f.speech_final for f in finals] == [False, True, False]
    assert any(not getattr(m, "is_final", True) for m in received)
    assert finals[0].channel.alternatives[0].transcript
    assert received[-1].duration == 2.5
    assert emu.control == ["Finalize", "KeepAlive", "CloseStream"]


def test_batch_against_an_endpoint_keeps_every_request_of_a_level_in_flight():
    # given a runtime client that answers each InvokeEndpoint in 0.1 s whatever the load:
    # no knee below the level, so only the client could limit what is in flight
    import threading
    import time

    from deepgram_scaling.calibrate.batch_client import endpoint_invoker

    lock, in_flight, peak = threading.Lock(), [0], [0]

    class Body:
        def read(self) -> bytes:
            return b"{}"

    class Runtime:
        def invoke_endpoint(self, **_request: Any) -> dict[str, Any]:
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            time.sleep(0.1)
            with lock:
                in_flight[0] -= 1
            return {"Body": Body()}

    audio = silence(2.0)
    invoker = endpoint_invoker(Runtime(), endpoint_name="e", audio=audio, model="nova-3",
                               params={}, max_concurrency=40)
    # when a level of 40 concurrent requests runs (more than asyncio's default pool)
    result = asyncio.run(calibrate_batch(
        audio=audio, invoker=invoker, plan=SearchPlan(start=40, max_streams=40, confirm=False),
        options=RunOptions(hold_s=3.0, time_scale=10),
        slo=parse_slo("latency_p95<=5,failures<=0.5%", metrics=BATCH_METRICS)))
    # then every request of the level was at the server at once
    assert peak[0] == 40
    assert result.levels[0].passed and result.capacity == 40


def test_a_slow_connect_delays_the_stream_instead_of_bursting_its_audio():
    # given a lazy transport that takes 2 audio seconds to connect, as SageMaker's does
    async def run() -> tuple[CalibrationResult, Emulator]:
        async with emulator(stream_capacity=100, connect_delay_s=2.0) as emu:
            result = await calibrate_stream(
                audio=silence(4.0), transport_factory=emu.transport_factory,
                plan=SearchPlan(max_streams=1, confirm=False), options=options(4.0),
                slo=parse_slo(LOOSE, metrics=STREAM_METRICS))
            return result, emu

    # when
    result, emu = asyncio.run(run())
    # then the audio never reached the server ahead of real time (a burst of the chunks
    # held back during the connect would put it 1.5 s ahead), whatever stalls delayed it
    measured = [s for s in emu.ended if len(s.arrivals) > 2]  # the warm-up sent no audio
    assert measured
    for session in measured:
        (t0, a0), *rest = session.arrivals
        ahead = max((a - a0) - (t - t0) * SCALE for t, a in rest)
        assert ahead < 0.25, session.arrivals
    # and the connect time holds the transport's slow open
    connect = result.levels[0].stats["connect"]
    assert connect["p50"] is not None and connect["p50"] >= 1.9


@pytest.mark.parametrize("ending", ["no-metadata", "error-after-close"])
def test_sagemaker_style_closes_with_every_final_are_notes_not_failures(
        searches: dict[str, tuple[CalibrationResult, Served]], ending: str):
    # given a transport that ends each stream as SageMaker may: no Metadata, or an error
    # when
    level = searches[f"sagemaker-{ending}"][0].levels[0]
    # then
    assert level.passed and level.stats["failures"] == 0
    kind = "no-metadata" if ending == "no-metadata" else "after-close-stream-error-RuntimeError"
    assert level.stats["notes"] == {kind: level.stats["attempts"]}


def test_the_url_path_still_fails_a_stream_without_metadata(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a WebSocket server that closes without Metadata
    level = searches["url-no-metadata"][0].levels[0]
    assert not level.passed and level.stats["failure_kinds"] == {"no-metadata": 1}


def test_a_refused_stream_asks_the_endpoint_once():
    # given a full server behind a lazy transport that takes a while to connect (as
    # SageMaker's does): every stream's first send is refused after the wait
    made: list[Any] = []

    async def run() -> tuple[CalibrationResult, Emulator]:
        async with emulator(stream_capacity=2, max_active=0, connect_delay_s=0.5) as emu:
            def factory(url: str, headers: dict[str, str]) -> Any:
                made.append(url)
                return emu.transport_factory(url, headers)

            result = await calibrate_stream(
                audio=silence(3.0), transport_factory=factory,
                plan=SearchPlan(max_streams=1, confirm=False), options=options(3.0),
                slo=parse_slo(LOOSE, metrics=STREAM_METRICS))
            return result, emu

    # when
    result, emu = asyncio.run(run())
    # then every stream failed, and each made one connection attempt, not a second one from
    # its receiver
    assert result.levels[0].stats["failure_rate"] == 1.0, result.levels[0].stats
    assert len(made) >= 2 and emu.refused == len(made), (len(made), emu.refused, emu.connections)


def test_the_flush_final_after_close_stream_is_left_out_of_the_growth_fit():
    from deepgram_scaling.calibrate.audio import Clock
    from deepgram_scaling.calibrate.sdk import deepgram_client
    from deepgram_scaling.calibrate.stream_client import run_stream

    # given 4.2 s of audio and finals every second: the last 0.2 s is flushed by CloseStream
    audio = silence(4.2)

    async def run() -> tuple[list[Any], Emulator]:
        sink: list[Any] = []
        async with emulator() as emu:
            with deepgram_client(transport_factory=emu.transport_factory) as client:
                await run_stream(client, audio=audio, chunks=audio.chunks(0.1),
                                 clock=Clock(SCALE), model="nova-3", params={}, until=1e9,
                                 sink=sink)
        return sink, emu

    # when
    [record], emu = asyncio.run(run())
    # then the flush final is a finalization lag but not a point of the growth fit
    assert record.failure is None and record.finalized_to == pytest.approx(4.2)
    fitted = [round(at, 1) for at, _ in record.lag_points()]
    assert fitted[:3] == [1.0, 2.0, 3.0] and max(fitted) <= 4.0  # 4.0 may come after it
    assert round(max(at for at, _ in record.lag_points()), 1) < record.finalized_to
    assert len(record.finalization_lags) == len(fitted) + 1
    # and every final counts, whether or not it ended an utterance (speech_final)
    [session] = emu.ended
    assert len(record.finalization_lags) == session.finals == 5 > session.speech_finals


def test_the_emulator_refuses_what_deepgram_refuses_and_closes_an_idle_stream():
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedError, InvalidStatus

    async def run() -> tuple[list[int], tuple[int, str]]:
        statuses: list[int] = []
        async with emulator() as emu:
            # an encoding without its sample rate, and an unknown encoding
            for query in ("encoding=linear16", "encoding=opus8&sample_rate=8000"):
                try:
                    async with connect(f"{emu.ws_url}/v1/listen?{query}"):
                        pass
                except InvalidStatus as err:
                    statuses.append(err.response.status_code)
            # a stream that sends nothing after its handshake
            async with connect(f"{emu.ws_url}/v1/listen?encoding=linear16&sample_rate=8000"
                               ) as ws:
                try:
                    await asyncio.wait_for(ws.recv(), 3.0)
                except ConnectionClosedError as err:
                    assert err.rcvd is not None
                    return statuses, (err.rcvd.code, err.rcvd.reason)
        raise AssertionError("the idle stream was not closed")

    async def through_the_transport() -> int:
        async with emulator() as emu:
            transport = emu.transport_factory("wss://x/v1/listen?encoding=linear16", {})
            try:
                await transport.send(b"\x00\x00")
            except Refused as err:
                return err.status_code
        raise AssertionError("the transport took a query Deepgram refuses")

    statuses, (code, reason) = asyncio.run(run())
    statuses.append(asyncio.run(through_the_transport()))
    assert statuses == [400, 400, 400]
    assert code == 1011 and reason.startswith("NET-0001")


def test_messages_the_sdk_skips_are_counted_and_noted(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a server whose streams each start with a text message that is not JSON
    # when
    level = searches["skipped-messages"][0].levels[0]
    # then each stream's skipped message is counted (the warm-up's is not), and noted
    assert level.stats["skipped_messages"] == level.stats["attempts"] >= 2
    assert any(note.startswith("the SDK skipped") for note in level.notes)


def test_credentials_refused_mid_run_stop_the_search_instead_of_counting_as_load(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    from deepgram_scaling.calibrate.cli import exit_status
    from deepgram_scaling.calibrate.report import conclusion

    # given a server that answers 403 from its fifth handshake on (the warm-up, level 1,
    # two streams of level 2, then the third stream of level 4), as once credentials expire
    # when
    result = searches["credentials-403"][0]
    # then the search stops after the level that saw it, says why, and sizes nothing
    assert [lv.concurrency for lv in result.levels] == [1, 2, 4]
    assert result.stopped.startswith("the credentials were refused (http-403) during level 4")
    assert any("credentials were refused" in p for p in result.sizing_problems())
    assert exit_status(result) == 4
    # and the report offers nothing to paste
    assert "paste" not in conclusion(result).split("nothing to paste")[-1]


def test_credentials_botocore_cannot_renew_stop_the_search_too(
        searches: dict[str, tuple[CalibrationResult, Served]]):
    # given a transport whose credentials cannot be renewed from its fourth stream on
    # when
    result = searches["credentials-botocore"][0]
    # then the search stops at the level that met it, naming botocore's error
    assert result.stopped.startswith(
        "the credentials were refused (credentials-UnauthorizedSSOTokenError) during level 2")
    assert result.sizing_problems()
