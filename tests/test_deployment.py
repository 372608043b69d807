"""Safe model updates: deployment guardrails, their rollback alarms, the Marketplace
exclusion, suspended scaling and the second fleet's quota
(docs/aws-behaviour.md#deployment-guardrails)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Annotations, Match, Template

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


def test_rollback_alarms_are_the_error_alarms_by_fixed_name(canary):
    endpoint, template = canary
    config = endpoint_props(template)["DeploymentConfig"]
    names = [a["AlarmName"] for a in config["AutoRollbackConfiguration"]["Alarms"]]
    # 5XX, model errors and mid-stream errors; not latency or capacity, which fire under load.
    assert [n.rsplit("-", 1)[1] for n in names] == [
        "Invocation5xxErrorsAlarm", "ModelErrorsAlarm", "MidStreamErrorsAlarm"]
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    named = {a["Properties"]["AlarmName"]: a["Properties"]["MetricName"]
             for a in alarms.values() if "AlarmName" in a["Properties"]}
    assert named == dict(zip(names, ["Invocation5XXErrors", "InvocationModelErrors",
                                     "MidStreamErrors"], strict=True))
    # Literal names: the endpoint does not depend on its alarms (no cycle).
    assert all(isinstance(n, str) for n in names)
    assert endpoint.rollback_alarm_names == names


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
     # A baking period (AWS's example: 600 s), or the rollback alarms could never fire.
     {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
         "Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}}}),
])
def test_each_strategy_renders(new_stack, strategy, expected):
    stack = new_stack("Strategy", nag=False)
    realtime(stack, deployment=strategy)
    config = endpoint_props(Template.from_stack(stack))["DeploymentConfig"]
    rollback = config.pop("AutoRollbackConfiguration")
    assert len(rollback["Alarms"]) == 3
    assert config == expected


def test_async_endpoint_rolls_back_on_its_failure_alarms(new_stack):
    stack = new_stack("AsyncRolling", nag=False)
    AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=["ml.g6.2xlarge"], max_capacity=4,
                          deployment=DeploymentStrategy.rolling(batch_percent=25,
                                                                wait=MINUTES(5)))
    template = Template.from_stack(stack)
    names = [a["AlarmName"] for a in
             endpoint_props(template)["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    assert [n.rsplit("-", 1)[1] for n in names] == [
        "InvocationFailuresAlarm", "RequestDownloadFailuresAlarm",
        "ResponseUploadFailuresAlarm", "NotificationFailuresAlarm"]


def test_no_strategy_keeps_todays_template(new_stack):
    stack = new_stack("Default", nag=False)
    realtime(stack)
    template = Template.from_stack(stack)
    assert "DeploymentConfig" not in endpoint_props(template)
    assert all("AlarmName" not in a["Properties"]
               for a in template.find_resources("AWS::CloudWatch::Alarm").values())


def test_user_rollback_alarms_with_fixed_names(new_stack):
    stack = new_stack("UserAlarms", nag=False)
    mine = cloudwatch.Alarm(stack, "Mine", alarm_name="speech-canary-errors", threshold=1,
                            evaluation_periods=1,
                            metric=cloudwatch.Metric(namespace="Team", metric_name="Errors"))
    realtime(stack, deployment=DeploymentStrategy.canary(percent=20, wait=MINUTES(5)),
             rollback_alarms=[mine])
    config = endpoint_props(Template.from_stack(stack))["DeploymentConfig"]
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
     r"deployment.maximum_execution_timeout must exceed the waits it contains \(18000 s over 10 step\(s\)\)"),
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
    ({"deployment": "canary"}, r"deployment must be a DeploymentStrategy, got 'canary'"),
])
def test_refused_strategies(new_stack, kwargs, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        realtime(new_stack("Refused", nag=False), **kwargs)


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
        assert {"Name": "EndpointName", "Value": literal} in alarm["Properties"]["Dimensions"]
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    describe = next(s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                    if s["Action"] == "cloudwatch:DescribeAlarms")
    assert len(describe["Resource"]) == 3
    assert all(":alarm:" in str(r) and "*" not in str(r) for r in describe["Resource"])


def test_a_bake_shorter_than_the_alarms_warns(new_stack):
    stack = new_stack("ShortBake", nag=False)
    realtime(stack, deployment=DeploymentStrategy.canary(percent=10, wait=MINUTES(2)))
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(
        r"deployment.wait \(120 s\) is shorter than the rollback alarms need"))
