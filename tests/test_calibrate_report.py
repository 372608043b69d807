"""The calibration's table (deepgram_scaling.calibrate.report): a batch level's row, and the
notes a level carries into its verdict."""

from __future__ import annotations

from deepgram_scaling.calibrate.report import header, row
from deepgram_scaling.calibrate.result import LevelResult


def _batch_level(**fields: object) -> LevelResult:
    stats = {"attempts": 40, "failures": 1, "latency": {"p50": 0.42, "p95": None},
             "throughput_audio_s_per_s": 12.345, "notes": {"client-paced": 3}}
    given: dict[str, object] = {
        "concurrency": 8, "passed": True, "violations": (), "stats": stats,
        "started_at": "2026-12-05T10:00:00Z", "ended_at": "2026-12-05T10:01:00Z", **fields}
    return LevelResult(**given)


def test_a_batch_level_reads_as_requests_latency_throughput_and_failures():
    # Given a batch level that passed, with a latency percentile it could not compute
    level = _batch_level()
    # When shown, then the row lines up under the batch header, with '-' for the missing
    # percentile and the level's notes after the verdict
    assert header("batch") == "requests  latency p50/p95 ms audio s/s     failures  verdict"
    assert row("batch", level) == ("       8       420/-             12.35         1/40  pass "
                                   "[notes: client-paced 3]")


def test_a_failed_batch_level_names_its_violations():
    level = _batch_level(passed=False, violations=("latency_p95 > 2 s", "failures > 1%"))
    assert row("batch", level).endswith(
        "FAIL: latency_p95 > 2 s; failures > 1% [notes: client-paced 3]")
