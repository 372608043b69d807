"""The scaling rules of deepgram_scaling.checks: each fires on its non-compliant fixtures
and stays quiet on its compliant ones (tests/checks_templates.py)."""

from __future__ import annotations

import json
import re
import time

import pytest

from deepgram_scaling.checks import RULES, check_template, parse_template
from deepgram_scaling.checks.resolve import Graph, render

from .checks_templates import COMPLIANT, NON_COMPLIANT, build, compliant
from .conftest import ROOT

RULE_BY_NAME = {rule.name: rule for rule in RULES}


def test_the_base_template_is_clean():
    assert check_template(compliant()) == []


@pytest.mark.parametrize(("rule", "mutation", "expected"), [
    pytest.param(rule, mutation, expected, id=f"{rule}-{case}")
    for rule, cases in NON_COMPLIANT.items() for case, mutation, expected in cases])
def test_non_compliant_fixture_fires(rule, mutation, expected):
    # given a template broken in one way
    template = build(mutation)
    # when the rule runs
    findings = RULE_BY_NAME[rule].check(template)
    # then it flags exactly the resources to change, at its level, with its id
    assert {f.resource for f in findings} == expected
    assert {f.rule for f in findings} == {f"SageMakerScaling-{rule}"}
    assert {f.level for f in findings} == {RULE_BY_NAME[rule].level}
    assert all(f.message for f in findings)


@pytest.mark.parametrize(("rule", "mutation"), [
    pytest.param(rule, mutation, id=f"{rule}-{case}")
    for rule, cases in COMPLIANT.items() for case, mutation in [("base", None), *cases]])
def test_compliant_fixture_passes(rule, mutation):
    template = build() if mutation is None else build(mutation)
    assert RULE_BY_NAME[rule].check(template) == []


def test_every_rule_has_fixtures_both_ways_and_a_cited_behaviour():
    doc = (ROOT / "docs" / "aws-behaviour.md").read_text()
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', doc))
    for rule in RULES:
        assert NON_COMPLIANT.get(rule.name), rule.name
        assert rule.name in COMPLIANT, rule.name
        assert rule.anchor in anchors, rule.anchor
        assert rule.id == f"SageMakerScaling-{rule.name}"


def test_async_flap_message_names_the_alarm_and_the_value():
    (finding,) = RULE_BY_NAME["AsyncScaleInStepFlaps"].check(
        build(NON_COMPLIANT["AsyncScaleInStepFlaps"][0][1]))
    assert "acts at ApproximateBacklogSizePerInstance = 1" in finding.message
    assert "LessThanOrEqualToThreshold 1" in finding.message


def test_a_less_than_one_scale_in_alarm_is_not_in_alarm_at_one():
    # given the case: a scale-in step bounded at 0 behind LessThanThreshold 1
    compliant_cases = dict(COMPLIANT["AsyncScaleInStepFlaps"])
    template = build(compliant_cases["less-than-one-never-acts-at-one"])
    # then nothing is reported: at exactly 1 the alarm is OK, so the step never acts there
    assert check_template(template) == []


def test_the_gpu_utilization_mistake_is_named_with_the_sets_it_needs():
    # given a real-time policy on GPUUtilization with VariantName only
    cases = {case: mutation for case, mutation, _ in NON_COMPLIANT["MetricDimensions"]}
    (finding,) = RULE_BY_NAME["MetricDimensions"].check(
        build(cases["gpu-utilization-with-variant-only"]))
    # then the message names what it queried and the set it must use
    assert "queries it with [VariantName]" in finding.message
    assert "[EndpointName, VariantName]" in finding.message


def test_the_deepgram_only_rule_says_why_it_applies():
    (finding,) = RULE_BY_NAME["StreamingScaleInCooldown"].check(
        build(NON_COMPLIANT["StreamingScaleInCooldown"][0][1]))
    assert "serves a Deepgram model" in finding.message
    assert "deepgram/self-hosted" in finding.message


def _cases(rule: str, *, compliant: bool = False) -> dict:
    if compliant:
        return dict(COMPLIANT[rule])
    return {case: mutation for case, mutation, _ in NON_COMPLIANT[rule]}


