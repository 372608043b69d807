"""SageMakerScalingChecks, the rules as a cdk-nag pack: a correct app passes, a wrong one
fails synthesis with the rule ids in validation-report.json, acknowledgements work, the
pack and the CLI agree, and the constructs' own templates are clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import cloudformation_include as cfn_inc
from aws_cdk.assertions import Template

import app as example_app_module
from deepgram_scaling import SageMakerScalingChecks
from deepgram_scaling.checks import check_template
from deepgram_scaling.checks.cli import main as check_main

from .checks_templates import NON_COMPLIANT, _schedules, build
from .conftest import AsyncOwnStorageScenario, SingleTypeScenario, cdk_context

#: cloudformation-include cannot take an Fn::Transform where a property's value belongs, so
#: TransformNotExpanded is tested on templates only (tests/test_checks.py)
WRONG_CASES = [(rule, case, mutation) for rule, cases in NON_COMPLIANT.items()
               for case, mutation, _ in cases if rule != "TransformNotExpanded"]


def _app(outdir: Path) -> cdk.App:
    app = cdk.App(context=cdk_context(), outdir=str(outdir))
    cdk.Validations.of(app).add_plugins(SageMakerScalingChecks(app))
    return app


def _include(app: cdk.App, name: str, template: dict[str, Any], folder: Path
             ) -> cfn_inc.CfnInclude:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(template))
    stack = cdk.Stack(app, name)
    return cfn_inc.CfnInclude(stack, "Included", template_file=str(path))


def _violations(outdir: Path) -> set[tuple[str, str, str]]:
    """(stack, rule id, logical id) of every violation in validation-report.json."""
    report = json.loads((outdir / "validation-report.json").read_text())
    found = set()
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                path = construct["constructPath"].split("/")
                found.add((path[0], violation["ruleName"], path[-1]))
    return found


def test_a_correct_app_passes(tmp_path: Path):
    # given the compliant fixture in an app carrying the pack
    app = _app(tmp_path / "out")
    _include(app, "Correct", build(), tmp_path)
    # when it synthesizes, then nothing is reported
    app.synth()
    assert _violations(tmp_path / "out") == set()


@pytest.fixture(scope="module")
def wrong_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One app with a stack per non-compliant fixture, synthesized once."""
    folder = tmp_path_factory.mktemp("wrong")
    app = _app(folder / "out")
    for n, (_, _, mutation) in enumerate(WRONG_CASES):
        _include(app, f"Wrong{n}", build(mutation), folder)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return folder, folder / "out"


def test_a_wrong_app_fails_with_the_rule_ids_in_the_report(wrong_app: tuple[Path, Path]):
    _, outdir = wrong_app
    rules = {rule for _, rule, _ in _violations(outdir)}
    assert {f"SageMakerScaling-{rule}" for rule, _, _ in WRONG_CASES} <= rules


def test_the_pack_and_the_cli_agree_on_every_fixture(
        wrong_app: tuple[Path, Path], capsys: pytest.CaptureFixture[str]):
    folder, outdir = wrong_app
    from_pack = _violations(outdir)
    for n in range(len(WRONG_CASES)):
        check_main([str(folder / f"Wrong{n}.json"), "--format", "json"])
        from_cli = {(f"Wrong{n}", f["rule"], f["resource"])
                    for f in json.loads(capsys.readouterr().out)}
        assert from_cli == {v for v in from_pack if v[0] == f"Wrong{n}"}, WRONG_CASES[n][:2]


def test_findings_can_be_acknowledged(tmp_path: Path):
    # given a wrong template whose findings are acknowledged on their resources
    template = build(NON_COMPLIANT["RealtimeMinCapacity"][0][1],
                     NON_COMPLIANT["RetainVariantProperties"][0][1])
    app = _app(tmp_path / "out")
    included = _include(app, "Acknowledged", template, tmp_path)
    for logical_id, rule in (("RtTarget", "RealtimeMinCapacity"),
                             ("RtEndpoint", "RetainVariantProperties")):
        cdk.Validations.of(included.get_resource(logical_id)).acknowledge(
            cdk.Acknowledgment(id=f"SageMakerScaling-{rule}", reason="test: accepted on purpose"))
    # when it synthesizes, then it passes and the report holds no violation: the
    # acknowledgements took effect (without them it fails, as the next test shows)
    app.synth()
    assert _violations(tmp_path / "out") == set()
    assert {f.rule for f in check_template(template)} >= {
        "SageMakerScaling-RealtimeMinCapacity", "SageMakerScaling-RetainVariantProperties"}


