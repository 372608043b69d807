"""The fields a caller sends to a Deepgram endpoint, and what comes back.

Pure functions: nothing here imports boto3 or the CDK. They build the keyword arguments of
``sagemaker-runtime`` calls and read the answers, so that the README's snippets, the
``deepgram-scaling smoke`` command and your own code agree on one spelling.

Deepgram's container routes a request by a Deepgram API path (``v1/listen`` for
speech-to-text) and reads its options from a query string. Synchronous and asynchronous
requests carry both in ``CustomAttributes`` as ``v1/listen?model=nova-3&...``; a stream
carries them as ``ModelInvocationPath`` and ``ModelQueryString``
(docs/aws-behaviour.md#deepgram-invoke-fields).
"""

from __future__ import annotations

import enum
import io
import json
import math
import struct
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

#: Deepgram's speech-to-text route.
LISTEN_PATH = "v1/listen"

#: InvokeEndpoint and InvokeEndpointAsync accept at most 1024 characters of visible
#: US-ASCII in ``CustomAttributes`` (docs/aws-behaviour.md#invoke-endpoint-fields).
CUSTOM_ATTRIBUTES_MAX_LENGTH = 1024

#: Deepgram options: values are rendered the way its HTTP API reads them.
Options = Mapping[str, "str | int | float | bool"]


class CallingError(ValueError):
    """A request that SageMaker or Deepgram would refuse, or an answer that cannot be read."""


def _render(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def deepgram_query(options: Options) -> str:
    """``model=nova-3&smart_format=true``: options in the order given, URL-encoded, with
    booleans written as Deepgram's HTTP API spells them."""
    return urlencode([(key, _render(value)) for key, value in options.items()])


def custom_attributes(options: Options, *, path: str = LISTEN_PATH) -> str:
    """The ``CustomAttributes`` of a synchronous or asynchronous request:
    ``v1/listen?model=nova-3&...``.

    :param options: Deepgram query options, e.g. ``{"model": "nova-3"}``.
    :param path: Deepgram API path, without a leading slash. Default: ``"v1/listen"``.
    :raises CallingError: when the path is empty or the result is longer than SageMaker
        accepts, or holds characters outside visible US-ASCII.
    """
    path = path.strip("/")
    if not path:
        raise CallingError("path must name a Deepgram route such as 'v1/listen', got ''")
    query = deepgram_query(options)
    value = f"{path}?{query}" if query else path
    if len(value) > CUSTOM_ATTRIBUTES_MAX_LENGTH:
        raise CallingError(
            f"CustomAttributes must be at most {CUSTOM_ATTRIBUTES_MAX_LENGTH} characters, "
            f"got {len(value)}: send fewer options (keywords and search terms add up)")
    if not all(" " < char <= "~" for char in value):
        raise CallingError(f"CustomAttributes must be visible US-ASCII, got {value!r}")
    return value


def streaming_fields(options: Options, *, path: str = LISTEN_PATH) -> dict[str, str]:
    """``ModelInvocationPath`` and ``ModelQueryString`` of
    ``InvokeEndpointWithBidirectionalStream``: the same path and options as
    :func:`custom_attributes`, split in two."""
    path = path.strip("/")
    if not path:
        raise CallingError("path must name a Deepgram route such as 'v1/listen', got ''")
    return {"ModelInvocationPath": path, "ModelQueryString": deepgram_query(options)}


def invoke_endpoint_request(endpoint_name: str, audio: bytes, *, options: Options,
                            content_type: str = "audio/wav",
                            path: str = LISTEN_PATH) -> dict[str, Any]:
    """Keyword arguments of ``sagemaker-runtime`` ``invoke_endpoint`` for one file.

    :param content_type: MIME type of the audio. Default: ``"audio/wav"``.
    """
    return {
        "EndpointName": endpoint_name,
        "Body": audio,
        "ContentType": content_type,
        "Accept": "application/json",
        "CustomAttributes": custom_attributes(options, path=path),
    }


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key.lstrip('/')}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``("bucket", "key/of/object")`` from ``s3://bucket/key/of/object``."""
    if not uri.startswith("s3://"):
        raise CallingError(f"an S3 location must start with 's3://', got {uri!r}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket:
        raise CallingError(f"an S3 location must name a bucket, got {uri!r}")
    return bucket, key


def input_key(input_prefix: str, name: str) -> str:
    """The object key of an upload: ``input/`` + ``name``, with exactly one slash between."""
    prefix = input_prefix.strip("/")
    return f"{prefix}/{name.lstrip('/')}" if prefix else name.lstrip("/")


def invoke_endpoint_async_request(endpoint_name: str, input_location: str, *,
                                  options: Options, content_type: str = "audio/wav",
                                  inference_id: str | None = None,
                                  path: str = LISTEN_PATH) -> dict[str, Any]:
    """Keyword arguments of ``sagemaker-runtime`` ``invoke_endpoint_async`` for audio
    already uploaded to ``input_location`` (an ``s3://`` URI)."""
    split_s3_uri(input_location)
    request: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "InputLocation": input_location,
        "ContentType": content_type,
        "Accept": "application/json",
        "CustomAttributes": custom_attributes(options, path=path),
    }
    if inference_id is not None:
        request["InferenceId"] = inference_id
    return request


