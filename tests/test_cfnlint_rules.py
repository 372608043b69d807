"""The scaling checks inside cfn-lint: ``cfn-lint --append-rules <package rule directory>``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from cfnlint.api import lint

from deepgram_scaling.checks.cfnlint_rules import RULES_DIR
from deepgram_scaling.checks.cfnlint_rules._numbering import NUMBERS, cfn_lint_id, number
from deepgram_scaling.checks.rules import RULES, Finding, Rule

from .checks_templates import NON_COMPLIANT, build
from .conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "checks"


def lint_ids(template: dict[str, object] | str) -> list[tuple[str, int]]:
    text = template if isinstance(template, str) else json.dumps(template, indent=1)
    matches = lint(text, config={"append_rules": [str(RULES_DIR)], "regions": ["us-east-1"]})
    return [(m.rule.id, m.linenumber) for m in matches]


def test_the_wrong_fixture_fires_inside_cfn_lint_with_the_same_ids_and_levels():
    # given the committed non-compliant fixture, and what `deepgram-scaling check` says of it
    from deepgram_scaling.checks.rules import check_template

    template = json.loads((FIXTURES / "wrong.template.json").read_text())
    expected = {(cfn_lint_id(f.rule.removeprefix("SageMakerScaling-"), f.level), f.resource)
                for f in check_template(template)}
    # when cfn-lint runs with the package's rule directory
    found = lint_ids((FIXTURES / "wrong.template.json").read_text())
    # then it reports the same rules at the same levels, on the resources' lines
    lines = (FIXTURES / "wrong.template.json").read_text().splitlines()
    assert {(rule_id, lines[line - 1].strip().split('"')[1]) for rule_id, line in found} == (
        expected)
    assert any(rule_id.startswith("E") for rule_id, _ in found)
    assert any(rule_id.startswith("W") for rule_id, _ in found)


def test_the_correct_fixture_does_not_fire():
    assert lint_ids((FIXTURES / "correct.template.json").read_text()) == []


def test_one_rule_fires_and_stops_firing():
    # given the async endpoint without its wake-up, and the same with it
    broken = build(NON_COMPLIANT["AsyncWakeUpFromZero"][0][1])
    # when each is linted, then E9102 fires only on the broken one
    assert [rule_id for rule_id, _ in lint_ids(broken)] == ["E9102"]
    assert lint_ids(build()) == []


def test_the_cfn_lint_command_loads_the_directory_printed_by_the_package():
    # given the directory as the documented one-liner prints it
    printed = subprocess.run(
        [sys.executable, "-m", "deepgram_scaling.checks.cfnlint_rules"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert Path(printed) == RULES_DIR
    # when the cfn-lint command runs on both fixtures
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    wrong = subprocess.run([str(cfn_lint), "--append-rules", printed, "--",
                            str(FIXTURES / "wrong.template.json")],
                           capture_output=True, text=True, check=False)
    correct = subprocess.run([str(cfn_lint), "--append-rules", printed, "--",
                              str(FIXTURES / "correct.template.json")],
                             capture_output=True, text=True, check=False)
    # then the wrong one fails with the pack's ids in the messages, the correct one passes
    assert wrong.returncode != 0
    assert "E9102 " in wrong.stdout and "[SageMakerScaling-AsyncWakeUpFromZero]" in wrong.stdout
    assert (correct.returncode, correct.stdout) == (0, "")


def test_every_rule_has_its_own_stable_number():
    # every rule of the pack has an entry: a new rule gets its number here, for good
    assert {rule.name for rule in RULES} <= set(NUMBERS)
    assert len(set(NUMBERS.values())) == len(NUMBERS)
    assert all(9000 <= n < 9500 for n in NUMBERS.values())
    # a renamed rule keeps its number, a rule without one gets a stable one outside the table
    assert number("BacklogMetricDimensions") == number("MetricDimensions")
    assert number("SomeFutureRule") == number("SomeFutureRule")
    assert 9500 <= number("SomeFutureRule") < 10000
    assert cfn_lint_id("AsyncWakeUpFromZero", "error") == "E9102"
    assert cfn_lint_id("AsyncWakeUpFromZero", "warning") == "W9102"


def test_a_finding_at_the_other_level_keeps_the_number_with_the_other_letter():
    # given a rule whose default level is error but which reports one finding as a warning
    from deepgram_scaling.checks.cfnlint_rules import SageMakerScaling as module

    def check(_: object) -> list[Finding]:
        return [Finding("SageMakerScaling-AsyncWakeUpFromZero", "warning", "Target", "soft")]

    rule = Rule("AsyncWakeUpFromZero", "error", "s", "f", "wake-up-from-zero", check)
    cls = module._rule_class(rule, "error", other=module._other_level(rule))
    cfn = SimpleNamespace(template={"Resources": {"Target": {"Type": "X"}}})
    original = module.check_template
    module.check_template = lambda template: check(template)  # type: ignore[assignment]
    try:
        module._last.clear()
        (match,) = cls().match(cfn)
    finally:
        module.check_template = original
        module._last.clear()
    # then it is reported under W9102, on the resource
    assert (match.rule.id, match.path) == ("W9102", ["Resources", "Target"])


def test_importing_the_checks_does_not_import_cfn_lint_or_the_cdk():
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, deepgram_scaling.checks, "
         "deepgram_scaling.checks.cfnlint_rules, deepgram_scaling.checks.assembly, "
         "deepgram_scaling.checks.describe; "
         "print(any(m.split('.')[0] in ('cfnlint', 'aws_cdk', 'jsii') for m in sys.modules))"],
        capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"
