"""AWS CDK constructs that run Deepgram speech models on Amazon SageMaker and scale them.

The public names load on first use (PEP 562), so that the pure parts, such as
``deepgram_scaling.checks`` behind ``deepgram-scaling check``, run without importing
``aws_cdk`` (about a second on its own).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .alarm_topic import AlarmTopic
    from .alarms import (
        AlarmOptions,
        AsyncRollbackAlarmOptions,
        RealtimeRollbackAlarmOptions,
        RollbackAlarmOptions,
    )
    from .asynchronous import AsyncAlarmOptions, AsyncDeepgramEndpoint
    from .checks.pack import SageMakerScalingChecks
    from .deployment import DeploymentStrategy
    from .endpoint_base import DEFAULT_INFERENCE_AMI_VERSION, VARIANT_NAME, DeepgramEndpointBase
    from .errors import DeepgramScalingConfigError
    from .instance_pools import InstancePool
    from .metrics import AsyncMetrics, EndpointMetrics, MetricOptions, RealtimeMetrics
    from .model_source import DeepgramModel, deepgram_environment
    from .products import AURA_2_TTS, FLUX_STT, FLUX_TTS, NOVA_3, PRODUCTS, DeepgramProduct
    from .realtime import RealtimeAlarmOptions, RealtimeDeepgramEndpoint
    from .scaling import EndpointScaling
    from .scaling_options import ScalingStep, StepScalingOptions, StreamingSafeScaleIn
    from .scaling_plan import RealtimeScalingPlan, ScalingKind
    from .storage import AsyncStorage, StoragePrefixes
    from .testing import snapshot_template

#: Public name -> the module that defines it.
_EXPORTS = {
    "AlarmOptions": ".alarms",
    "AsyncRollbackAlarmOptions": ".alarms",
    "RealtimeRollbackAlarmOptions": ".alarms",
    "RollbackAlarmOptions": ".alarms",
    "AsyncAlarmOptions": ".asynchronous",
    "AsyncDeepgramEndpoint": ".asynchronous",
    "SageMakerScalingChecks": ".checks.pack",
    "DEFAULT_INFERENCE_AMI_VERSION": ".endpoint_base",
    "VARIANT_NAME": ".endpoint_base",
    "DeepgramEndpointBase": ".endpoint_base",
    "DeepgramScalingConfigError": ".errors",
    "InstancePool": ".instance_pools",
    "DeepgramModel": ".model_source",
    "deepgram_environment": ".model_source",
    "AURA_2_TTS": ".products",
    "FLUX_STT": ".products",
    "FLUX_TTS": ".products",
    "NOVA_3": ".products",
    "PRODUCTS": ".products",
    "DeepgramProduct": ".products",
    "RealtimeAlarmOptions": ".realtime",
    "RealtimeDeepgramEndpoint": ".realtime",
    "ScalingStep": ".scaling_options",
    "StepScalingOptions": ".scaling_options",
    "StreamingSafeScaleIn": ".scaling_options",
    "AlarmTopic": ".alarm_topic",
    "DeploymentStrategy": ".deployment",
    "AsyncMetrics": ".metrics",
    "EndpointMetrics": ".metrics",
    "MetricOptions": ".metrics",
    "RealtimeMetrics": ".metrics",
    "EndpointScaling": ".scaling",
    "RealtimeScalingPlan": ".scaling_plan",
    "ScalingKind": ".scaling_plan",
    "AsyncStorage": ".storage",
    "StoragePrefixes": ".storage",
    "snapshot_template": ".testing",
}

__all__ = [
    "AURA_2_TTS",
    "DEFAULT_INFERENCE_AMI_VERSION",
    "FLUX_STT",
    "FLUX_TTS",
    "NOVA_3",
    "PRODUCTS",
    "VARIANT_NAME",
    "AlarmOptions",
    "AlarmTopic",
    "AsyncAlarmOptions",
    "AsyncDeepgramEndpoint",
    "AsyncMetrics",
    "AsyncRollbackAlarmOptions",
    "AsyncStorage",
    "DeepgramEndpointBase",
    "DeepgramModel",
    "DeepgramProduct",
    "DeepgramScalingConfigError",
    "DeploymentStrategy",
    "EndpointMetrics",
    "EndpointScaling",
    "InstancePool",
    "MetricOptions",
    "RealtimeAlarmOptions",
    "RealtimeDeepgramEndpoint",
    "RealtimeMetrics",
    "RealtimeRollbackAlarmOptions",
    "RealtimeScalingPlan",
    "RollbackAlarmOptions",
    "SageMakerScalingChecks",
    "ScalingKind",
    "ScalingStep",
    "StepScalingOptions",
    "StoragePrefixes",
    "StreamingSafeScaleIn",
    "deepgram_environment",
    "snapshot_template",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
