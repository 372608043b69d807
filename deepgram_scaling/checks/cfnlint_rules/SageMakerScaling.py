"""The scaling rules as cfn-lint rules, loaded by ``cfn-lint --append-rules``.

One ``CloudFormationLintRule`` subclass per rule, with the rule's id (``E`` + number for an
error, ``W`` + number for a warning; ``_numbering.py``), its summary and its source page.
The checks run once per template and each class reports its own rule's findings on the
resource they name. A rule that reports a finding at the other level (a warning from an
error rule) reports it under the same number with the other letter.

cfn-lint imports this file by its path, outside any package: the imports are absolute.
"""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]

from deepgram_scaling.checks.cfnlint_rules._numbering import cfn_lint_id
from deepgram_scaling.checks.rules import RULES, Finding, Rule, check_template

#: Where the package is described; each rule's source is docs/aws-behaviour.md#<anchor>.
SOURCE = "https://pypi.org/project/deepgram-scaling/"

#: The last template checked and its findings: every rule class reads the same run.
_last: list[tuple[int, list[Finding]]] = []


def _findings(template: Any) -> list[Finding]:
    if _last and _last[0][0] == id(template):
        return _last[0][1]
    findings = check_template(template)
    _last[:] = [(id(template), findings)]
    return findings


def _path(template: Any, resource: str) -> list[str]:
    resources = template.get("Resources") if isinstance(template, dict) else None
    return ["Resources", resource] if isinstance(resources, dict) and resource in resources \
        else ["Resources"]


def _rule_class(rule: Rule, level: str, *, other: CloudFormationLintRule | None = None
                ) -> type[CloudFormationLintRule]:
    def match(self: CloudFormationLintRule, cfn: Any) -> list[RuleMatch]:
        matches = []
        for finding in _findings(cfn.template):
            if finding.rule != rule.id:
                continue
            found = RuleMatch(_path(cfn.template, finding.resource),
                              f"{finding.message} [{finding.rule}]")
            if finding.level != level and other is not None:
                found.rule = other
            elif finding.level != level:
                continue
            matches.append(found)
        return matches

    return type(rule.name, (CloudFormationLintRule,), {
        "id": cfn_lint_id(rule.name, level),
        "shortdesc": f"{rule.id}: {rule.summary.split(',')[0]}"[:120],
        "description": (f"Fires when {rule.summary}. Fix: {rule.fix}. Source: "
                        f"docs/aws-behaviour.md#{rule.anchor}"),
        "source_url": SOURCE,
        "tags": ["sagemaker", "applicationautoscaling", "deepgram-scaling"],
        "match": match,
    })


def _other_level(rule: Rule) -> CloudFormationLintRule:
    level = "warning" if rule.level == "error" else "error"
    sibling = type(f"{rule.name}Other", (CloudFormationLintRule,), {
        "id": cfn_lint_id(rule.name, level),
        "shortdesc": f"{rule.id} ({level})",
        "description": f"Fires when {rule.summary}. Fix: {rule.fix}.",
        "source_url": SOURCE,
    })
    return sibling()


# cfn-lint instantiates every CloudFormationLintRule subclass among this module's names
for _rule in RULES:
    globals()[_rule.name] = _rule_class(_rule, _rule.level, other=_other_level(_rule))
