"""One stream through the Deepgram SDK, and what it times.

For every stream: how long the session took to open (``connect``: the handshake, plus the
first send, which opens a lazy transport such as SageMaker's); the time from the moment the
audio the first ``Results`` message covers (its ``start + duration``) was sent to the moment
it arrived (``first_result``: what the server adds, without the lead-in audio Deepgram needs
before its first interim); and, for each final ``Results`` (``is_final``), its
*finalization lag*: the time from the moment the audio at its end (``start + duration``)
was sent to the moment the result arrived (docs/aws-behaviour.md#deepgram-results-timing).

Pacing starts once the session is open, as Deepgram's own stress client does: a
``KeepAlive`` goes first (it opens a lazy transport and has no answer,
docs/aws-behaviour.md#deepgram-finalize), and each chunk leaves when its last sample
would exist counting from the moment that send completed, so a slow open delays the stream
instead of bursting the chunks it held back. A stream ends with ``CloseStream``; Deepgram
answers with the last finals and a ``Metadata`` message, then closes
(docs/aws-behaviour.md#deepgram-close-stream).

A failure is anything that keeps a stream from finishing cleanly: a refused or reset
connection, an HTTP status on the handshake (the SDK's ``ApiError``), an ``Error``
message, a close before ``CloseStream`` was sent, or no close in time after it. Through a
transport factory (the SageMaker path) two endings count as *notes*, not failures, when
the finals reached the end of the audio sent: no ``Metadata`` message, and an error after
``CloseStream`` such as "Input stream broken"
(docs/aws-behaviour.md#deepgram-sagemaker-close).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
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
    #: How the stream ended when that is not judged (the SageMaker path's clean closes).
    note: str | None = None
    audio_s: float = 0.0
    #: The end (``start + duration``) of the last final result received.
    finalized_to: float = 0.0
    cancelled: bool = False

    #: ``(audio offset, lag)`` of each final that arrived before ``CloseStream`` was sent,
    #: for the lag's growth over the stream: the flush final after it is cut where the
    #: stream ended, not where the audio let the model cut, and its lag differs.
    fit_points: list[tuple[float, float]] = field(default_factory=list)
    #: Where in the audio file the stream began (seconds; the slot's random offset).
    file_offset: float = 0.0

    def lag_points(self) -> list[tuple[float, float]]:
        return list(self.fit_points)

    def finals_complete(self) -> bool:
        """Whether the finals reached the end of the audio sent (within one chunk)."""
        return self.audio_s > 0 and self.finalized_to >= self.audio_s - 0.25


def failure_kind(error: BaseException) -> str:
    """A short, countable name for what went wrong."""
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return f"http-{status}"
    name = type(error).__name__
    if name in CREDENTIAL_ERRORS or (isinstance(error, RuntimeError)
                                     and "refreshed credentials are still expired" in str(error)):
        # botocore could not find or renew the caller's credentials: nothing the server did
        return f"credentials-{name}"
    response = getattr(error, "response", None)
    if name == "ClientError" and isinstance(response, dict):
        # botocore: tell ModelError (424), ThrottlingException (429)... apart
        code = response.get("Error", {}).get("Code")
        http = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code:
            return f"{code}-{http}" if http else str(code)
    # the SageMaker transport's HTTP/2 client: ModelError carries the container's status,
    # ModelStreamError an error code (a refusal past max_active_requests is not a crash)
    original = getattr(error, "original_status_code", None)
    if isinstance(original, int):
        return f"{name}-{original}"
    error_code = getattr(error, "error_code", None)
    if isinstance(error_code, str) and error_code:
        return f"{name}-{error_code}"
    if name == "CallError":
        # smithy's unmodeled AWS error: "Unknown error ... - status: 403 - id: ExpiredToken..."
        message = str(getattr(error, "message", "") or error)
        status = re.search(r"status: (\d+)", message)
        error_id = re.search(r"id: ([\w.:#-]+)", message)
        if status:
            code = error_id.group(1).rsplit("#", 1)[-1] if error_id else name
            return f"{code}-{status.group(1)}"
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
                     close_timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S,
                     lenient_close: bool = False, file_offset: float = 0.0) -> StreamRecord:
    """Stream ``audio`` once (or until ``until`` on the clock), paced at real time, and
    append the record to ``sink`` however the stream ends (cancellation included).

    :param lenient_close: Record a missing ``Metadata`` and an error after ``CloseStream``
        as notes when every final arrived (the SageMaker path). Default: False.
    :param file_offset: Where in the audio file ``chunks`` begin (seconds), recorded so that
        a final can be matched with the same point of the file in another stream. Default: 0.
    """
    record = StreamRecord(started=clock.now(), file_offset=file_offset)
    sends = _Sends()
    close_sent = asyncio.Event()
    query = {**audio.query(), "interim_results": "true", **params}
    try:
        async with client.listen.v1.connect(
                model=model, request_options={"additional_query_parameters": query}) as socket:
            handshake = clock.now() - record.started
            # A KeepAlive opens a lazy transport (SageMaker's connects on its first send or
            # receive) before the pacing clock starts, so a slow open delays the stream
            # instead of bursting the chunks it held back. The receiver starts only once it
            # went through: started before, its receive would try a refused connection a
            # second time.
            before = clock.now()
            await socket.send_keep_alive()
            origin = clock.now()
            record.connect_s = handshake + (origin - before)
            receiver = asyncio.ensure_future(
                _receive(socket, clock, record, sends, close_sent, lenient_close))
            try:
                for end, piece in chunks:
                    if receiver.done() or origin + end > until:
                        break
                    await clock.sleep_until(origin + end)
                    await socket.send_media(piece)
                    sends.add(end, clock.now())
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
                        _judge_close_error(record, error, close_sent, lenient_close)
    except asyncio.CancelledError:
        record.cancelled = True
        raise
    except Exception as error:  # every SDK or network error is a measurement
        if record.failure is None:
            _judge_close_error(record, error, close_sent, lenient_close)
    finally:
        sink.append(record)
    return record


def _judge_close_error(record: StreamRecord, error: BaseException, close_sent: asyncio.Event,
                       lenient_close: bool) -> None:
    kind = failure_kind(error)
    if lenient_close and close_sent.is_set() and record.finals_complete():
        # Deepgram's SageMaker stress client takes "Input stream broken" after CloseStream
        # for a clean end: docs/aws-behaviour.md#deepgram-sagemaker-close
        record.note = record.note or f"after-close-stream-{kind}"
    else:
        record.failure = kind


async def _receive(socket: Any, clock: Clock, record: StreamRecord, sends: _Sends,
                   close_sent: asyncio.Event, lenient_close: bool) -> None:
    metadata = False
    async for message in socket:
        now = clock.now()
        kind = getattr(message, "type", None)
        if kind == "Results":
            covered = float(message.start) + float(message.duration)
            sent = sends.sent_at(covered)
            if record.first_result_s is None and sent is not None:
                record.first_result_s = max(0.0, now - sent)
            if getattr(message, "is_final", False):
                record.finalized_to = max(record.finalized_to, covered)
                if sent is not None:
                    lag = max(0.0, now - sent)
                    record.finalization_lags.append(lag)
                    if not close_sent.is_set():
                        record.fit_points.append((covered, lag))
        elif kind == "Metadata":
            metadata = True
        elif kind == "Error":
            record.failure = record.failure or "error-message"
    if not close_sent.is_set() and record.failure is None:
        record.failure = "closed-early"
    elif not metadata and record.failure is None:
        if lenient_close and record.finals_complete():
            # docs/aws-behaviour.md#deepgram-sagemaker-close
            record.note = "no-metadata"
        else:
            record.failure = "no-metadata"


#: The SDK module that logs, and skips, a streamed message it cannot read.
SDK_SOCKET_LOGGER = "deepgram.listen.v1.socket_client"


class SkippedMessages(logging.Handler):
    """Counts the messages the SDK skipped because it could not read them: a ``Results``
    among them would go unmeasured (docs/aws-behaviour.md#deepgram-results-timing)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Skipping unknown WebSocket message"):
            self.count += 1

    def take(self) -> int:
        """The count since the last call."""
        count, self.count = self.count, 0
        return count


@contextmanager
def counting_skipped() -> Iterator[SkippedMessages]:
    logger = logging.getLogger(SDK_SOCKET_LOGGER)
    handler = SkippedMessages()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


#: botocore's errors for credentials it cannot find or renew (an expired SSO session, an
#: MFA role it cannot refresh, a failing credential_process...).
CREDENTIAL_ERRORS = frozenset({
    "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
    "TokenRetrievalError", "UnauthorizedSSOTokenError", "SSOTokenLoadError",
    "RefreshWithMFAUnsupportedError", "InvalidConfigError", "ProfileNotFound",
})

#: Error codes AWS gives when it refuses the caller's identity rather than the request.
IDENTITY_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
    "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch",
    "IncompleteSignature", "AccessDeniedException", "MissingAuthenticationToken",
    "RequestExpired",
})


def identity_refused(kinds: dict[str, int]) -> str | None:
    """The first failure kind that says the caller's credentials were refused or could not
    be had (HTTP 401 or 403, an AWS identity error code, botocore unable to find or renew
    them), which no server load explains."""
    for kind in kinds:
        code, _, status = kind.rpartition("-")
        if (status in ("401", "403") or code in IDENTITY_CODES
                or kind.startswith("credentials-")):
            return kind
    return None

