"""The simulator's command line (deepgram_scaling.simulator.cli): how it reads --start and
--slo, what it says when a template or file gives it nothing to simulate, and its progress
bar on a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from deepgram_scaling.simulator import cli
from deepgram_scaling.simulator.cli import main

from .test_simulator_template import _template


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    """A hand-written one-endpoint template, and a real-time trace in relative seconds."""
    template, trace = tmp_path / "t.json", tmp_path / "trace.csv"
    template.write_text(json.dumps(_template()))
    trace.write_text("start,duration_s\n0,600\n30,600\n60,900\n")
    return str(template), str(trace)


def test_a_start_that_is_not_an_iso_time_is_refused(files, capsys):
    # Given a trace in relative seconds, placed in time by --start
    template, trace = files
    # When --start is not an ISO time, then the command fails with one line naming it
    assert main(["simulate", template, "--trace", trace, "--start", "yesterday"]) == 2
    assert capsys.readouterr().err == \
        "error: --start must be an ISO time, got 'yesterday'\n"


def test_a_start_without_a_zone_is_utc(files, capsys):
    # Given the same replay started at a time without a zone and at the same time in UTC
    template, trace = files
    assert main(["simulate", template, "--trace", trace, "--json",
                 "--start", "2026-03-02T09:00:00"]) == 0
    naive = json.loads(capsys.readouterr().out)
    assert main(["simulate", template, "--trace", trace, "--json",
                 "--start", "2026-03-02T09:00:00Z"]) == 0
    # Then both results are the same
    assert json.loads(capsys.readouterr().out) == naive


def test_a_template_without_an_endpoint_says_there_is_nothing_to_simulate(files, tmp_path,
                                                                          capsys):
    # Given a template with resources but no SageMaker endpoint
    _, trace = files
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}))
    # When simulated, then the command says so instead of listing zero endpoints
    assert main(["simulate", str(empty), "--trace", trace]) == 2
    assert capsys.readouterr().err == ("error: the template declares no SageMaker endpoint "
                                       "with scaling to simulate\n")


def test_a_missing_trace_file_is_named(files, tmp_path, capsys):
    template, _ = files
    missing = tmp_path / "nowhere.csv"
    assert main(["simulate", template, "--trace", str(missing)]) == 2
    assert capsys.readouterr().err == f"error: {missing}: no such file\n"


@pytest.mark.parametrize(("argv", "message"), [
    (["--slo", "overload=lots"], "--slo overload must be a number, got 'lots'"),
    (["--slo", "p95=60"], "--slo key 'p95' is not one of ['cut', 'overload', 'rejected'] "
                          "for realtime endpoints"),
    (["--slo", "overload=0.01", "--workers", "0"], "--workers must be >= 1, got 0"),
], ids=["slo-not-a-number", "slo-of-async-endpoints", "no-workers"])
def test_recommend_refuses_a_service_level_or_worker_count_it_cannot_use(files, capsys, argv,
                                                                         message):
    # Given a service level that is not a number, an asynchronous endpoint's figure for a
    # real-time endpoint, or no worker process
    _, trace = files
    # When recommend runs, then it stops before simulating, naming the option
    assert main(["recommend", "--trace", trace, "--kind", "realtime", "--pools",
                 "ml.g6.2xlarge", *argv]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only_and_cleared_at_the_end(monkeypatch):
    # Given stderr redirected to a file: no progress callback at all
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert cli._progress() is None
    assert cli._search_progress() is None
    # Given stderr on a terminal
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    show = cli._progress()
    assert show is not None
    # When the replay is half done, then a half-filled bar is drawn
    show(0.5)
    assert terminal.getvalue() == "\r[" + "#" * 15 + " " * 15 + "]  50%"
    # When it is done, then the bar is drawn full and blanked out
    show(1.0)
    assert terminal.getvalue().endswith("\r[" + "#" * 30 + "] 100%\r" + " " * 40 + "\r")


def test_search_progress_counts_candidates_and_clears_the_line_when_done(monkeypatch):
    # Given stderr on a terminal
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    show = cli._search_progress()
    assert show is not None
    # When no candidate meets the service level yet, then it says so
    show(1, 3, None)
    assert terminal.getvalue() == "\r\033[Kcandidate 1/3, none meets the service level yet"
    # When the last candidate is done, then the line is cleared
    show(3, 3, None)
    assert terminal.getvalue().endswith("candidate 3/3, none meets the service level yet"
                                        "\r\033[K")
