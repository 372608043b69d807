"""Every configuration rule: a clear DeepgramScalingConfigError at construction, naming the
construct and the prop, before any resource exists."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from deepgram_scaling import (
    AURA_2_TTS,
    FLUX_STT,
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
    DeploymentStrategy,
    InstancePool,
    RealtimeDeepgramEndpoint,
    RollbackAlarmOptions,
)
from deepgram_scaling._validation import Problems
from deepgram_scaling.endpoint_rules import shared_props, shared_rules

from .conftest import IMAGE_URI, PACKAGE_ARN


def realtime(stack: cdk.Stack, **overrides: Any) -> RealtimeDeepgramEndpoint:
    props: dict[str, Any] = {
        "model": DeepgramModel.from_model_package(PACKAGE_ARN),
        "instance_pools": [InstancePool("ml.g6.2xlarge")],
        "max_capacity": 4,
        "target_concurrency_per_instance": 7,
    }
    props.update(overrides)
    return RealtimeDeepgramEndpoint(stack, "Endpoint", **props)


@pytest.fixture
def stack(new_stack: Callable[..., cdk.Stack]) -> cdk.Stack:
    return new_stack(nag=False)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_capacity": 0},
         r"min_capacity must be >= 1 for a real-time endpoint \(a single-model real-time "
         r"endpoint cannot scale to zero.*got 0"),
        ({"min_capacity": 3, "max_capacity": 2}, r"max_capacity must be >= min_capacity \(3\), got 2"),
        ({"max_capacity": 0}, r"max_capacity must be >= 1, got 0"),
        ({"min_capacity": 1.5}, r"min_capacity must be a whole number, got 1.5"),
        ({"target_concurrency_per_instance": 0},
         r"target_concurrency_per_instance must be > 0, got 0"),
        ({"target_concurrency_per_instance": -2.5},
         r"target_concurrency_per_instance must be > 0, got -2.5"),
        ({"instance_pools": []}, r"instance_pools must list between 1 and 5 instance types, got 0"),
        ({"instance_pools": ["ml.g6.2xlarge", "ml.g6e.2xlarge", "ml.g5.2xlarge",
                             "ml.g4dn.2xlarge", "ml.g7.2xlarge", "ml.g7e.2xlarge"]},
         r"instance_pools must list between 1 and 5 instance types, got 6"),
        ({"instance_pools": ["ml.g6.2xlarge", "ml.g6.2xlarge"]},
         r"instance_pools\[1\].instance_type is listed twice.*got 'ml.g6.2xlarge'"),
        ({"instance_pools": ["g6.2xlarge"]},
         r"instance_pools\[0\].instance_type must look like 'ml.<family>.<size>'.*got 'g6.2xlarge'"),
        ({"instance_pools": ["ml.g6.2xlarg"]},
         r"instance_pools\[0\].instance_type has an unknown size '2xlarg'.*got 'ml.g6.2xlarg'"),
        ({"instance_pools": ["ml.g6.5xlarge"]},
         r"instance_type has an unknown size '5xlarge'.*got 'ml.g6.5xlarge'"),
        ({"instance_pools": ["ml.m5.xlarge"]},
         r"instance_pools\[0\].instance_type must be a GPU type.*got 'ml.m5.xlarge'"),
        ({"instance_pools": "ml.g6.2xlarge"},
         r"instance_pools must be a list of InstancePool.*got 'ml.g6.2xlarge'"),
        ({"provision_timeout": cdk.Duration.seconds(60), "instance_pools": ["ml.g6.2xlarge", "ml.g5.2xlarge"]},
         r"provision_timeout must be between 300 and 3600 seconds.*got 1 minute"),
        ({"provision_timeout": cdk.Duration.hours(2)},
         r"provision_timeout must be between 300 and 3600 seconds.*got 2 hours"),
        # A negative Duration cannot be built (the CDK refuses Duration.seconds(-1)), so a
        # negative cooldown can only arrive as a bare number.
        ({"scale_in_cooldown": -300}, r"scale_in_cooldown must be an aws_cdk.Duration, got -300"),
        ({"scale_out_cooldown": cdk.Duration.millis(1500)},
         r"scale_out_cooldown must be a whole number of seconds, got 1 second 500 millis"),
        ({"scale_out_cooldown": 60}, r"scale_out_cooldown must be an aws_cdk.Duration, got 60"),
        ({"initial_instance_count": 9}, r"initial_instance_count must be <= max_capacity \(4\), got 9"),
        ({"model_data_download_timeout": cdk.Duration.seconds(30)},
         r"model_data_download_timeout must be between 60 and 3600 seconds, got 30 seconds"),
        ({"container_startup_health_check_timeout": cdk.Duration.hours(2)},
         r"container_startup_health_check_timeout must be between 60 and 3600 seconds"),
        ({"model": "arn:aws:sagemaker:us-east-1:123456789012:model-package/x"},
         r"model must be a DeepgramModel.*got 'arn:aws:sagemaker"),
        ({"endpoint_name": "bad_name!"},
         r"endpoint_name must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit, got 'bad_name!'"),
        ({"endpoint_name": 42}, r"endpoint_name must be 1-63 letters.*got 42"),
        ({"alarms": {"model_latency": None}}, r"alarms must be an instance of RealtimeAlarmOptions"),
    ],
)
def test_invalid_props_raise_a_clear_error(stack: cdk.Stack, overrides: dict[str, Any], message: str):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        realtime(stack, **overrides)
    # nothing was added to the stack
    assert stack.node.try_find_child("Endpoint") is None


def test_several_problems_are_reported_together(stack: cdk.Stack):
    with pytest.raises(DeepgramScalingConfigError) as info:
        realtime(stack, min_capacity=0, target_concurrency_per_instance=0)
    assert len(info.value.problems) == 2
    assert isinstance(info.value, ValueError)


def test_product_rejects_unsupported_types(stack: cdk.Stack):
    flux = DeepgramModel.from_model_package(PACKAGE_ARN, product=FLUX_STT)
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"instance_pools\[1\].instance_type 'ml.g4dn.2xlarge' is not supported "
                             r"by flux-stt \(Flux speech-to-text does not run on g4dn\)"):
        realtime(stack, model=flux, instance_pools=["ml.g6.2xlarge", "ml.g4dn.2xlarge"])


def test_aura_2_needs_a_multi_gpu_type(stack: cdk.Stack):
    aura = DeepgramModel.from_model_package(PACKAGE_ARN, product=AURA_2_TTS)
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"'ml.g6.2xlarge' is not supported by aura-2-tts \(Aura-2 needs 2 or more GPUs"):
        realtime(stack, model=aura, instance_pools=["ml.g6.2xlarge"])


def test_kms_key_refused_for_local_nvme_types(stack: cdk.Stack):
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"kms_key cannot be used with instance_pools\[0\].instance_type "
                             r"'ml.g6.2xlarge': CreateEndpointConfig rejects KmsKeyId"):
        realtime(stack, kms_key=key)


def test_kms_key_allowed_for_types_without_local_storage(new_stack: Callable[..., cdk.Stack]):
    stack = new_stack(nag=False)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    endpoint = realtime(stack, kms_key=key, instance_pools=["ml.p3.2xlarge"])
    assert stack.resolve(endpoint.cfn_endpoint_config.kms_key_id) == stack.resolve(key.key_arn)


def test_tokens_pass_through_unchecked(new_stack: Callable[..., cdk.Stack]):
    stack = new_stack(nag=False)
    max_param = cdk.CfnParameter(stack, "Max", type="Number", default=4)
    target_param = cdk.CfnParameter(stack, "Target", type="Number", default=7)
    type_param = cdk.CfnParameter(stack, "Type", default="ml.g6.2xlarge")
    arn_param = cdk.CfnParameter(stack, "Arn", default=PACKAGE_ARN)
    endpoint = RealtimeDeepgramEndpoint(
        stack, "Endpoint",
        model=DeepgramModel.from_model_package(arn_param.value_as_string),
        instance_pools=[InstancePool(type_param.value_as_string)],
        max_capacity=max_param.value_as_number,
        target_concurrency_per_instance=target_param.value_as_number,
        scale_in_cooldown=cdk.Duration.seconds(cdk.CfnParameter(stack, "In", type="Number").value_as_number),
    )
    # then the parameters reach the resources unchanged
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget",
                                     {"MaxCapacity": {"Ref": "Max"}})
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalingPolicy", {
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": {"Ref": "Target"},
                                                     "ScaleInCooldown": {"Ref": "In"}}})
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {"ProductionVariants": [
        Match.object_like({"InstanceType": {"Ref": "Type"}})]})
    assert stack.resolve(endpoint.max_capacity) == {"Ref": "Max"}


def async_endpoint(stack: cdk.Stack, **overrides: Any):

    props: dict[str, Any] = {
        "model": DeepgramModel.from_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/dg:1"),
        "instance_pools": ["ml.g6.2xlarge"],
        "max_capacity": 4,
    }
    props.update(overrides)
    return AsyncDeepgramEndpoint(stack, "Async", **props)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_capacity": -1}, r"min_capacity must be >= 0, got -1"),
        ({"max_capacity": 0}, r"max_capacity must be >= 1, got 0"),
        ({"min_capacity": 3, "max_capacity": 2}, r"max_capacity must be >= min_capacity \(3\), got 2"),
        ({"target_backlog_per_instance": 0}, r"target_backlog_per_instance must be > 0, got 0"),
        ({"max_concurrent_invocations_per_instance": 0},
         r"max_concurrent_invocations_per_instance must be between 1 and 1000, got 0"),
        ({"max_concurrent_invocations_per_instance": 1001},
         r"max_concurrent_invocations_per_instance must be between 1 and 1000, got 1001"),
        ({"result_expiration": cdk.Duration.days(0)},
         r"result_expiration must be >= 86400 seconds \(at least 1 day: S3 lifecycle rules count whole days\), got 0 days"),
        ({"result_expiration": cdk.Duration.hours(36)}, r"result_expiration must be whole days, got 1 day 12 hours"),
        ({"output_prefix": "/out"}, r"output_prefix must be a key prefix ending in '/' without a leading '/'.*got '/out'"),
        ({"input_prefix": "same/", "output_prefix": "same/"},
         r"input_prefix, output_prefix and failure_prefix must differ"),
        ({"initial_instance_count": 0}, r"initial_instance_count must be >= 1 \(CreateEndpointConfig needs at least one instance\), got 0"),
        ({"alarms": "none"}, r"alarms must be an instance of AsyncAlarmOptions, got 'none'"),
    ],
)
def test_invalid_async_props(stack: cdk.Stack, overrides: dict[str, Any], message: str):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        async_endpoint(stack, **overrides)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"security_groups": []}, r"security_groups need vpc|security_groups must be a list of 1 to 5"),
    ({"vpc_subnets": ec2.SubnetSelection()}, r"vpc_subnets and security_groups need vpc"),
])
def test_network_props_need_a_vpc(new_stack, kwargs, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        RealtimeDeepgramEndpoint(new_stack(nag=False), "E",
                                 model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                 instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                                 target_concurrency_per_instance=7, **kwargs)


MIXED = [InstancePool("ml.g6.2xlarge", max_concurrency=8),
         InstancePool("ml.g6e.2xlarge", max_concurrency=20)]


def fleet_endpoint(stack: cdk.Stack, pools: list[InstancePool], **kwargs):
    return RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                    instance_pools=pools, max_capacity=8, **kwargs)


@pytest.mark.parametrize(("pools", "kwargs", "message"), [
    (MIXED, {"target_utilization": 0}, r"target_utilization must be > 0 and <= 1, got 0"),
    (MIXED, {"target_utilization": 1.2}, r"target_utilization must be > 0 and <= 1, got 1.2"),
    ([InstancePool("ml.g6.2xlarge", max_concurrency=8), InstancePool("ml.g6e.2xlarge")], {},
     r"max_concurrency must be declared on every pool or on none, got it missing on \['ml.g6e.2xlarge'\]"),
    ([InstancePool("ml.g6.2xlarge", weight=1), InstancePool("ml.g6e.2xlarge")],
     {"target_concurrency_per_instance": 5}, r"weight must be set on every pool or on none"),
    ([InstancePool("ml.g6.2xlarge"), InstancePool("ml.g6e.2xlarge")], {},
     r"target_concurrency_per_instance is required for target tracking unless every pool declares max_concurrency"),
])
def test_invalid_mixed_fleet_props(new_stack, pools, kwargs, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        fleet_endpoint(new_stack(nag=False), pools, **kwargs)


@pytest.mark.parametrize("count", [0, 6])
def test_security_groups_number_one_to_five(new_stack: Callable[..., cdk.Stack], count: int):
    # SageMaker's VpcConfig takes 1 to 5 security groups (docs/aws-behaviour.md#vpc-permissions).
    from aws_cdk import aws_ec2 as ec2

    from .test_execution import private_vpc

    stack = new_stack(nag=False)
    vpc = private_vpc(stack)
    groups = [ec2.SecurityGroup(stack, f"G{i}", vpc=vpc) for i in range(count)]
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"security_groups must be a list of 1 to 5 security groups "
                             r"\(SageMaker's limit\), got"):
        realtime(stack, vpc=vpc, security_groups=groups)
    # one and five are accepted, and used as given
    for accepted in (1, 5):
        chosen = [ec2.SecurityGroup(stack, f"Ok{accepted}x{i}", vpc=vpc) for i in range(accepted)]
        endpoint = RealtimeDeepgramEndpoint(
            stack, f"Ok{accepted}", model=DeepgramModel.from_model_package(PACKAGE_ARN),
            instance_pools=["ml.g6.2xlarge"], max_capacity=2, target_concurrency_per_instance=7,
            vpc=vpc, security_groups=chosen)
        assert endpoint.connections.security_groups == chosen


def test_an_error_names_the_construct_that_failed(new_stack: Callable[..., cdk.Stack]):
    # Given two endpoints in one stack, the second one misconfigured
    stack = new_stack("Speech", nag=False)
    realtime(stack)
    with pytest.raises(DeepgramScalingConfigError) as info:
        RealtimeDeepgramEndpoint(stack, "Streaming", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                 instance_pools=["ml.g6.2xlarge"], min_capacity=3, max_capacity=2,
                                 target_concurrency_per_instance=7)
    # then the message says which one, and what is wrong
    assert list(info.value.problems) == [
        "Speech/Streaming: max_capacity must be >= min_capacity (3), got 2"]


# --- the shared rules as plain functions: SharedProps in, problems out ------------------------


def shared(**overrides: Any) -> dict[str, Any]:
    """A real-time endpoint's constructor arguments as ``locals()`` hands them over."""
    arguments: dict[str, Any] = {
        "model": DeepgramModel.from_image(IMAGE_URI), "instance_pools": ["ml.g6.2xlarge"],
        "min_capacity": 1, "max_capacity": 4, "initial_instance_count": None, "role": None,
        "kms_key": None, "provision_timeout": cdk.Duration.minutes(30),
        "inference_ami_version": "al2-ami-sagemaker-inference-gpu-2",
        "model_data_download_timeout": cdk.Duration.minutes(10),
        "container_startup_health_check_timeout": cdk.Duration.minutes(10),
        "endpoint_name": None, "alarm_topic": None, "vpc": None, "vpc_subnets": None,
        "security_groups": None, "scale_out_cooldown": cdk.Duration.minutes(1),
        "scale_in_cooldown": cdk.Duration.minutes(5), "suspend_scaling": False,
    }
    arguments.update(overrides)
    return arguments


