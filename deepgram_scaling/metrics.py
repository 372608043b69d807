"""Metric factories: one per endpoint type, each owning its metrics' names, dimensions and
default statistics. Alarms, scaling policies, metric-math queries, dashboards and the
endpoints' ``metric_*`` helpers all take their metrics from here.

Variant metrics live in ``AWS/SageMaker`` with dimensions ``EndpointName`` and
``VariantName`` (docs/aws-behaviour.md#invocation-metrics); the asynchronous backlog metrics
carry ``EndpointName`` only (docs/aws-behaviour.md#backlog-metrics): a wrong dimension set
silently yields no data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, TypedDict, Unpack

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch

from ._validation import to_seconds
from .metric_math import POOL_STATISTIC, MetricQuery

NAMESPACE = "AWS/SageMaker"
#: Per-instance utilization metrics (CPU, GPU, memory, disk) live here.
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
#: Real-time concurrency is emitted every 10 seconds (docs/aws-behaviour.md#concurrency-metric).
HIGH_RESOLUTION = Duration.seconds(10)
ONE_MINUTE = Duration.minutes(1)


class MetricOptions(TypedDict, total=False):
    """The usual options of a CDK metric helper; each has the metric's own default."""

    statistic: str
    period: Duration
    label: str
    unit: cloudwatch.Unit
    color: str


@dataclass(frozen=True)
class MetricSpec:
    """One metric an endpoint publishes: its name, whose dimensions it carries, and the
    statistic its helper uses by default."""

    metric_name: str
    statistic: str
    dimensions: Literal["variant", "endpoint"] = "variant"
    namespace: str = NAMESPACE


