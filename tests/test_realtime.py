"""The real-time endpoint's template: the properties that decide its behaviour."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from deepgram_scaling import DEFAULT_INFERENCE_AMI_VERSION

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


# --- the example stack (Marketplace package, three pools) ---------------------------------


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


def test_execution_role_has_no_full_access_and_scoped_logs(example_template: Template):
    rendered = str(example_template.to_json())
    assert "FullAccess" not in rendered
    role = only(example_template, "AWS::IAM::Role", prefix="Realtime")
    assert "ManagedPolicyArns" in role["Properties"]
    policy = only(example_template, "AWS::IAM::ManagedPolicy", prefix="Realtime")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {str(s["Action"]): s for s in statements}
    logs = next(s for a, s in by_action.items() if "logs:CreateLogStream" in a)
    assert "/aws/sagemaker/Endpoints/*" in str(logs["Resource"])
    metrics = next(s for a, s in by_action.items() if "cloudwatch:PutMetricData" in a)
    assert metrics["Condition"] == {
        "StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}
    }
    # A Marketplace package needs no ECR access.
    assert "ecr:" not in str(statements)


def _alarm(template: Template, metric_fragment: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::CloudWatch::Alarm", metric_fragment, prefix="Realtime")["Properties"]


def test_alarm_capacity_pinned_at_max(example_template: Template):
    props = _alarm(example_template, {"AlarmDescription": Match.string_like_regexp("real-time endpoint is pinned")})
    assert props["Namespace"] == "/aws/sagemaker/Endpoints"
    assert props["MetricName"] == "CPUUtilization"
    assert props["Statistic"] == "SampleCount"
    assert props["Period"] == 60
    assert props["Dimensions"] == [
        {"Name": "EndpointName", "Value": endpoint_name_ref(example_template)},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    assert props["Threshold"] == 8
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (15, 15)
    assert props["TreatMissingData"] == "notBreaching"


def test_alarm_on_5xx_errors(example_template: Template):
    props = _alarm(example_template, {"MetricName": "Invocation5XXErrors"})
    assert props["Namespace"] == "AWS/SageMaker"
    assert props["Statistic"] == "Sum"
    assert props["Period"] == 60
    assert props["Threshold"] == 1
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (5, 3)
    assert props["Dimensions"] == [
        {"Name": "EndpointName", "Value": endpoint_name_ref(example_template)},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]


def test_alarm_on_model_errors(example_template: Template):
    props = _alarm(example_template, {"MetricName": "InvocationModelErrors"})
    assert (props["Statistic"], props["Threshold"]) == ("Sum", 5)
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (5, 3)


def test_alarm_on_model_latency(example_template: Template):
    props = _alarm(example_template, {"MetricName": "ModelLatency"})
    assert props["ExtendedStatistic"] == "p99"
    assert props["Threshold"] == 50_000_000
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 3)


def endpoint_name_ref(template: Template, prefix: str = "Realtime") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id_of(template, "AWS::SageMaker::Endpoint", prefix),
                           "EndpointName"]}


# --- a single instance type, a self-hosted image, custom settings --------------------------


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


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(single_type: SingleTypeScenario):
    topic_id = logical_id_of(single_type.template, "AWS::SNS::Topic")
    alarms = single_type.template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 6
    assert set(single_type.endpoint.alarms) == {
        "capacity_at_max", "invocation_5xx_errors", "model_errors", "model_latency",
        "first_chunk_latency", "mid_stream_errors"}
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]


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


def test_escape_hatches_are_the_l1_resources(single_type: SingleTypeScenario):
    endpoint = single_type.endpoint
    assert endpoint.cfn_endpoint.cfn_resource_type == "AWS::SageMaker::Endpoint"
    assert endpoint.cfn_endpoint_config.cfn_resource_type == "AWS::SageMaker::EndpointConfig"
    assert endpoint.cfn_model.cfn_resource_type == "AWS::SageMaker::Model"
    assert endpoint.scalable_target.node.default_child is not None
    assert endpoint.scaling_policy.node.default_child is not None


def test_metric_helpers(single_type: SingleTypeScenario):
    endpoint = single_type.endpoint
    concurrency = endpoint.metric_concurrent_requests_per_model()
    assert (concurrency.metric_name, concurrency.namespace) == (
        "ConcurrentRequestsPerModel", "AWS/SageMaker")
    assert concurrency.statistic == "Maximum"
    assert set(concurrency.dimensions) == {"EndpointName", "VariantName"}
    per_pool = endpoint.metric_concurrent_requests_per_model(instance_type="ml.g6.2xlarge")
    assert per_pool.dimensions["InstanceType"] == "ml.g6.2xlarge"
    assert endpoint.metric_model_latency().statistic == "p99"
    assert endpoint.metric_invocations().statistic == "Sum"
    assert endpoint.metric_invocation_5xx_errors().metric_name == "Invocation5XXErrors"
    assert endpoint.metric_model_errors().metric_name == "InvocationModelErrors"


# --- composition -----------------------------------------------------------------------


def test_two_endpoints_in_one_stack_do_not_collide(two_endpoints: Template):
    two_endpoints.resource_count_is("AWS::SageMaker::Endpoint", 2)
    two_endpoints.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 2)
    targets = two_endpoints.find_resources("AWS::ApplicationAutoScaling::ScalableTarget")
    endpoints = sorted(
        t["Properties"]["ResourceId"]["Fn::Join"][1][1]["Fn::GetAtt"][0] for t in targets.values()
    )
    assert endpoints == sorted(two_endpoints.find_resources("AWS::SageMaker::Endpoint"))
    policies = two_endpoints.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert sorted(
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
        for p in policies.values()
    ) == [5, 7]
    names = [p["Properties"]["PolicyName"] for p in policies.values()]
    assert len(set(names)) == 2


def test_package_arn_fixture_is_a_package():
    assert ":model-package/" in PACKAGE_ARN


def test_a_role_the_user_passes_gets_the_policy_and_no_role_is_created(new_stack):
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    from deepgram_scaling import DeepgramModel, RealtimeDeepgramEndpoint

    stack = new_stack("OwnRole", nag=False)
    role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    endpoint = RealtimeDeepgramEndpoint(
        stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
        instance_pools=["ml.g6.2xlarge"], max_capacity=2, target_concurrency_per_instance=7,
        role=role)
    template = Template.from_stack(stack)
    roles = template.find_resources("AWS::IAM::Role")
    assert list(roles) == [stack.get_logical_id(role.node.default_child)]
    (mine,) = roles.values()
    policy_id = template.find_resources("AWS::IAM::ManagedPolicy")
    assert mine["Properties"]["ManagedPolicyArns"] == [{"Ref": next(iter(policy_id))}]
    assert endpoint.role is role
    model = next(iter(template.find_resources("AWS::SageMaker::Model").values()))
    assert model["Properties"]["ExecutionRoleArn"] == {"Fn::GetAtt": [next(iter(roles)), "Arn"]}
    assert cdk.Token.is_unresolved(endpoint.endpoint_name)
