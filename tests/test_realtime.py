"""The real-time endpoint's template: the properties that decide its behaviour."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

from deepgram_scaling import (
    DEFAULT_INFERENCE_AMI_VERSION,
    DeepgramModel,
    InstancePool,
    RealtimeDeepgramEndpoint,
)

from .conftest import IMAGE_URI, PACKAGE_ARN, SingleTypeScenario


def only(template: Template, resource_type: str, props: Any = None,
         prefix: str = "") -> dict[str, Any]:
    found = {k: v for k, v in
             template.find_resources(resource_type, {"Properties": props} if props else None).items()
             if k.startswith(prefix)}
    assert len(found) == 1, f"expected one {resource_type}, got {list(found)}"
    return next(iter(found.values()))


def logical_id_of(template: Template, resource_type: str, prefix: str = "") -> str:
    found = [k for k in template.find_resources(resource_type) if k.startswith(prefix)]
    assert len(found) == 1, found
    return found[0]


def test_model_is_the_marketplace_package_with_network_isolation(example_template: Template):
    model = only(example_template, "AWS::SageMaker::Model", prefix="Realtime")["Properties"]
    assert model["EnableNetworkIsolation"] is True
    assert "model-package/" in model["PrimaryContainer"]["ModelPackageName"]
    assert "Image" not in model["PrimaryContainer"]


def test_endpoint_config_lists_pools_in_priority_order(example_template: Template):
    config = only(example_template, "AWS::SageMaker::EndpointConfig", prefix="Realtime")
    Template.from_json({"Resources": {"C": config}}).has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "InitialInstanceCount": 1,
                    "InstancePools": [
                        {"InstanceType": "ml.g6.2xlarge", "Priority": 1},
                        {"InstanceType": "ml.g6e.2xlarge", "Priority": 2},
                        {"InstanceType": "ml.g5.2xlarge", "Priority": 3},
                    ],
                    "InstanceType": Match.absent(),
                    "VariantInstanceProvisionTimeoutInSeconds": 300,
                    "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                    "InferenceAmiVersion": DEFAULT_INFERENCE_AMI_VERSION,
                    "ModelDataDownloadTimeoutInSeconds": 600,
                    "ContainerStartupHealthCheckTimeoutInSeconds": 600,
                    "ModelName": {"Fn::GetAtt": [Match.any_value(), "ModelName"]},
                }
            ],
            "KmsKeyId": Match.absent(),
            "AsyncInferenceConfig": Match.absent(),
        },
    )
    assert DEFAULT_INFERENCE_AMI_VERSION == "al2023-ami-sagemaker-inference-gpu-4-1"


def test_endpoint_uses_the_config(example_template: Template):
    config_id = logical_id_of(example_template, "AWS::SageMaker::EndpointConfig", "Realtime")
    example_template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {"EndpointConfigName": {"Fn::GetAtt": [config_id, "EndpointConfigName"]}},
    )


def test_scalable_target_is_this_variant_with_the_service_linked_role(example_template: Template):
    endpoint_id = logical_id_of(example_template, "AWS::SageMaker::Endpoint", "Realtime")
    example_template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ServiceNamespace": "sagemaker",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 1,
            "MaxCapacity": 8,
            "ResourceId": {
                "Fn::Join": [
                    "",
                    ["endpoint/", {"Fn::GetAtt": [endpoint_id, "EndpointName"]},
                     "/variant/AllTraffic"],
                ]
            },
            "RoleARN": {
                "Fn::Join": [
                    "",
                    [
                        "arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"},
                        ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                    ],
                ]
            },
        },
    )
    # No role is created for Application Auto Scaling: only the models' execution roles.
    for role in example_template.find_resources("AWS::IAM::Role").values():
        principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        assert principal == {"Service": "sagemaker.amazonaws.com"}


def test_target_tracking_on_high_resolution_concurrency(example_template: Template):
    target_id = logical_id_of(example_template, "AWS::ApplicationAutoScaling::ScalableTarget",
                              "Realtime")
    example_template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": target_id},
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType":
                        "SageMakerVariantConcurrentRequestsPerModelHighResolution"
                },
                "TargetValue": 15,  # derived: 0.75 x the largest declared capacity (20)
                "ScaleOutCooldown": 60,
                "ScaleInCooldown": 300,
                "DisableScaleIn": Match.absent(),
            },
        },
    )


def test_single_type_gives_plain_instance_type(single_type: SingleTypeScenario):
    variant = only(single_type.template, "AWS::SageMaker::EndpointConfig")["Properties"][
        "ProductionVariants"
    ][0]
    assert variant["InstanceType"] == "ml.g6.2xlarge"
    for absent in ("InstancePools", "RoutingConfig", "VariantInstanceProvisionTimeoutInSeconds"):
        assert absent not in variant
    # A constant, not min_capacity (2 here): a floor change must not replace the config.
    assert variant["InitialInstanceCount"] == 1


def test_image_model_gets_settings_and_scoped_ecr_pull(single_type: SingleTypeScenario):
    single_type.template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "Image": IMAGE_URI,
                "ModelPackageName": Match.absent(),
                "Environment": {
                    "DEEPGRAM_API_01": "features.diarize=true",
                    "DEEPGRAM_ENGINE_01": "max_active_requests=120",
                },
            },
            "EnableNetworkIsolation": False,  # an image needs its licence server
        },
    )
    policy = only(single_type.template, "AWS::IAM::ManagedPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    pull = next(s for s in statements if "ecr:BatchGetImage" in s["Action"])
    assert pull["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                          ":ecr:us-east-1:123456789012:repository/deepgram/self-hosted"]]
    }
    token = next(s for s in statements if s["Action"] == "ecr:GetAuthorizationToken")
    assert token["Resource"] == "*"


def test_custom_capacities_and_cooldowns(single_type: SingleTypeScenario):
    single_type.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 2, "MaxCapacity": 6}
    )
    single_type.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 8, "ScaleOutCooldown": 30, "ScaleInCooldown": 900}},
    )


def test_grants_cover_sync_and_streaming_on_this_endpoint_only(single_type: SingleTypeScenario):
    endpoint_id = logical_id_of(single_type.template, "AWS::SageMaker::Endpoint")
    single_type.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["sagemaker:InvokeEndpoint",
                                   "sagemaker:InvokeEndpointWithBidirectionalStream"],
                        "Effect": "Allow",
                        "Resource": {"Ref": endpoint_id},
                    }
                ]
            },
            "Roles": [{"Ref": Match.string_like_regexp("ClientRole")}],
        },
    )


def test_package_arn_fixture_is_a_package():
    assert ":model-package/" in PACKAGE_ARN


MIXED = [InstancePool("ml.g6.2xlarge", max_concurrency=8),
         InstancePool("ml.g6e.2xlarge", max_concurrency=20)]


def fleet_endpoint(stack: cdk.Stack, pools: list[InstancePool], **kwargs):
    return RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                    instance_pools=pools, max_capacity=8, **kwargs)


def test_a_companion_target_below_the_fleet_target_warns(new_stack):
    from aws_cdk.assertions import Annotations, Match

    from deepgram_scaling.realtime import LOW_COMPANION_WARNING_ID

    stack = new_stack("LowCompanion", nag=False)
    fleet_endpoint(stack, MIXED, target_concurrency_per_instance=7)
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(
        r"target_concurrency_per_instance \(7\) is below target_utilization x the largest "
        r"declared capacity \(15\)"))
    assert len(warnings) == 1 and LOW_COMPANION_WARNING_ID in str(warnings[0])
    quiet = new_stack("FairCompanion", nag=False)
    fleet_endpoint(quiet, MIXED, target_concurrency_per_instance=15)
    assert Annotations.from_stack(quiet).find_warning("*", Match.any_value()) == []


def test_companion_target_defaults_to_utilization_of_the_largest_pool(new_stack):
    endpoint = fleet_endpoint(new_stack(nag=False), MIXED)
    assert endpoint.target_concurrency_per_instance == 15  # 0.75 x 20


def test_uniform_capacities_keep_the_predefined_policy(new_stack):
    stack = new_stack(nag=False)
    endpoint = fleet_endpoint(stack, [InstancePool("ml.g6.2xlarge", max_concurrency=10),
                                InstancePool("ml.g6e.2xlarge", max_concurrency=10)])
    assert endpoint.scaling_signal == "predefined"
    assert endpoint.mixed_fleet_policy is None
    assert endpoint.target_concurrency_per_instance == 7.5
