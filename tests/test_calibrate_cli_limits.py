"""``deepgram-scaling calibrate`` refuses, before any connection or AWS call, a run larger
than its caps, an endpoint without a region and a malformed --param."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepgram_scaling.calibrate.cli import Clients, main

from .deepgram_emulator import wav

NOWHERE = "ws://127.0.0.1:9"  # nothing listens: a run that got this far would fail


@pytest.fixture
def audio(tmp_path: Path) -> str:
    path = tmp_path / "speech.wav"
    path.write_bytes(wav(1.0))
    return str(path)


@pytest.mark.parametrize(("extra", "message"), [
    (["--max-streams", "1025"], "calibrate: --max-streams must be at most 1024, got 1025\n"),
    (["--max-minutes", "0"], "calibrate: --max-minutes must be in (0, 720], got 0.0\n"),
    (["--max-minutes", "721"], "calibrate: --max-minutes must be in (0, 720], got 721.0\n"),
], ids=["streams-over-cap", "no-minutes", "minutes-over-twelve-hours"])
def test_a_run_beyond_the_caps_is_refused_before_it_starts(audio, capsys, extra, message):
    # Given more streams than the cap, or a time budget of nothing or over 12 hours
    # When calibrate starts, then it refuses with a usage error naming the option
    assert main(["stream", "--audio", audio, "--url", NOWHERE, *extra]) == 2
    assert capsys.readouterr().err == message


def test_an_endpoint_needs_its_region(audio, capsys):
    # Given an endpoint but no --region, and no clients (any AWS call would fail loudly)
    status = main(["batch", "--audio", audio, "--endpoint", "Speech-1a2b"],
                  clients=Clients(None, None, None))
    # Then calibrate asks for the region before anything else
    assert status == 2
    assert capsys.readouterr().err == "calibrate: --endpoint needs --region\n"


def test_the_cap_itself_is_allowed(audio, capsys):
    # Given exactly the cap of streams, against an endpoint without a region
    status = main(["stream", "--audio", audio, "--endpoint", "Speech-1a2b",
                   "--max-streams", "1024", "--max-minutes", "720"],
                  clients=Clients(None, None, None))
    # Then the caps pass, and the next check (the region) is the one that stops it
    assert status == 2
    assert capsys.readouterr().err == "calibrate: --endpoint needs --region\n"


@pytest.mark.parametrize("param", ["smart_format", "=true"])
def test_a_param_that_is_not_key_equals_value_is_a_usage_error(audio, capsys, param):
    with pytest.raises(SystemExit) as exit_:
        main(["stream", "--audio", audio, "--url", NOWHERE, "--param", param])
    assert exit_.value.code == 2
    assert f"--param takes key=value, got {param!r}" in capsys.readouterr().err
