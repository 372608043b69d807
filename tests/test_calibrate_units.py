"""The pure parts of ``deepgram-scaling calibrate``: SLO terms and percentiles, the level
search, audio reading and pacing, the result file and its schema."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepgram_scaling.calibrate.audio import Audio, AudioError, Clock, read_audio
from deepgram_scaling.calibrate.levels import SearchPlan, search
from deepgram_scaling.calibrate.result import (
    JSON_SCHEMA,
    CalibrationResult,
    LevelResult,
    example_result,
    load_result,
    target_for,
)
from deepgram_scaling.calibrate.slo import (
    BATCH_METRICS,
    STREAM_METRICS,
    SloError,
    parse_slo,
    percentile,
    summary,
)

from .deepgram_emulator import wav


def wav_bytes(seconds: float, *, rate: int = 16_000, width: int = 2, channels: int = 1) -> bytes:
    return wav(seconds, rate=rate, width=width, channels=channels, fill=b"\x01\x00")


# -- SLO ----------------------------------------------------------------------------------

def test_the_default_stream_slo_reads_as_three_terms():
    # when
    slo = parse_slo("first_result_p95<=1,finalization_p95<=2,failures<=0.5%",
                    metrics=STREAM_METRICS)
    # then
    assert [(t.metric, t.pct, t.bound) for t in slo.terms] == [
        ("first_result", 95, 1.0), ("finalization", 95, 2.0), ("failures", None, 0.005)]
    assert str(slo) == "first_result_p95<=1s,finalization_p95<=2s,failures<=0.5%"


def test_slo_bounds_take_milliseconds_and_plain_fractions():
    slo = parse_slo("finalization_p99<=1500ms,failures<=0.01", metrics=STREAM_METRICS)
    assert [(t.name, t.bound) for t in slo.terms] == [("finalization_p99", 1.5),
                                                      ("failures", 0.01)]


@pytest.mark.parametrize(("text", "message"), [
    ("latency_p95<=1", "slo metric must be one of"),
    ("first_result<=1", "needs a percentile among p50, p90, p95, p99"),
    ("first_result_p97<=1", "needs a percentile"),
    ("failures<=150%", "failures must be between 0 and 100%"),
    ("first_result_p95<=0", "bound must be > 0 seconds"),
    ("first_result_p95>=1", "slo term must look like"),
    ("first_result_p95<=1,first_result_p95<=2", "names a term twice"),
    ("", "at least one term"),
])
def test_a_bad_slo_is_refused_with_what_is_valid(text: str, message: str):
    with pytest.raises(SloError, match=message):
        parse_slo(text, metrics=STREAM_METRICS)


def test_batch_slo_knows_latency_but_not_stream_metrics():
    assert parse_slo("latency_p95<=10", metrics=BATCH_METRICS).terms[0].name == "latency_p95"
    with pytest.raises(SloError, match="must be one of"):
        parse_slo("first_result_p95<=1", metrics=BATCH_METRICS)


def test_a_term_fails_without_a_sample_and_holds_at_its_bound():
    slo = parse_slo("first_result_p95<=1,failures<=0.5%", metrics=STREAM_METRICS)
    passing = {"first_result": {"p95": 1.0}, "failure_rate": 0.005}
    failing = {"first_result": {"p95": None}, "failure_rate": 0.006}
    assert slo.violations(passing) == []
    assert slo.violations(failing) == ["first_result_p95<=1s (got no sample)",
                                       "failures<=0.5% (got 0.60%)"]


def test_percentiles_interpolate_between_closest_ranks():
    assert percentile([], 95) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile(list(range(101)), 95) == pytest.approx(95)
    assert summary([1.0, 2.0])["max"] == 2.0


# -- search -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FakeTrial:
    concurrency: int
    passed: bool


def run_search(plan: SearchPlan, knee: int, *, flaky: set[int] = frozenset(),
               cap: int | None = None) -> tuple[list[int], int | None, str]:
    calls: list[int] = []

    async def run_level(level: int) -> FakeTrial:
        calls.append(level)
        passed = level <= knee and not (level in flaky and calls.count(level) > 1)
        return FakeTrial(level, passed)

    outcome = asyncio.run(search(plan, run_level,
                                 may_run=lambda _l: cap is None or len(calls) < cap))
    return calls, outcome.capacity, outcome.stopped


def test_the_search_doubles_bisects_and_confirms():
    # when
    calls, capacity, _ = run_search(SearchPlan(max_streams=64), knee=11)
    # then
    assert calls == [1, 2, 4, 8, 16, 12, 10, 11, 11]
    assert capacity == 11


@settings(max_examples=40, deadline=None)
@given(knee=st.integers(min_value=0, max_value=200), start=st.integers(1, 8),
       resolution=st.integers(1, 4))
def test_the_search_lands_within_one_resolution_of_any_knee(knee: int, start: int,
                                                              resolution: int):
    plan = SearchPlan(start=start, max_streams=256, resolution=resolution)
    _, capacity, _ = run_search(plan, knee)
    # a knee below the first level is found by bisecting down from it; None is zero streams
    found = capacity or 0
    assert knee - resolution < found <= knee


def test_a_failed_confirmation_steps_the_capacity_down():
    # given level 11 passes once, then fails when confirmed
    calls, capacity, _ = run_search(SearchPlan(max_streams=64), knee=11, flaky={11})
    # then 11 counts as failing and 10, already passed once, is confirmed
    assert calls[-3:] == [11, 11, 10]
    assert capacity == 10


def test_the_stream_cap_ends_the_ramp():
    calls, capacity, stopped = run_search(SearchPlan(max_streams=10), knee=50)
    assert calls == [1, 2, 4, 8, 10, 10]
    assert capacity == 10
    assert stopped == "stream cap 10 reached with every level passing"


def test_the_time_cap_stops_before_a_level():
    calls, capacity, stopped = run_search(SearchPlan(), knee=50, cap=3)
    assert calls == [1, 2, 4]
    assert capacity == 4
    assert stopped == "time cap reached before level 8"


def test_a_cancelled_search_returns_what_it_measured():
    async def run_level(level: int) -> FakeTrial:
        if level == 4:
            raise asyncio.CancelledError
        return FakeTrial(level, True)

    outcome = asyncio.run(search(SearchPlan(), run_level))
    assert outcome.interrupted
    assert [t.concurrency for t in outcome.trials] == [1, 2]
    assert outcome.capacity == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"start": 0}, "start must be >= 1, got 0"),
    ({"start": 4, "max_streams": 2}, "max_streams must be >= start"),
    ({"factor": 1.0}, "factor must be > 1"),
    ({"resolution": 0}, "resolution must be >= 1"),
])
def test_a_bad_plan_is_refused(kwargs: dict[str, float], message: str):
    with pytest.raises(ValueError, match=message):
        SearchPlan(**kwargs)  # type: ignore[arg-type]


def test_the_ramp_is_listed_for_the_safety_plan():
    assert SearchPlan(max_streams=20).ramp() == [1, 2, 4, 8, 16, 20]
    assert SearchPlan(start=3, max_streams=3).ramp() == [3]


# -- audio --------------------------------------------------------------------------------

def test_a_wav_is_read_from_its_header(tmp_path: Path):
    path = tmp_path / "speech.wav"
    path.write_bytes(wav_bytes(1.5, rate=8000, channels=2))
    audio = read_audio(path)
    assert (audio.encoding, audio.sample_rate, audio.channels) == ("linear16", 8000, 2)
    assert audio.duration_s == pytest.approx(1.5)
    assert audio.query() == {"encoding": "linear16", "sample_rate": "8000", "channels": "2"}


def test_raw_audio_needs_encoding_and_rate(tmp_path: Path):
    path = tmp_path / "speech.raw"
    path.write_bytes(b"\x00" * 8000)
    with pytest.raises(AudioError, match="raw audio needs --encoding and --sample-rate"):
        read_audio(path)
    audio = read_audio(path, encoding="mulaw", sample_rate=8000)
    assert audio.duration_s == pytest.approx(1.0)


def test_a_wav_header_wins_and_must_agree(tmp_path: Path):
    path = tmp_path / "speech.wav"
    path.write_bytes(wav_bytes(0.5))
    with pytest.raises(AudioError, match="--sample-rate 8000 disagrees with the WAV header"):
        read_audio(path, sample_rate=8000)


def test_chunks_are_whole_frames_ending_at_their_offsets():
    audio = Audio(pcm=b"\x00\x00" * 16_000 * 2, encoding="linear16", sample_rate=16_000,
                  channels=2)
    chunks = audio.chunks(0.3)
    assert [round(end, 3) for end, _ in chunks] == [0.3, 0.6, 0.9, 1.0]
    assert all(len(piece) % 4 == 0 for _, piece in chunks)


def test_the_pacer_clock_runs_at_its_time_scale():
    clock = Clock(time_scale=100)

    async def wait() -> float:
        await clock.sleep_until(5.0)
        return clock.now()

    assert 5.0 <= asyncio.run(wait()) < 9.0
    with pytest.raises(ValueError, match="time_scale must be > 0"):
        Clock(0)


# -- result -------------------------------------------------------------------------------

def sample_result(capacity: int | None = 12) -> CalibrationResult:
    result = example_result("ml.g6.2xlarge", capacity=12)
    result.capacity = capacity
    return result


def test_the_result_file_matches_its_schema_and_reads_back(tmp_path: Path):
    # given
    path = tmp_path / "g6.json"
    sample_result().write(path)
    # when
    data = json.loads(path.read_text())
    jsonschema.validate(data, JSON_SCHEMA)
    again = load_result(path)
    # then
    assert (data["capacity"], data["target_concurrency"], data["instance_type"]) == (
        12, 9, "ml.g6.2xlarge")
    assert again.to_json() == data


def test_a_file_that_is_not_a_result_is_refused(tmp_path: Path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"tool": "something else"}))
    with pytest.raises(ValueError, match="is not a result of deepgram-scaling calibrate"):
        load_result(path)
    data = sample_result().to_json() | {"schema_version": 99}
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="schema_version must be 1, got 99"):
        load_result(path)


@pytest.mark.parametrize(("capacity", "fraction", "target"), [
    (12, 0.75, 9), (10, 0.75, 7), (1, 0.75, 1), (None, 0.75, None), (8, 1.0, 8)])
def test_the_target_is_a_whole_share_of_the_capacity(capacity: int | None, fraction: float,
                                                     target: int | None):
    assert target_for(capacity, fraction) == target


# -- every failure is seen ----------------------------------------------------------------

def test_batch_requests_through_the_sdk_go_out_with_retries_off():
    # given a stand-in for the SDK client that records what it is asked
    from types import SimpleNamespace

    from deepgram_scaling.calibrate.batch_client import sdk_invoker

    calls: list[dict[str, object]] = []

    async def transcribe_file(**kwargs: object) -> None:
        calls.append(kwargs)

    client = SimpleNamespace(listen=SimpleNamespace(v1=SimpleNamespace(
        media=SimpleNamespace(transcribe_file=transcribe_file))))
    audio = Audio(pcm=b"\x00" * 8000, encoding="mulaw", sample_rate=8000)
    # when
    asyncio.run(sdk_invoker(client, audio=audio, model="nova-3", params={"punctuate": "true"},
                            timeout_s=30)())
    # then
    (call,) = calls
    options = call["request_options"]
    assert isinstance(options, dict) and options["max_retries"] == 0
    assert options["additional_query_parameters"] == {
        "encoding": "mulaw", "sample_rate": "8000", "channels": "1", "punctuate": "true"}


def test_the_runtime_client_for_batch_calibration_makes_one_attempt():
    from deepgram_scaling.calibrate.cli import boto3_clients

    clients = boto3_clients("us-east-1")
    assert clients.runtime.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_a_batch_result_plots_latency_throughput_and_failures(tmp_path: Path):
    from deepgram_scaling.calibrate.plot import plot

    slo = parse_slo("latency_p95<=5,failures<=0.5%", metrics=BATCH_METRICS)
    levels = [LevelResult(concurrency=n, passed=n <= 2, violations=() if n <= 2 else ("x",),
                          stats={"attempts": 4, "failures": 0, "failure_rate": 0.0,
                                 "failure_kinds": {}, "latency": summary([2.0 * n, 2.1 * n]),
                                 "throughput_audio_s_per_s": 4.5},
                          started_at="s", ended_at="e") for n in (1, 2, 4, 3)]
    result = sample_result(capacity=2)
    result.mode, result.slo, result.levels = "batch", slo, levels
    plot(result, tmp_path / "batch.png")
    assert (tmp_path / "batch.png").read_bytes()[:4] == b"\x89PNG"


def test_a_run_where_even_one_stream_fails_says_so():
    from deepgram_scaling.calibrate.report import conclusion

    result = sample_result(capacity=None)
    result.levels = [LevelResult(concurrency=1, passed=False, violations=("x",),
                                 stats=result.levels[0].stats, started_at="s", ended_at="e")]
    text = conclusion(result)
    assert "no level met the SLO" in text and "even one stream failed it" in text
    assert "InstancePool" not in text


# -- audit 19 ------------------------------------------------------------------------------

def test_the_default_stream_slo_holds_a_keeps_up_term():
    from deepgram_scaling.calibrate.slo import DEFAULT_STREAM_SLO

    slo = parse_slo(DEFAULT_STREAM_SLO, metrics=STREAM_METRICS)
    assert str(slo) == ("first_result_p95<=1s,finalization_p95<=2s,lag_growth_p50<=0.02,"
                        "failures<=0.5%")
    with pytest.raises(SloError, match="lag_growth is bounded in seconds per second"):
        parse_slo("lag_growth_p50<=2%", metrics=STREAM_METRICS)


def test_lag_growth_is_the_slope_of_lag_over_a_long_enough_stream():
    from deepgram_scaling.calibrate.slo import growth

    # a stream falling behind by 1/13 of each second, and one keeping up with noise
    behind = [(t, 0.6 + t / 13) for t in range(1, 21)]
    steady = [(t, 0.6 + (0.2 if t % 3 == 0 else 0.0)) for t in range(1, 21)]
    assert growth(behind) == pytest.approx(1 / 13)
    slope = growth(steady)
    assert slope is not None and abs(slope) < 0.01
    # too short or too few to say
    assert growth([(t, t / 13) for t in range(1, 6)]) is None
    assert growth([(0, 0.1), (5, 0.2), (12, 0.3)]) is None


def test_a_percentile_from_too_few_samples_is_inconclusive():
    from deepgram_scaling.calibrate.slo import min_samples

    assert [min_samples(p) for p in (50, 90, 95, 99)] == [2, 10, 20, 100]
    slo = parse_slo("first_result_p95<=1,lag_growth_p50<=0.02,failures<=1%",
                    metrics=STREAM_METRICS)
    thin = {"attempts": 8, "failure_rate": 0.0, "first_result": summary([0.3] * 8),
            "lag_growth": summary([])}
    enough = {"attempts": 20, "failure_rate": 0.0, "first_result": summary([0.3] * 20),
              "lag_growth": summary([0.0, 0.01])}
    # the missing lag_growth does not fail the level; it is reported
    assert slo.violations(thin) == []
    assert slo.inconclusive(thin) == [
        "first_result_p95: 8 samples, fewer than the 20 a p95 needs",
        "lag_growth_p50: no stream spanned 10 s of audio"]
    assert slo.inconclusive(enough) == []


def test_the_overload_a_run_can_see_follows_the_projects_formula():
    from deepgram_scaling.calibrate.slo import detection_limit

    lag_only = parse_slo("finalization_p95<=2", metrics=STREAM_METRICS)
    both = parse_slo("finalization_p95<=2,lag_growth_p50<=0.02", metrics=STREAM_METRICS)
    # 60 s streams and a 2 s bound: 60 >= 1.3 x 2 x (c + 1) up to c of about 22
    assert detection_limit(lag_only, 60) == pytest.approx(60 / 2.6 - 1)
    assert detection_limit(both, 60) == pytest.approx(49)
    assert detection_limit(both, 5) == pytest.approx(5 / 2.6 - 1)  # too short for growth
    # the growth needs finals spanning 10 s: streams of 20 s before a run, the finals'
    # measured span after one
    assert detection_limit(both, 15) == pytest.approx(15 / 2.6 - 1)
    assert detection_limit(both, 20) == pytest.approx(49)
    assert detection_limit(both, 60, 9.0) == pytest.approx(60 / 2.6 - 1)
    assert detection_limit(both, 15, 10.0) == pytest.approx(49)
    assert detection_limit(parse_slo("failures<=1%", metrics=STREAM_METRICS), 60) is None


def test_the_conclusion_warns_when_one_stream_over_the_capacity_could_pass():
    from deepgram_scaling.calibrate.report import conclusion

    result = sample_result(capacity=50)  # 30 s audio, SLO without a finalization term
    assert "one stream more than 50 may pass" in conclusion(result)
    result.slo = parse_slo("finalization_p95<=2,lag_growth_p50<=0.01", metrics=STREAM_METRICS)
    assert "may pass" not in conclusion(result)
    assert "the failure term resolves" in conclusion(result)
    # when the finals before CloseStream spanned under 10 s, the growth term saw nothing
    for level in result.levels:
        level.stats["growth_span"] = summary([6.0, 7.0])
    assert "one stream more than 50 may pass" in conclusion(result)


def test_a_blocked_event_loop_marks_the_level_client_bound():
    import time

    from deepgram_scaling.calibrate.runner import BatchCalibration, RunOptions

    async def run(block_s: float) -> LevelResult:
        async def invoke() -> None:
            time.sleep(block_s)  # a synchronous call on the loop, as a credential look-up
            await asyncio.sleep(0.01)

        calibration = BatchCalibration(
            invoker=invoke, audio=Audio(pcm=b"\0\0" * 800, encoding="linear16",
                                        sample_rate=8000),
            slo=parse_slo("latency_p95<=5", metrics=BATCH_METRICS),
            plan=SearchPlan(), options=RunOptions(hold_s=0.4), on_progress=None, on_level=None)
        return await calibration.run_level(2)

    blocked, free = asyncio.run(run(0.08)), asyncio.run(run(0.0))
    assert any(n.startswith("client-bound") for n in blocked.notes)
    assert blocked.stats["loop_lag"]["p99"] > 0.05
    assert not any(n.startswith("client-bound") for n in free.notes)


def test_an_accelerated_clock_the_machine_cannot_keep_is_refused():
    from deepgram_scaling.calibrate.runner import RunOptions, check_time_scale, default_slo

    # 1 s first-result bound: at most 10 x; 100 ms chunks would allow 20 x
    with pytest.raises(ValueError, match="time_scale must be at most 10 for these settings"):
        check_time_scale(default_slo("stream"), RunOptions(time_scale=20))
    check_time_scale(default_slo("stream"), RunOptions(time_scale=10))
    loose = parse_slo("finalization_p95<=4", metrics=STREAM_METRICS)
    with pytest.raises(ValueError, match="at most 2 for"):
        check_time_scale(loose, RunOptions(time_scale=5, chunk_s=0.01))


def test_botocore_errors_are_told_apart_by_their_code():
    from botocore.exceptions import ClientError

    from deepgram_scaling.calibrate.stream_client import failure_kind

    def error(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"},
                            "ResponseMetadata": {"HTTPStatusCode": status}}, "InvokeEndpoint")

    assert failure_kind(error("ModelError", 424)) == "ModelError-424"
    assert failure_kind(error("ThrottlingException", 429)) == "ThrottlingException-429"
    assert failure_kind(RuntimeError("x")) == "error-RuntimeError"

    # and the SageMaker transport's streaming errors by the container's status or their code
    # (the smithy client's ModelError and ModelStreamError carry them as attributes)
    model_error = type("ModelError", (Exception,), {"original_status_code": 503})()
    stream_error = type("ModelStreamError", (Exception,), {"error_code": "ModelStreamError"})()
    assert failure_kind(model_error) == "ModelError-503"
    assert failure_kind(stream_error) == "ModelStreamError-ModelStreamError"
    # and smithy's unmodeled AWS errors by their id and status
    call_error = type("CallError", (Exception,), {"message": (
        "Unknown error for operation com.amazonaws.sagemakerruntime#InvokeEndpointWith"
        "BidirectionalStream - status: 403 - id: com.amazonaws.sagemaker#ExpiredTokenException")})()
    assert failure_kind(call_error) == "ExpiredTokenException-403"


def test_identity_failures_are_told_from_load():
    from botocore.exceptions import CredentialRetrievalError, NoCredentialsError

    from deepgram_scaling.calibrate.stream_client import failure_kind, identity_refused

    # botocore unable to find or renew the credentials is a kind of its own
    expired = RuntimeError("Credentials were refreshed, but the refreshed credentials are "
                           "still expired.")
    kinds = [failure_kind(e) for e in (NoCredentialsError(), expired, CredentialRetrievalError(
        provider="custom-process", error_msg="exit 1"))]
    assert kinds == ["credentials-NoCredentialsError", "credentials-RuntimeError",
                     "credentials-CredentialRetrievalError"]
    assert all(identity_refused({kind: 1}) == kind for kind in kinds)
    assert identity_refused({"RequestExpired-400": 1}) is not None

    assert identity_refused({"http-503": 3, "ExpiredTokenException-403": 1}) == \
        "ExpiredTokenException-403"
    assert identity_refused({"http-401": 1}) == "http-401"
    assert identity_refused({"UnrecognizedClientException-400": 1}) is not None
    assert identity_refused({"http-503": 2, "ThrottlingException-429": 1, "reset-1011": 1,
                             "ModelError-424": 1}) is None


def test_a_close_error_is_a_note_only_on_the_lenient_path_with_every_final():
    from deepgram_scaling.calibrate.stream_client import StreamRecord, _judge_close_error

    def judged(lenient: bool, finalized_to: float) -> StreamRecord:
        record = StreamRecord(started=0.0, audio_s=10.0, finalized_to=finalized_to)
        sent = asyncio.Event()
        sent.set()
        _judge_close_error(record, RuntimeError("Input stream broken"), sent, lenient)
        return record

    assert judged(True, 10.0).note == "after-close-stream-error-RuntimeError"
    assert judged(True, 10.0).failure is None
    assert judged(True, 6.0).failure == "error-RuntimeError"  # finals missing
    assert judged(False, 10.0).failure == "error-RuntimeError"  # the URL path


def test_the_runtime_client_pools_as_many_connections_as_streams():
    from deepgram_scaling.calibrate.cli import boto3_clients

    assert boto3_clients("us-east-1", 200).runtime.meta.config.max_pool_connections == 200
    assert boto3_clients("us-east-1", 4).runtime.meta.config.max_pool_connections == 10


def test_the_time_cap_counts_the_wait_for_the_last_close():
    from deepgram_scaling.calibrate.runner import BatchCalibration, RunOptions

    def may_run(cap: float) -> bool:
        async def invoke() -> None:
            return None

        calibration = BatchCalibration(
            invoker=invoke, audio=Audio(pcm=b"\0\0" * 800, encoding="linear16",
                                        sample_rate=8000),
            slo=parse_slo("latency_p95<=5", metrics=BATCH_METRICS), plan=SearchPlan(),
            options=RunOptions(hold_s=60, close_timeout_s=15, max_total_s=cap),
            on_progress=None, on_level=None)
        return calibration.may_run(1)

    # a 60 s hold can end 15 s late, after up to 15 s of settling
    assert may_run(91.0) and not may_run(85.0)


def test_a_failed_level_is_followed_by_a_pause_for_the_backlog():
    from deepgram_scaling.calibrate.runner import BatchCalibration, RunOptions

    def gaps(settle_s: float) -> list[float]:
        starts: list[float] = []
        clock: list[Clock] = []

        async def invoke() -> None:
            await asyncio.sleep(0.001)

        async def run() -> None:
            calibration = BatchCalibration(
                invoker=invoke, audio=Audio(pcm=b"\0\0" * 800, encoding="linear16",
                                            sample_rate=8000),
                slo=parse_slo("latency_p95<=5", metrics=BATCH_METRICS), plan=SearchPlan(),
                options=RunOptions(hold_s=1.0, time_scale=50, chunk_s=0.5,
                                   settle_s=settle_s),
                on_progress=None, on_level=None)
            clock.append(calibration.clock)
            original = calibration.run_level

            async def run_level(concurrency: int) -> LevelResult:
                starts.append(calibration.clock.now())
                result = await original(concurrency)
                # the first level fails, the second passes
                return dataclasses.replace(result, passed=len(starts) > 1)

            calibration.run_level = run_level  # type: ignore[method-assign]
            await calibration._settled(1)
            await calibration._settled(1)
            await calibration._settled(1)
        asyncio.run(run())
        return [b - a for a, b in itertools.pairwise(starts)]

    after_fail, after_pass = gaps(20.0)
    assert after_fail >= 20.0 and after_pass < 10.0
    assert gaps(0.0)[0] < 10.0


def test_lag_growth_is_judged_against_the_reference_lag_at_the_same_point_of_the_file():
    # given a 30 s file whose own cut points give lags rising 0.05 s a second, seen by the
    # reference level from offset 0 and by a loaded stream that started 10 s into the file
    from deepgram_scaling.calibrate.runner import stream_stats
    from deepgram_scaling.calibrate.slo import Reference, file_points
    from deepgram_scaling.calibrate.stream_client import StreamRecord

    def lag(position: float) -> float:
        return 0.3 + 0.05 * position

    cuts = [2.0, 5.0, 9.0, 14.0, 18.0, 23.0, 27.0]
    reference = Reference(30.0, tuple(file_points([(c, lag(c)) for c in cuts], 0.0, 30.0)))
    steady = StreamRecord(started=0.0, file_offset=10.0, fit_points=[
        ((c - 10.0) % 30.0, lag(c)) for c in cuts])
    behind = StreamRecord(started=0.0, file_offset=10.0, fit_points=[
        ((c - 10.0) % 30.0, lag(c) + 0.1 * ((c - 10.0) % 30.0)) for c in cuts])
    # when
    plain = stream_stats([steady], 30.0)["lag_growth"]["p50"]
    relative = stream_stats([steady], 30.0, reference)["lag_growth"]["p50"]
    loaded = stream_stats([behind], 30.0, reference)["lag_growth"]["p50"]
    # then the file's own pattern cancels and the load's growth remains
    assert abs(plain) > 0.02
    assert abs(relative) < 1e-9
    assert abs(loaded - 0.1) < 1e-9


def test_the_detection_text_calls_the_growth_term_unknown_for_short_streams():
    from deepgram_scaling.calibrate.safety import detection_text

    slo = parse_slo("finalization_p95<=2,lag_growth_p50<=0.02", metrics=STREAM_METRICS)
    # when / then: 15 s streams may leave their finals under 10 s apart
    assert "lag_growth: unknown" in detection_text(slo, 15)
    assert "up to a capacity of about 5;" in detection_text(slo, 15)
    # and 30 s streams see one stream over up to 49
    assert "unknown" not in detection_text(slo, 30)
    assert "up to a capacity of about 49 " in detection_text(slo, 30)


def test_a_rotated_stream_wraps_round_the_file_with_offsets_from_its_new_start():
    from deepgram_scaling.calibrate.audio import rotated

    # given 1 s of audio in 0.4 s chunks (the last one 0.2 s)
    audio = Audio(pcm=bytes(range(10)) * 1600, encoding="linear16", sample_rate=8000)
    chunks = audio.chunks(0.4)
    # when it starts at the second chunk
    out = rotated(chunks, 1, audio.bytes_per_second)
    # then the same bytes, from the second chunk round to the first, timed from there
    assert b"".join(p for _, p in out) == chunks[1][1] + chunks[2][1] + chunks[0][1]
    assert [round(end, 3) for end, _ in out] == [0.4, 0.6, 1.0]
    assert rotated(chunks, 0, audio.bytes_per_second) == chunks


def test_a_second_calibration_in_one_process_is_refused_before_it_starts():
    from deepgram_scaling.calibrate import api

    audio = Audio(pcm=b"\x00\x00" * 800, encoding="linear16", sample_rate=8000, source="x")

    # given a calibration running in this process
    with api._alone():
        # when another one starts, of either kind, it is refused before any stream
        for start in (lambda: api.calibrate_stream(audio=audio, url="ws://127.0.0.1:9"),
                      lambda: api.calibrate_stream(audio=audio, transport_factory=print),
                      lambda: api.calibrate_batch(audio=audio, url="http://127.0.0.1:9")):
            with pytest.raises(api.CalibrationBusyError, match="separate processes"):
                asyncio.run(start())
    # then the first one's end lets the next one start
    assert api._running == []


def test_a_lone_reference_stream_is_planned_only_before_a_larger_first_level_judged_on_growth():
    from deepgram_scaling.calibrate.runner import default_slo, lone_reference
    from deepgram_scaling.calibrate.safety import plan_text

    # given the default SLO (with its lag_growth term) and one without growth
    with_growth = default_slo("stream")
    without = parse_slo("first_result_p95<=1,failures<=0.5%", metrics=STREAM_METRICS)
    # then one stream runs alone first only before a first level of several streams judged
    # on growth, 20 s or longer
    assert lone_reference(SearchPlan(start=8), with_growth, 60)
    assert not lone_reference(SearchPlan(start=1), with_growth, 60)
    assert not lone_reference(SearchPlan(start=8), without, 60)
    # nor before streams too short to measure growth at all
    assert not lone_reference(SearchPlan(start=8), with_growth, 19)
    # and the plan counts its holds in the longest run
    plan = SearchPlan(start=8, max_streams=8)
    alone, plain = (plan_text(plan, hold_s=60, close_s=0, max_total_s=10_000,
                              instance_count=1, reference=ref) for ref in (True, False))
    assert "after one stream alone as the growth reference" in alone
    levels = plan.worst_case_levels()
    assert f"longest run: {(levels + 2) * 60 / 60:.0f} min" in alone  # a retry included
    assert f"longest run: {levels * 60 / 60:.0f} min" in plain


def test_the_credentials_the_transport_signs_with_are_renewed_before_each_stream(
        monkeypatch: pytest.MonkeyPatch):
    import datetime

    import boto3
    from botocore.credentials import RefreshableCredentials

    from deepgram_scaling.calibrate.transports import export_credentials

    now = datetime.datetime.now(datetime.timezone.utc)
    issued: list[int] = []

    def issue() -> dict[str, str]:
        issued.append(len(issued) + 1)
        return {"access_key": f"AK{issued[-1]}", "secret_key": "secret", "token": "token",
                "expiry_time": (now + datetime.timedelta(hours=1)).isoformat()}

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "-")  # so that what the export writes is undone after
        monkeypatch.delenv(name)
    # given assumed-role credentials resolved before the first stream
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=issue(), refresh_using=issue, method="assume-role")
    # when the first stream's transport gets them through the environment
    export_credentials(credentials)
    # then boto3, asked again (as the transport asks for every stream), reads the copy in the
    # environment first: on its own it would never renew them
    assert boto3.Session().get_credentials().method == "env"
    # and when they near their expiry, the next stream's export holds renewed ones
    credentials._expiry_time = now + datetime.timedelta(minutes=1)
    export_credentials(credentials)
    assert issued == [1, 2] and boto3.Session().get_credentials().access_key == "AK2"


def _calibration(audio_s: float, hold_s: float, start: int = 1, seed: int = 0) -> Any:
    from deepgram_scaling.calibrate.runner import RunOptions, StreamCalibration, default_slo

    audio = Audio(pcm=b"\x00\x00" * int(8000 * audio_s), encoding="linear16",
                  sample_rate=8000, source="a")
    return StreamCalibration(client=None, audio=audio, model="nova-3", params={},
                             slo=default_slo("stream"), plan=SearchPlan(start=start),
                             options=RunOptions(hold_s=hold_s, seed=seed), on_progress=None,
                             on_level=None)


def test_with_audio_longer_than_the_hold_later_streams_start_where_the_reference_streamed():
    from deepgram_scaling.calibrate.runner import _Level
    from deepgram_scaling.calibrate.stream_client import StreamRecord

    # given a 300 s file, a 60 s hold, and the reference stream that sent 60 s from 100 s on
    calibration = _calibration(300.0, 60.0)
    reference = StreamRecord(started=0.0, audio_s=60.0, file_offset=100.0,
                             fit_points=[(float(t), 0.5) for t in range(2, 60, 3)])
    calibration._set_reference(_Level(1, [reference]))
    # when later streams pick where to start
    starts = {calibration.chunk_starts[calibration._start_chunk()] for _ in range(2000)}
    # then each starts within the reference's 60 s, early enough to share 20 s with it
    assert min(starts) == pytest.approx(100.0) and max(starts) == pytest.approx(140.0)
    assert calibration.start_window_s() == [100.0, 140.0]  # recorded in the result
    # while with audio no longer than the hold a stream may start anywhere in the file
    short = _calibration(40.0, 60.0)
    short._set_reference(_Level(1, [StreamRecord(started=0.0, audio_s=40.0, file_offset=10.0)]))
    assert short._window is None


def test_a_lone_reference_that_measures_nothing_twice_stops_the_run():
    from deepgram_scaling.calibrate.runner import ReferenceFailed, _Level
    from deepgram_scaling.calibrate.stream_client import StreamRecord

    # given a search starting at 4, judged on growth, whose reference stream always fails
    calibration = _calibration(20.0, 20.0, start=4)
    tries: list[int] = []

    async def failing_slot(index: int, level: _Level, until: float) -> None:
        tries.append(index)
        level.records.append(StreamRecord(started=0.0, failure="http-503"))

    calibration.slot = failing_slot
    # when the run starts
    outcome = asyncio.run(calibration.run())
    # then it tried the reference twice (after the warm-up) and stopped before any level
    assert len(tries) == 3 and outcome.trials == [] and outcome.capacity is None
    assert outcome.stopped.startswith("the stream run alone as the growth reference measured 0")
    assert issubclass(ReferenceFailed, Exception)


def test_credentials_refused_during_the_lone_reference_stop_the_run_with_that_reason():
    from deepgram_scaling.calibrate.runner import _Level
    from deepgram_scaling.calibrate.stream_client import StreamRecord

    # given a search starting at 4 whose reference stream is refused for its identity
    calibration = _calibration(20.0, 20.0, start=4)

    async def refused_slot(index: int, level: _Level, until: float) -> None:
        level.records.append(StreamRecord(started=0.0, failure="http-403"))

    calibration.slot = refused_slot
    # when the run starts
    outcome = asyncio.run(calibration.run())
    # then it stops at once, saying so, before any level
    assert outcome.trials == []
    assert outcome.stopped.startswith("the credentials were refused (http-403) during the "
                                      "growth reference")


def test_the_seed_sets_where_the_streams_start():
    def starts(seed: int) -> list[int]:
        calibration = _calibration(30.0, 60.0, seed=seed)
        return [calibration._start_chunk() for _ in range(20)]

    assert starts(5) == starts(5) and starts(5) != starts(6)


def test_a_later_calibration_resolves_the_callers_credentials_not_the_copy(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from botocore.credentials import Credentials

    from deepgram_scaling.calibrate.transports import export_credentials, own_credentials

    # given a caller whose own credentials come from a shared credentials file
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        monkeypatch.setenv(name, "-")  # so that what the export writes is undone after
        monkeypatch.delenv(name)
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = OWN\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    # and a first calibration that left its copy in the environment
    export_credentials(Credentials("COPY", "s", "t"))
    # when a second one resolves its credentials
    resolved = own_credentials("us-east-1")
    # then it finds the caller's, and the copy is still where the transport looks
    assert (resolved.access_key, resolved.method) == ("OWN", "shared-credentials-file")
    assert __import__("os").environ["AWS_ACCESS_KEY_ID"] == "COPY"


@pytest.mark.parametrize(("mode", "chunk_ms", "warned"), [
    ("stream", 10, True), ("stream", 20, False), ("stream", 100, False), ("stream", 250, False),
    ("stream", 300, True), ("batch", 300, False),
])
def test_chunks_outside_deepgrams_advice_are_warned_of_when_streaming(
        mode: str, chunk_ms: float, warned: bool):
    from deepgram_scaling.calibrate.cli import chunk_warning

    warning = chunk_warning(mode, chunk_ms)
    assert (warning is not None) == warned
    if warning:
        assert warning.startswith(f"warning: --chunk-ms {chunk_ms:g} is outside the 20-250 ms")
