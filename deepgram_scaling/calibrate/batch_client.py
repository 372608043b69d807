"""Synchronous pre-recorded requests: what one request takes, and throughput.

Each slot of a batch level sends the whole audio file, waits for the transcript, and sends
it again until the hold ends. A request's *latency* is from send to the full answer; a
level's *throughput* is the audio seconds transcribed per second of the hold. Through a URL
the request is the SDK's ``listen.v1.media.transcribe_file`` (``POST /v1/listen``) with its
retries off; on SageMaker it is ``InvokeEndpoint`` with ``CustomAttributes`` ``v1/listen?...``
and botocore's retries off (docs/aws-behaviour.md#calibration-sees-every-failure).
"""

from __future__ import annotations

import asyncio
import io
import math
import wave
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..calling import invoke_endpoint_request
from .audio import Audio, Clock
from .slo import summary
from .stream_client import failure_kind

#: Sends one request for the audio; raises on any failure.
Invoker = Callable[[], Awaitable[None]]


@dataclass
class BatchRecord:
    started: float
    latency_s: float | None = None
    audio_s: float = 0.0
    failure: str | None = None
    cancelled: bool = False


def request_body(audio: Audio) -> tuple[bytes, str, dict[str, str]]:
    """``(body, content type, extra query)``: a WAV for linear PCM, raw bytes otherwise."""
    if audio.encoding in ("linear16", "linear32"):
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(audio.channels)
            out.setsampwidth(2 if audio.encoding == "linear16" else 4)
            out.setframerate(audio.sample_rate)
            out.writeframes(audio.pcm)
        return buffer.getvalue(), "audio/wav", {}
    return audio.pcm, "application/octet-stream", audio.query()


def sdk_invoker(client: Any, *, audio: Audio, model: str, params: dict[str, str],
                timeout_s: float) -> Invoker:
    body, _content_type, query = request_body(audio)

    async def invoke() -> None:
        await client.listen.v1.media.transcribe_file(
            request=body, model=model,
            request_options={"additional_query_parameters": {**query, **params},
                             "max_retries": 0,
                             # whole wall seconds, rounded up: not a second more
                             "timeout_in_seconds": max(1, math.ceil(timeout_s))})
    return invoke


def endpoint_invoker(runtime: Any, *, endpoint_name: str, audio: Audio, model: str,
                     params: dict[str, str], max_concurrency: int) -> Invoker:
    """``runtime`` is a boto3 ``sagemaker-runtime`` client made with retries off and a
    connection pool of at least ``max_concurrency`` (:func:`runtime_config`).

    boto3 calls block, so each runs on a thread of the invoker's own pool of
    ``max_concurrency`` threads: asyncio's default pool (``min(32, cpus + 4)`` threads)
    would cap the requests in flight below the level, and report that cap as the knee.
    """
    body, content_type, query = request_body(audio)
    request = invoke_endpoint_request(endpoint_name, body, content_type=content_type,
                                      options={"model": model, **query, **params})
    pool = ThreadPoolExecutor(max_workers=max_concurrency,
                              thread_name_prefix="calibrate-invoke")

    def call() -> None:
        response = runtime.invoke_endpoint(**request)
        response["Body"].read()

    async def invoke() -> None:
        await asyncio.get_running_loop().run_in_executor(pool, call)
    return invoke


def runtime_config(max_concurrency: int) -> Any:
    """botocore ``Config`` for the ``sagemaker-runtime`` client: one attempt per call
    (docs/aws-behaviour.md#calibration-sees-every-failure) and a connection pool as large
    as the level, so no request waits for a connection or pays a new TLS handshake
    (botocore keeps 10 by default)."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": 1},
                  max_pool_connections=max(10, max_concurrency))


async def run_requests(invoker: Invoker, *, audio: Audio, clock: Clock, until: float,
                       sink: list[Any], retry_pause_s: float) -> None:
    """One slot: requests back to back until the hold ends."""
    while clock.now() < until:
        record = BatchRecord(started=clock.now())
        try:
            await invoker()
            record.latency_s = clock.now() - record.started
            record.audio_s = audio.duration_s
        except asyncio.CancelledError:
            record.cancelled = True
            raise
        except Exception as error:  # every failure is a measurement
            record.failure = failure_kind(error)
        finally:
            sink.append(record)
        if record.failure is not None:
            await clock.sleep_until(clock.now() + retry_pause_s)


def batch_stats(records: list[BatchRecord], hold_s: float) -> dict[str, Any]:
    counted = [r for r in records if not r.cancelled]
    failures = [r for r in counted if r.failure is not None]
    kinds: dict[str, int] = {}
    for record in failures:
        assert record.failure is not None
        kinds[record.failure] = kinds.get(record.failure, 0) + 1
    latencies = [r.latency_s for r in counted if r.latency_s is not None]
    if counted:
        span = max(hold_s, max(r.started + (r.latency_s or 0.0) for r in counted)
                   - min(r.started for r in counted))
    else:
        span = hold_s
    return {"attempts": len(counted), "failures": len(failures),
            "failure_rate": len(failures) / len(counted) if counted else 1.0,
            "failure_kinds": kinds, "latency": summary(latencies),
            "throughput_audio_s_per_s": round(sum(r.audio_s for r in counted) / span, 4)}
