"""deepgram_scaling.calling, and the docs' calling snippets run against botocore's Stubber.

The snippets are read from the user docs (README.md or docs/*.md) by their
``<!-- snippet: NAME -->`` marker and executed as written; ``boto3.client`` hands them stubbed clients, so every request field they send is
checked and nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import types
import wave
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from io import BytesIO
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode, urlparse

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from hypothesis import given
from hypothesis import strategies as st

from deepgram_scaling.calling import (
    CUSTOM_ATTRIBUTES_MAX_LENGTH,
    CallingError,
    EndpointKind,
    async_storage,
    custom_attributes,
    deepgram_query,
    endpoint_kind,
    first_words,
    input_key,
    invoke_endpoint_async_request,
    invoke_endpoint_request,
    parse_async_notice,
    split_s3_uri,
    streaming_fields,
    tone_wav,
    transcript,
)

from .conftest import ROOT

REGION = "us-east-1"
DEEPGRAM_ANSWER = {"results": {"channels": [{"alternatives": [
    {"transcript": "thank you for calling how can I help", "confidence": 0.98}]}]}}
TEST_NOTIFICATION = {"eventVersion": "1.0", "eventSource": "aws:sagemaker",
                     "eventName": "TestNotification"}


def readme_snippet(name: str) -> str:
    """The snippet marked ``<!-- snippet: NAME -->`` in the user docs (README.md or a page
    of docs/): exactly one of them holds it."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        found += re.findall(rf"<!-- snippet: {name} -->\n```python\n(.*?)```",
                            page.read_text(), re.DOTALL)
    assert len(found) == 1, f"the docs must hold exactly one snippet {name!r}"
    return str(found[0])


def client(service: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="testing",
                                    aws_secret_access_key="testing", region_name=REGION)
    return session.client(service)


def body(data: bytes) -> StreamingBody:
    return StreamingBody(BytesIO(data), len(data))


def success_notice(output_location: str) -> dict[str, Any]:
    return {"awsRegion": REGION, "eventTime": "2026-11-30T10:00:05.000Z",
            "receivedTime": "2026-11-30T10:00:00.000Z", "invocationStatus": "Completed",
            "requestParameters": {"contentType": "audio/wav", "endpointName": "batch",
                                  "inputLocation": "s3://bucket/input/a.wav"},
            "responseParameters": {"contentType": "application/json",
                                   "outputLocation": output_location},
            "inferenceId": "id-1", "eventVersion": "1.0", "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult"}


def sns_envelope(message: dict[str, Any]) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "m-1",
                       "TopicArn": f"arn:aws:sns:{REGION}:123456789012:success",
                       "Message": json.dumps(message)})


# --- the request fields ----------------------------------------------------------------


def test_custom_attributes_carry_the_deepgram_path_and_query():
    # given Deepgram options, when rendered for InvokeEndpoint, then path ? query
    value = custom_attributes({"model": "nova-3", "smart_format": True, "language": "en"})

    assert value == "v1/listen?model=nova-3&smart_format=true&language=en"


def test_streaming_fields_split_the_same_path_and_query():
    options = {"model": "nova-3", "interim_results": False}

    fields = streaming_fields(options)

    assert fields == {"ModelInvocationPath": "v1/listen",
                      "ModelQueryString": "model=nova-3&interim_results=false"}
    assert custom_attributes(options) == \
        f"{fields['ModelInvocationPath']}?{fields['ModelQueryString']}"


def test_other_routes_and_no_options():
    assert custom_attributes({}, path="/v1/speak/") == "v1/speak"
    with pytest.raises(CallingError, match="path must name a Deepgram route"):
        custom_attributes({"model": "nova-3"}, path="/")
    with pytest.raises(CallingError, match="path must name a Deepgram route"):
        streaming_fields({}, path="")


def test_custom_attributes_are_refused_past_sagemakers_limit():
    too_many = {"keyterm": "x" * CUSTOM_ATTRIBUTES_MAX_LENGTH}

    with pytest.raises(CallingError, match="at most 1024 characters, got 1042"):
        custom_attributes(too_many)


@given(st.dictionaries(st.text(min_size=1, max_size=12),
                       st.one_of(st.text(max_size=20), st.booleans(), st.integers()),
                       max_size=6))
def test_any_options_render_as_visible_ascii_that_round_trips(options: dict[str, Any]):
    # URL encoding keeps every value within what CustomAttributes accepts
    from urllib.parse import parse_qsl

    value = custom_attributes(options)

    assert all(" " < char <= "~" for char in value)
    query = value.partition("?")[2]
    rendered = {k: ("true" if v is True else "false" if v is False else str(v))
                for k, v in options.items()}
    assert dict(parse_qsl(query, keep_blank_values=True)) == rendered


