"""An emulated Deepgram server for the calibration tests: Deepgram's streaming protocol over a
real WebSocket on 127.0.0.1, the same sessions as an in-process SDK transport (the endpoint
path), and ``POST /v1/listen`` for pre-recorded requests, with latency that follows a load
model of known capacity.

Protocol, as the Deepgram SDK reads it (docs/aws-behaviour.md#deepgram-results-timing,
#deepgram-close-stream, #deepgram-finalize, #deepgram-keep-alive): binary frames are audio;
text frames are JSON control messages ``CloseStream`` (flush, send the last finals and a
``Metadata`` message, close 1000), ``Finalize`` (flush the audio received so far as a final
``Results`` with ``from_finalize``) and ``KeepAlive`` (no answer). ``Results`` carry
``start``, ``duration``, ``is_final``, ``speech_final``, ``channel_index``, ``channel.
alternatives`` and ``metadata``; interim ones every ``interim_s`` of audio, finals every
``final_s``. Every second final ends an utterance (``speech_final`` true), as endpointing on
a pause would, and so does the last flush of ``CloseStream``; a ``Finalize`` flush does not.

Load model: processor sharing of one GPU. ``stream_capacity`` is the audio seconds per
second the GPU transcribes; the streams holding unprocessed audio share it equally. At or
below ``stream_capacity`` streams every stream keeps up with real time; above it each one
falls behind at ``1 - capacity / n`` seconds per second, so its finalization lag grows with
every second it streams. Pre-recorded requests share ``batch_capacity`` the same way. More
than ``max_active`` streams plus requests at once are refused with HTTP 503 on the
handshake, like a server past its ``max_active_requests``. A handshake whose query names
an unknown ``encoding``, or an encoding without ``sample_rate``, is refused with HTTP 400; a
stream that sends neither audio nor ``KeepAlive`` for 10 s of audio (and at least 1 s of wall
time, so that a stall of the accelerated tests closes nothing) is closed (1011,
``NET-0001``), as Deepgram's server does. Results leave ``base_latency_s``
after their audio is processed; with ``congestion`` that delay grows with the GPU's
utilisation ``rho`` (busy streams / ``stream_capacity``, at most 0.9) as ``base / (1 - rho)``,
so latency rises smoothly before the hard knee (10 x base at the capacity), as batching on a
GPU does. ``final_jitter`` spreads the final cadence (each final covers ``final_s`` times a
factor drawn from ``1 +- final_jitter``, seeded), as Deepgram's endpointing does.

Cut points of the audio itself (``content_cuts``): real Deepgram finalizes where the audio
lets it, so every stream of one file gets its finals at the same points of the file, each
with a lag of its own. With ``content_cuts=(period, (lo, hi), (lag_lo, lag_hi))`` the
emulator draws (seeded) cut points of a ``period``-second file spaced ``U(lo, hi)`` apart,
each with an extra lag ``U(lag_lo, lag_hi)``, shared by every session; a session learns
where in the file its audio starts from the audio itself (:func:`ticking` audio holds its
own position, in 10 ms units, in every sample).

Two SageMaker-path endings the transport can imitate: ``metadata=False`` closes without a
``Metadata`` message, and ``error_after_close`` makes the transport raise that message
instead of ending cleanly after a ``CloseStream``. ``connect_delay_s`` makes the
transport's first send wait that long (audio seconds), as a lazy transport that connects on
its first send does.

Time runs ``time_scale`` times faster than the wall clock, the same factor the calibration's
clock uses; every time in the protocol (``start``, ``duration``) and in the model is in
audio seconds.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import math
import random
import time
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

WIDTHS = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
#: Audio seconds without audio or KeepAlive after which the server closes (NET-0001).
IDLE_CLOSE_S = 10.0
#: ...but never sooner than this many wall seconds: on the accelerated clock a stall of the
#: test process that long would otherwise close healthy streams.
IDLE_CLOSE_MIN_WALL_S = 1.0


def query_problem(query: dict[str, str]) -> str | None:
    """Why the handshake's query would be refused (HTTP 400), as Deepgram reads
    ``encoding`` and ``sample_rate``: the rate is required once an encoding is given."""
    encoding = query.get("encoding")
    if encoding is not None and encoding not in WIDTHS:
        return f"unknown encoding {encoding!r}"
    if encoding is not None and "sample_rate" not in query:
        return "sample_rate is required with encoding"
    return None


class Refused(Exception):
    """What the in-process transport raises when the server is full (HTTP 503) or the query
    is refused (HTTP 400)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"status {status_code}")
        self.status_code = status_code


