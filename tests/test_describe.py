"""``deepgram-scaling describe``: each scaled endpoint's scaling in words, JSON and Mermaid."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from deepgram_scaling.checks.describe import (
    as_mermaid,
    as_text,
    describe_path,
    describe_template,
    main,
)
from deepgram_scaling.checks.rules import RULES_BY_NAME as RULE_BY_NAME
from deepgram_scaling.cli import main as top_level_main

from .checks_templates import COMPLIANT, NON_COMPLIANT, build, compliant


@pytest.fixture(scope="module")
def example_path(example_app: cdk.App) -> str:
    stack = example_app.synth().get_stack_by_name("DeepgramScalingExample")
    return str(stack.template_full_path)


def endpoint_of(found: list[dict], kind: str) -> dict:
    (endpoint,) = [e for e in found if e["kind"] == kind]
    return endpoint


# --- the example app ---------------------------------------------------------------------


def test_the_example_async_endpoint_in_json(example_path, capsys):
    # given the example app's template, when it is described as JSON
    assert main([example_path, "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    batch = endpoint_of(found, "asynchronous")
    # then the pools are in priority order, the floor is 0 and the ceiling 4
    assert batch["pools"] == [{"variant": "AllTraffic", "initial_instance_count": 1,
                               "instance_types": ["ml.g6.2xlarge", "ml.g6e.2xlarge"]}]
    (target,) = batch["targets"]
    assert (target["floor"], target["ceiling"]) == (0, 4)
    # and the backlog policy keeps ApproximateBacklogSizePerInstance at 5 with its cooldowns
    tracking = next(p for p in target["policies"] if p["type"] == "target tracking")
    assert "ApproximateBacklogSizePerInstance" in tracking["signal"]
    assert (tracking["statistic"], tracking["target"]) == ("Average", 5)
    assert (tracking["scale_out_cooldown"], tracking["scale_in_cooldown"]) == ("300 s", "600 s")
    # and the wake-up is a +1 step from a backlog without capacity of 1, 2 of 2 minutes
    step = next(p for p in target["policies"] if p["type"] == "step")
    (alarm,) = step["alarms"]
    assert "HasBacklogWithoutCapacity" in alarm["signal"]
    assert (alarm["operator"], alarm["threshold"], alarm["period"], alarm["datapoints"],
            alarm["evaluation_periods"]) == (">=", 1, 60, 2, 2)
    assert step["steps"] == [{"interval": "[1, +inf)", "lower": 1, "upper": None,
                              "lower_inclusive": True, "upper_inclusive": False,
                              "relative_to_threshold": False, "adjustment": 1}]
    assert step["policy"] in target["wake_up"]
    # and the alarms that notify name their topic
    assert batch["alarms"]
    assert all(a["notifies"] for a in batch["alarms"])


def test_the_example_realtime_endpoint_in_words(example_path):
    # given the example template, when it is described as text
    text = as_text(describe_path(example_path))
    # then the real-time endpoint's schedule, target tracking and floor are there in words
    assert "(real-time)" in text
    assert "scheduled BusinessHoursFloor: cron(0 8 ? * MON-FRI *) (America/New_York): floor 2" \
        in text
    assert "SageMakerVariantConcurrentRequestsPerModelHighResolution at 15" in text
    assert "wake-up from zero: not needed: the floor is 1" in text
    assert "then ml.g6e.2xlarge" in text


def test_the_example_as_a_mermaid_flowchart(example_path):
    # given the example template, when it is drawn
    chart = as_mermaid(describe_path(example_path))
    lines = chart.splitlines()
    # then it is one flowchart whose every edge joins declared nodes
    assert lines[0] == "flowchart LR"
    declared = {line.split("[")[0].split("(")[0].split("{")[0].strip()
                for line in lines[1:] if "-->" not in line}
    edges = [line.split("-->") for line in lines if "-->" in line]
    assert edges
    assert all(a.strip() in declared and b.strip() in declared for a, b in edges)
    # and the wake-up alarm leads to its step policy, which leads to the target
    assert "HasBacklogWithoutCapacity" in chart and "#gt;= 1" in chart
    # and no label holds a raw < or > (Mermaid reads them as markup)
    labels = [line.split('"')[1] for line in lines[1:] if '"' in line]
    assert labels and not any("<" in label or ">" in label for label in labels)


# --- the hand-written fixtures: real bounds on both sides of the threshold -----------------


def test_scale_in_steps_below_the_threshold_are_exclusive_below_and_inclusive_above():
    # given a step policy driven by a LessThanThreshold alarm at 2, bounds (-inf, 0]
    template = compliant()
    resources = template["Resources"]
    resources["ScaleIn"] = {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
        "PolicyName": "scale-in", "PolicyType": "StepScaling",
        "ScalingTargetId": {"Ref": "AsyncTarget"},
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]}}}
    resources["Idle"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "ComparisonOperator": "LessThanThreshold", "Threshold": 2, "EvaluationPeriods": 15,
        "MetricName": "ApproximateBacklogSize", "Namespace": "AWS/SageMaker",
        "Statistic": "Average", "Period": 60, "AlarmActions": [{"Ref": "ScaleIn"}],
        "Dimensions": [{"Name": "EndpointName",
                        "Value": {"Fn::GetAtt": ["AsyncEndpoint", "EndpointName"]}}]}}
    # when it is described
    asynchronous = endpoint_of(describe_template(template), "asynchronous")
    policy = next(p for p in asynchronous["targets"][0]["policies"] if p["policy"] == "ScaleIn")
    # then the step acts for backlog <= 2 (upper inclusive below the threshold), cooldown 300
    assert policy["steps"][0]["interval"] == "(-inf, 2]"
    assert policy["cooldown"] == "300 s (default)"
    assert policy["alarms"][0]["datapoints"] == 15


def test_a_step_policy_without_an_alarm_keeps_relative_bounds():
    # given the compliant fixture's wake-up policy with its alarm removed
    template = compliant()
    alarm = next(lid for lid, r in template["Resources"].items()
                 if r["Type"] == "AWS::CloudWatch::Alarm"
                 and r["Properties"].get("MetricName") == "HasBacklogWithoutCapacity")
    del template["Resources"][alarm]
    # when it is described
    asynchronous = endpoint_of(describe_template(template), "asynchronous")
    (target,) = asynchronous["targets"]
    step = next(p for p in target["policies"] if p["type"] == "step")
    # then the bounds are relative to an unknown threshold and there is no wake-up
    assert step["steps"][0]["interval"].startswith("threshold + [0, +inf)")
    assert target["wake_up"].startswith("none: MinCapacity is 0")


def test_an_unscaled_template_describes_nothing(capsys, tmp_path):
    template = build()
    template["Resources"] = {k: v for k, v in template["Resources"].items()
                             if not v["Type"].startswith("AWS::ApplicationAutoScaling")}
    path = tmp_path / "plain.template.json"
    path.write_text(json.dumps(template))
    assert main([str(path)]) == 0
    assert capsys.readouterr().out.strip() == "no scaled SageMaker endpoint"


# --- a whole assembly ----------------------------------------------------------------------


def test_an_assembly_ties_scaling_in_one_stack_to_the_endpoint_in_another(assemblies):
    # given the strong assembly, when it is described
    found = describe_path(assemblies.strong)
    jobs = next(e for e in found if e["endpoint"] == "Endpoints::Jobs")
    # then the endpoint's template and the other stack's target and policies are together
    assert Path(jobs["template"]).name == "Endpoints.template.json"
    (target,) = jobs["targets"]
    assert target["target"] == "Scaling::Target"
    assert {p["policy"] for p in target["policies"]} == {"Scaling::Backlog", "Scaling::WakeUp"}
    assert target["wake_up"].startswith("Scaling::WakeUp on Scaling::Backlogged")
    # and an endpoint named literally gathers both stacks' targets
    named = next(e for e in found if e["endpoint"] == "Endpoints::Named")
    assert {t["target"] for t in named["targets"]} == {"NamedAfter::Target",
                                                        "NamedUnordered::Target"}


def test_the_top_level_command_runs_describe(example_path, capsys):
    assert top_level_main(["describe", example_path, "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR")


def test_an_unreadable_path_exits_2(capsys, tmp_path):
    assert main([str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_inference_component_copies_are_described_under_their_endpoint():
    # given the corpus's scale-to-zero inference component app (AWS sample, CDK): the copies'
    # target and policies in one stack, the component and the endpoint in others
    from .conftest import ROOT

    found = describe_path(ROOT / "tests" / "corpus" / "kr-scale-to-zero-ic")
    # when it is described, then the endpoint hosts components with managed instance scaling
    (endpoint,) = found
    assert endpoint["kind"] == "real-time, with inference components"
    assert endpoint["pools"][0]["managed_instance_scaling"] == {
        "status": "ENABLED", "floor": 0, "ceiling": 2}
    # and the copies scale from 0 to 2, woken by a +1 step on NoCapacityInvocationFailures
    (target,) = endpoint["targets"]
    assert target["variant"].startswith("inference component ")
    assert (target["floor"], target["ceiling"]) == (0, 2)
    assert "NoCapacityInvocationFailures >= 1" in target["wake_up"]
    assert {p["type"] for p in target["policies"]} == {"step", "target tracking"}


# --- the wake-up line says what `check` judges (the same scans) ----------------------------


def wake_up_of(template: dict, target_id: str) -> str:
    return next(t["wake_up"] for e in describe_template(template) for t in e["targets"]
                if t["target"] == target_id)


_WAKE_RULES = {"AsyncWakeUpFromZero": "AsyncTarget",
               "InferenceComponentWakeUpFromZero": "IcTarget"}


@pytest.mark.parametrize(("rule", "mutation"), [
    pytest.param(rule, mutation, id=f"{rule}-{case}")
    for rule in _WAKE_RULES for case, mutation, _ in NON_COMPLIANT[rule]])
def test_no_wake_up_where_check_finds_none(rule, mutation):
    # given a template where the check reports no wake-up from zero
    template = build(mutation)
    assert RULE_BY_NAME[rule].check(template)
    # when it is described
    wake_up = wake_up_of(template, _WAKE_RULES[rule])
    # then describe shows none either
    assert wake_up.startswith("none: "), wake_up


@pytest.mark.parametrize(("rule", "mutation"), [
    pytest.param(rule, mutation, id=f"{rule}-{case}")
    for rule in _WAKE_RULES for case, mutation in COMPLIANT[rule]])
def test_a_wake_up_where_check_accepts_one(rule, mutation):
    # given a template whose wake-up (or floor) the check accepts
    template = build(mutation)
    assert RULE_BY_NAME[rule].check(template) == []
    # when it is described
    wake_up = wake_up_of(template, _WAKE_RULES[rule])
    # then describe shows a wake-up or says none is needed
    assert not wake_up.startswith("none: "), wake_up


def _case(rule: str, name: str) -> dict:
    return build(next(m for case, m, *_ in [*NON_COMPLIANT[rule], *COMPLIANT[rule]]
                      if case == name))


def test_a_wake_up_watching_another_endpoint_is_not_counted():
    wake_up = wake_up_of(_case("AsyncWakeUpFromZero", "wake-alarm-watches-another-endpoint"),
                         "AsyncTarget")
    assert wake_up.startswith("none: MinCapacity is 0 and nothing adds capacity from zero")
    assert "not counted: AsyncWakeUpAlarm watches RtEndpoint, not AsyncEndpoint" in wake_up


def test_a_wake_up_with_actions_disabled_is_not_counted():
    wake_up = wake_up_of(_case("AsyncWakeUpFromZero", "wake-alarm-actions-disabled"),
                         "AsyncTarget")
    assert wake_up.startswith("none: ")
    assert ("not counted: AsyncWakeUpAlarm has ActionsEnabled false, so it never invokes "
            "AsyncWakeUp") in wake_up


def test_a_ceiling_of_zero_has_no_wake_up():
    wake_up = wake_up_of(_case("AsyncWakeUpFromZero", "max-capacity-zero"), "AsyncTarget")
    assert wake_up.startswith("none: MaxCapacity is 0")


def test_a_step_that_starts_above_one_does_not_wake():
    wake_up = wake_up_of(_case("AsyncWakeUpFromZero", "step-starts-above-one"), "AsyncTarget")
    assert wake_up.startswith("none: ")
    assert "AsyncWakeUp on" not in wake_up


def test_target_tracking_below_one_is_the_wake_up():
    # given target tracking on the backlog at 0.5 and no step wake-up, which check accepts
    template = _case("WakeUpOnIndirectSignal", "target-tracking-below-one-alone")
    assert RULE_BY_NAME["AsyncWakeUpFromZero"].check(template) == []
    # when it is described, then the tracking policy is the wake-up
    wake_up = wake_up_of(template, "AsyncTarget")
    assert wake_up.startswith("AsyncBacklogScaling: target tracking on")
    assert "target value of 0.5, below 1" in wake_up


def test_target_tracking_at_one_alone_waits_for_the_backlog():
    wake_up = wake_up_of(_case("AsyncWakeUpFromZero", "target-tracking-at-one-alone"),
                         "AsyncTarget")
    assert wake_up.startswith("none: ")
    assert "target tracking of AsyncBacklogScaling at 1 waits" in wake_up


def test_a_copy_wake_up_on_the_components_arn_is_not_counted():
    wake_up = wake_up_of(_case("InferenceComponentWakeUpFromZero",
                               "alarm-watches-the-components-arn"), "IcTarget")
    assert wake_up.startswith("none: ")
    assert "IcWakeUpAlarm watches a Ref or Fn::GetAtt of IcComponent" in wake_up
