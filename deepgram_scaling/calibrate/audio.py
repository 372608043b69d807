"""The audio a calibration streams, and the clock that paces it at real time.

A WAV file is read from its header; raw audio needs ``encoding`` and ``sample_rate``. The
pacer sends each chunk when its last sample would have been captured by a live source, so
the server never receives audio before it "exists" (docs/aws-behaviour.md#stream-pacing).

Every time in this package is in *audio seconds* on a :class:`Clock`. With
``time_scale=1`` (the only value the CLI offers users) that is wall time. The tests pass a
larger factor to the clock and to the emulated server alike, so a 60-second hold runs in a
fraction of a second while every latency still reads in unscaled seconds.
"""

from __future__ import annotations

import asyncio
import time
import wave
from dataclasses import dataclass
from pathlib import Path

#: Bytes per sample of the raw encodings Deepgram's streaming API accepts that we can pace.
SAMPLE_WIDTHS = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
#: Default chunk: 100 ms, inside the 20-250 ms Deepgram recommends sending at once
#: (docs/aws-behaviour.md#stream-pacing).
DEFAULT_CHUNK_S = 0.1


class AudioError(ValueError):
    """An audio file that cannot be streamed as given."""


@dataclass(frozen=True, kw_only=True)
class Audio:
    """Raw samples and how Deepgram must be told to read them.

    :param pcm: The samples, interleaved by channel.
    :param encoding: Deepgram's ``encoding`` value (``linear16``, ``linear32``, ``mulaw``,
        ``alaw``).
    :param sample_rate: Samples per second per channel.
    :param channels: Interleaved channels. Default: 1.
    :param source: Where the audio came from, for the report. Default: ``""``.
    """

    pcm: bytes
    encoding: str
    sample_rate: int
    channels: int = 1
    source: str = ""

    def __post_init__(self) -> None:
        if self.encoding not in SAMPLE_WIDTHS:
            raise AudioError(f"encoding must be one of {sorted(SAMPLE_WIDTHS)}, "
                             f"got {self.encoding!r}")
        if self.sample_rate <= 0 or self.channels <= 0:
            raise AudioError(f"sample_rate and channels must be > 0, got "
                             f"{self.sample_rate} and {self.channels}")
        if len(self.pcm) < self.bytes_per_second / 10:
            raise AudioError(f"audio must hold at least 0.1 s, got {len(self.pcm)} bytes")

    @property
    def bytes_per_second(self) -> int:
        return SAMPLE_WIDTHS[self.encoding] * self.sample_rate * self.channels

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / self.bytes_per_second

    def query(self) -> dict[str, str]:
        """The query parameters that describe this audio to Deepgram."""
        return {"encoding": self.encoding, "sample_rate": str(self.sample_rate),
                "channels": str(self.channels)}

    def chunks(self, chunk_s: float = DEFAULT_CHUNK_S) -> list[tuple[float, bytes]]:
        """``(end offset in seconds, bytes)`` for each chunk, whole frames only."""
        frame = SAMPLE_WIDTHS[self.encoding] * self.channels
        size = max(frame, int(chunk_s * self.bytes_per_second) // frame * frame)
        out = []
        for begin in range(0, len(self.pcm), size):
            piece = self.pcm[begin:begin + size]
            out.append(((begin + len(piece)) / self.bytes_per_second, piece))
        return out


def rotated(chunks: list[tuple[float, bytes]], first: int, bytes_per_second: float
            ) -> list[tuple[float, bytes]]:
    """``chunks`` starting at chunk ``first`` and wrapping round to the start of the file,
    with their end offsets counted from the new start."""
    out, sent = [], 0
    for _, piece in chunks[first:] + chunks[:first]:
        sent += len(piece)
        out.append((sent / bytes_per_second, piece))
    return out


def read_audio(path: str | Path, *, encoding: str | None = None,
               sample_rate: int | None = None, channels: int = 1) -> Audio:
    """Read a WAV file (PCM, from its header) or raw audio (``encoding`` and ``sample_rate``
    required). A WAV header wins over the arguments, which must then agree with it."""
    path = Path(path)
    data = path.read_bytes()
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            with wave.open(str(path), "rb") as wav:
                width, rate, chans = wav.getsampwidth(), wav.getframerate(), wav.getnchannels()
                pcm = wav.readframes(wav.getnframes())
        except (wave.Error, EOFError) as err:
            raise AudioError(f"{path}: not a PCM WAV file ({err})") from None
        wav_encoding = {2: "linear16", 4: "linear32"}.get(width)
        if wav_encoding is None:
            raise AudioError(f"{path}: {8 * width}-bit WAV is not supported; use 16 or 32-bit")
        if sample_rate is not None and sample_rate != rate:
            raise AudioError(f"--sample-rate {sample_rate} disagrees with the WAV header "
                             f"({rate} Hz) of {path}")
        return Audio(pcm=pcm, encoding=wav_encoding, sample_rate=rate, channels=chans,
                     source=path.name)
    if encoding is None or sample_rate is None:
        raise AudioError(f"{path} has no WAV header: raw audio needs --encoding and "
                         "--sample-rate")
    return Audio(pcm=data, encoding=encoding, sample_rate=sample_rate, channels=channels,
                 source=path.name)


class Clock:
    """Audio seconds since the clock was made, ``time_scale`` times faster than wall time.

    :param time_scale: Audio seconds per wall second (> 0). Default: 1 (real time).
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = time_scale
        self._origin = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._origin) * self.time_scale

    async def sleep_until(self, moment: float) -> None:
        delay = (moment - self.now()) / self.time_scale
        await asyncio.sleep(max(0.0, delay))

    def wall(self, seconds: float) -> float:
        """Wall seconds that ``seconds`` of audio time take."""
        return seconds / self.time_scale
