"""``deepgram-scaling check`` over the corpus of public templates in ``tests/corpus/``.

Each corpus item is a folder with the template as it was found (``template.json`` or
``template.yaml``) or a synthesized CDK app (its ``*.template.json`` files and ``manifest.json``),
a ``SOURCE.md`` and an ``expected.json``: the findings AWS's documentation predicts, written before
the checker was run. ``python -m bench.corpus_score`` prints the corpus size and the checker's
precision and recall over every finding (errors and warnings), then what it missed and what it
reported beyond the expectations.

The checker runs through its CLI (``--format json``), in this process, so that the score measures
what a user sees.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from deepgram_scaling.checks.cli import main as check_main

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"

#: The rule ids an expectation may name (issue 18, item 1).
RULE_IDS = frozenset({
    "AsyncWakeUpFromZero", "MetricPublishedByEndpointType", "RealtimeMinCapacity",
    "AsyncScaleInStepFlaps", "AlarmTopicAllowsCloudWatch", "ScalableTargetResolvesToEndpoint",
    "ScalableTargetVariantExists", "EndpointNameDimensionIsAName",
    "MixedFleetSignalSurvivesEmptyPool", "StreamingScaleInCooldown", "RetainVariantProperties",
    "MetricDimensions", "WakeUpAddsWhileRunning", "WakeUpOnIndirectSignal",
    "InferenceComponentWakeUpFromZero", "InferenceComponentWakeUpNeedsTwoFailures",
    "InferenceComponentManagedScaling", "ScheduleExpression", "TransformNotExpanded",
})

#: Ids the checker may still report under an older name. ``MetricDimensions`` replaces the
#: backlog-only rule and keeps its id as an alias (issue 18, item 2).
ALIASES = {"BacklogMetricDimensions": "MetricDimensions"}

RULE_PREFIX = "SageMakerScaling-"
TEMPLATE_FILES = ("template.json", "template.yaml", "template.yml")


@dataclass(frozen=True)
class Finding:
    """One finding, reduced to what an expectation names. ``template`` is the file name inside a
    multi-template item, or ``None`` for an item with one template."""

    rule: str
    resource: str
    level: str
    template: str | None = None

    def __str__(self) -> str:
        where = f"{self.template}: " if self.template else ""
        return f"{where}{self.resource}: {self.level}: {self.rule}"


@dataclass(frozen=True)
class Outcome:
    """What the checker found on one corpus item against what was expected."""

    item: str
    expected: tuple[Finding, ...]
    reported: tuple[Finding, ...]

    @property
    def found(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.expected if f in self.reported)

    @property
    def missed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.expected if f not in self.reported)

    @property
    def unexpected(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.reported if f not in self.expected)


def items(corpus: Path = CORPUS) -> list[Path]:
    """Every corpus folder, by name."""
    return sorted(p.parent for p in corpus.glob("*/expected.json"))


def target(item: Path) -> Path:
    """The file to check, or the folder itself for a synthesized app of several templates."""
    for name in TEMPLATE_FILES:
        if (item / name).is_file():
            return item / name
    return item


def is_app(item: Path) -> bool:
    return target(item) == item


def template_count(item: Path) -> int:
    return 1 if not is_app(item) else len(list(item.glob("*.template.json")))


def rule_name(rule_id: str) -> str:
    name = rule_id.removeprefix(RULE_PREFIX)
    return ALIASES.get(name, name)


def expected(item: Path) -> tuple[Finding, ...]:
    entries = json.loads((item / "expected.json").read_text(encoding="utf-8"))
    return tuple(Finding(e["rule"], e["resource"], e["level"], e.get("template"))
                 for e in entries)


def _reported(item: Path, entries: Iterable[Mapping[str, Any]]) -> tuple[Finding, ...]:
    app = is_app(item)
    return tuple(Finding(rule_name(e["rule"]), e["resource"], e["level"],
                         Path(e["template"]).name if app and e.get("template") else None)
                 for e in entries)


@cache
def run(item: Path) -> Outcome:
    """Run ``deepgram-scaling check <template or folder> --format json`` on one item."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = check_main([str(target(item)), "--format", "json"])
    if status not in (0, 1):
        raise RuntimeError(f"check could not read {item.name} (exit status {status})")
    return Outcome(item.name, expected(item), _reported(item, json.loads(out.getvalue())))


@dataclass(frozen=True)
class Score:
    items: int
    templates: int
    expected: int
    found: int
    reported: int

    @property
    def precision(self) -> float:
        return self.found / self.reported if self.reported else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0


def score(outcomes: Sequence[Outcome], templates: int) -> Score:
    return Score(
        items=len(outcomes),
        templates=templates,
        expected=sum(len(o.expected) for o in outcomes),
        found=sum(len(o.found) for o in outcomes),
        reported=sum(len(o.reported) for o in outcomes),
    )


def report(outcomes: Sequence[Outcome], total: Score, *, today: datetime.date) -> str:
    lines = [
        f"corpus: {total.items} items, {total.templates} templates, "
        f"{total.expected} expected findings ({today.isoformat()})",
        f"precision: {total.precision:.2f} ({total.found} of {total.reported} reported findings "
        "were expected)",
        f"recall: {total.recall:.2f} ({total.found} of {total.expected} expected findings "
        "were reported)",
    ]
    for level in ("error", "warning"):
        exp = sum(f.level == level for o in outcomes for f in o.expected)
        rep = sum(f.level == level for o in outcomes for f in o.reported)
        hit = sum(f.level == level for o in outcomes for f in o.found)
        lines.append(f"  {level}s: {hit} of {exp} expected reported; {rep - hit} reported "
                     "beyond the expectations")
    for outcome in outcomes:
        for finding in outcome.missed:
            lines.append(f"missed      {outcome.item}: {finding}")
        for finding in outcome.unexpected:
            lines.append(f"unexpected  {outcome.item}: {finding}")
    return "\n".join(lines)


def main() -> int:
    corpus = items()
    outcomes = [run(item) for item in corpus]
    total = score(outcomes, sum(template_count(item) for item in corpus))
    print(report(outcomes, total, today=datetime.datetime.now(datetime.UTC).date()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
