"""Safe model updates: deployment guardrails, their rollback alarms, the Marketplace
exclusion, suspended scaling and the second fleet's quota
(docs/aws-behaviour.md#deployment-guardrails)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Annotations, Match, Template
from hypothesis import given
from hypothesis import strategies as st

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
    DeploymentStrategy,
    RealtimeDeepgramEndpoint,
)

from .conftest import IMAGE_URI, PACKAGE_ARN

MINUTES = cdk.Duration.minutes


def realtime(stack: cdk.Stack, construct_id: str = "Speech", **kwargs: Any):
    kwargs.setdefault("model", DeepgramModel.from_image(IMAGE_URI))
    # A canary, linear or rolling update needs a fleet of two.
    kwargs.setdefault("min_capacity", 2)
    return RealtimeDeepgramEndpoint(stack, construct_id, instance_pools=["ml.g6.2xlarge"],
                                    max_capacity=4, target_concurrency_per_instance=7, **kwargs)


def endpoint_props(template: Template) -> dict[str, Any]:
    (endpoint,) = template.find_resources("AWS::SageMaker::Endpoint").values()
    props: dict[str, Any] = endpoint["Properties"]
    return props


@pytest.fixture(scope="module")
def canary(new_stack: Callable[..., cdk.Stack]) -> tuple[RealtimeDeepgramEndpoint, Template]:
    stack = new_stack("Canary")
    endpoint = realtime(stack, deployment=DeploymentStrategy.canary(
        percent=10, wait=MINUTES(10), termination_wait=MINUTES(5),
        maximum_execution_timeout=cdk.Duration.hours(1)))
    # A whole synthesis with cdk-nag: Template.from_stack also refuses a dependency cycle.
    return endpoint, Template.from_stack(stack)


def test_canary_renders_blue_green_with_capacity_percent(canary):
    _, template = canary
    config = endpoint_props(template)["DeploymentConfig"]
    assert config["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 600,
                                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
        "TerminationWaitInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 3600,
    }


def rollback_alarms(template: Template) -> dict[str, dict[str, Any]]:
    """The rollback alarms (the ones with fixed names), by name."""
    return {a["Properties"]["AlarmName"]: a["Properties"]
            for a in template.find_resources("AWS::CloudWatch::Alarm").values()
            if "AlarmName" in a["Properties"]}


def judged(alarm: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A rollback alarm's judged metric: (name, statistic, dimensions)."""
    query = next(m for m in alarm["Metrics"] if m["Id"] == "judged")["MetricStat"]
    dimensions = {d["Name"]: d["Value"] for d in query["Metric"]["Dimensions"]}
    return query["Metric"]["MetricName"], query["Stat"], dimensions


def test_rollback_alarms_are_their_own_rates_and_the_new_fleets_latency(canary):
    endpoint, template = canary
    config = endpoint_props(template)["DeploymentConfig"]
    names = [a["AlarmName"] for a in config["AutoRollbackConfiguration"]["Alarms"]]
    alarms = rollback_alarms(template)
    assert sorted(names) == sorted(alarms) == sorted(endpoint.rollback_alarm_names)
    by_metric = {judged(alarms[n])[:2]: alarms[n] for n in names}
    # Error rates (AWS's both-fleet example: Average of a metric that is 1 per failed request)
    # and the new fleet's latency; no count, no MidStreamErrors.
    assert sorted(by_metric) == [("Invocation5XXErrors", "Average"),
                                 ("InvocationModelErrors", "Average"), ("ModelLatency", "p99")]
    for alarm in alarms.values():
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["Metrics"][0]["Expression"] == "IF(requests >= 20, judged, 0)"
        requests = next(m for m in alarm["Metrics"] if m["Id"] == "requests")["MetricStat"]
        assert requests["Stat"] == "SampleCount"
        assert requests["Metric"] == next(
            m for m in alarm["Metrics"] if m["Id"] == "judged")["MetricStat"]["Metric"]
    assert by_metric[("Invocation5XXErrors", "Average")]["Threshold"] == 0.05
    assert by_metric[("ModelLatency", "p99")]["Threshold"] == 50_000_000


def test_the_new_fleet_is_watched_by_the_new_configs_name(canary):
    _, template = canary
    (config_id,) = template.find_resources("AWS::SageMaker::EndpointConfig")
    literal = endpoint_props(template)["EndpointName"]
    dimensions = {judged(a)[0]: judged(a)[2] for a in rollback_alarms(template).values()}
    # AWS's new-fleet example: EndpointName, VariantName and EndpointConfigName (the name,
    # which GetAtt gives; Ref gives the ARN).
    assert dimensions["ModelLatency"] == {
        "EndpointName": literal, "VariantName": "AllTraffic",
        "EndpointConfigName": {"Fn::GetAtt": [config_id, "EndpointConfigName"]}}
    assert dimensions["Invocation5XXErrors"] == {"EndpointName": literal,
                                                 "VariantName": "AllTraffic"}


def test_monitoring_alarms_stay_on_the_whole_endpoint_and_roll_nothing_back(canary):
    endpoint, template = canary
    names = set(endpoint.rollback_alarm_names)
    monitoring = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
                  if a["Properties"].get("AlarmName") not in names]
    metrics = {a.get("MetricName") for a in monitoring}
    assert {"Invocation5XXErrors", "InvocationModelErrors", "MidStreamErrors"} <= metrics
    for alarm in monitoring:
        assert "AlarmName" not in alarm
        assert all(d["Name"] != "EndpointConfigName" for d in alarm.get("Dimensions", []))
    assert set(endpoint.default_rollback_alarms) == {"error_rate", "model_error_rate",
                                                     "new_fleet_latency"}
    assert not set(endpoint.alarms.values()) & set(endpoint.default_rollback_alarms.values())


@pytest.mark.parametrize(("requests", "errors", "breaches"), [
    (None, None, None),   # no traffic on the new fleet yet: missing, so not breaching
    (5, 1 / 5, False),    # one error in a quiet minute is not judged
    (20, 1 / 20, False),  # one error among the fewest requests judged: 5 % is not above 5 %
    (100, 0.02, False),   # an old fleet's background errors
    (40, 0.25, True),     # a release that fails a quarter of its requests
])
def test_one_error_in_a_quiet_minute_does_not_roll_back(requests, errors, breaches):
    from deepgram_scaling.alarms import (
        ROLLBACK_ERROR_RATE,
        ROLLBACK_MINIMUM_REQUESTS,
        rollback_queries,
    )
    from deepgram_scaling.metric_math import evaluate

    value = evaluate(rollback_queries(ROLLBACK_MINIMUM_REQUESTS),
                     {"requests": requests, "judged": errors})
    assert (None if value is None else value > ROLLBACK_ERROR_RATE) == breaches