def problems_of(arguments: dict[str, Any], *, floor: int = 1,
                stack_region: str | None = None) -> list[str]:
    """What the shared rules say about ``arguments``, in order."""
    problems = Problems()
    props = shared_props(arguments, problems)
    for rule in shared_rules(props, min_capacity_floor=floor, stack_region=stack_region):
        rule(problems)
    try:
        problems.raise_if_any()
    except DeepgramScalingConfigError as err:
        return list(err.problems)
    return []


def test_valid_shared_props_raise_nothing():
    # given a real-time endpoint's arguments that are all valid, in the model's region
    # when the shared rules run / then they find nothing
    assert problems_of(shared(), stack_region="us-east-1") == []


def test_arguments_without_suspend_scaling_leave_scaling_on():
    # given an endpoint type whose constructor has no suspend_scaling argument
    arguments = shared()
    del arguments["suspend_scaling"]
    problems = Problems()
    # when its shared props are read
    props = shared_props(arguments, problems)
    # then scaling is not suspended, and the rules accept it
    assert props.suspend_scaling is False
    assert problems_of(arguments) == []


def test_a_model_of_another_region_is_refused_by_the_shared_rules():
    # given an image in us-east-1 and a stack in eu-west-1
    # when the shared rules run with the stack's region
    found = problems_of(shared(), stack_region="eu-west-1")
    # then the model is refused, naming the region to push the image to
    assert len(found) == 1
    assert found[0].startswith("model image_uri is in us-east-1, but the stack deploys to "
                               "eu-west-1")
    # and without a known stack region nothing is said
    assert problems_of(shared()) == []