def test_this_librarys_metadata_marks_a_deepgram_endpoint():
    # given an endpoint whose model runs an image not named Deepgram's, carrying the metadata
    # the constructs write, with a one-minute scale-in cooldown
    template = build(_cases("StreamingScaleInCooldown")["one-minute-on-this-librarys-endpoint"])
    # when the Deepgram-only rule runs
    (finding,) = RULE_BY_NAME["StreamingScaleInCooldown"].check(template)
    # then the metadata is the evidence it names
    assert "deepgram-scaling metadata, kind realtime" in finding.message


def test_tracking_alone_is_judged_by_its_target_value():
    # given an async endpoint at 0 with target tracking on the backlog and no step wake-up
    below = build(_cases("WakeUpOnIndirectSignal")["target-tracking-below-one-alone"])
    at_one = build(_cases("AsyncWakeUpFromZero")["target-tracking-at-one-alone"])
    # when every rule runs
    below_findings = check_template(below)
    (error,) = RULE_BY_NAME["AsyncWakeUpFromZero"].check(at_one)
    # then a target below 1 is no error, only a warning naming the reliance
    assert [f.level for f in below_findings] == ["warning"]
    assert "relies on target tracking scaling out from zero" in below_findings[0].message
    # and at 1 the error quotes the target value that a small backlog never passes
    assert "a backlog below the target value (1) of AsyncBacklogScaling never wakes it" in (
        error.message)


def test_a_wake_up_on_another_endpoint_is_named_and_not_counted():
    # given the wake-up alarm watching the real-time endpoint's backlog
    template = build(_cases("AsyncWakeUpFromZero")["wake-alarm-watches-another-endpoint"])
    # when the wake-up rule runs
    (finding,) = RULE_BY_NAME["AsyncWakeUpFromZero"].check(template)
    # then it says which alarm was passed over and why
    assert "not counted: AsyncWakeUpAlarm watches RtEndpoint, not AsyncEndpoint" in (
        finding.message)


def test_a_disabled_wake_up_alarm_is_named_and_not_counted():
    template = build(_cases("AsyncWakeUpFromZero")["wake-alarm-actions-disabled"])
    (finding,) = RULE_BY_NAME["AsyncWakeUpFromZero"].check(template)
    assert "AsyncWakeUpAlarm has ActionsEnabled false" in finding.message


def test_an_async_target_that_can_never_have_an_instance_is_an_error():
    template = build(_cases("AsyncWakeUpFromZero")["max-capacity-zero"])
    (finding,) = RULE_BY_NAME["AsyncWakeUpFromZero"].check(template)
    assert finding.message.startswith("MaxCapacity is 0 on asynchronous endpoint AsyncEndpoint")


def test_an_unresolved_wake_up_is_counted_with_a_warning():
    # given the wake-up alarm naming an endpoint by a literal name the template does not set
    template = build(_cases("AsyncWakeUpFromZero", compliant=True)[
        "wake-alarm-names-an-unknown-endpoint"])
    # when every rule runs
    findings = check_template(template)
    # then the wake-up counts and a warning says what could not be told
    assert [(f.rule, f.level, f.resource) for f in findings] == [
        ("SageMakerScaling-WakeUpAlarmWatchesTarget", "warning", "AsyncWakeUpAlarm")]
    assert "'speech-async', which names no endpoint of the template" in findings[0].message


def test_a_step_only_wake_up_on_the_backlog_warns_that_it_keeps_adding():
    template = build(_cases("WakeUpAddsWhileRunning")["backlog-size-step-only"])
    (finding,) = RULE_BY_NAME["WakeUpAddsWhileRunning"].check(template)
    assert "up to MaxCapacity (4) while a single long request runs" in finding.message


def test_copies_at_zero_on_kept_instances_are_not_an_error():
    # given the auditor's case: copies 0-4 on a variant that keeps one instance (or has no
    # managed scaling), woken by AWS's step on NoCapacityInvocationFailures
    for case in ("copies-at-zero-on-kept-instances", "copies-at-zero-without-managed-scaling"):
        template = build(_cases("InferenceComponentManagedScaling", compliant=True)[case])
        # when every rule runs, then nothing is an error
        assert [f for f in check_template(template) if f.level == "error"] == [], case