def test_rollback_thresholds_and_floor_can_be_set(new_stack):
    from deepgram_scaling import RealtimeRollbackAlarmOptions, RollbackAlarmOptions

    stack = new_stack("Tuned", nag=False)
    endpoint = realtime(stack, deployment=DeploymentStrategy.linear(step_percent=25,
                                                                    wait=MINUTES(5)),
                        rollback_alarm_options=RealtimeRollbackAlarmOptions(
                            error_rate=RollbackAlarmOptions(threshold=0.01,
                                                            minimum_requests=200),
                            model_error_rate=None, new_fleet_latency=None))
    alarms = rollback_alarms(Template.from_stack(stack))
    (alarm,) = alarms.values()
    assert alarm["Threshold"] == 0.01
    assert alarm["Metrics"][0]["Expression"] == "IF(requests >= 200, judged, 0)"
    assert list(endpoint.rollback_alarm_names) == list(alarms)


@pytest.mark.parametrize(("options", "message"), [
    ({"error_rate": "5%"}, r"error_rate must be a RollbackAlarmOptions or None, got '5%'"),
    ({"error_rate": {"threshold": 5}},
     r"error_rate.threshold must be a fraction of requests between 0 and 1 \(0.05 is 5 %\), got 5"),
    ({"error_rate": {"minimum_requests": 0}}, r"minimum_requests must be >= 1"),
])
def test_rollback_options_are_checked(options, message):
    from deepgram_scaling import RealtimeRollbackAlarmOptions, RollbackAlarmOptions

    with pytest.raises(DeepgramScalingConfigError, match=message):
        RealtimeRollbackAlarmOptions(**{
            k: RollbackAlarmOptions(**v) if isinstance(v, dict) else v
            for k, v in options.items()})