# --- answers ---------------------------------------------------------------------------


def transcript(result: Mapping[str, Any]) -> str:
    """The first channel's best transcript of a Deepgram pre-recorded answer
    (``results.channels[0].alternatives[0].transcript``); ``""`` when it has no words."""
    try:
        text = result["results"]["channels"][0]["alternatives"][0]["transcript"]
    except (KeyError, IndexError, TypeError):
        text = None
    if not isinstance(text, str):
        raise CallingError("the answer is not a Deepgram transcription: it has no "
                           "results.channels[0].alternatives[0].transcript string")
    return text


def first_words(text: str, count: int = 12) -> str:
    """The first ``count`` words, with ``...`` when there are more."""
    words = text.split()
    return " ".join(words[:count]) + (" ..." if len(words) > count else "")


@dataclass(frozen=True, kw_only=True)
class AsyncNotice:
    """What SageMaker announces on the success or error topic about one request.

    :param status: ``"Completed"`` or ``"Failed"`` (``invocationStatus``).
    :param inference_id: The request's ``InferenceId``.
    :param output_location: Where the answer is, for a completed request.
    :param failure_location: Where the error is, for a failed one, when SageMaker says.
    :param failure_reason: SageMaker's reason, for a failed request.
    """

    status: str
    inference_id: str
    output_location: str | None = None
    failure_location: str | None = None
    failure_reason: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == "Completed"


def parse_async_notice(message: str | Mapping[str, Any]) -> AsyncNotice | None:
    """Read one message from an async endpoint's success or error topic.

    Accepts SageMaker's JSON as published, or wrapped in the SNS envelope an SQS queue
    receives (``{"Type": "Notification", "Message": "..."}``). Returns ``None`` for the
    ``TestNotification`` SageMaker sends when the endpoint is created, updated or scaled
    (docs/aws-behaviour.md#async-test-notification): a consumer skips it.
    """
    body: Any = json.loads(message) if isinstance(message, str) else message
    if isinstance(body, Mapping) and body.get("Type") == "Notification" and "Message" in body:
        body = json.loads(body["Message"])
    if not isinstance(body, Mapping):
        raise CallingError(f"an async notice is a JSON object, got {type(body).__name__}")
    if body.get("eventName") == "TestNotification":
        return None
    if "invocationStatus" not in body:
        raise CallingError("not an async inference notice: no invocationStatus in "
                           f"{sorted(body)}")
    response = body.get("responseParameters") or {}
    return AsyncNotice(
        status=str(body["invocationStatus"]),
        inference_id=str(body.get("inferenceId", "")),
        output_location=response.get("outputLocation"),
        # AWS's page shows the failure's reason at the top level; where its location sits
        # is not shown, so both places are read.
        failure_location=response.get("failureLocation") or body.get("failureLocation"),
        failure_reason=body.get("failureReason"),
    )


# --- which endpoint ----------------------------------------------------------------------


class EndpointKind(enum.Enum):
    REALTIME = "real-time"
    ASYNC = "asynchronous"


@dataclass(frozen=True, kw_only=True)
class AsyncStorageLocation:
    """Where an async endpoint's results go, read from its endpoint config."""

    bucket: str
    output_prefix: str


def endpoint_kind(endpoint_config: Mapping[str, Any]) -> EndpointKind:
    """An endpoint is asynchronous when its ``DescribeEndpointConfig`` answer has an
    ``AsyncInferenceConfig`` (docs/aws-behaviour.md#endpoint-kind)."""
    return EndpointKind.ASYNC if endpoint_config.get("AsyncInferenceConfig") else \
        EndpointKind.REALTIME


def async_storage(endpoint_config: Mapping[str, Any]) -> AsyncStorageLocation:
    """The bucket (and output prefix) of an async endpoint, from
    ``AsyncInferenceConfig.OutputConfig.S3OutputPath``."""
    try:
        output_path = endpoint_config["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"]
    except (KeyError, TypeError):
        raise CallingError("the endpoint config has no AsyncInferenceConfig.OutputConfig."
                           "S3OutputPath: not an asynchronous endpoint") from None
    bucket, prefix = split_s3_uri(str(output_path))
    return AsyncStorageLocation(bucket=bucket, output_prefix=prefix)


# --- test audio --------------------------------------------------------------------------


def tone_wav(*, seconds: float = 1.0, sample_rate: int = 16_000,
             frequency: float = 440.0) -> bytes:
    """A short mono 16-bit WAV of a sine tone, made here rather than shipped or
    downloaded. It has no speech: Deepgram answers it with an empty transcript, which is
    enough to prove the endpoint answers."""
    frames = int(seconds * sample_rate)
    samples = (int(8000 * math.sin(2 * math.pi * frequency * n / sample_rate))
               for n in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()