class EndpointMetrics:
    """The metrics of one endpoint variant. Use :class:`RealtimeMetrics` or
    :class:`AsyncMetrics`; every helper takes :class:`MetricOptions` keywords."""

    #: The metrics this endpoint type publishes, by helper name.
    SPECS: ClassVar[Mapping[str, MetricSpec]] = {
        "model_latency": MetricSpec("ModelLatency", "p99"),
    }

    def __init__(self, *, endpoint_name: str, variant_name: str,
                 endpoint_config_name: str | None = None) -> None:
        """:param endpoint_config_name: Narrow the variant's ``AWS/SageMaker`` metrics to
            the fleet of one endpoint config (dimension ``EndpointConfigName`` beside
            ``EndpointName`` and ``VariantName``), as AWS publishes them for the new fleet
            of a guarded update (docs/aws-behaviour.md#rollback-alarms). Default: None (the
            whole variant)."""
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name
        self.endpoint_config_name = endpoint_config_name
        # Metrics are immutable values: alarms, policies and dashboards share them, which
        # saves round trips to the jsii kernel.
        self._built: dict[tuple[object, ...], cloudwatch.Metric] = {}

    def metric(self, metric_name: str, *, instance_type: str | None = None,
               **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Any ``AWS/SageMaker`` metric of the variant (dimensions ``EndpointName`` and
        ``VariantName``, plus ``InstanceType`` for one pool). Default statistic: Average;
        default period: 1 minute."""
        return self._build(MetricSpec(metric_name, "Average"), instance_type, options)

    def named(self, helper: str, *, instance_type: str | None = None,
              **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """The metric behind one of this type's helpers, by the helper's name."""
        return self._build(self.SPECS[helper], instance_type, options)

    def model_latency(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``ModelLatency`` in microseconds. Default statistic: p99."""
        return self.named("model_latency", **options)

    def instance_count(self, *, instance_type: str | None = None,
                       **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Running instances: the SampleCount of ``CPUUtilization`` per minute.

        There is no direct instance-count metric. Every instance reports
        ``CPUUtilization`` once a minute in ``/aws/sagemaker/Endpoints``, so its sample
        count over one minute is the number of running instances
        (docs/aws-behaviour.md#instance-count-metric). It needs no traffic and works for
        both endpoint types. ``instance_type`` counts one pool.
        """
        defaults: MetricOptions = {"statistic": "SampleCount"}
        if instance_type:
            defaults["label"] = f"instances ({instance_type})"
        spec = MetricSpec("CPUUtilization", "SampleCount", namespace=INSTANCE_NAMESPACE)
        return self._build(spec, instance_type, {**defaults, **options})

    def _build(self, spec: MetricSpec, instance_type: str | None,
               options: MetricOptions) -> cloudwatch.Metric:
        key = (spec, instance_type, options.get("statistic", spec.statistic),
               to_seconds(options.get("period", ONE_MINUTE)), options.get("label"),
               options.get("unit"), options.get("color"))
        metric = self._built.get(key)
        if metric is None:
            metric = self._built[key] = self._new_metric(spec, instance_type, options)
        return metric

    def _dimensions(self, spec: MetricSpec, instance_type: str | None) -> dict[str, str]:
        dimensions = {"EndpointName": self.endpoint_name}
        if spec.dimensions == "variant":
            dimensions["VariantName"] = self.variant_name
            if instance_type is not None:
                dimensions["InstanceType"] = instance_type
            if self.endpoint_config_name is not None and spec.namespace == NAMESPACE:
                dimensions["EndpointConfigName"] = self.endpoint_config_name
        elif instance_type is not None:
            raise ValueError(f"{spec.metric_name} carries the EndpointName dimension only; "
                             f"there is no per-instance-type series, got {instance_type!r}")
        return dimensions

    def _new_metric(self, spec: MetricSpec, instance_type: str | None,
                    options: MetricOptions) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=spec.namespace,
            metric_name=spec.metric_name,
            dimensions_map=self._dimensions(spec, instance_type),
            statistic=options.get("statistic", spec.statistic),
            period=options.get("period", ONE_MINUTE),
            label=options.get("label"),
            unit=options.get("unit"),
            color=options.get("color"),
        )


class RealtimeMetrics(EndpointMetrics):
    """The metrics of a real-time endpoint variant."""

    SPECS: ClassVar[Mapping[str, MetricSpec]] = {
        **EndpointMetrics.SPECS,
        # Valid statistics are Min and Max (docs/aws-behaviour.md#concurrency-metric).
        "concurrent_requests_per_model": MetricSpec("ConcurrentRequestsPerModel", "Maximum"),
        "invocations": MetricSpec("Invocations", "Sum"),
        "invocation_5xx_errors": MetricSpec("Invocation5XXErrors", "Sum"),
        "model_errors": MetricSpec("InvocationModelErrors", "Sum"),
        # Sparse: one sample per new session, or only on errors
        # (docs/aws-behaviour.md#streaming-metrics).
        "first_chunk_latency": MetricSpec("FirstChunkLatency", "p99"),
        "mid_stream_errors": MetricSpec("MidStreamErrors", "Sum"),
    }

    def concurrent_requests_per_model(self, *, instance_type: str | None = None,
                                      **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``ConcurrentRequestsPerModel``: streams plus in-flight requests, emitted every
        10 s. Default statistic: Maximum. ``instance_type`` narrows it to one pool."""
        return self.named("concurrent_requests_per_model", instance_type=instance_type,
                          **options)

    def invocations(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``Invocations``. Default statistic: Sum."""
        return self.named("invocations", **options)

    def invocation_5xx_errors(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``Invocation5XXErrors``. Default statistic: Sum."""
        return self.named("invocation_5xx_errors", **options)

    def model_errors(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``InvocationModelErrors``. Default statistic: Sum."""
        return self.named("model_errors", **options)

    def first_chunk_latency(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``FirstChunkLatency`` in microseconds, one sample per streaming session.
        Default statistic: p99."""
        return self.named("first_chunk_latency", **options)

    def mid_stream_errors(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``MidStreamErrors``: failures after a stream started. Default statistic: Sum."""
        return self.named("mid_stream_errors", **options)

    def fleet_queries(
        self, queries: Sequence[MetricQuery]
    ) -> list[appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty]:
        """The mixed-fleet metric math as a target-tracking specification: each pool's
        concurrency rendered from :meth:`concurrent_requests_per_model`."""
        cfn = appscaling.CfnScalingPolicy
        rendered = []
        for query in queries:
            if query.instance_type is None:
                rendered.append(cfn.TargetTrackingMetricDataQueryProperty(
                    id=query.id, expression=query.expression, return_data=query.return_data))
                continue
            # The values concurrent_requests_per_model(instance_type=..., statistic=
            # POOL_STATISTIC) is built from, taken on this side of the jsii kernel: reading
            # them back from the Metric costs four round trips per pool (make bench-synth).
            spec = self.SPECS["concurrent_requests_per_model"]
            dimensions = self._dimensions(spec, query.instance_type)
            rendered.append(cfn.TargetTrackingMetricDataQueryProperty(
                id=query.id,
                return_data=query.return_data,
                metric_stat=cfn.TargetTrackingMetricStatProperty(
                    stat=POOL_STATISTIC,
                    metric=cfn.TargetTrackingMetricProperty(
                        namespace=spec.namespace,
                        metric_name=spec.metric_name,
                        dimensions=[cfn.TargetTrackingMetricDimensionProperty(name=k, value=v)
                                    for k, v in dimensions.items()],
                    ),
                ),
            ))
        return rendered

    def fleet_signal(self, queries: Sequence[MetricQuery], *,
                     period: Duration = ONE_MINUTE) -> cloudwatch.MathExpression:
        """The mixed-fleet signal as a CloudWatch math expression, from the same queries."""
        built: dict[str, cloudwatch.IMetric] = {}
        for query in queries:
            if query.instance_type is not None:
                built[query.id] = self.concurrent_requests_per_model(
                    statistic=POOL_STATISTIC, period=period, instance_type=query.instance_type)
                continue
            assert query.expression is not None
            uses = {name: built[name] for name in built
                    if re.search(rf"\b{name}\b", query.expression)}
            built[query.id] = cloudwatch.MathExpression(
                expression=query.expression, using_metrics=uses, period=period, label=query.id)
        result = built[next(q.id for q in queries if q.return_data)]
        assert isinstance(result, cloudwatch.MathExpression)
        return result


class AsyncMetrics(EndpointMetrics):
    """The metrics of an asynchronous endpoint (docs/aws-behaviour.md#backlog-metrics,
    docs/aws-behaviour.md#async-failure-metrics)."""

    SPECS: ClassVar[Mapping[str, MetricSpec]] = {
        **EndpointMetrics.SPECS,
        "backlog_size": MetricSpec("ApproximateBacklogSize", "Average", "endpoint"),
        "backlog_size_per_instance": MetricSpec("ApproximateBacklogSizePerInstance",
                                                "Average", "endpoint"),
        "age_of_oldest_request": MetricSpec("ApproximateAgeOfOldestRequest", "Maximum",
                                            "endpoint"),
        "has_backlog_without_capacity": MetricSpec("HasBacklogWithoutCapacity", "Average",
                                                   "endpoint"),
        "invocation_failures": MetricSpec("InvocationFailures", "Sum"),
        # A common endpoint metric: 1 per request answered 5XX, else 0.
        "invocation_5xx_errors": MetricSpec("Invocation5XXErrors", "Sum"),
        "request_download_failures": MetricSpec("RequestDownloadFailures", "Sum"),
        "response_upload_failures": MetricSpec("ResponseUploadFailures", "Sum"),
        "notification_failures": MetricSpec("NotificationFailures", "Sum"),
    }

    def backlog_size(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``ApproximateBacklogSize`` (``EndpointName`` only). Default: Average."""
        return self.named("backlog_size", **options)

    def backlog_size_per_instance(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``ApproximateBacklogSizePerInstance`` (``EndpointName`` only). Default: Average."""
        return self.named("backlog_size_per_instance", **options)

    def age_of_oldest_request(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``ApproximateAgeOfOldestRequest`` in seconds (``EndpointName`` only). Default:
        Maximum."""
        return self.named("age_of_oldest_request", **options)

    def has_backlog_without_capacity(self,
                                     **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``HasBacklogWithoutCapacity``: 1 while work waits and no instance runs
        (``EndpointName`` only). Default: Average, as in AWS's wake-up recipe."""
        return self.named("has_backlog_without_capacity", **options)

    def invocation_failures(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``InvocationFailures``. Default: Sum."""
        return self.named("invocation_failures", **options)

    def invocation_5xx_errors(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``Invocation5XXErrors``: 1 per request answered 5XX, else 0. Default: Sum."""
        return self.named("invocation_5xx_errors", **options)

    def request_download_failures(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``RequestDownloadFailures``. Default: Sum."""
        return self.named("request_download_failures", **options)

    def response_upload_failures(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``ResponseUploadFailures``. Default: Sum."""
        return self.named("response_upload_failures", **options)

    def notification_failures(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """``NotificationFailures``. Default: Sum."""
        return self.named("notification_failures", **options)


def variant_metric(metric_name: str, *, endpoint_name: str, variant_name: str, statistic: str,
                   period: Duration = ONE_MINUTE, instance_type: str | None = None,
                   label: str | None = None) -> cloudwatch.Metric:
    """A per-variant SageMaker metric (kept for 0.1 callers; prefer the factories)."""
    options: MetricOptions = {"statistic": statistic, "period": period}
    if label is not None:
        options["label"] = label
    return EndpointMetrics(endpoint_name=endpoint_name, variant_name=variant_name).metric(
        metric_name, instance_type=instance_type, **options)