@pytest.mark.parametrize(("strategy", "expected"), [
    (DeploymentStrategy.linear(step_percent=20, wait=MINUTES(5)),
     {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
         "Type": "LINEAR", "WaitIntervalInSeconds": 300,
         "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 20}}}}),
    (DeploymentStrategy.rolling(batch_percent=25, wait=MINUTES(5), rollback_batch_percent=50),
     {"RollingUpdatePolicy": {
         "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
         "WaitIntervalInSeconds": 300,
         "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50}}}),
    (DeploymentStrategy.all_at_once(),
     # The bake is WaitIntervalInSeconds, which the API marks required; no termination wait
     # unless asked for (it comes after the bake).
     {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
         "Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}}}),
    (DeploymentStrategy.all_at_once(wait=MINUTES(5), termination_wait=MINUTES(10),
                                    maximum_execution_timeout=MINUTES(20)),
     {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
         "Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
         "TerminationWaitInSeconds": 600, "MaximumExecutionTimeoutInSeconds": 1200}}),
])
def test_each_strategy_renders(new_stack, strategy, expected):
    stack = new_stack("Strategy", nag=False)
    realtime(stack, deployment=strategy)
    config = endpoint_props(Template.from_stack(stack))["DeploymentConfig"]
    rollback = config.pop("AutoRollbackConfiguration")
    assert len(rollback["Alarms"]) == 3
    assert config == expected


def test_all_at_once_bakes_in_its_wait_not_the_termination_wait():
    # The bake the alarms need is the wait after the shift; the termination wait comes after
    # the final bake ("after the final baking period"), so it does not count.
    from deepgram_scaling.alarms import RollbackAlarmOptions
    from deepgram_scaling.deployment import short_bake_warning

    window = {"error_rate": RollbackAlarmOptions(evaluation_periods=3)}
    assert short_bake_warning(DeploymentStrategy.all_at_once(), window) is None
    warning = short_bake_warning(
        DeploymentStrategy.all_at_once(wait=MINUTES(2), termination_wait=MINUTES(30)), window)
    assert warning is not None and warning.startswith(
        "deployment.wait (120 s) is shorter than the rollback alarms need")


def test_async_endpoint_rolls_back_on_its_failure_alarms(new_stack):
    stack = new_stack("AsyncRolling", nag=False)
    AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=["ml.g6.2xlarge"], min_capacity=2, max_capacity=4,
                          deployment=DeploymentStrategy.rolling(batch_percent=25,
                                                                wait=MINUTES(5)))
    template = Template.from_stack(stack)
    names = [a["AlarmName"] for a in
             endpoint_props(template)["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    # The error rate only: the S3 and SNS failure signals say nothing about the model.
    assert [n.rsplit("-", 1)[1] for n in names] == ["RollbackErrorRateAlarm"]
    (alarm,) = rollback_alarms(template).values()
    assert judged(alarm)[:2] == ("Invocation5XXErrors", "Average")
    monitoring = {a["Properties"].get("MetricName")
                  for a in template.find_resources("AWS::CloudWatch::Alarm").values()
                  if "AlarmName" not in a["Properties"]}
    assert {"RequestDownloadFailures", "NotificationFailures", "InvocationFailures"} <= monitoring


def test_no_strategy_keeps_todays_template(new_stack):
    stack = new_stack("Default", nag=False)
    realtime(stack)
    template = Template.from_stack(stack)
    assert "DeploymentConfig" not in endpoint_props(template)
    assert all("AlarmName" not in a["Properties"]
               for a in template.find_resources("AWS::CloudWatch::Alarm").values())


@pytest.fixture(scope="module")
def own_rollback_alarm(new_stack: Callable[..., cdk.Stack]) -> tuple[cdk.Stack, Template]:
    """A canary whose rollback alarm is the user's own, with a fixed name."""
    stack = new_stack("UserAlarms", nag=False)
    mine = cloudwatch.Alarm(stack, "Mine", alarm_name="speech-canary-errors", threshold=1,
                            evaluation_periods=1,
                            metric=cloudwatch.Metric(namespace="Team", metric_name="Errors"))
    realtime(stack, deployment=DeploymentStrategy.canary(percent=20, wait=MINUTES(5)),
             rollback_alarms=[mine])
    return stack, Template.from_stack(stack)


def test_user_rollback_alarms_with_fixed_names(own_rollback_alarm):
    _, template = own_rollback_alarm
    config = endpoint_props(template)["DeploymentConfig"]
    assert config["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "speech-canary-errors"}]}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"model": DeepgramModel.from_model_package(PACKAGE_ARN),
      "deployment": DeploymentStrategy.canary(percent=10, wait=MINUTES(5))},
     r"deployment: SageMaker excludes Marketplace containers from deployment guardrails.*got canary"),
    ({"deployment": DeploymentStrategy.canary(percent=60, wait=MINUTES(5))},
     r"deployment.percent must be between 1 and 50 \(whole percent of the fleet, the API's range\), got 60"),
    ({"deployment": DeploymentStrategy.canary(percent=12.5, wait=MINUTES(5))},
     r"deployment.percent must be a whole number, got 12.5"),
    ({"deployment": DeploymentStrategy.linear(step_percent=10, wait=MINUTES(30),
                                              maximum_execution_timeout=MINUTES(60))},
     # 10 % steps on a fleet of at most 4 instances are at most 4 steps of one instance.
     r"deployment.maximum_execution_timeout must exceed the waits it contains \(7200 s over 4 step\(s\)\)"),
    ({"deployment": DeploymentStrategy.all_at_once(wait=MINUTES(10),
                                                   termination_wait=MINUTES(10),
                                                   maximum_execution_timeout=MINUTES(15))},
     r"deployment.maximum_execution_timeout must exceed the waits it contains \(1200 s over 1 step\(s\)\)"),
    ({"deployment": DeploymentStrategy.all_at_once(wait=cdk.Duration.hours(2))},
     r"deployment.wait must be between 0 and 3600 seconds"),
    ({"model": DeepgramModel.from_model_package(PACKAGE_ARN),
      "deployment": DeploymentStrategy.all_at_once(),
      "rollback_alarms": [cloudwatch.Alarm.from_alarm_arn(
          cdk.Stack(), "A", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x")]},
     r"rollback_alarms have no effect on a Marketplace package"),
    ({"deployment": DeploymentStrategy.linear(step_percent=5, wait=MINUTES(5))},
     r"deployment.step_percent must be between 10 and 50"),
    ({"deployment": DeploymentStrategy.rolling(batch_percent=75, wait=MINUTES(5))},
     r"deployment.batch_percent must be between 5 and 50"),
    ({"deployment": DeploymentStrategy.canary(percent=10, wait=cdk.Duration.hours(2))},
     r"deployment.wait must be between 0 and 3600 seconds"),
    ({"deployment": DeploymentStrategy.canary(percent=10, wait=MINUTES(30),
                                              maximum_execution_timeout=MINUTES(20))},
     r"deployment.maximum_execution_timeout must exceed the waits it contains \(3600 s over 2 step\(s\)\)"),
    ({"rollback_alarms": []}, r"rollback_alarms apply to a deployment strategy"),
    ({"min_capacity": 1, "deployment": DeploymentStrategy.canary(percent=50, wait=MINUTES(5))},
     r"min_capacity must be >= 2 for a canary update \(deployment=DeploymentStrategy.canary"
     r"\(\.\.\.\)\): a canary may be at most 50 % of the variant's instances, so a fleet of "
     r"1 instance\(s\) cannot be split; raise min_capacity to 2 or more, or use "
     r"DeploymentStrategy.all_at_once\(\), got 1"),
    ({"min_capacity": 1, "deployment": DeploymentStrategy.linear(step_percent=50,
                                                                 wait=MINUTES(5))},
     r"min_capacity must be >= 2 for a linear update .*a linear step may be 10-50 %"),
    ({"min_capacity": 1, "deployment": DeploymentStrategy.rolling(batch_percent=50,
                                                                  wait=MINUTES(5))},
     r"min_capacity must be >= 2 for a rolling update .*a rolling batch may be 5-50 %"),
    ({"deployment": DeploymentStrategy.linear(step_percent=30, wait=MINUTES(10),
                                              maximum_execution_timeout=MINUTES(40))},
     # 30 % steps are four steps (30, 60, 90, 100): four bakes of 600 s, not three.
     r"deployment.maximum_execution_timeout must exceed the waits it contains \(2400 s over 4 step\(s\)\)"),
    ({"rollback_alarm_options": "strict"},
     r"rollback_alarm_options must be an instance of RealtimeRollbackAlarmOptions, got 'strict'"),
    ({"deployment": DeploymentStrategy.canary(percent=10, wait=MINUTES(10)),
      "rollback_alarms": [cloudwatch.Alarm.from_alarm_arn(
          cdk.Stack(), "B", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:y")],
      "rollback_alarm_options": __import__("deepgram_scaling").RealtimeRollbackAlarmOptions()},
     r"rollback_alarm_options shape the default rollback alarms, which rollback_alarms "
     r"replaces; pass one of them, got both"),
    ({"rollback_alarm_options": __import__("deepgram_scaling").RealtimeRollbackAlarmOptions()},
     r"rollback_alarm_options apply to a deployment strategy"),
    ({"deployment": "canary"}, r"deployment must be a DeploymentStrategy, got 'canary'"),
])
def test_refused_strategies(new_stack, kwargs, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        realtime(new_stack("Refused", nag=False), **kwargs)


@pytest.mark.parametrize("strategy", [
    DeploymentStrategy.canary(percent=1, wait=MINUTES(10)),
    DeploymentStrategy.canary(percent=50, wait=MINUTES(10)),
    DeploymentStrategy.linear(step_percent=10, wait=MINUTES(1)),
    DeploymentStrategy.linear(step_percent=30, wait=MINUTES(10),
                              maximum_execution_timeout=MINUTES(41)),
    DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(1)),
])
def test_at_a_floor_of_two_any_percentage_the_api_allows_is_accepted(strategy):
    from deepgram_scaling._validation import Problems
    from deepgram_scaling.deployment import stepped_update_floor_problem

    problems = Problems()
    strategy.check(problems)
    assert not problems
    assert stepped_update_floor_problem(strategy, 2) is None
    assert stepped_update_floor_problem(strategy, 1) is not None


@pytest.mark.parametrize("min_capacity", [0, 1, 2])
def test_all_at_once_is_valid_at_any_floor(min_capacity):
    from deepgram_scaling.deployment import stepped_update_floor_problem

    assert stepped_update_floor_problem(DeploymentStrategy.all_at_once(), min_capacity) is None


def test_an_async_endpoint_at_floor_zero_refuses_a_canary(new_stack):
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"min_capacity must be >= 2 for a canary update.*got 0"):
        AsyncDeepgramEndpoint(new_stack("AsyncZero", nag=False), "Jobs",
                              model=DeepgramModel.from_image(IMAGE_URI),
                              instance_pools=["ml.g6.2xlarge"], max_capacity=4,
                              deployment=DeploymentStrategy.canary(percent=10,
                                                                   wait=MINUTES(10)))


@pytest.mark.parametrize(("max_capacity", "steps"), [(4, 4), (20, 20), (30, 20), (1, 1)])
def test_a_small_fleet_bounds_the_steps_of_a_rolling_update(max_capacity, steps):
    # A batch holds at least one instance: 5 % batches of a fleet of 4 are at most 4 batches.
    from deepgram_scaling._validation import Problems

    strategy = DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(10),
                                          maximum_execution_timeout=cdk.Duration.hours(1))
    assert strategy.steps_on(max_capacity) == steps
    problems = Problems()
    strategy.check(problems, max_capacity=max_capacity)
    # four bakes of 600 s fit an hour; twenty do not
    assert bool(problems) == (steps * 600 >= 3600)


@pytest.mark.parametrize(("ceilings", "highest"), [
    ((4,), 4), ((4, 20), 20), ((4, None, 3), 4), ((None,), None),
    ((4, cdk.Token.as_number({"Ref": "Busy"})), None),  # a ceiling set at deploy time
    ((4, 0), None), ((4, True), None),
])
def test_the_highest_ceiling_counts_every_scheduled_one(ceilings, highest):
    from deepgram_scaling.deployment import highest_ceiling

    assert highest_ceiling(*ceilings) == highest


def test_a_scheduled_ceiling_bounds_the_steps_the_timeout_must_cover():
    # given 5 % batches baking 10 min under a 1 h timeout, on an endpoint of at most 4
    from deepgram_scaling.deployment import highest_ceiling

    strategy = DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(10),
                                          maximum_execution_timeout=cdk.Duration.hours(1))
    # when a scheduled action raises the ceiling to 20, or keeps it
    raised = strategy.timeout_problem(max_capacity=highest_ceiling(4, 20))
    kept = strategy.timeout_problem(max_capacity=highest_ceiling(4, None))
    # then twenty bakes of 600 s overrun the hour, four do not
    assert raised == ("deployment.maximum_execution_timeout must exceed the waits it contains "
                      "(12000 s over 20 step(s)), got 1 hour")
    assert kept is None


def test_the_step_bound_leaves_canaries_and_unknown_fleets_alone():
    canary = DeploymentStrategy.canary(percent=10, wait=MINUTES(1))
    linear = DeploymentStrategy.linear(step_percent=10, wait=MINUTES(1))
    assert canary.steps_on(1) == 2
    assert linear.steps_on(None) == 10
    assert linear.steps_on(cdk.Token.as_number(cdk.Aws.ACCOUNT_ID)) == 10


def test_four_steps_of_thirty_percent():
    assert DeploymentStrategy.linear(step_percent=30, wait=MINUTES(1)).steps == 4
    assert DeploymentStrategy.rolling(batch_percent=25, wait=MINUTES(1)).steps == 4
    assert DeploymentStrategy.canary(percent=10, wait=MINUTES(1)).steps == 2


def test_an_alarm_with_a_generated_name_is_referenced_with_a_warning(new_stack):
    # A Ref is fine unless the alarm's metric names the endpoint (then: a cycle).
    stack = new_stack("Unnamed", nag=False)
    unnamed = cloudwatch.Alarm(stack, "Unnamed", threshold=1, evaluation_periods=1,
                               metric=cloudwatch.Metric(namespace="Team", metric_name="E"))
    realtime(stack, deployment=DeploymentStrategy.canary(percent=10, wait=MINUTES(5)),
             rollback_alarms=[unnamed])
    template = Template.from_stack(stack)
    (alarm_id,) = [k for k in template.find_resources("AWS::CloudWatch::Alarm") if "Unnamed" in k]
    assert endpoint_props(template)["DeploymentConfig"]["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": {"Ref": alarm_id}}]}
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(
        "has a name CloudFormation generates, so the endpoint depends on it"))


def test_a_marketplace_package_may_ask_for_all_at_once_which_renders_nothing(new_stack):
    stack = new_stack("MarketplaceDefault", nag=False)
    realtime(stack, model=DeepgramModel.from_model_package(PACKAGE_ARN),
             deployment=DeploymentStrategy.all_at_once())
    assert "DeploymentConfig" not in endpoint_props(Template.from_stack(stack))


def test_suspend_scaling_suspends_every_kind(new_stack):
    stack = new_stack("Suspended", nag=False)
    realtime(stack, suspend_scaling=True)
    (target,) = Template.from_stack(stack).find_resources(
        "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"]["SuspendedState"] == {
        "DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True,
        "ScheduledScalingSuspended": True}


@pytest.mark.parametrize(("strategy", "extra"), [
    (None, 4), (DeploymentStrategy.canary(percent=10, wait=MINUTES(5)), 4),
    (DeploymentStrategy.rolling(batch_percent=25, wait=MINUTES(5)), 1),
])
def test_the_second_fleets_quota_is_announced(new_stack, strategy, extra):
    stack = new_stack("Quota", nag=False)
    realtime(stack, deployment=strategy)
    infos = Annotations.from_stack(stack).find_info("*", Match.string_like_regexp(
        rf"may run up to {extra} instances beside the fleet"))
    assert len(infos) == 1


def test_guard_alarms_exist_before_the_endpoint_and_sagemaker_may_read_them(canary):
    # The alarms watch the endpoint by its literal name, so the endpoint can depend on them:
    # they exist before any update they guard. SageMaker reads them with the execution role.
    endpoint, template = canary
    (endpoint_id,) = template.find_resources("AWS::SageMaker::Endpoint")
    resource = template.find_resources("AWS::SageMaker::Endpoint")[endpoint_id]
    alarms = {k: a for k, a in template.find_resources("AWS::CloudWatch::Alarm").items()
              if "AlarmName" in a["Properties"]}
    assert sorted(resource["DependsOn"]) == sorted(alarms)
    assert sorted(endpoint.rollback_alarm_names) == sorted(
        a["Properties"]["AlarmName"] for a in alarms.values())
    literal = resource["Properties"]["EndpointName"]
    for alarm in alarms.values():
        assert judged(alarm["Properties"])[2]["EndpointName"] == literal
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    describe = next(s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                    if s["Action"] == "cloudwatch:DescribeAlarms")
    assert len(describe["Resource"]) == 3
    assert all(":alarm:" in str(r) and "*" not in str(r) for r in describe["Resource"])


@pytest.mark.parametrize("resource_type", ["AWS::SageMaker::EndpointConfig",
                                           "AWS::SageMaker::Model"])
def test_a_guarded_endpoint_keeps_replaced_configs_and_models(canary, resource_type):
    # After a rollback the endpoint runs on the old config, which names the old model: an
    # update must delete neither. Deleting the stack still deletes them (cfn-lint W3011 asks
    # for both policies).
    _, template = canary
    (resource,) = template.find_resources(resource_type).values()
    assert resource["UpdateReplacePolicy"] == "Retain"
    assert resource["DeletionPolicy"] == "Delete"


def test_an_unguarded_endpoint_lets_cloudformation_delete_replaced_configs(new_stack):
    stack = new_stack("Unguarded", nag=False)
    realtime(stack)
    template = Template.from_stack(stack)
    for resource_type in ("AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Model"):
        (resource,) = template.find_resources(resource_type).values()
        assert "UpdateReplacePolicy" not in resource and "DeletionPolicy" not in resource


def test_guarded_templates_pass_cfn_lint(canary, new_stack):
    from .test_compliance import cfn_lint_findings

    stack = new_stack("GuardedAsync", nag=False)
    AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=["ml.g6.2xlarge"], max_capacity=4,
                          deployment=DeploymentStrategy.all_at_once())
    guarded_async = Template.from_stack(stack)
    assert guarded_async.find_resources("AWS::SageMaker::EndpointConfig", {
        "UpdateReplacePolicy": "Retain", "DeletionPolicy": "Delete"})
    assert cfn_lint_findings(canary[1].to_json()) == []
    assert cfn_lint_findings(guarded_async.to_json()) == []


def test_a_bake_shorter_than_the_alarms_warns(new_stack):
    stack = new_stack("ShortBake", nag=False)
    realtime(stack, deployment=DeploymentStrategy.canary(percent=10, wait=MINUTES(2)))
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(
        r"deployment.wait \(120 s\) is shorter than the rollback alarms need"))


def test_a_guarded_endpoint_uses_no_deprecated_dependency_api(new_stack, capfd):
    # CfnResource.add_dependency is deprecated; jsii printed a warning on every deployment=.
    stack = new_stack("NoDeprecation", nag=False)
    realtime(stack, deployment=DeploymentStrategy.canary(percent=10, wait=MINUTES(10)))
    template = Template.from_stack(stack)
    _, err = capfd.readouterr()
    assert "CfnResource#addDependency is deprecated" not in err
    (endpoint,) = template.find_resources("AWS::SageMaker::Endpoint").values()
    assert len(endpoint["DependsOn"]) == 3


@pytest.mark.parametrize(("percent", "warns"), [(5, True), (2, True), (10, False)])
def test_a_canary_no_larger_than_the_rollback_rate_warns(new_stack, percent, warns):
    # A rate over both fleets sees a failing canary diluted by its share of the traffic.
    stack = new_stack("Diluted", nag=False)
    realtime(stack, deployment=DeploymentStrategy.canary(percent=percent, wait=MINUTES(10)))
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(
        rf"deployment.percent \({percent} %\) is not above the rollback error-rate threshold "
        r"of error_rate, model_error_rate \(5 %\)"))
    assert bool(found) == warns