def test_an_alarm_topic_on_the_aws_managed_key_is_refused_by_the_shared_rules():
    # given an alarm topic encrypted with alias/aws/sns
    topic = SimpleNamespace(master_key=SimpleNamespace(alias_name="alias/aws/sns"))
    # when the shared rules run
    found = problems_of(shared(alarm_topic=topic))
    # then the topic is refused, and a customer-managed key is accepted
    assert found == ["alarm_topic is encrypted with the AWS-managed key alias/aws/sns, which "
                     "CloudWatch alarms cannot use; encrypt it with a customer-managed key, "
                     "got alias/aws/sns"]
    own = SimpleNamespace(master_key=SimpleNamespace(alias_name="alias/speech-alarms"))
    assert problems_of(shared(alarm_topic=own)) == []


def test_a_model_that_is_not_a_deepgram_model_is_named_first_in_its_message():
    found = problems_of(shared(model="123456789012.dkr.ecr.us-east-1.amazonaws.com/dg:1"))
    assert found[0].startswith("model must be a DeepgramModel (DeepgramModel.from_model_package "
                               "or DeepgramModel.from_image), got '123456789012")


def test_a_real_time_floor_of_zero_points_to_the_async_endpoint():
    # given a real-time endpoint (floor 1) asked to scale to zero
    (found,) = problems_of(shared(min_capacity=0), floor=1)
    # then the message says where scale-to-zero lives
    assert "use AsyncDeepgramEndpoint for scale-to-zero), got 0" in found
    # and an asynchronous endpoint (floor 0) accepts zero
    assert problems_of(shared(min_capacity=0), floor=0) == []


