"""AWS CDK constructs that run Deepgram speech models on Amazon SageMaker and scale them."""

from .alarms import AlarmOptions
from .asynchronous import AsyncAlarmOptions, AsyncDeepgramEndpoint
from .endpoint_base import DEFAULT_INFERENCE_AMI_VERSION, VARIANT_NAME, DeepgramEndpointBase
from .errors import DeepgramScalingConfigError
from .instance_pools import InstancePool
from .model_source import DeepgramModel, deepgram_environment
from .products import AURA_2_TTS, FLUX_STT, FLUX_TTS, NOVA_3, PRODUCTS, DeepgramProduct
from .realtime import RealtimeAlarmOptions, RealtimeDeepgramEndpoint
from .scaling import ScalingStep, StepScalingOptions, StreamingSafeScaleIn
from .testing import snapshot_template

__all__ = [
    "AURA_2_TTS",
    "DEFAULT_INFERENCE_AMI_VERSION",
    "FLUX_STT",
    "FLUX_TTS",
    "NOVA_3",
    "PRODUCTS",
    "VARIANT_NAME",
    "AlarmOptions",
    "AsyncAlarmOptions",
    "AsyncDeepgramEndpoint",
    "DeepgramEndpointBase",
    "DeepgramModel",
    "DeepgramProduct",
    "DeepgramScalingConfigError",
    "InstancePool",
    "RealtimeAlarmOptions",
    "RealtimeDeepgramEndpoint",
    "ScalingStep",
    "StepScalingOptions",
    "StreamingSafeScaleIn",
    "deepgram_environment",
    "snapshot_template",
]