def test_rollback_options_are_refused_on_a_marketplace_package(new_stack):
    from deepgram_scaling import RealtimeRollbackAlarmOptions

    with pytest.raises(DeepgramScalingConfigError,
                       match=r"rollback_alarm_options have no effect on a Marketplace package"):
        realtime(new_stack("MarketplaceOptions", nag=False),
                 model=DeepgramModel.from_model_package(PACKAGE_ARN),
                 deployment=DeploymentStrategy.all_at_once(),
                 rollback_alarm_options=RealtimeRollbackAlarmOptions())


@given(requests=st.integers(min_value=0, max_value=10_000),
       errors=st.floats(min_value=0, max_value=1), floor=st.integers(min_value=1, max_value=500))
def test_below_the_floor_nothing_is_judged_and_above_it_the_rate_is(requests, errors, floor):
    from deepgram_scaling.alarms import rollback_queries
    from deepgram_scaling.metric_math import evaluate

    value = evaluate(rollback_queries(floor), {"requests": requests, "judged": errors})
    assert value == (errors if requests >= floor else 0)


def test_an_async_endpoint_checks_its_rollback_options_type(new_stack):
    with pytest.raises(DeepgramScalingConfigError, match=(
            r"rollback_alarm_options must be an instance of AsyncRollbackAlarmOptions")):
        AsyncDeepgramEndpoint(new_stack("AsyncOptions", nag=False), "Jobs",
                              model=DeepgramModel.from_image(IMAGE_URI),
                              instance_pools=["ml.g6.2xlarge"], max_capacity=4,
                              deployment=DeploymentStrategy.all_at_once(),
                              rollback_alarm_options=__import__(
                                  "deepgram_scaling").RealtimeRollbackAlarmOptions())