def test_invoke_endpoint_request_is_what_the_api_takes():
    request = invoke_endpoint_request("ep", b"RIFF", options={"model": "nova-3"})

    assert request == {"EndpointName": "ep", "Body": b"RIFF", "ContentType": "audio/wav",
                       "Accept": "application/json",
                       "CustomAttributes": "v1/listen?model=nova-3"}
    Stubber(client("sagemaker-runtime")).add_response(
        "invoke_endpoint", {"Body": body(b"{}")}, request)  # botocore validates the shape


def test_the_async_request_carries_the_callers_content_type():
    # given an mp3 already uploaded, when the request is built with audio/mpeg
    request = invoke_endpoint_async_request("batch", "s3://bucket/input/a.mp3",
                                            options={"model": "nova-3"},
                                            content_type="audio/mpeg")

    # then it is sent as audio/mpeg, in a shape InvokeEndpointAsync takes
    assert request["ContentType"] == "audio/mpeg"
    Stubber(client("sagemaker-runtime")).add_response(
        "invoke_endpoint_async", {"OutputLocation": "s3://bucket/output/a.out"}, request)


def test_invoke_endpoint_async_request_points_at_the_upload():
    request = invoke_endpoint_async_request(
        "batch", "s3://bucket/input/a.wav", options={"model": "nova-3"}, inference_id="a")

    assert request["InputLocation"] == "s3://bucket/input/a.wav"
    assert request["CustomAttributes"] == "v1/listen?model=nova-3"
    assert request["InferenceId"] == "a"
    Stubber(client("sagemaker-runtime")).add_response(
        "invoke_endpoint_async", {"OutputLocation": "s3://bucket/output/a.out"}, request)
    with pytest.raises(CallingError, match=r"must start with 's3://', got 'bucket/a\.wav'"):
        invoke_endpoint_async_request("batch", "bucket/a.wav", options={})


def test_s3_locations_and_input_keys():
    assert split_s3_uri("s3://bucket/output/x.out") == ("bucket", "output/x.out")
    assert input_key("input/", "a.wav") == "input/a.wav"
    assert input_key("input", "/a.wav") == "input/a.wav"
    assert input_key("", "a.wav") == "a.wav"
    with pytest.raises(CallingError, match="must name a bucket"):
        split_s3_uri("s3:///key")


# --- the answers -----------------------------------------------------------------------


def test_transcript_and_first_words():
    assert transcript(DEEPGRAM_ANSWER) == "thank you for calling how can I help"
    assert first_words("one two three four", 3) == "one two three ..."
    assert first_words("", 3) == ""
    with pytest.raises(CallingError, match="not a Deepgram transcription"):
        transcript({"results": {"channels": []}})


def test_a_success_notice_is_read_from_the_sqs_envelope_or_bare():
    notice = success_notice("s3://bucket/output/id-1.out")

    for message in (sns_envelope(notice), json.dumps(notice), notice):
        parsed = parse_async_notice(message)
        assert parsed is not None and parsed.completed
        assert parsed.output_location == "s3://bucket/output/id-1.out"
        assert parsed.inference_id == "id-1"


def test_a_failure_notice_keeps_its_reason():
    failed = {"invocationStatus": "Failed", "inferenceId": "id-2",
              "failureReason": "ClientError: Received server error (500)",
              "responseParameters": {"contentType": "text/plain"},
              "eventName": "InferenceResult"}

    parsed = parse_async_notice(sns_envelope(failed))

    assert parsed is not None and not parsed.completed
    assert parsed.failure_reason == "ClientError: Received server error (500)"


def test_the_test_notification_is_skipped():
    # docs/aws-behaviour.md#async-test-notification
    assert parse_async_notice(sns_envelope(TEST_NOTIFICATION)) is None
    assert parse_async_notice(json.dumps(TEST_NOTIFICATION)) is None
    with pytest.raises(CallingError, match="no invocationStatus"):
        parse_async_notice({"eventName": "Other"})


def test_the_endpoint_kind_comes_from_the_endpoint_config():
    async_config = {"EndpointConfigName": "c", "ProductionVariants": [],
                    "AsyncInferenceConfig": {"OutputConfig": {
                        "S3OutputPath": "s3://results-bucket/output/"}}}

    assert endpoint_kind(async_config) is EndpointKind.ASYNC
    assert endpoint_kind({"EndpointConfigName": "c"}) is EndpointKind.REALTIME
    storage = async_storage(async_config)
    assert (storage.bucket, storage.output_prefix) == ("results-bucket", "output/")
    with pytest.raises(CallingError, match="not an asynchronous endpoint"):
        async_storage({"EndpointConfigName": "c"})


def test_the_tone_is_a_short_mono_wav():
    with wave.open(BytesIO(tone_wav(seconds=0.5)), "rb") as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == \
            (1, 2, 16_000)
        assert audio.getnframes() == 8_000


