"""Real cloud assemblies for ``check DIR`` and ``describe DIR``, synthesized with aws-cdk-lib.

The endpoints live in one stack and their scaling in others, tied the ways CDK apps tie
stacks: the CDK's own cross-stack references (strong: an export and ``Fn::ImportValue``, or
across regions an SSM parameter written and read by custom resources; weak:
``Fn::GetStackOutput``), a name exported by hand and imported with
``Fn::ImportValue``, a literal endpoint name with and without a stack dependency, and a
nested stack. Plain L1 resources keep the synthesis fast and the templates exactly as
written; :func:`build_all` is called once per test session (``tests/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker

ENV = cdk.Environment(account="123456789012", region="us-east-1")
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def endpoint(scope: cdk.Stack, name: str, *, asynchronous: bool,
             endpoint_name: str | None = None) -> sagemaker.CfnEndpoint:
    model = sagemaker.CfnModel(scope, f"{name}Model", execution_role_arn=ROLE,
                               primary_container={"image": IMAGE})
    config = sagemaker.CfnEndpointConfig(
        scope, f"{name}Config",
        production_variants=[{"variantName": "AllTraffic", "modelName": model.attr_model_name,
                              "initialInstanceCount": 1, "instanceType": "ml.g6.2xlarge"}],
        async_inference_config={"outputConfig": {"s3OutputPath": "s3://jobs/out/"}}
        if asynchronous else None)
    return sagemaker.CfnEndpoint(scope, name, endpoint_config_name=config.attr_endpoint_config_name,
                                 endpoint_name=endpoint_name, retain_all_variant_properties=True)


def target(scope: cdk.Construct | cdk.Stack, name: str, endpoint_name: str, *,
           minimum: int, maximum: int = 4) -> autoscaling.CfnScalableTarget:
    return autoscaling.CfnScalableTarget(
        scope, name, min_capacity=minimum, max_capacity=maximum,
        resource_id=f"endpoint/{endpoint_name}/variant/AllTraffic",
        scalable_dimension=VARIANT_DIMENSION, service_namespace="sagemaker",
        role_arn="arn:aws:iam::123456789012:role/autoscaling")


def backlog_tracking(scope: Any, name: str, scalable: autoscaling.CfnScalableTarget,
                     endpoint_name: str) -> autoscaling.CfnScalingPolicy:
    return autoscaling.CfnScalingPolicy(
        scope, name, policy_name=name, policy_type="TargetTrackingScaling",
        scaling_target_id=scalable.ref,
        target_tracking_scaling_policy_configuration={
            "targetValue": 5, "scaleInCooldown": 600, "scaleOutCooldown": 60,
            "customizedMetricSpecification": {
                "metricName": "ApproximateBacklogSizePerInstance",
                "namespace": "AWS/SageMaker", "statistic": "Average",
                "dimensions": [{"name": "EndpointName", "value": endpoint_name}]}})


def wake_up(scope: Any, scalable: autoscaling.CfnScalableTarget, endpoint_name: str) -> None:
    """AWS's recipe: +1 from a lower bound of 0, driven by HasBacklogWithoutCapacity >= 1."""
    step = autoscaling.CfnScalingPolicy(
        scope, "WakeUp", policy_name="wake-up", policy_type="StepScaling",
        scaling_target_id=scalable.ref,
        step_scaling_policy_configuration={
            "adjustmentType": "ChangeInCapacity", "cooldown": 300,
            "metricAggregationType": "Average",
            "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]})
    cloudwatch.CfnAlarm(
        scope, "Backlogged", comparison_operator="GreaterThanOrEqualToThreshold",
        evaluation_periods=1, threshold=1, metric_name="HasBacklogWithoutCapacity",
        namespace="AWS/SageMaker", statistic="Average", period=60,
        dimensions=[{"name": "EndpointName", "value": endpoint_name}],
        alarm_actions=[step.ref])


@dataclass(frozen=True)
class Assemblies:
    strong: Path  # the default (strong) cross-stack references, exports, literal names, nested
    weak: Path  # @aws-cdk/core:defaultCrossStackReferences = weak
    both: Path  # a folder holding both apps: logical ids repeat across apps
    cross_region: Path  # strong references across regions (SSM through custom resources)
    staged: Path  # the stacks inside a Stage: a nested cloud assembly


def _strong(outdir: Path) -> Path:
    app = cdk.App(outdir=str(outdir))
    endpoints = cdk.Stack(app, "Endpoints", env=ENV)
    jobs = endpoint(endpoints, "Jobs", asynchronous=True)
    endpoint(endpoints, "Named", asynchronous=False, endpoint_name="named-realtime")
    exported = endpoint(endpoints, "Exported", asynchronous=True)
    cdk.CfnOutput(endpoints, "ExportedName", value=exported.attr_endpoint_name,
                  export_name="exported-endpoint-name")
    nested_source = endpoint(endpoints, "ForNested", asynchronous=True)

    # the CDK's own cross-stack reference, and a wake-up: nothing to report
    scaling = cdk.Stack(app, "Scaling", env=ENV)
    jobs_target = target(scaling, "Target", jobs.attr_endpoint_name, minimum=0)
    backlog_tracking(scaling, "Backlog", jobs_target, jobs.attr_endpoint_name)
    wake_up(scaling, jobs_target, jobs.attr_endpoint_name)

    # an exported name imported by hand; min 0 and no wake-up: AsyncWakeUpFromZero
    imported = cdk.Stack(app, "Imported", env=ENV)
    imported.add_dependency(endpoints)
    target(imported, "Target", cdk.Fn.import_value("exported-endpoint-name"), minimum=0)

    # a literal name from a stack that depends on the endpoint's, and from one that does not
    after = cdk.Stack(app, "NamedAfter", env=ENV)
    after.add_dependency(endpoints)
    target(after, "Target", "named-realtime", minimum=1)
    unordered = cdk.Stack(app, "NamedUnordered", env=ENV)
    target(unordered, "Target", "named-realtime", minimum=1)

    # a nested stack: the parent's endpoint name reaches it as a parameter; min 0 and no
    # wake-up,
    # and another stack's endpoint reaches it as an import
    parent = cdk.Stack(app, "Parent", env=ENV)
    local = endpoint(parent, "Local", asynchronous=True)
    inner = cdk.NestedStack(parent, "Inner")
    target(inner, "LocalTarget", local.attr_endpoint_name, minimum=0)
    target(inner, "Target", nested_source.attr_endpoint_name, minimum=0)
    app.synth()
    return outdir


def _weak(outdir: Path) -> Path:
    app = cdk.App(outdir=str(outdir),
                  context={"@aws-cdk/core:defaultCrossStackReferences": "weak"})
    endpoints = cdk.Stack(app, "Endpoints", env=ENV)
    jobs = endpoint(endpoints, "Jobs", asynchronous=True)
    scaling = cdk.Stack(app, "Scaling", env=ENV)
    target(scaling, "Target", jobs.attr_endpoint_name, minimum=0)
    app.synth()
    return outdir


def _cross_region(outdir: Path) -> Path:
    app = cdk.App(outdir=str(outdir))
    endpoints = cdk.Stack(app, "Endpoints", env=ENV, cross_region_references=True)
    jobs = endpoint(endpoints, "Jobs", asynchronous=True)
    scaling = cdk.Stack(app, "Scaling", cross_region_references=True,
                        env=cdk.Environment(account=ENV.account, region="eu-west-1"))
    target(scaling, "Target", jobs.attr_endpoint_name, minimum=0)
    app.synth()
    return outdir


def _staged(outdir: Path) -> Path:
    app = cdk.App(outdir=str(outdir))
    stage = cdk.Stage(app, "Prod", env=ENV)
    endpoints = cdk.Stack(stage, "Endpoints")
    jobs = endpoint(endpoints, "Jobs", asynchronous=True)
    scaling = cdk.Stack(stage, "Scaling")
    target(scaling, "Target", jobs.attr_endpoint_name, minimum=0)
    app.synth()
    return outdir


def build_all(root: Path) -> Assemblies:
    both = root / "both"
    return Assemblies(strong=_strong(both / "strong"), weak=_weak(both / "weak"), both=both,
                      cross_region=_cross_region(root / "cross-region"),
                      staged=_staged(root / "staged"))