# --- scheduled floors, quiet endpoints, alarms of other apps ---------------------------------


@pytest.mark.parametrize(("strategy", "floor", "kind"), [
    (DeploymentStrategy.canary(percent=50, wait=MINUTES(5)), 1, "canary"),
    (DeploymentStrategy.linear(step_percent=50, wait=MINUTES(5)), 1, "linear"),
    (DeploymentStrategy.rolling(batch_percent=50, wait=MINUTES(5)), 1, "rolling"),
])
def test_a_scheduled_floor_below_two_is_refused_under_a_stepped_strategy(new_stack, strategy,
                                                                        floor, kind):
    # given an endpoint with a floor of 2 and a stepped update strategy
    endpoint = realtime(new_stack("ScheduledFloor", nag=False), deployment=strategy)
    # when a scheduled action would lower the floor to 1 (the example app's evening release)
    # then it is refused as the endpoint's own floor would be, naming the action
    with pytest.raises(DeepgramScalingConfigError, match=(
            rf"min_capacity of scheduled action 'EveningRelease' must be >= 2 for a {kind} "
            rf"update \(deployment=DeploymentStrategy.{kind}\(\.\.\.\)\): .*raise min_capacity "
            rf"of scheduled action 'EveningRelease' to 2 or more, or use "
            rf"DeploymentStrategy.all_at_once\(\), got {floor}")):
        endpoint.scale_on_schedule("EveningRelease", schedule="cron(0 19 ? * MON-FRI *)",
                                   min_capacity=floor)


def test_an_async_scheduled_floor_of_zero_is_refused_under_a_canary(new_stack):
    endpoint = AsyncDeepgramEndpoint(
        new_stack("AsyncScheduledFloor", nag=False), "Jobs",
        model=DeepgramModel.from_image(IMAGE_URI), instance_pools=["ml.g6.2xlarge"],
        min_capacity=2, max_capacity=4,
        deployment=DeploymentStrategy.canary(percent=10, wait=MINUTES(10)))
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"min_capacity of scheduled action 'Night' must be >= 2.*got 0"):
        endpoint.scale_on_schedule("Night", schedule="cron(0 22 * * ? *)", min_capacity=0)


@pytest.mark.parametrize(("strategy", "waits"), [
    (DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(10),
                                maximum_execution_timeout=cdk.Duration.hours(1)),
     "12000 s over 20"),
    (DeploymentStrategy.linear(step_percent=10, wait=MINUTES(10),
                               maximum_execution_timeout=cdk.Duration.hours(1)),
     "6000 s over 10"),
])
def test_a_scheduled_ceiling_the_timeout_cannot_cover_is_refused(new_stack, strategy, waits):
    # given an endpoint of at most 4 whose steps fit the timeout on 4 instances
    endpoint = realtime(new_stack("ScheduledCeiling", nag=False), deployment=strategy)
    # when business hours raise the fleet to 10-20: up to 10 or 20 bakes of 10 min
    # then the action is refused as the constructor refuses the timeout, naming the action
    with pytest.raises(DeepgramScalingConfigError, match=(
            r"deployment.maximum_execution_timeout must exceed the waits it contains "
            rf"\({waits} step\(s\)\), got 1 hour, with the ceiling of "
            r"20 instances that scheduled action 'Busy' sets \(max_capacity\)")):
        endpoint.scale_on_schedule("Busy", schedule="cron(0 8 ? * MON-FRI *)",
                                   min_capacity=10, max_capacity=20)


def test_a_scheduled_ceiling_the_timeout_covers_is_scheduled_and_noted(new_stack):
    # given 5 % batches of 10 min under a 1 h timeout on an endpoint of at most 4
    stack = new_stack("ScheduledCeilingFits", nag=False)
    endpoint = realtime(stack, deployment=DeploymentStrategy.rolling(
        batch_percent=5, wait=MINUTES(10), maximum_execution_timeout=cdk.Duration.hours(1)))
    # when a scheduled action raises the ceiling to 5 (five bakes: 3000 s)
    endpoint.scale_on_schedule("Busy", schedule="cron(0 8 ? * MON-FRI *)", max_capacity=5)
    # then it is scheduled, and the second fleet's quota is announced on that ceiling
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"ScheduledActions": [Match.object_like({
            "ScheduledActionName": "Busy", "ScalableTargetAction": {"MaxCapacity": 5}})]})
    infos = Annotations.from_stack(stack).find_info("*", Match.string_like_regexp(
        r"While scheduled action 'Busy' holds \(max_capacity 5\), an update of the model or "
        r"endpoint config may run up to 1 instances beside the fleet .*instance_pools up to 5"))
    assert len(infos) == 1


