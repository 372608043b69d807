"""Findings as text, JSON or SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .assembly import all_rules
from .rules import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/deepgram-scaling/"
#: A finding's level as SARIF 2.1.0 spells it (``result.level``: none, note, warning, error).
SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note", "note": "note"}


def sarif_level(level: str) -> str:
    """The SARIF level of a finding's or rule's level; an unknown level is a bug here, not
    something to report as ``error`` or drop."""
    try:
        return SARIF_LEVELS[level]
    except KeyError:
        raise ValueError(f"no SARIF level for finding level {level!r}") from None


@dataclass
class Report:
    """The findings of one template, with where its resources are for SARIF."""

    path: str
    findings: list[Finding]
    lines: Mapping[str, int] = field(default_factory=dict)


def as_text(reports: Sequence[Report]) -> str:
    lines = [f"{r.path}: {f.resource}: {f.level}: {f.message} [{f.rule}]"
             for r in reports for f in r.findings]
    errors = sum(f.level == "error" for r in reports for f in r.findings)
    warnings = sum(f.level == "warning" for r in reports for f in r.findings)
    templates = f"{len(reports)} template" + ("s" if len(reports) != 1 else "")
    lines.append(f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {templates}")
    return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("s" if n != 1 else "")


def as_json(reports: Sequence[Report]) -> str:
    """A list of ``{rule, level, resource, message}``, plus the ``template`` it is in."""
    return json.dumps([{**f.to_json(), "template": r.path} for r in reports
                       for f in r.findings], indent=2)


def as_sarif(reports: Sequence[Report], *, version: str = "0") -> str:
    rules_run = all_rules()
    index = {rule.id: n for n, rule in enumerate(rules_run)}
    rules = [{
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "help": {"text": f"Fix: {rule.fix}. Source: docs/aws-behaviour.md#{rule.anchor}"},
        "defaultConfiguration": {"level": sarif_level(rule.level)},
    } for rule in rules_run]
    results = []
    for report in reports:
        for finding in report.findings:
            location: dict[str, object] = {
                "physicalLocation": {"artifactLocation": {"uri": report.path.replace("\\", "/")}},
                "logicalLocations": [{"name": finding.resource, "kind": "resource"}],
            }
            line = report.lines.get(finding.resource)
            if line is not None:
                location["physicalLocation"]["region"] = {"startLine": line}  # type: ignore[index]
            result: dict[str, object] = {
                "ruleId": finding.rule,
                "level": sarif_level(finding.level),
                "message": {"text": f"{finding.resource}: {finding.message}"},
                "locations": [location],
            }
            if finding.rule in index:
                result["ruleIndex"] = index[finding.rule]
            results.append(result)
    return json.dumps({
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [{
            "tool": {"driver": {"name": "deepgram-scaling", "version": version,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "results": results,
        }],
    }, indent=2)