def test_realtime_min_capacity_says_what_sagemaker_requires():
    (finding,) = RULE_BY_NAME["RealtimeMinCapacity"].check(
        build(_cases("RealtimeMinCapacity")["realtime-at-zero"]))
    assert "SageMaker requires a MinCapacity of at least 1 for a real-time variant" in (
        finding.message)
    assert "fails" not in finding.message


def test_the_backlog_dimension_rule_keeps_its_old_id_as_an_alias():
    from deepgram_scaling.checks.rules import RULES_BY_NAME, covered_rule_ids
    assert RULES_BY_NAME["BacklogMetricDimensions"] is RULE_BY_NAME["MetricDimensions"]
    assert covered_rule_ids(["SageMakerScaling-BacklogMetricDimensions"]) == {
        "SageMakerScaling-BacklogMetricDimensions", "SageMakerScaling-MetricDimensions"}
    assert covered_rule_ids(["BacklogMetricDimensions"]) == {
        "BacklogMetricDimensions", "MetricDimensions"}


def test_a_transformed_resource_is_skipped_by_every_rule():
    # given a real-time target at 0 (an error) whose MinCapacity comes from a macro, and a
    # policy whose whole properties do
    cases = {case: mutation for case, mutation, _ in NON_COMPLIANT["TransformNotExpanded"]}
    template = build(NON_COMPLIANT["RealtimeMinCapacity"][0][1],
                     cases["a-property-is-a-transform"], cases["properties-are-a-transform"])
    # when every rule runs
    findings = check_template(template)
    # then only the two warnings are reported, one per transformed resource
    assert {(f.rule, f.resource, f.level) for f in findings} == {
        ("SageMakerScaling-TransformNotExpanded", "RtTarget", "warning"),
        ("SageMakerScaling-TransformNotExpanded", "RtScaling", "warning")}


def test_a_wake_up_inside_a_transform_is_not_reported_missing():
    # given the async wake-up alarm filled in by a macro
    template = build(_transform_whole("AsyncWakeUpAlarm"))
    # then the target is not said to lack a wake-up: only the transform is reported
    assert {(f.rule, f.resource) for f in check_template(template)} == {
        ("SageMakerScaling-TransformNotExpanded", "AsyncWakeUpAlarm")}


def _transform_whole(logical_id: str):
    def mutate(t):
        t["Resources"][logical_id]["Properties"] = {
            "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}}
    return mutate


def test_five_hundred_resources_are_checked_in_under_a_second():
    # given 50 copies of the base template's resources, with its async and IC scaling
    base = build(COMPLIANT["RealtimeMinCapacity"][3][1])
    template: dict = {"Resources": {}}
    for n in range(30):
        for lid, resource in base["Resources"].items():
            text = json.dumps(resource)
            for other in base["Resources"]:
                text = text.replace(f'"{other}"', f'"{other}{n}"')
            template["Resources"][f"{lid}{n}"] = json.loads(text)
    assert len(template["Resources"]) >= 500
    # when every rule runs, then it takes under a second
    started = time.perf_counter()
    check_template(template)
    assert time.perf_counter() - started < 1.0


def test_mixed_fleet_message_says_how_much_an_empty_pool_takes():
    (finding,) = RULE_BY_NAME["MixedFleetSignalSurvivesEmptyPool"].check(
        build(NON_COMPLIANT["MixedFleetSignalSurvivesEmptyPool"][0][1]))
    assert "reads 50% of the load" in finding.message


def test_a_target_on_an_endpoint_outside_the_template_is_judged_only_where_it_can_be():
    # given a target whose endpoint is a parameter: its type is unknown
    template = {"Parameters": {"Endpoint": {"Type": "String"}}, "Resources": {
        "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "MinCapacity": 0, "MaxCapacity": 2,
            "ResourceId": {"Fn::Sub": "endpoint/${Endpoint}/variant/AllTraffic"},
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "ServiceNamespace": "sagemaker"}}}}
    # then only the tie is reported, and the message says what was skipped
    (finding,) = check_template(template)
    assert finding.rule == "SageMakerScaling-ScalableTargetResolvesToEndpoint"
    assert "skipped" in finding.message