@pytest.mark.parametrize(("strategy", "floor"), [
    (DeploymentStrategy.all_at_once(), 1),
    (DeploymentStrategy.canary(percent=50, wait=MINUTES(10)), 2),
    (None, 1),  # the example app: no deployment=, a scheduled floor of 1
])
def test_a_scheduled_floor_the_strategy_allows_is_scheduled(new_stack, strategy, floor):
    stack = new_stack("ScheduledFloorAllowed", nag=False)
    endpoint = realtime(stack, deployment=strategy)
    endpoint.scale_on_schedule("EveningRelease", schedule="cron(0 19 ? * MON-FRI *)",
                               min_capacity=floor)
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"ScheduledActions": [Match.object_like({
            "ScheduledActionName": "EveningRelease",
            "ScalableTargetAction": {"MinCapacity": floor}})]})


def test_the_rollback_alarms_traffic_floor_is_announced(canary):
    # A quiet endpoint gets no error guardrail: the alarms judge only busy minutes.
    endpoint, _ = canary
    infos = Annotations.from_stack(cdk.Stack.of(endpoint)).find_info(
        "*", Match.string_like_regexp(
            r"The rollback alarms judge only periods with at least their minimum_requests "
            r"\(error_rate: 20 requests per 60 s; model_error_rate: 20 requests per 60 s; "
            r"new_fleet_latency: 20 requests per 60 s reaching the new fleet, about 200 across "
            r"the endpoint while the new fleet takes 10 %\); quieter periods count as healthy"))
    assert len(infos) == 1


def test_no_traffic_floor_is_announced_for_the_users_own_alarms(own_rollback_alarm):
    stack, _ = own_rollback_alarm
    assert not Annotations.from_stack(stack).find_info(
        "*", Match.string_like_regexp("The rollback alarms judge only periods"))


def describe_alarms_resources(template: Template) -> list[Any]:
    """What the execution role may call ``cloudwatch:DescribeAlarms`` on (statements with
    the same resource may be merged, so actions and resources may be lists)."""
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    found = []
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) \
            else [statement["Action"]]
        if "cloudwatch:DescribeAlarms" in actions:
            resource = statement["Resource"]
            found.extend(resource if isinstance(resource, list) else [resource])
    return found


def test_an_imported_rollback_alarm_is_described_with_a_wildcard(new_stack):
    # given a rollback alarm of another app, perhaps composite: DescribeAlarms returns a
    # composite alarm only to a permission scoped to *
    stack = new_stack("ImportedAlarm")
    imported = cloudwatch.Alarm.from_alarm_arn(
        stack, "Composite", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:team-release")
    realtime(stack, deployment=DeploymentStrategy.canary(percent=20, wait=MINUTES(5)),
             rollback_alarms=[imported])
    # when synthesized (with cdk-nag, which must accept the acknowledged wildcard)
    template = Template.from_stack(stack)
    # then the execution role may describe every alarm
    assert describe_alarms_resources(template) == ["*"]


def test_an_alarm_of_this_app_is_described_by_its_arn(own_rollback_alarm):
    _, template = own_rollback_alarm
    (resource,) = describe_alarms_resources(template)
    assert "alarm:speech-canary-errors" in json.dumps(resource)


# --- the strategy's own rules, warnings and rendering, without synthesis -------------------


def strategy_problems(strategy: DeploymentStrategy, max_capacity: object = None) -> list[str]:
    from deepgram_scaling._validation import Problems

    problems = Problems()
    strategy.check(problems, max_capacity=max_capacity)
    try:
        problems.raise_if_any()
    except DeepgramScalingConfigError as err:
        return list(err.problems)
    return []


SECONDS = cdk.Duration.seconds
WHOLE = "(whole percent of the fleet, the API's range)"


@pytest.mark.parametrize(("strategy", "expected"), [
    (DeploymentStrategy.canary(percent=0, wait=MINUTES(1)),
     f"deployment.percent must be between 1 and 50 {WHOLE}, got 0"),
    (DeploymentStrategy.canary(percent=51, wait=MINUTES(1)),
     f"deployment.percent must be between 1 and 50 {WHOLE}, got 51"),
    (DeploymentStrategy.canary(percent=12.5, wait=MINUTES(1)),
     "deployment.percent must be a whole number, got 12.5"),
    (DeploymentStrategy.linear(step_percent=9, wait=MINUTES(1)),
     f"deployment.step_percent must be between 10 and 50 {WHOLE}, got 9"),
    (DeploymentStrategy.linear(step_percent=51, wait=MINUTES(1)),
     f"deployment.step_percent must be between 10 and 50 {WHOLE}, got 51"),
    (DeploymentStrategy.rolling(batch_percent=4, wait=MINUTES(1)),
     f"deployment.batch_percent must be between 5 and 50 {WHOLE}, got 4"),
    (DeploymentStrategy.rolling(batch_percent=51, wait=MINUTES(1)),
     f"deployment.batch_percent must be between 5 and 50 {WHOLE}, got 51"),
    (DeploymentStrategy.all_at_once(wait=SECONDS(3601)),
     "deployment.wait must be between 0 and 3600 seconds, got 1 hour 1 second"),
    (DeploymentStrategy.canary(percent=10, wait=MINUTES(1), termination_wait=SECONDS(3601)),
     "deployment.termination_wait must be between 0 and 3600 seconds, got 1 hour 1 second"),
    (DeploymentStrategy.canary(percent=10, wait=SECONDS(0),
                               maximum_execution_timeout=SECONDS(599)),
     "deployment.maximum_execution_timeout must be between 600 and 28800 seconds, got "
     "9 minutes 59 seconds"),
    (DeploymentStrategy.linear(step_percent=10, wait=SECONDS(0),
                               maximum_execution_timeout=SECONDS(28_801)),
     "deployment.maximum_execution_timeout must be between 600 and 28800 seconds, got "
     "8 hours 1 second"),
    (DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(1), rollback_batch_percent=0),
     "deployment.rollback_batch_percent must be between 1 and 100, got 0"),
    (DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(1), rollback_batch_percent=101),
     "deployment.rollback_batch_percent must be between 1 and 100, got 101"),
    (DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(1), rollback_batch_percent=2.5),
     "deployment.rollback_batch_percent must be a whole number, got 2.5"),
])
def test_a_setting_out_of_the_apis_range_is_refused(strategy, expected):
    # given one setting outside what the API takes / when the strategy checks itself
    # then that one setting is named, with its range and the value received
    assert strategy_problems(strategy) == [expected]


@pytest.mark.parametrize("strategy", [
    DeploymentStrategy.all_at_once(wait=SECONDS(0), termination_wait=SECONDS(0)),
    DeploymentStrategy.all_at_once(wait=SECONDS(3600), termination_wait=SECONDS(3600),
                                   maximum_execution_timeout=SECONDS(28_800)),
    DeploymentStrategy.linear(step_percent=50, wait=MINUTES(1),
                              maximum_execution_timeout=SECONDS(600)),
    DeploymentStrategy.rolling(batch_percent=50, wait=MINUTES(1), rollback_batch_percent=1),
    DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(1), rollback_batch_percent=100),
])
def test_settings_at_the_apis_bounds_are_accepted(strategy):
    assert strategy_problems(strategy) == []


