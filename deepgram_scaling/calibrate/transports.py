"""The SageMaker transport from ``deepgram-sagemaker``, with its retries off.

``SageMakerTransport`` retries throttling and transient errors (``max_retries`` 5 within a
30-second ``retry_budget``, replaying buffered audio on a new stream). Retries would hide
the saturation a calibration looks for, so every attempt must reach the SDK:
``max_retries=0`` (docs/aws-behaviour.md#calibration-sees-every-failure). The package needs
Python 3.12 or newer.

The transport copies the credentials boto3 resolves into the ``AWS_*`` environment variables
for every new stream, and boto3 reads those variables first: from the second stream on it
copies its own copy, and credentials that expire (an assumed role, SSO) are never renewed,
so every stream after their expiry would fail as if the endpoint had refused it. The factory
here writes the current values of one refreshable set, resolved before the first stream,
into the environment before each stream (docs/aws-behaviour.md#sagemaker-transport-credentials).
"""

from __future__ import annotations

import os
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


#: What :func:`export_credentials` last wrote, so that a later calibration in the same
#: process resolves the caller's own credentials rather than this copy.
_EXPORTED: dict[str, str] = {}


def export_credentials(credentials: Any) -> None:
    """Write the current values of botocore ``credentials`` (refreshed by botocore when
    they near their expiry) into the variables the SageMaker transport signs with."""
    if credentials is None:
        return
    frozen = credentials.get_frozen_credentials()
    values = {"AWS_ACCESS_KEY_ID": frozen.access_key,
              "AWS_SECRET_ACCESS_KEY": frozen.secret_key}
    if frozen.token:
        values["AWS_SESSION_TOKEN"] = frozen.token
    else:
        os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(values)
    _EXPORTED.clear()
    _EXPORTED.update(values)


def own_credentials(region: str) -> Any:
    """The credentials boto3 resolves for ``region``, leaving out a copy this module (or
    the transport after it) left in the environment."""
    import boto3

    ours = [name for name, value in _EXPORTED.items() if os.environ.get(name) == value]
    saved = {name: os.environ.pop(name) for name in ours}
    try:
        return boto3.Session(region_name=region).get_credentials()
    finally:
        os.environ.update(saved)


class CalibrationTransportFactory:
    """``SageMakerTransportFactory`` with its retries off, that renews the credentials in
    the environment before each stream.

    :param credentials: botocore credentials resolved before the first stream. Default:
        those of a new ``boto3.Session`` for ``region``.
    """

    def __init__(self, endpoint_name: str, region: str, *, credentials: Any = None) -> None:
        config = sagemaker_config(endpoint_name, region)
        from deepgram_sagemaker import SageMakerTransportFactory

        self._inner = SageMakerTransportFactory(config=config)
        if credentials is None:
            credentials = own_credentials(region)
        self._credentials = credentials
        self.endpoint_name, self.region, self.config = endpoint_name, region, config

    def __call__(self, url: str, headers: dict[str, str]) -> Any:
        export_credentials(self._credentials)
        return self._inner(url, headers)


def sagemaker_transport_factory(endpoint_name: str, region: str) -> CalibrationTransportFactory:
    """A transport factory for ``AsyncDeepgramClient(transport_factory=...)`` that
    surfaces every failure instead of retrying it, and keeps its credentials current."""
    return CalibrationTransportFactory(endpoint_name, region)
