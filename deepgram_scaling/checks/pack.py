"""``SageMakerScalingChecks``: the scaling rules as a cdk-nag 3 rule pack.

Used like cdk-nag's own packs::

    cdk.Validations.of(app).add_plugins(SageMakerScalingChecks(app))

cdk-nag visits one ``CfnResource`` at a time, but the rules judge the whole template (a
policy is wrong because of its endpoint's config). At validation time CDK has already
written each stack's template, so the pack reads it once per stack, runs the same rule
functions as ``deepgram-scaling check`` and reports each finding on the resource it names.
Findings are acknowledged like any cdk-nag finding::

    cdk.Validations.of(scope).acknowledge(
        cdk.Acknowledgment(id="SageMakerScaling-RetainVariantProperties", reason="..."))

An acknowledgement of a replaced id (``SageMakerScaling-BacklogMetricDimensions``) also
covers the rule that replaced it (``MetricDimensions``), so apps written against an older
release keep synthesizing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import cast

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from .rules import ALIASES, PACK, RULES, Finding, check_template
from .template import load_template

_LEVELS = {"error": NagMessageLevel.ERROR, "warning": NagMessageLevel.WARN}
_RULES_BY_ID = {rule.id: rule for rule in RULES}

#: Findings by template file, keyed also by its modification time and size, so one
#: synthesis reads each template once and a later synthesis sees the new one.
_cache: dict[tuple[str, int, int], dict[str, list[Finding]]] = {}


def _findings_by_resource(path: Path) -> dict[str, list[Finding]]:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _cache:
        by_resource: dict[str, list[Finding]] = {}
        for finding in check_template(load_template(path)):
            by_resource.setdefault(finding.resource, []).append(finding)
        _cache.clear()  # one template at a time is all a synthesis needs
        _cache[key] = by_resource
    return _cache[key]


def _acknowledged_under_an_old_id(node: cdk.CfnResource, rule_name: str) -> bool:
    """Whether the resource or one of its scopes acknowledges a replaced id of the rule."""
    old_ids = [f"{PACK}-{old}" for old, new in ALIASES.items() if new == rule_name]
    if not old_ids:
        return False
    for scope in node.node.scopes:
        for entry in scope.node.metadata:
            data = entry.data
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY and isinstance(
                    data, Mapping) and any(str(key).endswith(old) for key in data
                                           for old in old_ids):
                return True
    return False


@jsii.implements(IApplyRule)
class _Violation:
    """One rule's findings on one resource, in the shape cdk-nag's ``applyRule`` takes.

    jsii reads these through class-level properties; the rule callback reports the finding
    that was already computed."""

    def __init__(self, node: cdk.CfnResource, rule_id: str, level: str,
                 messages: list[str]) -> None:
        self._node = node
        self._rule = _RULES_BY_ID[rule_id]
        self._level = level
        self._messages = messages

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    @property
    def info(self) -> str:
        return "; ".join(self._messages)

    @property
    def explanation(self) -> str:
        return (f"Fires when {self._rule.summary}. Fix: {self._rule.fix}. "
                f"See docs/aws-behaviour.md#{self._rule.anchor} in deepgram-scaling.")

    @property
    def level(self) -> NagMessageLevel:
        # a finding's own level: a rule may report a doubtful case one level below its own
        return _LEVELS[self._level]

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.name

    def rule(self, node: cdk.CfnResource) -> NagRuleCompliance:
        return NagRuleCompliance.NON_COMPLIANT


class SageMakerScalingChecks(NagPack):
    """Scaling-correctness rules for SageMaker endpoints, as a cdk-nag rule pack.

    Rule ids are ``SageMakerScaling-<RuleName>``; ``deepgram_scaling.checks.RULES`` lists
    them. A finding fails synthesis and is written to ``<outdir>/validation-report.json``.

    :param scope: The app (or any construct) the pack is attached to.
    :param verbose: Add each rule's explanation and fix to its messages. Default: False
    """

    def __init__(self, scope: IConstruct | None = None, *, verbose: bool = False) -> None:
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK

    @property
    def name(self) -> str:
        return PACK

    def _check_resource(self, node: cdk.CfnResource) -> None:
        stack = cdk.Stack.of(node)
        stage = cdk.Stage.of(stack)
        if stage is None:
            return
        path = Path(stage.outdir) / stack.template_file
        if not path.is_file():  # e.g. a nested stack's template, written as an asset
            return
        findings = _findings_by_resource(path).get(stack.resolve(node.logical_id), [])
        by_rule: dict[tuple[str, str], list[str]] = {}
        for finding in findings:
            by_rule.setdefault((finding.rule, finding.level), []).append(finding.message)
        for (rule_id, level), messages in by_rule.items():
            if _acknowledged_under_an_old_id(node, _RULES_BY_ID[rule_id].name):
                continue
            self._apply_rule(cast(IApplyRule, _Violation(node, rule_id, level, messages)))