@dataclass(eq=False)
class Session:
    query: dict[str, str]
    bytes_per_s: float
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    received_s: float = 0.0
    processed_s: float = 0.0
    next_interim: float = 0.0
    finalized_to: float = 0.0
    #: Where the next final ends.
    next_final: float = 0.0
    #: Where in the file the session's audio began (``content_cuts``), and the stream
    #: offsets of its cut points with their extra lag.
    file_start: float | None = None
    cuts: list[tuple[float, float]] = field(default_factory=list)
    #: ``(wall time, audio seconds received)`` after each audio frame.
    arrivals: list[tuple[float, float]] = field(default_factory=list)
    closing: bool = False
    finalize: bool = False
    done: bool = False
    #: Final ``Results`` sent, and those of them that ended an utterance.
    finals: int = 0
    speech_finals: int = 0
    released: bool = False
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def backlog(self) -> float:
        return self.received_s - self.processed_s


@dataclass(eq=False)
class Job:
    work_s: float
    future: asyncio.Future[None]
    done_s: float = 0.0


def _results(session: Session, start: float, end: float, *, final: bool,
             from_finalize: bool = False) -> str:
    words = max(1, int((end - start) * 2))
    speech_final = False
    if final:
        session.finals += 1
        speech_final = not from_finalize and (session.closing or session.finals % 2 == 0)
        session.speech_finals += speech_final
    message: dict[str, Any] = {
        "type": "Results", "channel_index": [0, 1], "start": round(start, 4),
        "duration": round(end - start, 4), "is_final": final, "speech_final": speech_final,
        "channel": {"alternatives": [{"transcript": " ".join(["word"] * words),
                                      "confidence": 0.9, "words": []}]},
        "metadata": {"request_id": session.request_id, "model_uuid": str(uuid.uuid4()),
                     "model_info": {"name": "emulated", "version": "0", "arch": "emu"}},
    }
    if from_finalize:
        message["from_finalize"] = True
    return json.dumps(message)


def _metadata(session: Session) -> str:
    return json.dumps({"type": "Metadata", "transaction_key": "deprecated",
                       "request_id": session.request_id, "sha256": "0" * 64,
                       "created": "2026-01-01T00:00:00.000Z",
                       "duration": round(session.received_s, 4), "channels": 1})