# --- the resolver ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "rendered"), [
    ({"Ref": "X"}, "{{Ref:X}}"),
    ({"Fn::GetAtt": "X.EndpointName"}, "{{GetAtt:X.EndpointName}}"),
    ({"Fn::Join": ["/", ["a", {"Ref": "AWS::Region"}]]}, "a/{{Ref:AWS::Region}}"),
    ({"Fn::Sub": ["e/${N}/${X.A}", {"N": {"Ref": "P"}}]}, "e/{{Ref:P}}/{{GetAtt:X.A}}"),
    ({"Fn::Sub": "literal ${!Keep}"}, "literal ${Keep}"),
    ({"Fn::If": ["C", "a", "b"]}, "{{?}}"),
    (3.0, "3"),
])
def test_render(value, rendered):
    assert render(value) == rendered


def test_sub_with_a_pseudo_parameter_name_ties_by_name():
    template = build()
    template["Resources"]["RtEndpoint"]["Properties"]["EndpointName"] = {
        "Fn::Sub": "${AWS::StackName}-rt"}
    template["Resources"]["RtTarget"]["Properties"]["ResourceId"] = {
        "Fn::Sub": "endpoint/${AWS::StackName}-rt/variant/AllTraffic"}
    target = Graph(template).targets["RtTarget"]
    assert (target.endpoint, target.tie) == ("RtEndpoint", "name")


# --- YAML templates ----------------------------------------------------------------------

YAML = """
AWSTemplateFormatVersion: 2010-09-09
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - {VariantName: AllTraffic, ModelName: m, InitialInstanceCount: 1,
           InstanceType: ml.g6.2xlarge}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !GetAtt Config.EndpointConfigName
  Target:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      MinCapacity: 0
      MaxCapacity: 2
      ResourceId: !Join ["", ["endpoint/", !GetAtt Endpoint.EndpointName, "/variant/AllTraffic"]]
      ScalableDimension: sagemaker:variant:DesiredInstanceCount
      ServiceNamespace: sagemaker
  Policy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: p
      PolicyType: TargetTrackingScaling
      ScalingTargetId: !Ref Target
      TargetTrackingScalingPolicyConfiguration:
        TargetValue: 5
        ScaleInCooldown: !If [Short, 60, 300]
        CustomizedMetricSpecification:
          MetricName: ApproximateBacklogSize
          Namespace: AWS/SageMaker
          Statistic: Average
          Dimensions:
            - Name: EndpointName
              Value: !Sub "${Endpoint.EndpointName}"
"""