def test_max_capacity_must_be_a_whole_number():
    assert problems_of(shared(max_capacity=2.5)) == ["max_capacity must be a whole number, got 2.5"]


@pytest.mark.parametrize("overrides", [
    {"min_capacity": 2, "max_capacity": 2},
    {"initial_instance_count": 4, "max_capacity": 4},
])
def test_capacities_may_meet_at_their_bounds(overrides: dict[str, Any]):
    # a fleet pinned at one size, and an initial count at the maximum, are valid
    assert problems_of(shared(**overrides)) == []


def test_initial_instance_count_must_be_a_whole_number():
    assert problems_of(shared(initial_instance_count=1.5)) == [
        "initial_instance_count must be a whole number, got 1.5"]


def test_an_initial_count_is_not_compared_with_a_maximum_known_at_deploy_time():
    # given a max_capacity that is a token (a CloudFormation parameter, say)
    maximum = cdk.Token.as_number({"Ref": "Max"})
    # when the rules run / then the initial count is left to CloudFormation
    assert problems_of(shared(max_capacity=maximum, initial_instance_count=2)) == []


def test_a_provision_timeout_out_of_range_cites_the_apis_range():
    (found,) = problems_of(shared(provision_timeout=cdk.Duration.hours(2)))
    assert found == ("provision_timeout must be between 300 and 3600 seconds (the API's range "
                     "for VariantInstanceProvisionTimeoutInSeconds), got 2 hours")


