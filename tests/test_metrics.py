"""Metric factories: each metric's name, dimensions and default statistic, on their own
and through the endpoints' metric_* helpers."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from deepgram_scaling import (
    DeepgramModel,
    DeepgramScalingConfigError,
    InstancePool,
    RealtimeDeepgramEndpoint,
)

from .conftest import PACKAGE_ARN, AsyncOwnStorageScenario, SingleTypeScenario


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


def test_async_metric_helpers(async_own_storage: AsyncOwnStorageScenario):
    endpoint = async_own_storage.endpoint
    for metric, name, stat in (
        (endpoint.metric_backlog_size(), "ApproximateBacklogSize", "Average"),
        (endpoint.metric_backlog_size_per_instance(), "ApproximateBacklogSizePerInstance", "Average"),
        (endpoint.metric_age_of_oldest_request(), "ApproximateAgeOfOldestRequest", "Maximum"),
        (endpoint.metric_has_backlog_without_capacity(), "HasBacklogWithoutCapacity", "Average"),
    ):
        assert (metric.metric_name, metric.statistic, metric.namespace) == (name, stat, "AWS/SageMaker")
        assert list(metric.dimensions) == ["EndpointName"]
    failures = endpoint.metric_invocation_failures()
    assert set(failures.dimensions) == {"EndpointName", "VariantName"}


MIXED = [InstancePool("ml.g6.2xlarge", max_concurrency=8),
         InstancePool("ml.g6e.2xlarge", max_concurrency=20)]


def fleet_endpoint(stack: cdk.Stack, pools: list[InstancePool], **kwargs):
    return RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                    instance_pools=pools, max_capacity=8, **kwargs)


def test_fleet_utilization_metric_helper(new_stack):
    endpoint = fleet_endpoint(new_stack(nag=False), MIXED)
    metric = endpoint.metric_fleet_utilization()
    assert metric.expression.startswith("IF(util_g6_2xlarge >= util_g6e_2xlarge")
    per_pool = endpoint.metric_concurrent_requests_per_model(instance_type="ml.g6e.2xlarge")
    assert per_pool.dimensions["InstanceType"] == "ml.g6e.2xlarge"


def test_fleet_utilization_needs_declared_capacities(new_stack):
    endpoint = fleet_endpoint(new_stack(nag=False), ["ml.g6.2xlarge"], target_concurrency_per_instance=7)
    with pytest.raises(DeepgramScalingConfigError, match="metric_fleet_utilization needs"):
        endpoint.metric_fleet_utilization()


def test_metric_factories_on_their_own():
    # Names, dimensions and default statistics, without any endpoint construct.
    from deepgram_scaling import AsyncMetrics, RealtimeMetrics

    realtime = RealtimeMetrics(endpoint_name="speech", variant_name="AllTraffic")
    concurrency = realtime.concurrent_requests_per_model(instance_type="ml.g6.2xlarge")
    assert (concurrency.metric_name, concurrency.statistic, concurrency.dimensions) == (
        "ConcurrentRequestsPerModel", "Maximum",
        {"EndpointName": "speech", "VariantName": "AllTraffic", "InstanceType": "ml.g6.2xlarge"})
    assert realtime.first_chunk_latency().statistic == "p99"
    assert realtime.model_errors().metric_name == "InvocationModelErrors"
    count = realtime.instance_count()
    assert (count.namespace, count.metric_name, count.statistic) == (
        "/aws/sagemaker/Endpoints", "CPUUtilization", "SampleCount")
    jobs = AsyncMetrics(endpoint_name="batch", variant_name="AllTraffic")
    backlog = jobs.backlog_size_per_instance(statistic="Maximum", label="backlog")
    assert (backlog.statistic, backlog.label, backlog.dimensions) == (
        "Maximum", "backlog", {"EndpointName": "batch"})
    assert jobs.notification_failures().dimensions == {"EndpointName": "batch",
                                                       "VariantName": "AllTraffic"}
    # The same request gives the same metric object: alarms and dashboards share it.
    assert jobs.backlog_size() is jobs.backlog_size()
    import pytest
    with pytest.raises(ValueError, match="EndpointName dimension only"):
        jobs.named("backlog_size", instance_type="ml.g6.2xlarge")


# --- each factory's period and statistic, asserted directly ------------------------------

#: What each helper must return by default: (metric name, statistic, period in seconds).
REALTIME_DEFAULTS = {
    "model_latency": ("ModelLatency", "p99", 60),
    "concurrent_requests_per_model": ("ConcurrentRequestsPerModel", "Maximum", 60),
    "invocations": ("Invocations", "Sum", 60),
    "invocation_5xx_errors": ("Invocation5XXErrors", "Sum", 60),
    "model_errors": ("InvocationModelErrors", "Sum", 60),
    "first_chunk_latency": ("FirstChunkLatency", "p99", 60),
    "mid_stream_errors": ("MidStreamErrors", "Sum", 60),
    "instance_count": ("CPUUtilization", "SampleCount", 60),
}
ASYNC_DEFAULTS = {
    "model_latency": ("ModelLatency", "p99", 60),
    "backlog_size": ("ApproximateBacklogSize", "Average", 60),
    "backlog_size_per_instance": ("ApproximateBacklogSizePerInstance", "Average", 60),
    "age_of_oldest_request": ("ApproximateAgeOfOldestRequest", "Maximum", 60),
    "has_backlog_without_capacity": ("HasBacklogWithoutCapacity", "Average", 60),
    "invocation_failures": ("InvocationFailures", "Sum", 60),
    "invocation_5xx_errors": ("Invocation5XXErrors", "Sum", 60),
    "request_download_failures": ("RequestDownloadFailures", "Sum", 60),
    "response_upload_failures": ("ResponseUploadFailures", "Sum", 60),
    "notification_failures": ("NotificationFailures", "Sum", 60),
    "instance_count": ("CPUUtilization", "SampleCount", 60),
}


def _factories():
    from deepgram_scaling import AsyncMetrics, RealtimeMetrics

    return (
        (RealtimeMetrics(endpoint_name="speech", variant_name="AllTraffic"), REALTIME_DEFAULTS),
        (AsyncMetrics(endpoint_name="batch", variant_name="AllTraffic"), ASYNC_DEFAULTS),
    )


def test_every_factory_has_its_period_and_statistic():
    for factory, expected in _factories():
        # given every helper of the factory (the table must list each one)
        assert set(expected) == {*type(factory).SPECS, "instance_count"}
        for helper, (name, statistic, period_s) in expected.items():
            # when it is called with no options
            metric = getattr(factory, helper)()
            # then its name, statistic and period are the documented defaults
            assert (metric.metric_name, metric.statistic,
                    metric.period.to_seconds()) == (name, statistic, period_s), helper


def test_a_factory_honours_a_given_period_and_statistic():
    for factory, expected in _factories():
        for helper in expected:
            # given a five-minute period and another statistic
            metric = getattr(factory, helper)(period=cdk.Duration.minutes(5),
                                              statistic="Minimum")
            # then both are used as given
            assert (metric.statistic, metric.period.to_seconds()) == ("Minimum", 300), helper