class Emulator:
    def __init__(self, *, stream_capacity: float = 4.0, batch_capacity: float = 40.0,
                 max_active: int = 1000, time_scale: float = 50.0,
                 base_latency_s: float = 0.1, interim_s: float = 0.5, final_s: float = 2.0,
                 reset_connections: frozenset[int] = frozenset(),
                 tick_s: float = 0.004, congestion: bool = False, final_jitter: float = 0.0,
                 metadata: bool = True, error_after_close: str | None = None,
                 connect_delay_s: float = 0.0, seed: int = 7, junk: bool = False,
                 forbid_from: int | None = None,
                 content_cuts: tuple[float, tuple[float, float], tuple[float, float]]
                 | None = None) -> None:
        self.stream_capacity, self.batch_capacity = stream_capacity, batch_capacity
        self.max_active, self.time_scale = max_active, time_scale
        self.base_latency_s, self.interim_s, self.final_s = base_latency_s, interim_s, final_s
        self.reset_connections, self.tick_s = reset_connections, tick_s
        self.congestion, self.final_jitter = congestion, final_jitter
        self.metadata, self.error_after_close = metadata, error_after_close
        self.connect_delay_s = connect_delay_s
        #: Each stream first gets a text message that is not JSON, which the SDK skips.
        self.junk = junk
        #: From this WebSocket handshake on, answer HTTP 403, as a server does once the
        #: caller's credentials have expired.
        self.forbid_from = forbid_from
        self.handshakes = 0
        self._random = random.Random(seed)
        #: ``(file position, extra lag)`` of the file's cut points.
        self.file_cuts: list[tuple[float, float]] = []
        self.period_s = 0.0
        if content_cuts is not None:
            self.period_s, (low, high), (lag_low, lag_high) = content_cuts
            at = self._random.uniform(low, high)
            while at < self.period_s - 1e-6:
                self.file_cuts.append((at, self._random.uniform(lag_low, lag_high)))
                at += self._random.uniform(low, high)
        self.sessions: set[Session] = set()
        #: Every session that has ended, in order.
        self.ended: list[Session] = []
        self.jobs: set[Job] = set()
        self.active = 0
        self.peak_active = 0
        self.connections = 0
        self.refused = 0
        self.closed_by_client = 0
        self.control: list[str] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._server: Any = None
        self._http: asyncio.Server | None = None
        self.ws_url = ""
        self.http_url = ""

    # -- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> Emulator:
        self._server = await serve(self._handle, "127.0.0.1", 0,
                                   process_request=self._admit, ping_interval=None,
                                   compression=None)
        port = self._server.sockets[0].getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{port}"
        self._http = await asyncio.start_server(self._http_connection, "127.0.0.1", 0)
        self.http_url = f"http://127.0.0.1:{self._http.sockets[0].getsockname()[1]}"
        self._tasks.append(asyncio.ensure_future(self._run_gpu()))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        self._server.close()
        await self._server.wait_closed()
        assert self._http is not None
        self._http.close()

    # -- admission -------------------------------------------------------------------------
    def _take_slot(self) -> bool:
        if self.active >= self.max_active:
            self.refused += 1
            return False
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)
        return True

    def _release(self) -> None:
        self.active -= 1

    def release_session(self, session: Session) -> None:
        """Free the session's slot once: when the server finishes the stream (before its
        close frame, so a client that reconnects at once finds the slot free) or when the
        connection ends, whichever comes first."""
        if not session.released:
            session.released = True
            self._release()

    def open_session(self, query: dict[str, str]) -> Session:
        width = WIDTHS[query.get("encoding", "linear16")]
        rate = float(query.get("sample_rate", "16000"))
        session = Session(query=query, bytes_per_s=width * rate * int(query.get("channels", "1")))
        session.next_interim = self.interim_s
        session.next_final = self._final_step()
        if self.junk:
            session.outbox.put_nowait("not a JSON message")
        self.sessions.add(session)
        return session

    def receive(self, session: Session, data: bytes | str) -> None:
        if isinstance(data, bytes):
            if self.file_cuts and session.file_start is None and len(data) >= 2:
                session.file_start = int.from_bytes(data[:2], "little", signed=True) / 100
                laps = int(session.received_s / self.period_s) + 20
                session.cuts = sorted(
                    ((at - session.file_start) % self.period_s + lap * self.period_s, lag)
                    for lap in range(laps) for at, lag in self.file_cuts)
            session.received_s += len(data) / session.bytes_per_s
            session.arrivals.append((time.monotonic(), session.received_s))
            return
        kind = json.loads(data).get("type")
        self.control.append(str(kind))
        if kind == "CloseStream":
            session.closing = True
        elif kind == "Finalize":
            session.finalize = True

    def end_session(self, session: Session) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.ended.append(session)

    def streams_left_without_close_stream(self) -> int:
        """Ended sessions that received audio but no ``CloseStream``."""
        return sum(1 for s in self.ended if s.received_s > 0 and not s.closing)

    # -- the GPU ---------------------------------------------------------------------------
    def _final_step(self) -> float:
        if not self.final_jitter:
            return self.final_s
        return self.final_s * self._random.uniform(1 - self.final_jitter, 1 + self.final_jitter)

    def latency_s(self) -> float:
        """How long a processed result takes to leave (audio seconds)."""
        if not self.congestion:
            return self.base_latency_s
        busy = sum(1 for s in self.sessions if not s.done)
        rho = min(0.9, busy / self.stream_capacity)
        return self.base_latency_s / (1 - rho)

    def _later(self, session: Session, message: str | None, extra_s: float = 0.0) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later((self.latency_s() + extra_s) / self.time_scale,
                        session.outbox.put_nowait, message)

    async def _run_gpu(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_s)
            now = time.monotonic()
            dt = (now - last) * self.time_scale
            last = now
            self._share([s for s in self.sessions if s.backlog > 1e-9 and not s.done],
                        self.stream_capacity * dt)
            for session in list(self.sessions):
                self._emit(session)
            busy = [j for j in self.jobs if not j.future.done()]
            if busy:
                share = self.batch_capacity * dt / len(busy)
                for job in busy:
                    job.done_s += share
                    if job.done_s >= job.work_s:
                        asyncio.get_running_loop().call_later(
                            self.base_latency_s / self.time_scale, _resolve, job.future)
                        self.jobs.discard(job)

    @staticmethod
    def _share(busy: list[Session], capacity: float) -> None:
        # Processor sharing, water-filled: what a short backlog leaves goes to the others.
        busy = sorted(busy, key=lambda s: s.backlog)
        for index, session in enumerate(busy):
            share = capacity / (len(busy) - index)
            used = min(session.backlog, share)
            session.processed_s += used
            capacity -= used

    def _emit(self, session: Session) -> None:
        if session.done:
            return
        while session.cuts and session.processed_s + 1e-9 >= session.cuts[0][0]:
            at, extra = session.cuts.pop(0)
            if at > session.finalized_to + 1e-9:
                self._later(session, _results(session, session.finalized_to, at, final=True),
                            extra)
                session.finalized_to = at
        while session.processed_s + 1e-9 >= session.next_interim:
            end = session.next_interim
            if self.file_cuts:
                boundary = session.finalized_to
            elif self.final_jitter:
                boundary = session.finalized_to
                if end + 1e-9 >= session.next_final:
                    boundary = end
                    session.next_final = end + self._final_step()
            else:
                boundary = math.floor(end / self.final_s + 1e-9) * self.final_s
            if boundary > session.finalized_to + 1e-9:
                self._later(session, _results(session, session.finalized_to, boundary,
                                              final=True))
                session.finalized_to = boundary
            elif end > session.finalized_to + 1e-9:
                self._later(session, _results(session, session.finalized_to, end, final=False))
            session.next_interim += self.interim_s
        flush = session.closing or session.finalize
        if flush and session.backlog <= 1e-9:
            if session.processed_s > session.finalized_to + 1e-9:
                self._later(session, _results(session, session.finalized_to,
                                              session.processed_s, final=True,
                                              from_finalize=session.finalize))
                session.finalized_to = session.processed_s
            session.finalize = False
            if session.closing:
                session.done = True
                if self.metadata:
                    self._later(session, _metadata(session))
                self._later(session, None)

    # -- WebSocket -------------------------------------------------------------------------
    def _admit(self, connection: ServerConnection, request: Any) -> Any:
        if not request.path.startswith("/v1/listen"):
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        self.handshakes += 1
        if self.forbid_from is not None and self.handshakes >= self.forbid_from:
            return connection.respond(HTTPStatus.FORBIDDEN, "credentials expired\n")
        problem = query_problem(dict(parse_qsl(urlsplit(request.path).query)))
        if problem:
            return connection.respond(HTTPStatus.BAD_REQUEST, problem + "\n")
        if not self._take_slot():
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "busy\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        ordinal = self.connections
        query = dict(parse_qsl(urlsplit(ws.request.path).query)) if ws.request else {}
        session = self.open_session(query)
        writer = asyncio.ensure_future(self._write(ws, session))
        try:
            if ordinal in self.reset_connections:
                await asyncio.sleep(1.0 / self.time_scale)
                await ws.close(1011, "emulated internal error")
                return
            while True:
                try:
                    data = await asyncio.wait_for(ws.recv(), max(
                        IDLE_CLOSE_S / self.time_scale, IDLE_CLOSE_MIN_WALL_S))
                except TimeoutError:
                    if session.closing:  # flushing: the server's own close comes next
                        continue
                    await ws.close(1011, "NET-0001: no audio or KeepAlive for 10 s")
                    return
                self.receive(session, data)
        except ConnectionClosed:
            self.closed_by_client += 0 if session.done else 1
        finally:
            writer.cancel()
            self.end_session(session)
            self.release_session(session)

    async def _write(self, ws: ServerConnection, session: Session) -> None:
        while True:
            message = await session.outbox.get()
            if message is None:
                self.release_session(session)
                await ws.close(1000)
                return
            await ws.send(message)

    # -- in-process transport (the endpoint path) ------------------------------------------
    def transport_factory(self, url: str, headers: dict[str, str]) -> Transport:
        return Transport(self, dict(parse_qsl(urlsplit(url).query)))

    # -- pre-recorded ----------------------------------------------------------------------
    async def _http_connection(self, reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers = {}
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self._transcribe(method, target, body)
                data = json.dumps(payload).encode()
                writer.write(f"HTTP/1.1 {status.value} {status.phrase}\r\n"
                             f"Content-Type: application/json\r\n"
                             f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _transcribe(self, method: str, target: str, body: bytes
                          ) -> tuple[HTTPStatus, dict[str, Any]]:
        parts = urlsplit(target)
        if method != "POST" or parts.path != "/v1/listen":
            return HTTPStatus.NOT_FOUND, {"err_msg": "not found"}
        if not self._take_slot():
            return HTTPStatus.SERVICE_UNAVAILABLE, {"err_msg": "busy"}
        try:
            seconds = audio_seconds(body, dict(parse_qsl(parts.query)))
            job = Job(work_s=seconds, future=asyncio.get_running_loop().create_future())
            self.jobs.add(job)
            await job.future
            request_id = str(uuid.uuid4())
            return HTTPStatus.OK, {
                "metadata": {"transaction_key": "deprecated", "request_id": request_id,
                             "sha256": "0" * 64, "created": "2026-01-01T00:00:00.000Z",
                             "duration": seconds, "channels": 1, "models": ["emulated"],
                             "model_info": {}},
                "results": {"channels": [{"alternatives": [
                    {"transcript": "word word", "confidence": 0.9, "words": []}]}]}}
        finally:
            self._release()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def audio_seconds(body: bytes, query: dict[str, str]) -> float:
    if body[:4] == b"RIFF":
        with wave.open(io.BytesIO(body)) as wav:
            return wav.getnframes() / wav.getframerate()
    width = WIDTHS[query.get("encoding", "linear16")]
    return len(body) / (width * float(query.get("sample_rate", "16000")))


class Transport:
    """An SDK ``AsyncTransport`` onto the emulator's sessions, without a socket: the
    endpoint path of the tests (``transport_factory=emulator.transport_factory``)."""

    def __init__(self, emulator: Emulator, query: dict[str, str]) -> None:
        self.emulator, self.query = emulator, query
        self.session: Session | None = None
        self.closed = False
        self._lock = asyncio.Lock()

    async def _open(self) -> Session:
        # lazy, as SageMaker's transport: the first send or receive connects
        async with self._lock:
            if self.session is None:
                if query_problem(self.query):
                    raise Refused(400)
                if self.emulator.connect_delay_s:
                    await asyncio.sleep(self.emulator.connect_delay_s / self.emulator.time_scale)
                if not self.emulator._take_slot():
                    raise Refused(503)
                self.emulator.connections += 1
                self.session = self.emulator.open_session(self.query)
            return self.session

    async def send(self, data: Any) -> None:
        if self.closed:
            raise RuntimeError("transport is closed")
        self.emulator.receive(await self._open(), data)

    async def recv(self) -> Any:
        message = await (await self._open()).outbox.get()
        if message is None:
            self.closed = True
            if self.emulator.error_after_close is not None:
                raise RuntimeError(self.emulator.error_after_close)
            raise StopAsyncIteration
        return message

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while not self.closed:
            try:
                yield await self.recv()
            except StopAsyncIteration:
                return

    async def close(self) -> None:
        if self.session is not None:
            if not self.session.done:
                self.emulator.closed_by_client += 1
            self.emulator.end_session(self.session)
            self.emulator.release_session(self.session)
            self.session = None
        self.closed = True


def ticking(seconds: float, rate: int = 8000) -> bytes:
    """linear16 audio whose every sample holds its own position in the file in 10 ms units,
    for ``content_cuts``."""
    return b"".join(int(i * 100 // rate).to_bytes(2, "little", signed=True)
                    for i in range(int(rate * seconds)))


@contextmanager
def quiet_collector() -> Iterator[None]:
    """Keep the garbage collector's full passes short while an accelerated run measures.

    In the whole suite the process holds every synthesized app; a full collection over that
    heap stalls the event loop for long enough that, 20 times faster than the wall, it reads
    as a second of latency. Everything alive before the run is set aside (``gc.freeze``) and
    put back after it.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def wav(seconds: float, *, rate: int = 8000, width: int = 2, channels: int = 1,
        fill: bytes = b"\x00") -> bytes:
    """A PCM WAV file of ``seconds``, its samples ``fill`` repeated."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        size = width * channels * int(rate * seconds)
        out.writeframes(fill * (size // len(fill)))
    return buffer.getvalue()