@pytest.mark.parametrize(("overrides", "named"), [
    ({"vpc_subnets": ec2.SubnetSelection()}, "vpc_subnets"),
    ({"security_groups": [SimpleNamespace()]}, "security_groups"),
])
def test_network_props_without_a_vpc_name_the_one_given(overrides: dict[str, Any], named: str):
    # given subnets or security groups but no vpc / when the rules run
    # then the problem names the prop that was passed without its vpc
    assert problems_of(shared(**overrides)) == [
        f"vpc_subnets and security_groups need vpc, got vpc=None with {named}"]


def test_an_endpoint_name_known_at_deploy_time_is_not_checked():
    assert problems_of(shared(endpoint_name=cdk.Token.as_string({"Ref": "Name"}))) == []


def test_cooldowns_of_zero_are_accepted():
    # the lower bound of both cooldowns is 0 s, inclusive
    zero = cdk.Duration.seconds(0)
    assert problems_of(shared(scale_out_cooldown=zero, scale_in_cooldown=zero)) == []


# --- deployment guardrails among the shared rules (docs/aws-behaviour.md#deployment-guardrails)


def alarm(name: str | None = "speech-errors") -> SimpleNamespace:
    """An alarm as the rules see a cloudwatch.IAlarm: an ARN and a name."""
    return SimpleNamespace(alarm_arn=f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}",
                           alarm_name=name)