# --- the README's snippets -------------------------------------------------------------


@pytest.fixture
def stubbed_boto3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Stubber]]:
    """``boto3.client(service, ...)`` returns one stubbed client per service; the test
    queues the responses it expects."""
    clients: dict[str, Any] = {}
    stubbers: dict[str, Stubber] = {}

    def stubber(service: str) -> Stubber:
        if service not in stubbers:
            clients[service] = client(service)
            stubbers[service] = Stubber(clients[service])
            stubbers[service].activate()
        return stubbers[service]

    def fake_client(service: str, *args: Any, **kwargs: Any) -> Any:
        stubber(service)
        return clients[service]

    monkeypatch.setattr(boto3, "client", fake_client)
    yield stubber
    for each in stubbers.values():
        each.assert_no_pending_responses()
        each.deactivate()


@pytest.fixture
def call_wav(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    audio = tone_wav(seconds=0.25)
    (tmp_path / "call.wav").write_bytes(audio)
    monkeypatch.chdir(tmp_path)
    return audio


def run_snippet(name: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"readme_{name.replace('-', '_')}"}
    exec(compile(readme_snippet(name), f"docs/calling.md:{name}", "exec"), namespace)
    return namespace


def test_readme_synchronous_snippet(stubbed_boto3, call_wav, capsys):
    stubbed_boto3("sagemaker-runtime").add_response(
        "invoke_endpoint", {"Body": body(json.dumps(DEEPGRAM_ANSWER).encode()),
                            "ContentType": "application/json"},
        {"EndpointName": "your-realtime-endpoint", "Body": call_wav,
         "ContentType": "audio/wav", "Accept": "application/json",
         "CustomAttributes": custom_attributes({"model": "nova-3", "smart_format": True})})

    run_snippet("calling-sync")

    assert capsys.readouterr().out == "thank you for calling how can I help\n"


def test_readme_asynchronous_snippet(stubbed_boto3, call_wav, capsys):
    stubbed_boto3("s3").add_response(
        "put_object", {}, {"Bucket": "your-async-bucket", "Key": ANY, "Body": call_wav,
                           "ContentType": "audio/wav"})
    stubbed_boto3("sagemaker-runtime").add_response(
        "invoke_endpoint_async",
        {"OutputLocation": "s3://your-async-bucket/output/id-1.out", "InferenceId": "id-1"},
        {"EndpointName": "your-async-endpoint", "InputLocation": ANY,
         "ContentType": "audio/wav",
         "CustomAttributes": custom_attributes({"model": "nova-3", "smart_format": True})})

    namespace = run_snippet("calling-async")

    # the upload and the invocation name the same object, under the input prefix
    assert namespace["key"].startswith("input/")
    assert capsys.readouterr().out == \
        "result will be at s3://your-async-bucket/output/id-1.out\n"


def test_readme_notice_snippet_reads_the_result_and_skips_test_notifications(stubbed_boto3):
    stubbed_boto3("s3").add_response(
        "get_object", {"Body": body(json.dumps(DEEPGRAM_ANSWER).encode())},
        {"Bucket": "your-async-bucket", "Key": "output/id-1.out"})
    handle = run_snippet("calling-async-notice")["handle"]

    assert handle(sns_envelope(TEST_NOTIFICATION)) is None
    assert handle(sns_envelope(success_notice("s3://your-async-bucket/output/id-1.out"))) == \
        "thank you for calling how can I help"
    with pytest.raises(RuntimeError, match="id-2: ModelError"):
        handle(sns_envelope({"invocationStatus": "Failed", "inferenceId": "id-2",
                             "failureReason": "ModelError"}))


def test_readme_notice_snippet_agrees_with_parse_async_notice(stubbed_boto3):
    # given the snippet's handler (written without the library) and parse_async_notice
    handle = run_snippet("calling-async-notice")["handle"]
    success = sns_envelope(success_notice("s3://your-async-bucket/output/id-7.out"))
    failure = sns_envelope({"invocationStatus": "Failed", "inferenceId": "id-8",
                            "failureReason": "ClientError: model error",
                            "eventName": "InferenceResult"})
    test = sns_envelope(TEST_NOTIFICATION)

    # when both read the same messages
    notice = parse_async_notice(success)
    assert notice is not None and notice.output_location is not None
    bucket, key = notice.output_location.removeprefix("s3://").split("/", 1)
    stubbed_boto3("s3").add_response(
        "get_object", {"Body": body(json.dumps(DEEPGRAM_ANSWER).encode())},
        {"Bucket": bucket, "Key": key})

    # then the snippet fetches exactly the object the library names, skips what the library
    # skips, and fails on what the library reads as failed, with the same id and reason
    assert handle(success) == transcript(DEEPGRAM_ANSWER)
    assert parse_async_notice(test) is None and handle(test) is None
    failed = parse_async_notice(failure)
    assert failed is not None and not failed.completed
    with pytest.raises(RuntimeError) as raised:
        handle(failure)
    assert failed.inference_id in str(raised.value)
    assert str(failed.failure_reason) in str(raised.value)


# The streaming snippet needs deepgram-sagemaker, which needs Python 3.12 or later. These
# stand-ins follow the interfaces the snippet uses: AsyncDeepgramClient builds the
# WebSocket URL it would use for Deepgram's cloud (options sorted, booleans in lower case)
# and hands it to the transport factory; SageMakerTransportFactory takes the URL's path
# and query as ModelInvocationPath and ModelQueryString. They are not the real packages.


class _StandInConnection:
    def __init__(self, transport: _StandInTransport) -> None:
        self.transport = transport

    async def send_media(self, chunk: bytes) -> None:
        self.transport.sent.append(chunk)

    async def send_close_stream(self) -> None:
        self.transport.sent.append({"type": "CloseStream"})

    def __aiter__(self) -> Any:
        return self._messages()

    async def _messages(self) -> Any:
        await asyncio.sleep(0)
        alternative = types.SimpleNamespace(transcript="hello from the stand-in")
        yield types.SimpleNamespace(type="Metadata")
        yield types.SimpleNamespace(type="Results", is_final=False,
                                    channel=types.SimpleNamespace(alternatives=[alternative]))
        yield types.SimpleNamespace(type="Results", is_final=True,
                                    channel=types.SimpleNamespace(alternatives=[alternative]))


class _StandInTransport:
    instances: ClassVar[list[_StandInTransport]] = []

    def __init__(self, endpoint_name: str, region: str, path: str, query: str) -> None:
        self.endpoint_name, self.region = endpoint_name, region
        self.invocation_fields = {"ModelInvocationPath": path, "ModelQueryString": query}
        self.sent: list[Any] = []
        _StandInTransport.instances.append(self)


class _StandInFactory:
    def __init__(self, endpoint_name: str, region: str) -> None:
        self.endpoint_name, self.region = endpoint_name, region

    def __call__(self, url: str, headers: dict[str, str]) -> _StandInTransport:
        parsed = urlparse(url)
        return _StandInTransport(self.endpoint_name, self.region, parsed.path.lstrip("/"),
                                 parsed.query)


class _StandInV1:
    def __init__(self, factory: _StandInFactory) -> None:
        self.factory = factory

    @asynccontextmanager
    async def connect(self, **options: Any) -> Any:
        rendered = {k: ("true" if v is True else "false" if v is False else v)
                    for k, v in sorted(options.items())}
        transport = self.factory(f"wss://api.deepgram.com/v1/listen?{urlencode(rendered)}", {})
        yield _StandInConnection(transport)


class _StandInClient:
    def __init__(self, *, api_key: str, transport_factory: _StandInFactory) -> None:
        self.listen = types.SimpleNamespace(v1=_StandInV1(transport_factory))


def test_readme_streaming_snippet_against_stand_ins(monkeypatch: pytest.MonkeyPatch):
    # given stand-ins for the two packages (deepgram-sagemaker needs Python 3.12+)
    monkeypatch.setitem(sys.modules, "deepgram",
                        types.SimpleNamespace(AsyncDeepgramClient=_StandInClient))
    monkeypatch.setitem(sys.modules, "deepgram_sagemaker",
                        types.SimpleNamespace(SageMakerTransportFactory=_StandInFactory))
    _StandInTransport.instances.clear()
    transcribe_stream = run_snippet("calling-stream")["transcribe_stream"]

    # when the snippet streams two chunks
    finals = asyncio.run(transcribe_stream("streaming-endpoint", REGION, [b"\0" * 3200] * 2))

    # then only final results are kept, the stream is closed after the audio, and the fields
    # reaching SageMaker are the ones calling.streaming_fields gives
    assert finals == ["hello from the stand-in"]
    (transport,) = _StandInTransport.instances
    assert (transport.endpoint_name, transport.region) == ("streaming-endpoint", REGION)
    assert transport.sent == [b"\0" * 3200, b"\0" * 3200, {"type": "CloseStream"}]
    assert transport.invocation_fields == streaming_fields(
        {"encoding": "linear16", "model": "nova-3", "sample_rate": 16000,
         "smart_format": True})
    assert transport.invocation_fields["ModelQueryString"] == \
        "encoding=linear16&model=nova-3&sample_rate=16000&smart_format=true"


def test_deepgram_query_matches_the_sdks_rendering_of_booleans():
    # the SDK writes True as "true", as Deepgram's HTTP API reads it
    assert deepgram_query({"smart_format": True, "punctuate": False}) == \
        "smart_format=true&punctuate=false"
