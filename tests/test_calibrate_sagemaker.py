"""Deepgram's SageMaker transport as calibration builds it: retries off, and the SDK's URL
turned into SageMaker's invocation path and query. Offline: nothing here opens a stream.

``deepgram-sagemaker`` needs Python 3.12+: under the project's 3.11 tests/conftest.py leaves
this module out, and ``make test`` runs it in a 3.12 virtual environment
(``make calibrate-312``, which says so where no 3.12 exists).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

if sys.version_info < (3, 12):  # reached only when this file is named on the command line
    pytest.skip("deepgram-sagemaker needs Python 3.12+: `make calibrate-312` runs this module",
                allow_module_level=True)

from deepgram_sagemaker import SageMakerConfig, SageMakerTransport

from deepgram_scaling.calibrate.sdk import deepgram_client
from deepgram_scaling.calibrate.transports import sagemaker_transport_factory


@pytest.fixture(autouse=True)
def offline_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # the transport resolves credentials when it is made; keep boto3 off the network
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_the_factory_calibration_builds_never_retries():
    factory = sagemaker_transport_factory("Streaming-1a2b", "eu-west-1")
    assert (factory.endpoint_name, factory.region) == ("Streaming-1a2b", "eu-west-1")
    assert factory.config.max_retries == 0
    assert SageMakerConfig(endpoint_name="x").max_retries > 0  # what it would do otherwise


def test_a_throttle_surfaces_at_once_with_retries_off_and_is_retried_by_default():
    # given one transport as calibration makes it and one with the package's defaults
    def transport(config: SageMakerConfig) -> SageMakerTransport:
        return SageMakerTransport(config, "v1/listen", "model=nova-3")

    throttled = type("ThrottlingException", (Exception,), {})("slow down")

    async def decide(config: SageMakerConfig) -> bool:
        handled: bool = await transport(config)._handle_retryable_error(throttled)
        return handled

    # when
    calibration = asyncio.run(decide(sagemaker_transport_factory("e", "us-east-1").config))
    default = asyncio.run(decide(SageMakerConfig(endpoint_name="e", region="us-east-1")))
    # then: False means "raise it to the SDK", True "reset the stream and try again"
    assert calibration is False
    assert default is True


def test_the_sdk_hands_the_factory_its_path_and_query():
    # given the SDK with calibration's SageMaker factory
    made: list[Any] = []
    factory = sagemaker_transport_factory("Streaming-1a2b", "us-east-1")

    def recording(url: str, headers: dict[str, str]) -> Any:
        made.append(factory(url, headers))
        return made[-1]

    async def open_one() -> None:
        with deepgram_client(transport_factory=recording) as client:
            async with client.listen.v1.connect(model="nova-3", request_options={
                    "additional_query_parameters": {"encoding": "linear16",
                                                    "sample_rate": "16000"}}):
                pass

    # when a stream is opened and closed without sending anything
    asyncio.run(open_one())
    # then
    (transport,) = made
    assert transport.invocation_path == "v1/listen"
    assert "model=nova-3" in transport.query_string
    assert "encoding=linear16" in transport.query_string
    assert transport._config.max_retries == 0


def test_each_stream_gets_the_current_credentials_before_its_transport_is_made(
        monkeypatch: pytest.MonkeyPatch):
    import os

    from deepgram_scaling.calibrate.transports import CalibrationTransportFactory

    # given credentials that change between two streams (botocore renewed them)
    class Renewing:
        def __init__(self) -> None:
            self.key = "AK1"

        def get_frozen_credentials(self) -> Any:
            return type("Frozen", (), {"access_key": self.key, "secret_key": "s",
                                       "token": None})()

    credentials = Renewing()
    factory = CalibrationTransportFactory("Streaming-1a2b", "us-east-1",
                                          credentials=credentials)
    seen: list[str] = []
    monkeypatch.setattr(SageMakerTransport, "_setup_credentials",
                        lambda self: seen.append(os.environ["AWS_ACCESS_KEY_ID"]))

    async def two_streams() -> None:
        factory("wss://x/v1/listen?model=nova-3", {})
        credentials.key = "AK2"
        factory("wss://x/v1/listen?model=nova-3", {})

    # when
    asyncio.run(two_streams())
    # then each transport found the values current when it was made
    assert seen == ["AK1", "AK2"]