@pytest.mark.parametrize(("strategy", "expected"), [
    # one bake, then the termination wait: 600 + 300 s (built in the test: the factories are
    # under test too)
    (lambda: DeploymentStrategy.all_at_once(wait=MINUTES(10), termination_wait=MINUTES(5),
                                            maximum_execution_timeout=MINUTES(15)),
     "900 s over 1 step(s)), got 15 minutes"),
    # a canary bakes twice
    (lambda: DeploymentStrategy.canary(percent=10, wait=MINUTES(5),
                                       maximum_execution_timeout=MINUTES(10)),
     "600 s over 2 step(s)), got 10 minutes"),
    # 30 % steps are four
    (lambda: DeploymentStrategy.linear(step_percent=30, wait=MINUTES(5),
                                       termination_wait=MINUTES(1),
                                       maximum_execution_timeout=MINUTES(21)),
     "1260 s over 4 step(s)), got 21 minutes"),
    # a rolling update has no termination wait
    (lambda: DeploymentStrategy.rolling(batch_percent=25, wait=MINUTES(5),
                                        maximum_execution_timeout=MINUTES(20)),
     "1200 s over 4 step(s)), got 20 minutes"),
], ids=["all-at-once", "canary", "linear", "rolling"])
def test_a_timeout_no_longer_than_the_waits_is_refused(strategy, expected):
    # given a timeout equal to the waits it must contain / when checked
    (found,) = strategy_problems(strategy())
    # then the timeout is refused with the waits it had to exceed
    assert found == ("deployment.maximum_execution_timeout must exceed the waits it contains "
                     f"({expected}")


def test_the_waits_of_steps_known_only_at_deploy_time_are_not_added_up():
    # given linear steps whose size is a parameter: the number of steps is unknown
    linear = DeploymentStrategy.linear(step_percent=cdk.Token.as_number({"Ref": "Step"}),
                                       wait=MINUTES(30), maximum_execution_timeout=MINUTES(10))
    # then the timeout is not compared with the waits
    assert linear.steps is None
    assert strategy_problems(linear) == []


@pytest.mark.parametrize("max_capacity", [0, True, 2.5])
def test_a_maximum_that_is_not_a_whole_fleet_leaves_the_steps_alone(max_capacity):
    linear = DeploymentStrategy.linear(step_percent=10, wait=MINUTES(1))
    assert linear.steps_on(max_capacity) == 10


@pytest.mark.parametrize("min_capacity", [True, 1.5])
def test_a_floor_that_is_not_a_whole_number_is_left_to_the_number_check(min_capacity):
    from deepgram_scaling.deployment import stepped_update_floor_problem

    canary = DeploymentStrategy.canary(percent=10, wait=MINUTES(1))
    assert stepped_update_floor_problem(canary, min_capacity) is None


def test_a_bake_known_only_at_deploy_time_is_not_compared():
    from deepgram_scaling.alarms import RollbackAlarmOptions
    from deepgram_scaling.deployment import short_bake_warning

    canary = DeploymentStrategy.canary(percent=10,
                                       wait=SECONDS(cdk.Token.as_number({"Ref": "Bake"})))
    assert short_bake_warning(canary, {"errors": RollbackAlarmOptions()}) is None


@pytest.mark.parametrize("strategy", [
    DeploymentStrategy.all_at_once(wait=MINUTES(10), termination_wait=MINUTES(5),
                                   maximum_execution_timeout=SECONDS(901)),
    DeploymentStrategy.canary(percent=10, wait=MINUTES(5), maximum_execution_timeout=SECONDS(601)),
    DeploymentStrategy.linear(step_percent=30, wait=MINUTES(5), termination_wait=MINUTES(1),
                              maximum_execution_timeout=SECONDS(1261)),
    DeploymentStrategy.canary(percent=10, wait=MINUTES(5), termination_wait=MINUTES(30),
                              maximum_execution_timeout=SECONDS(cdk.Token.as_number(
                                  {"Ref": "Timeout"}))),
])
def test_a_timeout_longer_than_the_waits_is_accepted(strategy):
    assert strategy_problems(strategy) == []


def test_render_gives_the_deployment_config_of_each_kind():
    from deepgram_scaling.deployment import DeploymentKind

    # given a rolling strategy with every setting / when rendered
    rolling = DeploymentStrategy.rolling(batch_percent=25, wait=MINUTES(2),
                                         rollback_batch_percent=50,
                                         maximum_execution_timeout=cdk.Duration.hours(1))
    config = rolling.render(["speech-errors", "speech-latency"])
    # then the rolling policy carries each setting, and the rollback watches both alarms
    policy = config.rolling_update_policy
    assert (policy.maximum_batch_size.type, policy.maximum_batch_size.value) == (
        "CAPACITY_PERCENT", 25)
    assert (policy.rollback_maximum_batch_size.type, policy.rollback_maximum_batch_size.value
            ) == ("CAPACITY_PERCENT", 50)
    assert (policy.wait_interval_in_seconds, policy.maximum_execution_timeout_in_seconds) == (
        120, 3600)
    assert [a.alarm_name for a in config.auto_rollback_configuration.alarms] == [
        "speech-errors", "speech-latency"]
    assert config.blue_green_update_policy is None
    # and a linear strategy without alarms has no rollback, and a linear step size only
    linear = DeploymentStrategy.linear(step_percent=20, wait=MINUTES(3),
                                       termination_wait=MINUTES(4)).render([])
    routing = linear.blue_green_update_policy.traffic_routing_configuration
    assert linear.auto_rollback_configuration is None
    assert (routing.type, routing.wait_interval_in_seconds) == (DeploymentKind.LINEAR.value, 180)
    assert (routing.linear_step_size.value, routing.canary_size) == (20, None)
    assert linear.blue_green_update_policy.termination_wait_in_seconds == 240
    assert linear.blue_green_update_policy.maximum_execution_timeout_in_seconds is None
    assert DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(1)).render(
        []).rolling_update_policy.rollback_maximum_batch_size is None


@pytest.mark.parametrize(("strategy", "extra"), [
    (DeploymentStrategy.rolling(batch_percent=30, wait=MINUTES(1)), 2),  # 30 % of 4, rounded up
    (DeploymentStrategy.rolling(batch_percent=25, wait=MINUTES(1)), 1),
    (DeploymentStrategy.canary(percent=10, wait=MINUTES(1)), 4),  # a whole second fleet
    (DeploymentStrategy.all_at_once(), 4),
])
def test_the_extra_instances_an_update_runs_beside_a_fleet_of_four(strategy, extra):
    assert strategy.extra_instances(4) == extra


def test_a_rolling_batch_that_divides_the_fleet_is_exact():
    # a quarter of 404 instances is 101, not rounded
    assert DeploymentStrategy.rolling(batch_percent=25, wait=MINUTES(1)).extra_instances(
        404) == 101