def test_a_finding_keeps_its_own_level_in_the_pack(tmp_path: Path):
    # given a schedule that AWS may accept ('rate(1 minutes)'): ScheduleExpression, an error
    # rule, reports it one level down, as a warning
    template = build(_schedules("rate(1 minutes)"))
    assert {(f.rule, f.level) for f in check_template(template)} == {
        ("SageMakerScaling-ScheduleExpression", "warning")}
    app = _app(tmp_path / "out")
    _include(app, "Doubtful", template, tmp_path)
    # when it synthesizes (cdk-nag fails synthesis on warnings too)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    # then the report carries the finding's level, not the rule's
    report = json.loads((tmp_path / "out" / "validation-report.json").read_text())
    severities = {(v["ruleName"], v["severity"]) for plugin in report["pluginReports"]
                  for v in plugin["violations"]}
    assert severities == {("SageMakerScaling-ScheduleExpression", "warning")}


def test_acknowledging_the_old_backlog_rule_id_covers_its_successor(tmp_path: Path):
    # given a backlog alarm with VariantName (MetricDimensions), acknowledged under the id
    # the rule had before it covered every catalogued metric
    mutation, = [m for case, m, _ in NON_COMPLIANT["MetricDimensions"]
                 if case == "backlog-alarm-with-variant-name"]
    app = _app(tmp_path / "out")
    included = _include(app, "OldId", build(mutation), tmp_path)
    cdk.Validations.of(included.get_resource("AsyncWakeUpAlarm")).acknowledge(
        cdk.Acknowledgment(id="SageMakerScaling-BacklogMetricDimensions", reason="test"))
    # when it synthesizes, then nothing is reported
    app.synth()
    assert _violations(tmp_path / "out") == set()


def test_an_acknowledgement_of_another_rule_does_not_hide_a_finding(tmp_path: Path):
    template = build(NON_COMPLIANT["RealtimeMinCapacity"][0][1])
    app = _app(tmp_path / "out")
    included = _include(app, "Other", template, tmp_path)
    cdk.Validations.of(included).acknowledge(
        cdk.Acknowledgment(id="SageMakerScaling-RetainVariantProperties", reason="test"))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert ("Other", "SageMakerScaling-RealtimeMinCapacity", "RtTarget") in _violations(
        tmp_path / "out")


# --- the constructs' own templates -------------------------------------------------------


def _own_templates(example_template: Template, single_type: SingleTypeScenario,
                   two_endpoints: Template, async_own_storage: AsyncOwnStorageScenario
                   ) -> dict[str, dict[str, Any]]:
    return {"example": example_template.to_json(), "single_type": single_type.template.to_json(),
            "two_endpoints": two_endpoints.to_json(),
            "async_own_storage": async_own_storage.template.to_json()}


def test_the_constructs_templates_pass_every_rule(
        example_template: Template, single_type: SingleTypeScenario, two_endpoints: Template,
        async_own_storage: AsyncOwnStorageScenario):
    # the example app also carries the pack (app.py), so its synthesis already proves it
    templates = _own_templates(example_template, single_type, two_endpoints, async_own_storage)
    findings = {name: [f.to_json() for f in check_template(t)] for name, t in templates.items()}
    assert findings == {name: [] for name in templates}


def test_the_constructs_mark_their_endpoints_for_the_deepgram_rules(
        two_endpoints: Template, async_own_storage: AsyncOwnStorageScenario):
    # given the constructs' templates: each endpoint carries this library's metadata
    from aws_cdk.assertions import Match
    for template, kind in ((two_endpoints, "realtime"), (async_own_storage.template, "async")):
        template.has_resource("AWS::SageMaker::Endpoint", {"Metadata": Match.object_like({
            "deepgram-scaling": {"version": Match.any_value(), "kind": kind}})})
    # when a real-time policy's scale-in cooldown is shortened and the rules run
    realtime = json.loads(json.dumps(two_endpoints.to_json()))
    for resource in realtime["Resources"].values():
        config = resource.get("Properties", {}).get("TargetTrackingScalingPolicyConfiguration")
        if config is not None:
            config["ScaleInCooldown"] = 60
    findings = [f for f in check_template(realtime)
                if f.rule == "SageMakerScaling-StreamingScaleInCooldown"]
    # then the Deepgram-only rule judges them, naming the metadata as its evidence
    assert findings and all("deepgram-scaling metadata, kind realtime" in f.message
                            for f in findings)


def test_the_example_app_fails_when_its_scaling_goes_wrong(tmp_path: Path):
    # given the example app (app.py attaches the pack) with one endpoint no longer retaining
    # its variant properties
    app = example_app_module.build_app(context=cdk_context(), outdir=str(tmp_path / "out"))
    stack = app.node.find_child("DeepgramScalingExample")
    assert isinstance(stack, example_app_module.DeepgramExampleStack)
    stack.realtime.cfn_endpoint.add_property_override("RetainAllVariantProperties", False)
    # when it synthesizes, then the pack fails it and names the rule
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert {rule for _, rule, _ in _violations(tmp_path / "out")} == {
        "SageMakerScaling-RetainVariantProperties"}
