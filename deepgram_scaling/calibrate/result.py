"""A calibration's result: every level measured, the capacity and the target, as JSON.

The JSON document is versioned (``schema_version``) and described by :data:`JSON_SCHEMA`
(draft 2020-12); docs/calibration.md explains each field. Times inside are seconds.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from .slo import STREAM_METRICS, Slo, parse_slo, summary

SCHEMA_VERSION = 1
#: How ``stopped`` begins when the caller's credentials were refused mid-run.
CREDENTIALS_REFUSED = "the credentials were refused"
#: Deepgram's guidance: hold 70-80 % of the measured capacity
#: (docs/aws-behaviour.md#deepgram-sizing-by-load-test).
DEFAULT_TARGET_FRACTION = 0.75


def tool_version() -> str:
    try:
        return metadata.version("deepgram-scaling")
    except metadata.PackageNotFoundError:
        return "unknown"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class LevelResult:
    """One level held for ``hold_s``: its statistics and whether it met the SLO.

    ``stats`` holds ``attempts``, ``failures``, ``failure_rate``, ``failure_kinds`` and one
    percentile summary per latency metric (``first_result``, ``finalization``,
    ``connect`` for streams; ``latency`` and ``throughput_audio_s_per_s`` for batch).
    """

    concurrency: int
    passed: bool
    violations: tuple[str, ...]
    stats: dict[str, Any]
    started_at: str
    ended_at: str
    interrupted: bool = False
    #: What weakens the verdict without failing it: terms judged on too few samples, a
    #: client that set the pace.
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"concurrency": self.concurrency, "passed": self.passed,
                "violations": list(self.violations), "started_at": self.started_at,
                "ended_at": self.ended_at, "interrupted": self.interrupted,
                "inconclusive": list(self.notes), **self.stats}

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> LevelResult:
        fixed = {"concurrency", "passed", "violations", "started_at", "ended_at", "interrupted",
                 "inconclusive"}
        return cls(concurrency=int(item["concurrency"]), passed=bool(item["passed"]),
                   violations=tuple(item["violations"]), started_at=item["started_at"],
                   ended_at=item["ended_at"], interrupted=bool(item.get("interrupted")),
                   notes=tuple(item.get("inconclusive", ())),
                   stats={k: v for k, v in item.items() if k not in fixed})


def target_for(capacity: int | None, fraction: float) -> int | None:
    """Whole streams: ``floor(capacity x fraction)``, at least 1 when anything passed."""
    if capacity is None or capacity < 1:
        return None
    return max(1, math.floor(capacity * fraction + 1e-9))


@dataclass(kw_only=True)
class CalibrationResult:
    """Everything a calibration measured and concluded."""

    mode: str
    target: dict[str, Any]
    model: str
    params: dict[str, str]
    audio: dict[str, Any]
    slo: Slo
    hold_s: float
    time_scale: float
    target_fraction: float
    started_at: str
    ended_at: str = ""
    levels: list[LevelResult] = field(default_factory=list)
    capacity: int | None = None
    interrupted: bool = False
    stopped: str = ""
    tool_version: str = field(default_factory=tool_version)
    #: The highest passing level, before dividing by the instances that served it.
    measured_capacity: int | None = None
    #: Seeds the point of the audio file each stream starts at; the same seed, audio and
    #: levels start the streams at the same points again.
    seed: int = 0
    #: How many streams ran when the lags that lag growth is judged against were measured
    #: (1: a stream alone); None for batch.
    growth_reference: int | None = None
    #: How many finals (points of the file) that reference holds.
    growth_reference_points: int | None = None
    #: ``[from, to]`` seconds of the audio file the streams started within, when the audio
    #: is longer than the hold (the reference covered only that stretch); None otherwise.
    start_window_s: list[float] | None = None

    @property
    def instance_type(self) -> str | None:
        value = self.target.get("instance_type")
        return value if isinstance(value, str) else None

    @property
    def target_concurrency(self) -> int | None:
        return target_for(self.capacity, self.target_fraction)

    @property
    def instance_count(self) -> int:
        value = self.target.get("instance_count")
        return value if isinstance(value, int) and value > 1 else 1

    @property
    def lower_bound(self) -> bool:
        """Whether every level passed up to the stream cap: the capacity is at least this."""
        return self.stopped.startswith("stream cap") and "every level passing" in self.stopped

    def set_capacity(self, measured: int | None) -> None:
        """The capacity per instance: with ``--allow-scaling`` on ``n`` instances, the
        highest passing level divided by ``n`` (rounded down)."""
        self.measured_capacity = measured
        if measured is None:
            self.capacity = None
        else:
            self.capacity = measured // self.instance_count or None

    def capacity_caveats(self) -> list[str]:
        """What may have hidden an overload at the measured capacity: the keeps-up term
        left unmeasured, or a client that set the pace (a first-result percentile on few
        samples, usual below 20 streams, is not one of them)."""
        found: list[str] = []
        for level in self.levels:
            if level.passed and level.concurrency == self.measured_capacity:
                found += [note for note in level.notes if note not in found
                          and note.startswith(("lag_growth", "client-bound"))]
        return found

    def sizing_problems(self) -> list[str]:
        """Why this result must not size a fleet (empty when it may)."""
        found = []
        if self.mode != "stream":
            found.append(f"it measured {self.mode} requests, not concurrent streams")
        if self.time_scale != 1:
            found.append(f"it ran on an accelerated clock (time_scale {self.time_scale:g}), "
                         "which only the emulator understands")
        if self.interrupted:
            found.append(f"it was interrupted ({self.stopped})")
        if self.stopped.startswith(CREDENTIALS_REFUSED):
            found.append(f"it stopped when {self.stopped}")
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION, "tool": "deepgram-scaling calibrate",
            "tool_version": self.tool_version, "mode": self.mode, "target": self.target,
            "instance_type": self.instance_type, "model": self.model, "params": self.params,
            "audio": self.audio, "slo": self.slo.to_json(), "slo_text": str(self.slo),
            "hold_s": self.hold_s, "time_scale": self.time_scale, "seed": self.seed,
            "growth_reference": self.growth_reference,
            "growth_reference_points": self.growth_reference_points,
            "start_window_s": self.start_window_s,
            "started_at": self.started_at, "ended_at": self.ended_at,
            "levels": [level.to_json() for level in self.levels],
            "capacity": self.capacity, "measured_capacity": self.measured_capacity,
            "capacity_is_lower_bound": self.lower_bound,
            "target_fraction": self.target_fraction,
            "target_concurrency": self.target_concurrency,
            "interrupted": self.interrupted, "stopped": self.stopped,
        }

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CalibrationResult:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"calibration result schema_version must be {SCHEMA_VERSION}, "
                             f"got {version!r}")
        return cls(mode=data["mode"], target=data["target"], model=data["model"],
                   params=data["params"], audio=data["audio"], slo=Slo.from_json(data["slo"]),
                   hold_s=data["hold_s"], time_scale=data["time_scale"],
                   target_fraction=data["target_fraction"], started_at=data["started_at"],
                   ended_at=data["ended_at"],
                   levels=[LevelResult.from_json(level) for level in data["levels"]],
                   capacity=data["capacity"], interrupted=data["interrupted"],
                   stopped=data["stopped"], tool_version=data["tool_version"],
                   measured_capacity=data.get("measured_capacity", data["capacity"]),
                   seed=data.get("seed", 0), growth_reference=data.get("growth_reference"),
                   growth_reference_points=data.get("growth_reference_points"),
                   start_window_s=data.get("start_window_s"))


def example_result(instance_type: str, *, capacity: int,
                   target_fraction: float = DEFAULT_TARGET_FRACTION) -> CalibrationResult:
    """A stream result with one passing level at ``capacity`` on one ``instance_type``: what
    a calibration of that type would write, for examples and tests (nothing is measured).

    :param target_fraction: Default: 0.75.
    """
    stats = {"attempts": capacity, "failures": 0, "failure_rate": 0.0, "failure_kinds": {},
             "first_result": summary([0.4, 0.5]), "finalization": summary([0.6]),
             "connect": summary([0.01])}
    return CalibrationResult(
        mode="stream",
        target={"kind": "endpoint", "endpoint_name": "example", "region": "us-east-1",
                "instance_type": instance_type, "instance_count": 1},
        model="nova-3", params={"smart_format": "true"},
        audio={"source": "example.wav", "encoding": "linear16", "sample_rate": 16000,
               "channels": 1, "duration_s": 30.0},
        slo=parse_slo("first_result_p95<=1,failures<=0.5%", metrics=STREAM_METRICS),
        hold_s=60, time_scale=1, target_fraction=target_fraction,
        started_at="2026-12-05T10:00:00+00:00", ended_at="2026-12-05T10:30:00+00:00",
        levels=[LevelResult(concurrency=capacity, passed=True, violations=(), stats=stats,
                            started_at="2026-12-05T10:00:00+00:00",
                            ended_at="2026-12-05T10:01:00+00:00")],
        capacity=capacity, measured_capacity=capacity)


def load_result(path: str | Path) -> CalibrationResult:
    """Read a result file written by ``deepgram-scaling calibrate ... --json FILE``.

    :raises ValueError: when the file is not a calibration result of this schema version.
    """
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not JSON: {err}") from None
    if not isinstance(data, dict) or data.get("tool") != "deepgram-scaling calibrate":
        raise ValueError(f"{path} is not a result of deepgram-scaling calibrate")
    return CalibrationResult.from_json(data)


_SUMMARY = {"type": "object", "required": ["p50", "p90", "p95", "p99", "max"],
            "properties": {**{k: {"type": ["number", "null"]}
                              for k in ("p50", "p90", "p95", "p99", "max")},
                           "n": {"type": "integer", "minimum": 0}}}

#: JSON Schema of the result file (documented in docs/calibration.md#json-schema).
JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "deepgram-scaling calibration result",
    "type": "object",
    "required": ["schema_version", "tool", "tool_version", "mode", "target", "instance_type",
                 "model", "params", "audio", "slo", "hold_s", "time_scale", "started_at",
                 "ended_at", "levels", "capacity", "target_fraction", "target_concurrency",
                 "interrupted", "stopped"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "tool": {"const": "deepgram-scaling calibrate"},
        "tool_version": {"type": "string"},
        "mode": {"enum": ["stream", "batch"]},
        "target": {"type": "object", "required": ["kind"],
                   "properties": {"kind": {"enum": ["url", "endpoint", "transport"]},
                                  "url": {"type": "string"},
                                  "endpoint_name": {"type": "string"},
                                  "region": {"type": "string"},
                                  "variant_name": {"type": "string"},
                                  "instance_type": {"type": ["string", "null"]},
                                  "instance_count": {"type": ["integer", "null"]}}},
        "instance_type": {"type": ["string", "null"]},
        "model": {"type": "string"},
        "params": {"type": "object", "additionalProperties": {"type": "string"}},
        "audio": {"type": "object",
                  "required": ["source", "encoding", "sample_rate", "channels", "duration_s"]},
        "slo": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["metric", "percentile", "bound"],
            "properties": {"metric": {"enum": ["first_result", "finalization", "lag_growth",
                                               "latency", "failures"]},
                           "percentile": {"type": ["integer", "null"]},
                           "bound": {"type": "number", "minimum": 0}}}},
        "hold_s": {"type": "number", "exclusiveMinimum": 0},
        "time_scale": {"type": "number", "exclusiveMinimum": 0},
        "seed": {"type": "integer"},
        "growth_reference": {"type": ["integer", "null"], "minimum": 1},
        "growth_reference_points": {"type": ["integer", "null"], "minimum": 0},
        "start_window_s": {"type": ["array", "null"], "items": {"type": "number"},
                           "minItems": 2, "maxItems": 2},
        "started_at": {"type": "string"},
        "ended_at": {"type": "string"},
        "levels": {"type": "array", "items": {
            "type": "object",
            "required": ["concurrency", "passed", "violations", "started_at", "ended_at",
                         "interrupted", "attempts", "failures", "failure_rate",
                         "failure_kinds"],
            "properties": {"concurrency": {"type": "integer", "minimum": 1},
                           "passed": {"type": "boolean"},
                           "violations": {"type": "array", "items": {"type": "string"}},
                           "attempts": {"type": "integer", "minimum": 0},
                           "failures": {"type": "integer", "minimum": 0},
                           "failure_rate": {"type": "number", "minimum": 0, "maximum": 1},
                           "failure_kinds": {"type": "object",
                                             "additionalProperties": {"type": "integer"}},
                           "inconclusive": {"type": "array", "items": {"type": "string"}},
                           "notes": {"type": "object",
                                     "additionalProperties": {"type": "integer"}},
                           "first_result": _SUMMARY, "finalization": _SUMMARY,
                           "lag_growth": _SUMMARY, "loop_lag": _SUMMARY,
                           "connect": _SUMMARY, "latency": _SUMMARY,
                           "skipped_messages": {"type": "integer", "minimum": 0},
                           "throughput_audio_s_per_s": {"type": "number", "minimum": 0}}}},
        "capacity": {"type": ["integer", "null"], "minimum": 1},
        "measured_capacity": {"type": ["integer", "null"], "minimum": 1},
        "capacity_is_lower_bound": {"type": "boolean"},
        "target_fraction": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "target_concurrency": {"type": ["integer", "null"], "minimum": 1},
        "interrupted": {"type": "boolean"},
        "stopped": {"type": "string"},
    },
}


def calibration_target(path: str | Path) -> int:
    """``target_concurrency_per_instance`` from a result file: the target it concluded.

    :raises ValueError: when no level of that calibration met its SLO, or the result must
        not size a fleet (batch, accelerated or interrupted).
    """
    result = load_result(path)
    found = result.sizing_problems()
    if found:
        raise ValueError(f"{path} cannot give a target: {'; '.join(found)}")
    if result.target_concurrency is None:
        raise ValueError(f"{path}: no level met the SLO ({result.slo}), so it gives no target")
    warn_inconclusive(result, f"calibration_target: {path!r}")
    return result.target_concurrency


def warn_inconclusive(result: CalibrationResult, where: str) -> None:
    """Warn when the capacity's level passed on terms it could not fully judge."""
    caveats = result.capacity_caveats()
    if caveats:
        warnings.warn(f"{where}: the capacity {result.capacity} passed on an inconclusive "
                      f"verdict ({'; '.join(caveats)}): hold longer or rerun before sizing a "
                      "fleet by it (docs/calibration.md#keeps-up)", stacklevel=3)