def test_a_bake_as_long_as_the_alarm_window_is_enough():
    from deepgram_scaling.alarms import RollbackAlarmOptions
    from deepgram_scaling.deployment import short_bake_warning

    # given alarms that need 3 one-minute periods, and one whose options are not set
    window = {"error_rate": RollbackAlarmOptions(evaluation_periods=3), "latency": None,
              "quick": RollbackAlarmOptions(evaluation_periods=1)}
    # then a bake of three minutes is enough and one second less is not
    assert short_bake_warning(DeploymentStrategy.all_at_once(wait=MINUTES(3)), window) is None
    assert short_bake_warning(DeploymentStrategy.all_at_once(wait=SECONDS(179)), window) == (
        "deployment.wait (179 s) is shorter than the rollback alarms need to see their "
        "datapoints (180 s): a bad model could take all traffic before any alarm fires.")
    # and with no alarm options there is nothing to compare
    assert short_bake_warning(DeploymentStrategy.all_at_once(wait=SECONDS(1)), {}) is None


def test_the_traffic_floor_note_names_each_alarms_floor():
    from deepgram_scaling.alarms import RollbackAlarmOptions
    from deepgram_scaling.deployment import traffic_floor_note

    note = traffic_floor_note({
        "latency": RollbackAlarmOptions(minimum_requests=20, period=MINUTES(5)),
        "errors": RollbackAlarmOptions(minimum_requests=cdk.Token.as_number({"Ref": "Floor"})),
    })
    assert note == (
        "The rollback alarms judge only periods with at least their minimum_requests (errors: "
        "a floor set at deploy time; latency: 20 requests per 300 s); quieter periods count "
        "as healthy, so an endpoint below that traffic during an update gets no error "
        "guardrail and a bad release is not rolled back. Lower minimum_requests in "
        "rollback_alarm_options or send test traffic while the update bakes.")
    assert "(none created)" in traffic_floor_note({})


@pytest.mark.parametrize(("first_step_percent", "latency"), [
    (10, "latency: 20 requests per 60 s reaching the new fleet, about 200 across the endpoint "
         "while the new fleet takes 10 %"),
    (None, "latency: 20 requests per 60 s reaching the new fleet"),  # all at once: 100 %
    (cdk.Token.as_number({"Ref": "Share"}), "latency: 20 requests per 60 s reaching the new "
                                            "fleet"),
])
def test_a_new_fleet_alarms_floor_counts_the_new_fleets_requests(first_step_percent, latency):
    # given a latency alarm on the new fleet alone and an error-rate alarm on both fleets
    from deepgram_scaling.alarms import RollbackAlarmOptions
    from deepgram_scaling.deployment import traffic_floor_note

    # when the note is written for a first step of first_step_percent
    note = traffic_floor_note({"errors": RollbackAlarmOptions(minimum_requests=20),
                               "latency": RollbackAlarmOptions(minimum_requests=20)},
                              new_fleet={"latency"}, first_step_percent=first_step_percent)
    # then only the new fleet's floor says whose requests it counts
    assert f"(errors: 20 requests per 60 s; {latency}); quieter periods" in note


def test_a_canary_no_larger_than_an_error_rate_threshold_is_diluted():
    from deepgram_scaling.deployment import diluted_canary_warning

    canary = DeploymentStrategy.canary(percent=5, wait=MINUTES(10))
    thresholds = {"errors": 0.05, "faults": 0.04, "client": 0.1,
                  "deploy_time": cdk.Token.as_number({"Ref": "Threshold"})}
    # a 5 % canary against thresholds of 5 % and 10 %: both named, the highest quoted
    assert diluted_canary_warning(canary, thresholds) == (
        "deployment.percent (5 %) is not above the rollback error-rate threshold of client, "
        "errors (10 %): those alarms watch both fleets, so a canary that fails every request "
        "moves the rate by about its own share and cannot roll back on its own. Raise the "
        "canary's percent or lower the threshold (rollback_alarm_options).")
    # above every threshold, or not a canary: nothing to say
    assert diluted_canary_warning(canary, {"faults": 0.0499}) is None
    # and a canary whose percent is known only at deploy time is not judged
    deploy_time = DeploymentStrategy.canary(percent=cdk.Token.as_number({"Ref": "Percent"}),
                                            wait=MINUTES(10))
    assert diluted_canary_warning(deploy_time, {"errors": 0.5}) is None
    linear = DeploymentStrategy.linear(step_percent=10, wait=MINUTES(1))
    assert diluted_canary_warning(linear, {"errors": 0.5}) is None


@pytest.mark.parametrize(("strategy", "limit"), [
    (DeploymentStrategy.linear(step_percent=10, wait=MINUTES(1)),
     "a linear step may be 10-50 % of the variant's instances"),
    (DeploymentStrategy.rolling(batch_percent=5, wait=MINUTES(1)),
     "a rolling batch may be 5-50 % of the variant's instances"),
])
def test_the_stepped_floor_problem_names_the_prop_and_the_limit(strategy, limit):
    from deepgram_scaling.deployment import stepped_update_floor_problem

    kind = strategy.kind.value.lower()
    assert stepped_update_floor_problem(strategy, 1, prop="scheduled min_capacity") == (
        f"scheduled min_capacity must be >= 2 for a {kind} update "
        f"(deployment=DeploymentStrategy.{kind}(...)): {limit}, so a fleet of 1 instance(s) "
        "cannot be split; raise scheduled min_capacity to 2 or more, or use "
        "DeploymentStrategy.all_at_once(), got 1")
    # a floor known only at deploy time is left alone
    assert stepped_update_floor_problem(strategy, cdk.Token.as_number({"Ref": "Min"})) is None


def test_the_execution_role_describes_the_rollback_alarms_by_their_arns():
    from aws_cdk import aws_iam as iam

    from deepgram_scaling.deployment import describe_alarms_statement

    # given a stack with a known account and region, and its execution policy
    stack = cdk.Stack(cdk.App(), "Describe",
                      env=cdk.Environment(account="123456789012", region="us-east-1"))
    policy = iam.ManagedPolicy(stack, "Policy")

    def alarm_arn(name: str) -> dict[str, Any]:
        return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                                  f":cloudwatch:us-east-1:123456789012:alarm:{name}"]]}

    def resources(*names: str, **kwargs: Any) -> Any:
        statement = stack.resolve(describe_alarms_statement(policy, names, **kwargs)
                                  .to_statement_json())
        assert (statement["Action"], statement["Effect"]) == ("cloudwatch:DescribeAlarms", "Allow")
        return statement["Resource"]

    # when named alarms are described (by default they are this app's metric alarms)
    # then each is one ARN, in order
    assert resources("speech-latency", "speech-errors") == [alarm_arn("speech-errors"),
                                                             alarm_arn("speech-latency")]
    # and a name CloudFormation generates widens them to every alarm of the account
    assert resources("speech-errors", cdk.Token.as_string({"Ref": "Alarm"})) == alarm_arn("*")
    # and an alarm of another app, perhaps composite, needs a permission on *
    assert resources("team-release", foreign=True) == "*"
