"""The example app's two endpoints written by hand with aws-cdk-lib, for ``make bench-synth``.

This is the baseline the library's synthesis time is compared with: the same resources as
``app.py`` builds through ``deepgram_scaling`` (a Marketplace real-time endpoint on three
instance pools, an image-based asynchronous endpoint on two), spelled out with the same
aws-cdk-lib L2 constructs the library uses and L1 where it uses L1, but without its
validation, options, nag acknowledgments and helper layers. Every value is written out for
the ``cdk.json`` settings; it does not read the ``deepgram:*`` context keys.

``tests/test_bench.py`` checks that its resource types and counts match the example stack's,
so the baseline stays honest when the library changes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "DeepgramScalingExample"

PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/deepgram-nova-3-example"
IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram/self-hosted:example"
PARTITION, REGION, ACCOUNT = cdk.Aws.PARTITION, cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID
ECR_REPOSITORY = f"arn:{PARTITION}:ecr:us-east-1:123456789012:repository/deepgram/self-hosted"
REALTIME_POOLS = {"ml.g6.2xlarge": 8, "ml.g6e.2xlarge": 20, "ml.g5.2xlarge": 6}
ASYNC_POOLS = ["ml.g6.2xlarge", "ml.g6e.2xlarge"]

SAGEMAKER = "AWS/SageMaker"
INSTANCES = "/aws/sagemaker/Endpoints"
VARIANT = "AllTraffic"
MINUTE = cdk.Duration.minutes(1)
GE = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
AUTOSCALING_ROLE = ("aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")


def feature_flags() -> dict[str, Any]:
    """The ``@aws-cdk/*`` feature flags of ``cdk.json``, so both apps render L2s alike."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {k: v for k, v in context.items() if k.startswith("@aws-cdk/")}


def alarm_topic(scope: Construct) -> sns.Topic:
    key = kms.Key(scope, "AlarmTopicKey", enable_key_rotation=True,
                  description="Encrypts a Deepgram endpoint's alarm notifications")
    key.add_to_resource_policy(iam.PolicyStatement(
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"]))
    topic = sns.Topic(scope, "AlarmTopic", master_key=key, enforce_ssl=True)
    topic.add_to_resource_policy(iam.PolicyStatement(
        sid="AllowCloudWatchAlarmsToPublish",
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["sns:Publish"], resources=[topic.topic_arn],
        conditions={
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"},
        }))
    return topic


def model_and_endpoint(
    scope: Construct, *, container: sagemaker.CfnModel.ContainerDefinitionProperty,
    isolated: bool, extra_statements: list[iam.PolicyStatement], pools: list[str],
    routing: bool, async_config: sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty | None,
) -> sagemaker.CfnEndpoint:
    policy = iam.ManagedPolicy(
        scope, "ExecutionPolicy",
        description="Least-privilege permissions of a Deepgram SageMaker model",
        statements=[
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream",
                         "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:"
                           "log-group:/aws/sagemaker/Endpoints/*"]),
            iam.PolicyStatement(actions=["cloudwatch:PutMetricData"], resources=["*"],
                                conditions={"StringLike": {
                                    "cloudwatch:namespace": "/aws/sagemaker/*"}}),
            *extra_statements,
        ])
    role = iam.Role(scope, "ExecutionRole",
                    assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                    description="Execution role of a Deepgram SageMaker model",
                    managed_policies=[policy])
    model = sagemaker.CfnModel(scope, "Model", execution_role_arn=role.role_arn,
                               enable_network_isolation=isolated, primary_container=container)
    model.node.add_dependency(policy)  # the role's policy exists before SageMaker uses it
    config = sagemaker.CfnEndpointConfig(
        scope, "EndpointConfig",
        async_inference_config=async_config,
        production_variants=[sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT, model_name=model.attr_model_name, initial_instance_count=1,
            inference_ami_version="al2023-ami-sagemaker-inference-gpu-4-1",
            model_data_download_timeout_in_seconds=600,
            container_startup_health_check_timeout_in_seconds=600,
            variant_instance_provision_timeout_in_seconds=300,
            instance_pools=[
                sagemaker.CfnEndpointConfig.InstancePoolProperty(instance_type=t, priority=i)
                for i, t in enumerate(pools, 1)
            ],
            routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                routing_strategy="LEAST_OUTSTANDING_REQUESTS") if routing else None,
        )])
    # A name that changes with the pools, so a pool change replaces the endpoint.
    digest = hashlib.sha256(
        json.dumps([[t, i] for i, t in enumerate(pools, 1)]).encode()).hexdigest()[:8]
    name = cdk.Names.unique_resource_name(scope, max_length=54, separator="-",
                                          allowed_special_characters="-")
    return sagemaker.CfnEndpoint(scope, "Endpoint",
                                 endpoint_config_name=config.attr_endpoint_config_name,
                                 endpoint_name=f"{name}-{digest}",
                                 retain_all_variant_properties=True)


def scalable_target(scope: Construct, endpoint: sagemaker.CfnEndpoint, *,
                    min_capacity: int, max_capacity: int) -> appscaling.ScalableTarget:
    return appscaling.ScalableTarget(
        scope, "ScalableTarget",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=f"endpoint/{endpoint.attr_endpoint_name}/variant/{VARIANT}",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=min_capacity, max_capacity=max_capacity,
        role=iam.Role.from_role_arn(
            scope, "AutoScalingServiceLinkedRole",
            f"arn:{PARTITION}:iam::{ACCOUNT}:role/{AUTOSCALING_ROLE}",
            mutable=False))


def metric(name: str, dims: dict[str, str], stat: str = "Sum", *, namespace: str = SAGEMAKER,
           label: str | None = None) -> cw.Metric:
    return cw.Metric(namespace=namespace, metric_name=name, dimensions_map=dims,
                     statistic=stat, period=MINUTE, label=label)


def alarm(scope: Construct, construct_id: str, m: cw.Metric, threshold: float, periods: int,
          description: str, topic: sns.ITopic | None, datapoints: int | None = None,
          missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING) -> cw.Alarm:
    a = cw.Alarm(scope, construct_id, metric=m, threshold=threshold, evaluation_periods=periods,
                 datapoints_to_alarm=datapoints or periods, comparison_operator=GE,
                 treat_missing_data=missing, alarm_description=description)
    if topic is not None:
        a.add_alarm_action(cw_actions.SnsAction(topic))
        a.add_ok_action(cw_actions.SnsAction(topic))
    return a


def graph(title: str, left: list[cw.IMetric], right: list[cw.IMetric] | None = None,
          lines: dict[str, float] | None = None) -> cw.GraphWidget:
    return cw.GraphWidget(
        title=title, left=left, right=right, width=12, height=6,
        left_annotations=[cw.HorizontalAnnotation(value=v, label=k)
                          for k, v in lines.items()] if lines else None)


def instances(dims: dict[str, str], pools: list[str], lo: int, hi: int) -> cw.GraphWidget:
    return graph("Instances", [
        metric("CPUUtilization", dims, "SampleCount", namespace=INSTANCES),
        *[metric("CPUUtilization", {**dims, "InstanceType": t}, "SampleCount",
                 namespace=INSTANCES, label=f"instances ({t})") for t in pools],
    ], lines={"min_capacity": lo, "max_capacity": hi})


def realtime(stack: cdk.Stack) -> None:
    scope = Construct(stack, "Realtime")
    topic = alarm_topic(scope)
    endpoint = model_and_endpoint(
        scope, container=sagemaker.CfnModel.ContainerDefinitionProperty(
            model_package_name=PACKAGE_ARN),
        isolated=True, extra_statements=[], pools=list(REALTIME_POOLS), routing=True,
        async_config=None)
    name = endpoint.attr_endpoint_name
    target = scalable_target(scope, endpoint, min_capacity=1, max_capacity=8)
    target.scale_on_schedule("BusinessHoursFloor",
                             schedule=appscaling.Schedule.expression("cron(0 8 ? * MON-FRI *)"),
                             min_capacity=2, time_zone=cdk.TimeZone.AMERICA_NEW_YORK)
    target.scale_on_schedule("EveningRelease",
                             schedule=appscaling.Schedule.expression("cron(0 19 ? * MON-FRI *)"),
                             min_capacity=1, time_zone=cdk.TimeZone.AMERICA_NEW_YORK)

    # Mixed fleet: the most loaded pool's utilization (concurrency / its capacity), by
    # metric math, which the target-tracking L2 cannot express.
    cfn = appscaling.CfnScalingPolicy
    dims = {"EndpointName": name, "VariantName": VARIANT}
    ids = {t: t.removeprefix("ml.").replace(".", "_") for t in REALTIME_POOLS}
    queries: list[cfn.TargetTrackingMetricDataQueryProperty] = []
    for t, capacity in REALTIME_POOLS.items():
        queries.append(cfn.TargetTrackingMetricDataQueryProperty(
            id=f"cr_{ids[t]}", return_data=False,
            metric_stat=cfn.TargetTrackingMetricStatProperty(
                stat="Maximum", metric=cfn.TargetTrackingMetricProperty(
                    namespace=SAGEMAKER, metric_name="ConcurrentRequestsPerModel",
                    dimensions=[cfn.TargetTrackingMetricDimensionProperty(name=k, value=v)
                                for k, v in {**dims, "InstanceType": t}.items()]))))
        queries.append(cfn.TargetTrackingMetricDataQueryProperty(
            id=f"util_{ids[t]}", expression=f"cr_{ids[t]} / {capacity}", return_data=False))
    g6, g6e, g5 = (f"util_{i}" for i in ids.values())
    pair = "max_g6e_2xlarge_g5_2xlarge"
    expressions = {pair: f"IF({g6e} >= {g5}, {g6e}, {g5})",
                   "fleet_utilization": f"IF({g6} >= {pair}, {g6}, {pair})"}
    for query_id, expression in expressions.items():
        queries.append(cfn.TargetTrackingMetricDataQueryProperty(
            id=query_id, expression=expression, return_data=query_id == "fleet_utilization"))
    scaling = Construct(scope, "Scaling")
    mixed = cfn(scaling, "MixedFleetScaling", policy_name="placeholder",
                policy_type="TargetTrackingScaling",
                scaling_target_id=target.scalable_target_id,
                target_tracking_scaling_policy_configuration=(
                    cfn.TargetTrackingScalingPolicyConfigurationProperty(
                        target_value=0.75, scale_out_cooldown=60, scale_in_cooldown=300,
                        customized_metric_specification=cfn.CustomizedMetricSpecificationProperty(
                            metrics=queries))))
    mixed.policy_name = cdk.Names.unique_id(mixed)
    # The companion tracks the concurrency at which the largest pool reaches 0.75 (0.75 x 20).
    appscaling.TargetTrackingScalingPolicy(
        scaling, "ConcurrencyScaling", scaling_target=target, target_value=15,
        predefined_metric=(appscaling.PredefinedMetric
                           .SAGEMAKER_VARIANT_CONCURRENT_REQUESTS_PER_MODEL_HIGH_RESOLUTION),
        scale_out_cooldown=MINUTE, scale_in_cooldown=cdk.Duration.minutes(5))

    count = metric("CPUUtilization", dims, "SampleCount", namespace=INSTANCES)
    alarm(scope, "CapacityAtMaxAlarm", count, 8, 15, "Deepgram real-time endpoint is pinned "
          "at max_capacity: it cannot add instances for more load.", topic)
    alarm(scope, "Invocation5xxErrorsAlarm", metric("Invocation5XXErrors", dims), 1, 5,
          "Deepgram real-time endpoint returns 5XX errors.", topic, 3)
    alarm(scope, "ModelErrorsAlarm", metric("InvocationModelErrors", dims), 5, 5,
          "Deepgram model answers requests with errors or times out.", topic, 3)
    alarm(scope, "ModelLatencyAlarm", metric("ModelLatency", dims, "p99"), 50_000_000, 3,
          "Deepgram real-time endpoint p99 model latency is close to the 60 s InvokeEndpoint "
          "timeout.", topic)
    alarm(scope, "FirstChunkLatencyAlarm", metric("FirstChunkLatency", dims, "p99"), 3_000_000,
          3, "Streaming sessions wait too long for their first result.", topic)
    alarm(scope, "MidStreamErrorsAlarm", metric("MidStreamErrors", dims), 1, 5,
          "Streaming sessions fail after they started.", topic, 3)

    per_pool = {t: metric("ConcurrentRequestsPerModel", {**dims, "InstanceType": t}, "Maximum")
                for t in REALTIME_POOLS}
    using: dict[str, cw.IMetric] = {}
    for t, capacity in REALTIME_POOLS.items():
        using[f"util_{ids[t]}"] = cw.MathExpression(
            expression=f"cr_{ids[t]} / {capacity}", using_metrics={f"cr_{ids[t]}": per_pool[t]},
            period=MINUTE, label=f"util_{ids[t]}")
    using[pair] = cw.MathExpression(expression=expressions[pair], period=MINUTE, label=pair,
                                    using_metrics={k: using[k] for k in (g6e, g5)})
    fleet = cw.MathExpression(expression=expressions["fleet_utilization"], period=MINUTE,
                              label="fleet_utilization",
                              using_metrics={g6: using[g6], pair: using[pair]})
    dashboard = cw.Dashboard(scope, "Dashboard")
    dashboard.add_widgets(graph("Mixed-fleet signal (metric-math policy)", [fleet],
                                lines={"target": 0.75}))
    dashboard.add_widgets(
        graph("Concurrent requests per instance (scaling signal)",
              [metric("ConcurrentRequestsPerModel", dims, "Maximum"), *per_pool.values()],
              lines={"target": 15}),
        instances(dims, list(REALTIME_POOLS), 1, 8))
    dashboard.add_widgets(
        graph("Latency (microseconds)",
              [metric("FirstChunkLatency", dims, p) for p in ("p50", "p90", "p99")],
              right=[metric("ModelLatency", dims, p) for p in ("p50", "p99")]),
        graph("Errors", [metric(n, dims) for n in
                         ("Invocation5XXErrors", "InvocationModelErrors", "MidStreamErrors")]))
    cdk.CfnOutput(stack, "RealtimeEndpointName", value=name)


def batch(stack: cdk.Stack) -> None:
    scope = Construct(stack, "Batch")
    topic = alarm_topic(scope)
    key = kms.Key(scope, "Key", enable_key_rotation=True,
                  description="Encrypts a Deepgram asynchronous endpoint's audio, results and "
                              "notifications")
    logs = s3.Bucket(
        scope, "AccessLogsBucket", encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL, versioned=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(id="ExpireLogs", expiration=cdk.Duration.days(365),
                                          noncurrent_version_expiration=cdk.Duration.days(30))])
    days30 = cdk.Duration.days(30)
    bucket = s3.Bucket(
        scope, "Bucket", encryption=s3.BucketEncryption.KMS, encryption_key=key,
        bucket_key_enabled=True, enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL, versioned=True,
        server_access_logs_bucket=logs, server_access_logs_prefix="deepgram-async/",
        removal_policy=cdk.RemovalPolicy.RETAIN,
        lifecycle_rules=[
            s3.LifecycleRule(id="ExpireResults", prefix="output/", expiration=days30),
            s3.LifecycleRule(id="ExpireFailures", prefix="failure/", expiration=days30),
            s3.LifecycleRule(id="ExpireNoncurrentVersions", noncurrent_version_expiration=days30,
                             abort_incomplete_multipart_upload_after=cdk.Duration.days(1)),
            s3.LifecycleRule(id="RemoveExpiredDeleteMarkers", expired_object_delete_marker=True),
        ])
    success = sns.Topic(scope, "SuccessTopic", master_key=key, enforce_ssl=True)
    error = sns.Topic(scope, "ErrorTopic", master_key=key, enforce_ssl=True)

    endpoint = model_and_endpoint(
        scope, container=sagemaker.CfnModel.ContainerDefinitionProperty(image=IMAGE_URI),
        isolated=False, pools=ASYNC_POOLS, routing=False,
        extra_statements=[
            iam.PolicyStatement(actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                         "ecr:GetDownloadUrlForLayer"],
                                resources=[ECR_REPOSITORY]),
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(actions=["s3:GetObject"],
                                resources=[bucket.arn_for_objects("input/*")]),
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn],
                                conditions={"StringLike": {"s3:prefix": "input/*"}}),
            iam.PolicyStatement(actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                                resources=[bucket.arn_for_objects("output/*"),
                                           bucket.arn_for_objects("failure/*")]),
            iam.PolicyStatement(actions=["sns:Publish"],
                                resources=[success.topic_arn, error.topic_arn]),
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"],
                                resources=[key.key_arn]),
        ],
        async_config=sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
            client_config=sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=32),
            output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                kms_key_id=key.key_arn,
                s3_output_path=bucket.s3_url_for_object("output/"),
                s3_failure_path=bucket.s3_url_for_object("failure/"),
                notification_config=sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                    success_topic=success.topic_arn, error_topic=error.topic_arn))))
    name = endpoint.attr_endpoint_name
    target = scalable_target(scope, endpoint, min_capacity=0, max_capacity=4)

    by_endpoint = {"EndpointName": name}
    dims = {**by_endpoint, "VariantName": VARIANT}
    backlog = metric("ApproximateBacklogSizePerInstance", by_endpoint, "Average")
    scaling = Construct(scope, "Scaling")
    appscaling.TargetTrackingScalingPolicy(
        scaling, "BacklogScaling", scaling_target=target, target_value=5, custom_metric=backlog,
        scale_out_cooldown=cdk.Duration.minutes(5), scale_in_cooldown=cdk.Duration.minutes(10))
    wake_up = appscaling.StepScalingAction(
        scaling, "WakeUpFromZero", scaling_target=target,
        adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        metric_aggregation_type=appscaling.MetricAggregationType.AVERAGE,
        cooldown=cdk.Duration.minutes(5))
    wake_up.add_adjustment(adjustment=1, lower_bound=0)
    without_capacity = metric("HasBacklogWithoutCapacity", by_endpoint, "Average")
    alarm(scaling, "HasBacklogWithoutCapacityAlarm", without_capacity, 1, 2,
          "Work waits at an endpoint with no instance: add one (scale from zero).", None,
          missing=cw.TreatMissingData.MISSING
          ).add_alarm_action(cw_actions.ApplicationScalingAction(wake_up))

    oldest = metric("ApproximateAgeOfOldestRequest", by_endpoint, "Maximum")
    alarm(scope, "OldestRequestAgeAlarm", oldest, 900, 3,
          "Requests wait too long at the Deepgram asynchronous endpoint.", topic)
    alarm(scope, "BacklogWithoutCapacityAlarm", without_capacity, 1, 15,
          "Work has waited without any instance for too long: the wake-up from zero is failing "
          "(quota, capacity or scaling).", topic)
    alarm(scope, "InvocationFailuresAlarm", metric("InvocationFailures", dims), 1, 5,
          "Deepgram asynchronous requests fail.", topic, 3)
    alarm(scope, "CapacityAtMaxAlarm",
          metric("CPUUtilization", dims, "SampleCount", namespace=INSTANCES), 4, 15,
          "Deepgram asynchronous endpoint is pinned at max_capacity.", topic)
    alarm(scope, "RequestDownloadFailuresAlarm", metric("RequestDownloadFailures", dims), 1, 1,
          "SageMaker cannot read request inputs from S3: check the execution role's S3 and KMS "
          "permissions and the VPC's route to S3.", topic)
    alarm(scope, "ResponseUploadFailuresAlarm", metric("ResponseUploadFailures", dims), 1, 1,
          "SageMaker cannot write results to S3: check the execution role's S3 and KMS "
          "permissions.", topic)
    alarm(scope, "NotificationFailuresAlarm", metric("NotificationFailures", dims), 1, 1,
          "SageMaker cannot publish to the success or error topic: check sns:Publish and the "
          "topic key's permissions.", topic)

    dashboard = cw.Dashboard(scope, "Dashboard")
    dashboard.add_widgets(
        graph("Backlog per instance (scaling signal)",
              [metric("ApproximateBacklogSizePerInstance", by_endpoint, "Average")],
              lines={"target": 5}),
        instances(dims, ASYNC_POOLS, 0, 4))
    dashboard.add_widgets(
        graph("Backlog and wake-up",
              [metric("ApproximateBacklogSize", by_endpoint, "Average")],
              right=[without_capacity]),
        graph("Age of the oldest request (s)", [oldest]))
    dashboard.add_widgets(
        graph("Model latency (microseconds)",
              [metric("ModelLatency", dims, p) for p in ("p50", "p90", "p99")]),
        graph("Errors", [metric(n, dims) for n in
                         ("InvocationFailures", "RequestDownloadFailures",
                          "ResponseUploadFailures", "NotificationFailures")]))
    cdk.CfnOutput(stack, "AsyncEndpointName", value=name)
    cdk.CfnOutput(stack, "AsyncInputLocation", value=bucket.s3_url_for_object("input/"))


def build_app(*, outdir: str | None = None) -> cdk.App:
    """The hand-written app: one stack with both endpoints (no cdk-nag attached)."""
    app = cdk.App(context=feature_flags(), outdir=outdir)
    stack = cdk.Stack(app, STACK_NAME)
    realtime(stack)
    batch(stack)
    return app


if __name__ == "__main__":
    build_app(outdir=str(ROOT / "cdk.out" / "handwritten")).synth()