def test_yaml_short_forms_become_long_forms():
    template = parse_template(YAML)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, not a date
    resources = template["Resources"]
    assert resources["Endpoint"]["Properties"]["EndpointConfigName"] == {
        "Fn::GetAtt": ["Config", "EndpointConfigName"]}
    assert resources["Policy"]["Properties"]["ScalingTargetId"] == {"Ref": "Target"}
    config = resources["Policy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["ScaleInCooldown"] == {"Fn::If": ["Short", 60, 300]}


def test_yaml_template_is_judged_like_json():
    # a real-time endpoint at 0, scaled on a backlog metric: both rules see through the tags
    rules = {(f.rule, f.resource) for f in check_template(parse_template(YAML))}
    assert rules == {
        ("SageMakerScaling-RealtimeMinCapacity", "Target"),
        ("SageMakerScaling-MetricPublishedByEndpointType", "Policy"),
        ("SageMakerScaling-RetainVariantProperties", "Endpoint"),
    }


def test_the_docs_example_is_what_check_prints(monkeypatch, capsys):
    # given the example block of docs/checking.md
    page = (ROOT / "docs" / "checking.md").read_text()
    example = page.split("```text\n", 1)[1].split("```", 1)[0]
    # when check runs on the fixture it names, from the fixture's folder
    from deepgram_scaling.checks.cli import main
    monkeypatch.chdir(ROOT / "tests" / "fixtures" / "checks")
    main(["wrong.template.json"])
    # then it prints exactly that
    assert capsys.readouterr().out == example


def test_the_docs_explain_every_rule():
    page = (ROOT / "docs" / "checking.md").read_text()
    for rule in RULES:
        assert f"| `{rule.name}` | {rule.level} |" in page, rule.name
        assert f"aws-behaviour.md#{rule.anchor})" in page, rule.name


# --- the catalogue and the step semantics ----------------------------------------------------


def test_every_catalogued_metric_cites_a_behaviour_and_has_sets_kinds_and_statistics():
    from deepgram_scaling.checks.catalogue import CATALOGUE, NAMESPACES
    doc = (ROOT / "docs" / "aws-behaviour.md").read_text()
    for (namespace, name), spec in CATALOGUE.items():
        assert namespace in NAMESPACES, name
        assert spec.dimension_sets and spec.kinds and spec.statistics, name
        assert f'<a id="{spec.anchor}"></a>' in doc, (name, spec.anchor)


@pytest.mark.parametrize(("namespace", "name", "dimensions", "published"), [
    ("AWS/SageMaker", "ApproximateBacklogSize", {"EndpointName"}, True),
    ("AWS/SageMaker", "ApproximateBacklogSize", {"EndpointName", "VariantName"}, False),
    ("/aws/sagemaker/Endpoints", "GPUUtilization", {"VariantName"}, False),
    ("/aws/sagemaker/Endpoints", "GPUUtilization", {"EndpointName", "VariantName"}, True),
    ("/aws/sagemaker/Endpoints", "CPUUtilization",
     {"EndpointName", "VariantName", "InstanceId", "AcceleratorId"}, False),
    ("AWS/SageMaker", "ConcurrentRequestsPerModel",
     {"EndpointName", "VariantName", "InstanceType"}, True),
    ("AWS/SageMaker", "Invocation5XXErrors",
     {"EndpointName", "VariantName", "EndpointConfigName"}, True),
    ("/aws/sagemaker/Endpoints", "GPUUtilization",
     {"EndpointName", "VariantName", "EndpointConfigName"}, True),
    ("AWS/SageMaker", "NoCapacityInvocationFailures", {"InferenceComponentName"}, True),
    ("/aws/sagemaker/InferenceComponents", "GPUUtilizationNormalized",
     {"EndpointName", "VariantName"}, False),
])
def test_catalogue_dimension_sets(namespace, name, dimensions, published):
    from deepgram_scaling.checks.catalogue import lookup
    spec = lookup(namespace, name)
    assert spec is not None
    assert spec.matches(dimensions) is published


def test_uncatalogued_metrics_are_not_looked_up():
    from deepgram_scaling.checks.catalogue import lookup
    assert lookup("Custom/Namespace", "ApproximateBacklogSize") is None
    assert lookup("AWS/SageMaker", "ModelCacheHit") is None


@pytest.mark.parametrize(("operator", "value", "acts"), [
    # AWS's example: bounds [0, 10) on a threshold of 50 act for 50 <= metric < 60
    ("GreaterThanOrEqualToThreshold", 50, True),
    ("GreaterThanOrEqualToThreshold", 59.9, True),
    ("GreaterThanOrEqualToThreshold", 60, False),
    ("GreaterThanOrEqualToThreshold", 49.9, False),
    # below the threshold: (-10, 0] acts for 40 < metric <= 50
    ("LessThanOrEqualToThreshold", 50, True),
    ("LessThanOrEqualToThreshold", 40, False),
    ("LessThanOrEqualToThreshold", 40.1, True),
    # the alarm must be in ALARM: LessThanThreshold 50 is OK at exactly 50
    ("LessThanThreshold", 50, False),
])
def test_a_step_acts_where_its_alarm_is_in_alarm_and_its_interval_holds(operator, value, acts):
    from deepgram_scaling.checks.rules import _step_at
    above = operator.startswith("Greater")
    step = ({"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10,
             "ScalingAdjustment": 1} if above else
            {"MetricIntervalLowerBound": -10, "MetricIntervalUpperBound": 0,
             "ScalingAdjustment": -1})
    alarm = {"ComparisonOperator": operator, "Threshold": 50}
    assert (_step_at({"StepAdjustments": [step]}, alarm, value) is step) is acts
