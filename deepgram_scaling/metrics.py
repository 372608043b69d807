"""Metric factory: pure functions that build the CloudWatch metrics an endpoint publishes.

Variant metrics live in ``AWS/SageMaker`` with dimensions ``EndpointName`` and
``VariantName`` (docs/aws-behaviour.md#invocation-metrics); the asynchronous backlog metrics
carry ``EndpointName`` only (docs/aws-behaviour.md#backlog-metrics): a wrong dimension set
silently yields no data.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

NAMESPACE = "AWS/SageMaker"
#: Per-instance utilization metrics (CPU, GPU, memory, disk) live here.
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
#: Real-time concurrency is emitted every 10 seconds (docs/aws-behaviour.md#concurrency-metric).
HIGH_RESOLUTION = Duration.seconds(10)
ONE_MINUTE = Duration.minutes(1)


def variant_metric(
    metric_name: str,
    *,
    endpoint_name: str,
    variant_name: str,
    statistic: str,
    period: Duration = ONE_MINUTE,
    instance_type: str | None = None,
    label: str | None = None,
) -> cloudwatch.Metric:
    """A per-variant SageMaker metric (optionally narrowed to one pool's instance type)."""
    dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}
    if instance_type is not None:
        dimensions["InstanceType"] = instance_type
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric_name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=period,
        label=label,
    )


def endpoint_metric(
    metric_name: str,
    *,
    endpoint_name: str,
    statistic: str,
    period: Duration = ONE_MINUTE,
    label: str | None = None,
) -> cloudwatch.Metric:
    """A per-endpoint SageMaker metric: dimension ``EndpointName`` only (async backlog)."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"EndpointName": endpoint_name},
        statistic=statistic,
        period=period,
        label=label,
    )


def instance_count_metric(
    *, endpoint_name: str, variant_name: str, period: Duration = ONE_MINUTE,
    instance_type: str | None = None,
) -> cloudwatch.Metric:
    """The variant's instance count: the SampleCount of ``CPUUtilization`` per minute.

    There is no direct instance-count metric. Every instance reports ``CPUUtilization``
    once a minute in ``/aws/sagemaker/Endpoints``, so its sample count over one minute is
    the number of running instances; AWS's asynchronous-inference troubleshooting FAQ
    documents this (docs/aws-behaviour.md#instance-count-metric). It needs no traffic and
    works for both endpoint types (asynchronous endpoints publish no ``Invocations`` or
    ``InvocationsPerInstance``).
    """
    dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}
    if instance_type is not None:
        dimensions["InstanceType"] = instance_type
    return cloudwatch.Metric(
        namespace=INSTANCE_NAMESPACE,
        metric_name="CPUUtilization",
        dimensions_map=dimensions,
        statistic="SampleCount",
        period=period,
        label=f"instances ({instance_type})" if instance_type else None,
    )
