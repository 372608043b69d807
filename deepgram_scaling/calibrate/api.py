"""The Python API: ``calibrate_stream`` and ``calibrate_batch``.

Either takes a ``url`` (a self-hosted Deepgram server) or a ``transport_factory`` (any
Deepgram SDK transport factory: the SageMaker one from :mod:`.transports`, or your own).
One calibration runs at a time in a process (:class:`CalibrationBusyError`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .audio import Audio
from .batch_client import Invoker, sdk_invoker
from .levels import SearchPlan
from .result import CalibrationResult, LevelResult, utc_now
from .runner import BatchCalibration, Progress, RunOptions, StreamCalibration, default_slo, execute
from .sdk import deepgram_client
from .slo import Slo

DEFAULT_MODEL = "nova-3"


class CalibrationBusyError(RuntimeError):
    """Another calibration is running in this process."""


_running: list[bool] = []


@contextmanager
def _alone() -> Iterator[None]:
    """Two calibrations in one process would measure each other: they share its event
    loop, so each one's bursts delay the other's timers, which reads as the server's
    latency (and as lag growth when a neighbour's load rises during a level); and the
    Deepgram SDK installs a transport factory for the whole process
    (docs/aws-behaviour.md#deepgram-sdk-transport-factory)."""
    if _running:
        raise CalibrationBusyError(
            "another calibration is running in this process: two would share its event loop "
            "and delay each other's timers, which reads as the server's latency; run them one "
            "after the other, or in separate processes")
    _running.append(True)
    try:
        yield
    finally:
        _running.clear()


def _audio_json(audio: Audio) -> dict[str, Any]:
    return {"source": audio.source, "encoding": audio.encoding,
            "sample_rate": audio.sample_rate, "channels": audio.channels,
            "duration_s": round(audio.duration_s, 3)}


def _target_json(url: str | None, target: dict[str, Any] | None) -> dict[str, Any]:
    if target is not None:
        return target
    return {"kind": "url", "url": url} if url else {"kind": "transport"}


async def calibrate_stream(
    *, audio: Audio, url: str | None = None,
    transport_factory: Callable[[str, dict[str, str]], Any] | None = None,
    model: str = DEFAULT_MODEL, params: dict[str, str] | None = None, slo: Slo | None = None,
    plan: SearchPlan | None = None, options: RunOptions | None = None,
    target: dict[str, Any] | None = None, api_key: str | None = None,
    on_progress: Progress | None = None, on_level: Callable[[LevelResult], None] | None = None,
) -> CalibrationResult:
    """Find how many concurrent streams one instance serves within ``slo``.

    :param audio: What each stream sends, paced at real time.
    :param url: A Deepgram server (``ws://host:8080``). Default: None.
    :param transport_factory: A Deepgram SDK transport factory ``(url, headers) ->
        transport`` used instead of the SDK's WebSocket. Default: None.
    :param model: Deepgram ``model``. Default: ``"nova-3"``.
    :param params: More Deepgram query parameters. Default: none.
    :param slo: Default: first result p95 <= 1 s, finalization lag p95 <= 2 s, failures
        <= 0.5 %.
    :param plan: Levels to search. Default: ``SearchPlan()``.
    :param options: Hold, target fraction, caps. Default: ``RunOptions()``.
    :param target: What is being measured, for the result (instance type...). Default: the
        URL.
    :param on_progress: Called about once a second while a level runs. Default: None.
    :param on_level: Called with each finished level. Default: None.
    """
    if (url is None) == (transport_factory is None):
        raise ValueError("calibrate_stream needs exactly one of url and transport_factory")
    slo = slo or default_slo("stream")
    options = options or RunOptions()
    result = CalibrationResult(
        mode="stream", target=_target_json(url, target), model=model, params=dict(params or {}),
        audio=_audio_json(audio), slo=slo, hold_s=options.hold_s,
        time_scale=options.time_scale, target_fraction=options.target_fraction,
        seed=options.seed,
        started_at=utc_now())
    with _alone(), deepgram_client(url=url, transport_factory=transport_factory,
                                   api_key=api_key) as client:
        calibration = StreamCalibration(
            client=client, audio=audio, model=model, params=dict(params or {}), slo=slo,
            lenient_close=transport_factory is not None,
            plan=plan or SearchPlan(), options=options, on_progress=on_progress,
            on_level=on_level)
        return await execute(calibration, result)


async def calibrate_batch(
    *, audio: Audio, url: str | None = None, invoker: Invoker | None = None,
    model: str = DEFAULT_MODEL, params: dict[str, str] | None = None, slo: Slo | None = None,
    plan: SearchPlan | None = None, options: RunOptions | None = None,
    target: dict[str, Any] | None = None, api_key: str | None = None,
    on_progress: Progress | None = None, on_level: Callable[[LevelResult], None] | None = None,
) -> CalibrationResult:
    """Find how many concurrent pre-recorded requests one instance serves within ``slo``.

    :param url: A Deepgram server (``http://host:8080``); requests go through the SDK.
    :param invoker: Sends one request (e.g. :func:`.batch_client.endpoint_invoker` for
        SageMaker). Exactly one of ``url`` and ``invoker``.
    :param slo: Default: latency p95 <= 10 s, failures <= 0.5 %.

    The other parameters are those of :func:`calibrate_stream`.
    """
    if (url is None) == (invoker is None):
        raise ValueError("calibrate_batch needs exactly one of url and invoker")
    slo = slo or default_slo("batch")
    options = options or RunOptions()
    params = dict(params or {})
    result = CalibrationResult(
        mode="batch", target=_target_json(url, target), model=model, params=params,
        audio=_audio_json(audio), slo=slo, hold_s=options.hold_s,
        time_scale=options.time_scale, target_fraction=options.target_fraction,
        seed=options.seed,
        started_at=utc_now())
    if invoker is not None:
        calibration = BatchCalibration(invoker=invoker, audio=audio, slo=slo,
                                       plan=plan or SearchPlan(), options=options,
                                       on_progress=on_progress, on_level=on_level)
        with _alone():
            return await execute(calibration, result)
    with _alone(), deepgram_client(url=url, api_key=api_key) as client:
        timeout = options.close_timeout_s + audio.duration_s
        calibration = BatchCalibration(
            invoker=sdk_invoker(client, audio=audio, model=model, params=params,
                                timeout_s=timeout / options.time_scale),
            audio=audio, slo=slo, plan=plan or SearchPlan(), options=options,
            on_progress=on_progress, on_level=on_level)
        return await execute(calibration, result)