class Prefix(str):
    """Equal to any message that starts with it (where the rest echoes a long value)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(self)

    __hash__ = str.__hash__


CANARY = DeploymentStrategy.canary(percent=10, wait=cdk.Duration.minutes(10))
OPTIONS = RollbackAlarmOptions()


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"suspend_scaling": "yes"}, ["suspend_scaling must be True or False, got 'yes'"]),
    ({"rollback_alarms": [alarm()]},
     ["rollback_alarms apply to a deployment strategy; pass deployment= too, got "
      "rollback_alarms without deployment"]),
    ({"rollback_alarm_options": OPTIONS},
     ["rollback_alarm_options apply to a deployment strategy; pass deployment= too, got "
      "rollback_alarm_options without deployment"]),
    ({"deployment": "canary", "rollback_alarms": "x"},
     ["deployment must be a DeploymentStrategy, got 'canary'"]),
    ({"deployment": CANARY, "min_capacity": 2, "rollback_alarms": [alarm()],
      "rollback_alarm_options": OPTIONS},
     ["rollback_alarm_options shape the default rollback alarms, which rollback_alarms "
      "replaces; pass one of them, got both"]),
    ({"deployment": CANARY, "min_capacity": 2, "rollback_alarms": []},
     ["rollback_alarms must be a list of 1 to 10 alarms (the API's limit), got []"]),
    ({"deployment": CANARY, "min_capacity": 2, "rollback_alarms": "errors"},
     ["rollback_alarms must be a list of 1 to 10 alarms (the API's limit), got 'errors'"]),
    ({"deployment": CANARY, "min_capacity": 2,
      "rollback_alarms": [alarm(str(n)) for n in range(11)]},
     [Prefix("rollback_alarms must be a list of 1 to 10 alarms (the API's limit), got [")]),
    ({"deployment": CANARY, "min_capacity": 2,
      "rollback_alarms": [alarm(), "speech-latency", alarm(None), SimpleNamespace(alarm_arn="a")]},
     ["rollback_alarms[1] must be a cloudwatch.IAlarm, got 'speech-latency'",
      Prefix("rollback_alarms[2] must be a cloudwatch.IAlarm, got namespace("),
      "rollback_alarms[3] must be a cloudwatch.IAlarm, got namespace(alarm_arn='a')"]),
], ids=["suspend-not-bool", "alarms-without-deployment", "options-without-deployment",
        "not-a-strategy", "alarms-and-options", "no-alarms", "alarms-not-a-list",
        "eleven-alarms", "not-an-alarm"])
def test_deployment_props_are_refused_with_the_prop_named(overrides: dict[str, Any],
                                                          expected: list[Any]):
    # given deployment props that cannot go together / when the shared rules run
    # then each problem names the prop and echoes the value
    assert problems_of(shared(**overrides)) == expected


@pytest.mark.parametrize("overrides", [
    {"deployment": CANARY, "min_capacity": 2},
    {"deployment": CANARY, "min_capacity": 2, "rollback_alarms": [alarm(str(n)) for n in range(10)]},
    {"deployment": CANARY, "min_capacity": 2, "rollback_alarm_options": OPTIONS},
    {"deployment": DeploymentStrategy.all_at_once(), "min_capacity": 1,
     "model": DeepgramModel.from_model_package(PACKAGE_ARN)},
    {"suspend_scaling": True},
], ids=["canary", "ten-alarms", "options", "all-at-once-package", "suspended"])
def test_deployment_props_sagemaker_accepts_pass(overrides: dict[str, Any]):
    assert problems_of(shared(**overrides)) == []


def test_a_stepped_update_on_a_fleet_of_one_is_refused():
    (found,) = problems_of(shared(deployment=CANARY, min_capacity=1))
    assert found.startswith("min_capacity must be >= 2 for a canary update")
    assert found.endswith("got 1")


def test_the_steps_of_a_rolling_update_are_bounded_by_max_capacity():
    # given 5 % batches of 10 minutes inside an hour: twenty batches would not fit
    rolling = DeploymentStrategy.rolling(batch_percent=5, wait=cdk.Duration.minutes(10),
                                         maximum_execution_timeout=cdk.Duration.hours(1))
    # when the fleet is at most four instances / then four batches fit
    assert problems_of(shared(deployment=rolling, min_capacity=2, max_capacity=4)) == []
    # and at thirty instances the timeout is refused
    (found,) = problems_of(shared(deployment=rolling, min_capacity=2, max_capacity=30))
    assert found.startswith("deployment.maximum_execution_timeout must exceed the waits it "
                            "contains (12000 s over 20 step(s))")


def test_a_marketplace_package_refuses_guardrails_and_their_alarms():
    package = DeepgramModel.from_model_package(PACKAGE_ARN)
    # a canary on a package
    assert problems_of(shared(model=package, deployment=CANARY, min_capacity=2)) == [
        "deployment: SageMaker excludes Marketplace containers from deployment guardrails (it "
        "falls back to all-at-once blue/green with no baking period), so only "
        "DeploymentStrategy.all_at_once() applies to a model package, got canary"]
    at_once = DeploymentStrategy.all_at_once()
    # rollback alarm options on a package
    assert problems_of(shared(model=package, deployment=at_once,
                              rollback_alarm_options=OPTIONS)) == [
        "rollback_alarm_options have no effect on a Marketplace package: SageMaker applies no "
        "guardrail there, so nothing would roll back; drop them, got rollback_alarm_options"]
    # the user's rollback alarms on a package: counted (or echoed), not inspected further
    assert problems_of(shared(model=package, deployment=at_once, rollback_alarms=7))[0].endswith(
        "drop them, got 7 alarm(s)")
    assert problems_of(shared(model=package, deployment=at_once,
                              rollback_alarms=[alarm(), "not-an-alarm"])) == [
        "rollback_alarms have no effect on a Marketplace package: SageMaker applies no "
        "guardrail there, so nothing would roll back; drop them, got 2 alarm(s)"]


def test_security_groups_given_as_one_string_are_refused():
    # given a vpc and a security group id where a list of groups belongs
    found = problems_of(shared(vpc=SimpleNamespace(), security_groups="sg1"))
    # then the list is asked for, echoing the string
    assert found == ["security_groups must be a list of 1 to 5 security groups (SageMaker's "
                     "limit), got 'sg1'"]
