"""The calibration's audio (deepgram_scaling.calibrate.audio): what it refuses to stream,
before any connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepgram_scaling.calibrate.audio import Audio, AudioError, read_audio

from .deepgram_emulator import wav

SECOND_16K = b"\x00\x00" * 16000  # one second of linear16 mono at 16 kHz


@pytest.mark.parametrize(("fields", "message"), [
    ({"encoding": "opus"}, r"encoding must be one of \['alaw', 'linear16', 'linear32', "
                           r"'mulaw'\], got 'opus'"),
    ({"sample_rate": 0}, r"sample_rate and channels must be > 0, got 0 and 1"),
    ({"channels": 0}, r"sample_rate and channels must be > 0, got 16000 and 0"),
    ({"pcm": SECOND_16K[:3199]}, r"audio must hold at least 0.1 s, got 3199 bytes"),
], ids=["encoding", "sample-rate", "channels", "too-short"])
def test_audio_deepgram_cannot_be_told_how_to_read_is_refused(fields, message):
    # Given raw audio with an encoding Deepgram's pacing here does not know, no rate or
    # channel, or under a tenth of a second
    given = {"pcm": SECOND_16K, "encoding": "linear16", "sample_rate": 16000, **fields}
    # Then it is refused when described
    with pytest.raises(AudioError, match=message):
        Audio(**given)


def test_a_tenth_of_a_second_is_enough():
    assert Audio(pcm=SECOND_16K[:3200], encoding="linear16", sample_rate=16000).duration_s \
        == 0.1


def _wav(path: Path, width: int) -> Path:
    path.write_bytes(wav(1.0, width=width))
    return path


def test_an_8_bit_wav_is_refused_and_16_bit_is_read(tmp_path):
    # Given an 8-bit WAV and a 16-bit one
    eight, sixteen = _wav(tmp_path / "8.wav", 1), _wav(tmp_path / "16.wav", 2)
    # Then the 8-bit one is refused with the widths that work, the 16-bit one is linear16
    with pytest.raises(AudioError, match=r"8\.wav: 8-bit WAV is not supported; use 16 or "
                                         r"32-bit"):
        read_audio(eight)
    assert read_audio(sixteen).query() == {"encoding": "linear16", "sample_rate": "8000",
                                           "channels": "1"}


def test_a_truncated_wav_header_is_not_a_pcm_wav(tmp_path):
    # Given a file that starts like a WAV but stops inside its header
    path = tmp_path / "cut.wav"
    path.write_bytes(_wav(tmp_path / "whole.wav", 2).read_bytes()[:20])
    # Then it is refused as not a PCM WAV, naming the file
    with pytest.raises(AudioError, match=r"cut\.wav: not a PCM WAV file"):
        read_audio(path)
