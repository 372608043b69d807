"""One stream through the Deepgram SDK, and what it times.

For every stream: how long the connection took (``connect``); the time from the first
audio chunk sent to the first ``Results`` message, interim or final (``first_result``);
and, for each final ``Results`` (``is_final``), its *finalization lag*: the time from the
moment the audio at its end (``start + duration``) was sent to the moment the result
arrived (docs/aws-behaviour.md#deepgram-results-timing). A stream ends with ``CloseStream``;
Deepgram answers with the last finals and a ``Metadata`` message, then closes
(docs/aws-behaviour.md#deepgram-close-stream).

A failure is anything that keeps a stream from finishing cleanly: a refused or reset
connection, an HTTP status on the handshake (the SDK's ``ApiError``), an ``Error``
message, a close before ``CloseStream`` was sent, or no close in time after it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from dataclasses import dataclass, field
from typing import Any

from .audio import Audio, Clock

#: Audio seconds a stream waits for the server to close after ``CloseStream``.
DEFAULT_CLOSE_TIMEOUT_S = 15.0


@dataclass
class StreamRecord:
    """What one stream measured. Times are audio seconds on the run's clock."""

    started: float
    connect_s: float | None = None
    first_result_s: float | None = None
    finalization_lags: list[float] = field(default_factory=list)
    failure: str | None = None
    audio_s: float = 0.0
    cancelled: bool = False


def failure_kind(error: BaseException) -> str:
    """A short, countable name for what went wrong."""
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return f"http-{status}"
    name = type(error).__name__
    if name in ("ConnectionClosedError", "ConnectionClosed"):
        code = getattr(getattr(error, "rcvd", None), "code", None)
        return f"reset-{code}" if code is not None else "reset"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return "timeout"
    if isinstance(error, OSError):
        return "network"
    if name in ("InvalidStatus", "InvalidStatusCode", "InvalidHandshake", "InvalidMessage"):
        return "handshake"
    return f"error-{name}"


class _Sends:
    """When each chunk's end left the client: audio offset -> clock time."""

    def __init__(self) -> None:
        self.offsets: list[float] = []
        self.times: list[float] = []

    def add(self, offset: float, moment: float) -> None:
        self.offsets.append(offset)
        self.times.append(moment)

    def sent_at(self, offset: float) -> float | None:
        index = bisect.bisect_left(self.offsets, offset - 1e-6)
        if not self.times:
            return None
        return self.times[min(index, len(self.times) - 1)]


async def run_stream(client: Any, *, audio: Audio, chunks: list[tuple[float, bytes]],
                     clock: Clock, model: str, params: dict[str, str], until: float,
                     sink: list[StreamRecord],
                     close_timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S) -> StreamRecord:
    """Stream ``audio`` once (or until ``until`` on the clock), paced at real time, and
    append the record to ``sink`` however the stream ends (cancellation included)."""
    record = StreamRecord(started=clock.now())
    sends = _Sends()
    first_sent: list[float] = []
    close_sent = asyncio.Event()
    query = {**audio.query(), "interim_results": "true", **params}
    try:
        async with client.listen.v1.connect(
                model=model, request_options={"additional_query_parameters": query}) as socket:
            record.connect_s = clock.now() - record.started
            receiver = asyncio.ensure_future(
                _receive(socket, clock, record, sends, first_sent, close_sent))
            try:
                origin = clock.now()
                for end, piece in chunks:
                    if receiver.done() or origin + end > until:
                        break
                    await clock.sleep_until(origin + end)
                    await socket.send_media(piece)
                    moment = clock.now()
                    if not first_sent:
                        first_sent.append(moment)
                    sends.add(end, moment)
                    record.audio_s = end
                if not receiver.done():
                    close_sent.set()
                    await socket.send_close_stream()
                try:
                    await asyncio.wait_for(asyncio.shield(receiver),
                                           clock.wall(close_timeout_s))
                except TimeoutError:
                    record.failure = record.failure or "timeout-after-close-stream"
            except asyncio.CancelledError:
                record.cancelled = True
                if not receiver.done():
                    close_sent.set()
                    # closing is best effort once cancelled
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(socket.send_close_stream(), 1.0)
                raise
            except Exception:
                # A send failed: the receiver, which reads the close frame, knows why.
                await asyncio.wait([receiver], timeout=clock.wall(1.0))
                raise
            finally:
                if not receiver.done():
                    receiver.cancel()
                else:
                    error = receiver.exception()
                    if error is not None and record.failure is None:
                        record.failure = failure_kind(error)
    except asyncio.CancelledError:
        record.cancelled = True
        raise
    except Exception as error:  # every SDK or network error is a measurement
        if record.failure is None:
            record.failure = failure_kind(error)
    finally:
        sink.append(record)
    return record


async def _receive(socket: Any, clock: Clock, record: StreamRecord, sends: _Sends,
                   first_sent: list[float], close_sent: asyncio.Event) -> None:
    metadata = False
    async for message in socket:
        now = clock.now()
        kind = getattr(message, "type", None)
        if kind == "Results":
            if record.first_result_s is None and first_sent:
                record.first_result_s = now - first_sent[0]
            if getattr(message, "is_final", False):
                sent = sends.sent_at(float(message.start) + float(message.duration))
                if sent is not None:
                    record.finalization_lags.append(max(0.0, now - sent))
        elif kind == "Metadata":
            metadata = True
        elif kind == "Error":
            record.failure = record.failure or "error-message"
    if not close_sent.is_set() and record.failure is None:
        record.failure = "closed-early"
    elif not metadata and record.failure is None:
        record.failure = "no-metadata"
