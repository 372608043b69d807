"""Integration test for a real account (aws-cdk's ``integ-tests-alpha`` convention).

``make integ`` runs it with ``integ-runner``: deploy, assert through AWS's own APIs, destroy.
It costs money (``python -m integ.cost`` prints the estimate first). ``make test`` only
synthesizes it and compares the templates with ``integ/snapshots/``
(``tests/test_integ.py``).

What it deploys: a real-time endpoint (one instance, 1-2) and an asynchronous endpoint
(0-1, starting at one instance), on one instance type, plus an SQS queue subscribed to the
real-time endpoint's alarm topic.

What it asserts, in the order the assertion stack runs them:

1. Application Auto Scaling has both scalable targets with the capacities given here.
2. Their policies exist: real-time target tracking on the high-resolution concurrency
   metric; async target tracking on ``ApproximateBacklogSizePerInstance`` and the step
   wake-up policy.
3. ``SetAlarmState`` puts the 5XX alarm into ALARM, and the notification reaches the queue.
4. The async endpoint scales in to zero when idle, then one uploaded object and one
   ``InvokeEndpointAsync`` wake it to one instance.

Inputs (context key, or the environment variable, since integ-runner passes no ``-c``):

- ``deepgram-integ:modelPackageArn`` / ``DEEPGRAM_INTEG_MODEL_PACKAGE_ARN``: the Deepgram
  Marketplace package for the real-time endpoint;
- ``deepgram-integ:imageUri`` / ``DEEPGRAM_INTEG_IMAGE_URI``: a self-hosted Deepgram image,
  used by the async endpoint (Deepgram does not support async for Marketplace packages),
  and by the real-time one when no package is given;
- ``deepgram-integ:instanceType`` / ``DEEPGRAM_INTEG_INSTANCE_TYPE``: default
  ``ml.g6.2xlarge``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest, Match
from cdk_nag import AwsSolutionsChecks

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    InstancePool,
    RealtimeDeepgramEndpoint,
)
from deepgram_scaling.calling import custom_attributes
from deepgram_scaling.nag import acknowledge_rules

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "DeepgramScalingInteg"
VARIANT = "AllTraffic"
# Placeholders: synthesis (and the snapshot) works without an account; a deploy does not.
PLACEHOLDER_PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/deepgram-placeholder"
PLACEHOLDER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram/placeholder:latest"
ALARM_REASON = "deepgram-scaling integ: SetAlarmState"
WAKE_UP_KEY = "input/integ-wake-up.wav"


@dataclass(frozen=True, kw_only=True)
class IntegInputs:
    model_package_arn: str | None
    image_uri: str | None
    instance_type: str = "ml.g6.2xlarge"

    @property
    def deployable(self) -> bool:
        return bool(self.model_package_arn or self.image_uri)


def inputs_from(app: cdk.App) -> IntegInputs:
    def value(key: str, variable: str) -> str | None:
        found = app.node.try_get_context(f"deepgram-integ:{key}") or os.environ.get(variable)
        return str(found) if found else None

    return IntegInputs(
        model_package_arn=value("modelPackageArn", "DEEPGRAM_INTEG_MODEL_PACKAGE_ARN"),
        image_uri=value("imageUri", "DEEPGRAM_INTEG_IMAGE_URI"),
        instance_type=value("instanceType", "DEEPGRAM_INTEG_INSTANCE_TYPE") or "ml.g6.2xlarge",
    )


class IntegStack(cdk.Stack):
    """The resources under test: two endpoints and a queue on the alarm topic."""

    def __init__(self, scope: cdk.App, construct_id: str, *, inputs: IntegInputs) -> None:
        super().__init__(scope, construct_id)
        pools = [InstancePool(inputs.instance_type)]
        image = DeepgramModel.from_image(inputs.image_uri or PLACEHOLDER_IMAGE)
        # Deepgram documents async as unsupported for Marketplace packages: an image is the
        # way to run step 4; a package alone is tried, with the construct's warning
        batch_model = (DeepgramModel.from_model_package(inputs.model_package_arn)
                       if inputs.model_package_arn and not inputs.image_uri else image)
        if inputs.model_package_arn:
            realtime_model = DeepgramModel.from_model_package(inputs.model_package_arn)
        elif inputs.image_uri:
            realtime_model = image
        else:
            realtime_model = DeepgramModel.from_model_package(PLACEHOLDER_PACKAGE)
        self.realtime = RealtimeDeepgramEndpoint(
            self, "Realtime", model=realtime_model, instance_pools=pools,
            min_capacity=1, max_capacity=2, target_concurrency_per_instance=7)
        # A bucket the test empties and deletes on teardown; the construct's own bucket is
        # retained by design, which a test run should not leave behind.
        key = kms.Key(self, "BatchKey", enable_key_rotation=True,
                      removal_policy=RemovalPolicy.DESTROY,
                      pending_window=Duration.days(7))
        bucket = s3.Bucket(self, "BatchBucket", encryption=s3.BucketEncryption.KMS,
                           encryption_key=key, enforce_ssl=True,
                           block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                           removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=True)
        self.batch = AsyncDeepgramEndpoint(
            self, "Batch", model=batch_model, instance_pools=pools, max_capacity=1,
            bucket=bucket, encryption_key=key)
        self.alarm_queue = sqs.Queue(
            self, "AlarmQueue", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=Duration.hours(1))
        self.realtime.alarm_topic.add_subscription(
            subscriptions.SqsSubscription(self.alarm_queue))
        cdk.CfnOutput(self, "RealtimeEndpointName", value=self.realtime.endpoint_name)
        cdk.CfnOutput(self, "AsyncEndpointName", value=self.batch.endpoint_name)
        acknowledge_rules(bucket, "test bucket, emptied and deleted with the test; access "
                                  "logs would outlive it", "AwsSolutions-S1")
        acknowledge_rules(self.alarm_queue, "the assertion reads this queue once; a "
                                            "dead-letter queue would never be read",
                          "AwsSolutions-SQS3")


def resource_id(endpoint_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{VARIANT}"


def add_assertions(integ: IntegTest, stack: IntegStack) -> None:
    """The checks listed in the module docstring, through AWS's APIs."""
    assertions = integ.assertions

    # 1-2. scalable targets and policies
    for endpoint, low, high in ((stack.realtime, 1, 2), (stack.batch, 0, 1)):
        assertions.aws_api_call("ApplicationAutoScaling", "describeScalableTargets", {
            "ServiceNamespace": "sagemaker",
            "ResourceIds": [resource_id(endpoint.endpoint_name)],
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        }).expect(ExpectedResult.object_like({"ScalableTargets": [Match.object_like({
            "ResourceId": resource_id(endpoint.endpoint_name),
            "MinCapacity": low, "MaxCapacity": high})]}))

    def policies(endpoint_name: str, expected: dict[str, Any]) -> None:
        assertions.aws_api_call("ApplicationAutoScaling", "describeScalingPolicies", {
            "ServiceNamespace": "sagemaker", "ResourceId": resource_id(endpoint_name),
        }).expect(ExpectedResult.object_like({
            "ScalingPolicies": Match.array_with([Match.object_like(expected)])}))

    policies(stack.realtime.endpoint_name, {
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": Match.object_like({
            "PredefinedMetricSpecification": Match.object_like({
                "PredefinedMetricType":
                    "SageMakerVariantConcurrentRequestsPerModelHighResolution"})})})
    policies(stack.batch.endpoint_name, {
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": Match.object_like({
            "CustomizedMetricSpecification": Match.object_like({
                "MetricName": "ApproximateBacklogSizePerInstance"})})})
    policies(stack.batch.endpoint_name, {"PolicyType": "StepScaling"})

    # 3. an alarm's notification reaches a queue subscribed to the alarm topic
    alarm = stack.realtime.alarms["invocation_5xx_errors"]
    set_state = assertions.aws_api_call("CloudWatch", "setAlarmState", {
        "AlarmName": alarm.alarm_name, "StateValue": "ALARM", "StateReason": ALARM_REASON})
    received = assertions.aws_api_call("SQS", "receiveMessage", {
        "QueueUrl": stack.alarm_queue.queue_url, "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": 20})
    received.expect(ExpectedResult.object_like({"Messages": Match.array_with([
        Match.object_like({"Body": Match.string_like_regexp(ALARM_REASON)})])}))
    set_state.next(received.wait_for_assertions(total_timeout=Duration.minutes(5),
                                                interval=Duration.seconds(30)))

    # 4. the async endpoint goes to zero when idle, and one request wakes it
    def instances(count: int) -> Any:
        return assertions.aws_api_call(
            "SageMaker", "describeEndpoint", {"EndpointName": stack.batch.endpoint_name},
        ).expect(ExpectedResult.object_like({"ProductionVariants": [
            Match.object_like({"VariantName": VARIANT, "CurrentInstanceCount": count})]}))

    at_zero = instances(0)
    upload = assertions.aws_api_call("S3", "putObject", {
        "Bucket": stack.batch.bucket.bucket_name, "Key": WAKE_UP_KEY,
        "Body": "deepgram-scaling integ: wake-up probe", "ContentType": "audio/wav"})
    upload.provider.add_to_role_policy({
        "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": [stack.batch.encryption_key.key_arn]})
    invoke = assertions.aws_api_call("SageMakerRuntime", "invokeEndpointAsync", {
        "EndpointName": stack.batch.endpoint_name,
        "InputLocation": f"s3://{stack.batch.bucket.bucket_name}/{WAKE_UP_KEY}",
        "ContentType": "audio/wav",
        "CustomAttributes": custom_attributes({"model": "nova-3"})})
    invoke.provider.add_to_role_policy({
        "Effect": "Allow", "Action": ["sagemaker:InvokeEndpointAsync"],
        # Ref on an endpoint is its ARN (docs/aws-behaviour.md#endpoint-ref-is-arn)
        "Resource": [stack.batch.cfn_endpoint.ref]})
    woken = instances(1)
    # idle scale-in needs 15 one-minute datapoints below target plus the 600 s cooldown
    at_zero_waited = at_zero.wait_for_assertions(total_timeout=Duration.minutes(45),
                                                 interval=Duration.minutes(1))
    at_zero_waited.next(upload).next(invoke).next(
        woken.wait_for_assertions(total_timeout=Duration.minutes(30),
                                  interval=Duration.minutes(1)))


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def build_app(*, context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    stack = IntegStack(app, STACK_NAME, inputs=inputs_from(app))
    # cdk-nag checks the resources under test; the assertion stack is integ-tests' own
    cdk.Validations.of(stack).add_plugins(AwsSolutionsChecks(stack))
    integ = IntegTest(app, "DeepgramScaling", test_cases=[stack],
                      # no deploy of a previous snapshot first: one fleet at a time is dear
                      stack_update_workflow=False)
    add_assertions(integ, stack)
    return app


if __name__ == "__main__":
    build_app().synth()
