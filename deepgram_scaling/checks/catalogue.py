"""The SageMaker endpoint metrics CloudWatch receives: one table, read by the checks.

For every metric of ``AWS/SageMaker``, ``/aws/sagemaker/Endpoints`` and
``/aws/sagemaker/InferenceComponents`` that an endpoint publishes: the dimension sets it is
published with, the endpoint kinds that publish it and its valid statistics. A query whose
dimension set is not one of the published sets matches no data (CloudWatch matches a metric
on its exact set of dimensions), and a metric the endpoint kind never publishes has no data
at all. Each entry names its source in ``docs/aws-behaviour.md``:

- invocation and instance metrics, instance pools: docs/aws-behaviour.md#metric-catalogue
- asynchronous endpoints: docs/aws-behaviour.md#backlog-metrics,
  docs/aws-behaviour.md#async-failure-metrics
- enhanced (per-instance, per-accelerator, per-container) metrics:
  docs/aws-behaviour.md#enhanced-metrics
- inference components: docs/aws-behaviour.md#inference-component-metrics
- Deepgram's streaming metrics: docs/aws-behaviour.md#streaming-metrics

Namespaces and metric names the table does not hold (Model Monitor, multi-model loading,
custom metrics) are not judged. Pure data and lookups: no CDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

SAGEMAKER = "AWS/SageMaker"
ENDPOINT_INSTANCES = "/aws/sagemaker/Endpoints"
INFERENCE_COMPONENTS = "/aws/sagemaker/InferenceComponents"
NAMESPACES = frozenset({SAGEMAKER, ENDPOINT_INSTANCES, INFERENCE_COMPONENTS})

#: What hosts the model: a real-time variant, an asynchronous endpoint, a serverless
#: variant, or an inference component on a real-time endpoint.
EndpointKind = Literal["realtime", "async", "serverless", "inference-component"]

DimensionSet = frozenset[str]


def _dims(*names: str) -> DimensionSet:
    return frozenset(names)


_VARIANT = _dims("EndpointName", "VariantName")
#: Instance pools add the pool's instance type (docs/aws-behaviour.md#metric-catalogue).
_POOL = _dims("EndpointName", "VariantName", "InstanceType")
#: During a guarded update the new fleet's metrics also carry its endpoint config
#: (docs/aws-behaviour.md#metric-catalogue).
_NEW_FLEET = _dims("EndpointName", "VariantName", "EndpointConfigName")
#: Multi-container endpoints with direct invocation, per container (invocation metrics in
#: AWS/SageMaker, CPU and memory in /aws/sagemaker/Endpoints).
_CONTAINER = _dims("EndpointName", "VariantName", "ContainerName")
#: Enhanced metrics (docs/aws-behaviour.md#enhanced-metrics).
_INSTANCE = _dims("EndpointName", "VariantName", "InstanceId")
_ACCELERATOR = _dims("EndpointName", "VariantName", "InstanceId", "AcceleratorId")
_ENDPOINT = _dims("EndpointName")
_COMPONENT = _dims("InferenceComponentName")
_COMPONENT_CONTAINER = _dims("InferenceComponentName", "ContainerId")

_ALL = frozenset({"Average", "Sum", "Minimum", "Maximum", "SampleCount"})
_SUM = frozenset({"Sum"})
_AVERAGE_SUM = frozenset({"Average", "Sum"})
_MIN_MAX_AVERAGE = frozenset({"Average", "Minimum", "Maximum"})

_SYNC: frozenset[EndpointKind] = frozenset({"realtime", "serverless", "inference-component"})
_EVERY: frozenset[EndpointKind] = frozenset(
    {"realtime", "async", "serverless", "inference-component"})
_INSTANCES: frozenset[EndpointKind] = frozenset(
    {"realtime", "async", "serverless", "inference-component"})
_ASYNC: frozenset[EndpointKind] = frozenset({"async"})
_COMPONENTS: frozenset[EndpointKind] = frozenset({"inference-component"})


@dataclass(frozen=True)
class MetricSpec:
    """One published metric.

    ``percentiles``: whether extended statistics (``p99``) are valid beside ``statistics``.
    """

    namespace: str
    name: str
    dimension_sets: frozenset[DimensionSet]
    kinds: frozenset[EndpointKind]
    statistics: frozenset[str]
    anchor: str
    percentiles: bool = False

    def matches(self, dimensions: Iterable[str]) -> bool:
        return frozenset(dimensions) in self.dimension_sets

    def published_sets(self) -> str:
        """The dimension sets, for messages: ``[EndpointName, VariantName] or ...``."""
        return " or ".join("[" + ", ".join(sorted(s)) + "]" for s in sorted(
            self.dimension_sets, key=lambda s: (len(s), sorted(s))))


def _specs() -> Iterable[MetricSpec]:
    invocation_sets = frozenset({_VARIANT, _POOL, _NEW_FLEET, _CONTAINER, _INSTANCE,
                                 _COMPONENT, _COMPONENT_CONTAINER})
    catalogue = "metric-catalogue"
    # AWS/SageMaker, invocation metrics of real-time, serverless and inference-component
    # endpoints; async endpoints publish only the errors and ModelLatency of this list.
    for name, statistics, kinds, percentiles in (
            ("Invocations", frozenset({"Sum", "SampleCount"}), _SYNC, False),
            ("InvocationsPerInstance", _SUM, _SYNC, False),
            ("Invocation4XXErrors", _AVERAGE_SUM, _EVERY, False),
            ("Invocation5XXErrors", _AVERAGE_SUM, _EVERY, False),
            ("InvocationModelErrors", _SUM, _SYNC, False),
            ("ModelLatency", _ALL, _EVERY, True),
            ("OverheadLatency", _ALL, _SYNC, True),
            ("ConcurrentRequestsPerModel", frozenset({"Minimum", "Maximum"}), _SYNC, False)):
        yield MetricSpec(SAGEMAKER, name, invocation_sets, kinds, statistics, catalogue,
                         percentiles)
    yield MetricSpec(SAGEMAKER, "ModelSetupTime", frozenset({_VARIANT}),
                     frozenset({"serverless"}), _ALL, catalogue, True)
    # Deepgram's streaming metrics, per variant (docs/aws-behaviour.md#streaming-metrics)
    for name in ("FirstChunkLatency", "MidStreamErrors"):
        yield MetricSpec(SAGEMAKER, name, frozenset({_VARIANT, _POOL}),
                         frozenset({"realtime", "inference-component"}), _ALL,
                         "streaming-metrics", name == "FirstChunkLatency")
    # Inference components (docs/aws-behaviour.md#inference-component-metrics)
    for name in ("InvocationsPerCopy", "ConcurrentRequestsPerCopy",
                 "NoCapacityInvocationFailures"):
        yield MetricSpec(SAGEMAKER, name, frozenset({_COMPONENT, _COMPONENT_CONTAINER}),
                         _COMPONENTS, _ALL, "inference-component-metrics")
    for name in ("CPUUtilizationNormalized", "GPUUtilizationNormalized",
                 "GPUMemoryUtilizationNormalized", "CPUMemoryUtilizationNormalized"):
        yield MetricSpec(INFERENCE_COMPONENTS, name,
                         frozenset({_COMPONENT, _COMPONENT_CONTAINER}), _COMPONENTS, _ALL,
                         "inference-component-metrics")
    # Asynchronous endpoints (docs/aws-behaviour.md#backlog-metrics): the backlog per
    # endpoint only, the rest per variant.
    for name in ("ApproximateBacklogSize", "ApproximateBacklogSizePerInstance",
                 "ApproximateAgeOfOldestRequest", "HasBacklogWithoutCapacity"):
        yield MetricSpec(SAGEMAKER, name, frozenset({_ENDPOINT}), _ASYNC, _MIN_MAX_AVERAGE,
                         "backlog-metrics")
    for name, statistics in (
            ("RequestDownloadFailures", _SUM), ("ResponseUploadFailures", _SUM),
            ("NotificationFailures", _SUM), ("ExpiredRequests", _SUM),
            ("InvocationFailures", _SUM), ("InvocationsProcesssed", _SUM),
            ("RequestDownloadLatency", _ALL), ("ResponseUploadLatency", _ALL),
            ("TimeInBacklog", _ALL), ("TotalProcessingTime", _ALL)):
        yield MetricSpec(SAGEMAKER, name, frozenset({_VARIANT}), _ASYNC, statistics,
                         "async-failure-metrics")
    # /aws/sagemaker/Endpoints, per instance: per variant, per pool, and with enhanced
    # metrics per instance (GPU metrics also per accelerator). The new fleet of a guarded
    # update: AWS says "the metrics" carry EndpointConfigName without listing them, so the
    # set is accepted here as well (unconfirmed either way; no valid template is refused).
    for name, gpu in (("CPUUtilization", False), ("MemoryUtilization", False),
                      ("DiskUtilization", False), ("GPUUtilization", True),
                      ("GPUMemoryUtilization", True)):
        sets = {_VARIANT, _POOL, _NEW_FLEET, _CONTAINER, _INSTANCE} | (
            {_ACCELERATOR} if gpu else set())
        yield MetricSpec(ENDPOINT_INSTANCES, name, frozenset(sets), _INSTANCES, _ALL,
                         catalogue)


#: (namespace, metric name) -> its spec
CATALOGUE: Mapping[tuple[str, str], MetricSpec] = {
    (spec.namespace, spec.name): spec for spec in _specs()}


def lookup(namespace: str, name: str) -> MetricSpec | None:
    """The spec of a published metric, or None when the table does not hold it."""
    return CATALOGUE.get((namespace, name))


def published_by(spec: MetricSpec, kinds: Iterable[EndpointKind]) -> bool:
    """Whether any of ``kinds`` (an endpoint may be several: a real-time endpoint that hosts
    inference components) publishes the metric."""
    return any(kind in spec.kinds for kind in kinds)
