"""The SageMaker transport from ``deepgram-sagemaker``, with its retries off.

``SageMakerTransport`` retries throttling and transient errors (``max_retries`` 5 within a
30-second ``retry_budget``, replaying buffered audio on a new stream). Retries would hide
the saturation a calibration looks for, so every attempt must reach the SDK:
``max_retries=0`` (docs/aws-behaviour.md#calibration-sees-every-failure). The package needs
Python 3.12 or newer.
"""

from __future__ import annotations

from typing import Any


class TransportMissingError(RuntimeError):
    """deepgram-sagemaker is not installed (it needs Python 3.12+)."""


def sagemaker_config(endpoint_name: str, region: str) -> Any:
    try:
        from deepgram_sagemaker import SageMakerConfig
    except ImportError:
        raise TransportMissingError(
            "calibrating an endpoint needs deepgram-sagemaker, which needs Python 3.12+: "
            "pip install 'deepgram-scaling[calibrate]' under Python 3.12") from None
    return SageMakerConfig(endpoint_name=endpoint_name, region=region, max_retries=0)


def sagemaker_transport_factory(endpoint_name: str, region: str) -> Any:
    """A ``SageMakerTransportFactory`` for ``AsyncDeepgramClient(transport_factory=...)``
    that surfaces every failure instead of retrying it."""
    config = sagemaker_config(endpoint_name, region)
    from deepgram_sagemaker import SageMakerTransportFactory

    return SageMakerTransportFactory(config=config)
