"""``deepgram-scaling smoke``, offline: botocore's Stubber answers every AWS call, and a
fake clock stands in for the wait on an async result."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.credentials import CredentialResolver
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from deepgram_scaling import cli
from deepgram_scaling.calling import custom_attributes, tone_wav
from deepgram_scaling.smoke import Clients, SmokeError, boto3_clients, main

from .aws_stubs import offline_session, stubbed
from .conftest import ROOT

REGION = "us-east-1"
ENDPOINT = "Streaming-1a2b3c4d"
CONFIG = "StreamingConfig-9f8e"
BUCKET = "batch-results-bucket"
ANSWER = {"results": {"channels": [{"alternatives": [{"transcript": (
    "thank you for calling acme support this call may be recorded for quality and "
    "training purposes")}]}]}}


def body(data: bytes) -> StreamingBody:
    return StreamingBody(BytesIO(data), len(data))


@dataclass
class FakeClock:
    """Seconds that move only when smoke sleeps, or by ``step`` on every reading."""

    now: float = 100.0
    step: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Stubbed:
    clients: Clients
    sagemaker: Stubber
    runtime: Stubber
    s3: Stubber

    def endpoint(self, status: str = "InService", **extra: Any) -> None:
        self.sagemaker.add_response(
            "describe_endpoint",
            {"EndpointName": ENDPOINT, "EndpointArn": f"arn:aws:sagemaker:{REGION}:"
             f"123456789012:endpoint/{ENDPOINT.lower()}", "EndpointConfigName": CONFIG,
             "EndpointStatus": status, "CreationTime": "2026-11-30T10:00:00Z",
             "LastModifiedTime": "2026-11-30T10:00:00Z", **extra},
            {"EndpointName": ENDPOINT})

    def config(self, *, asynchronous: bool = False) -> None:
        response: dict[str, Any] = {
            "EndpointConfigName": CONFIG,
            "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint-config/c",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m",
                                    "InstanceType": "ml.g6.2xlarge",
                                    "InitialInstanceCount": 1}],
            "CreationTime": "2026-11-30T10:00:00Z"}
        if asynchronous:
            response["AsyncInferenceConfig"] = {"OutputConfig": {
                "S3OutputPath": f"s3://{BUCKET}/output/",
                "S3FailurePath": f"s3://{BUCKET}/failure/"}}
        self.sagemaker.add_response("describe_endpoint_config", response,
                                    {"EndpointConfigName": CONFIG})

    def async_job_queued(self, **locations: str) -> None:
        """An async endpoint that takes the upload and queues the job, its result due at
        ``OutputLocation`` (and, when given, its failure at ``FailureLocation``)."""
        self.endpoint()
        self.config(asynchronous=True)
        self.s3.add_response("put_object", {})
        self.runtime.add_response("invoke_endpoint_async", {
            "OutputLocation": f"s3://{BUCKET}/output/id-1.out", **locations})


@pytest.fixture
def aws() -> Iterator[Stubbed]:
    session = offline_session(REGION)
    clients = Clients(sagemaker=session.client("sagemaker"),
                      runtime=session.client("sagemaker-runtime"),
                      s3=session.client("s3"), region=REGION)
    with stubbed(clients.sagemaker, clients.runtime, clients.s3) as stubbers:
        yield Stubbed(clients, *stubbers)


def run(aws: Stubbed, *args: str, clock: FakeClock | None = None) -> int:
    clock = clock or FakeClock()
    return main(["--endpoint", ENDPOINT, *args], make_clients=lambda region: aws.clients,
                clock=clock, sleep=clock.sleep)


# --- success ---------------------------------------------------------------------------


def test_a_realtime_endpoint_gets_one_synchronous_request(aws, capsys):
    # given an InService real-time endpoint that answers with a transcript
    aws.endpoint()
    aws.config()
    aws.runtime.add_response(
        "invoke_endpoint", {"Body": body(json.dumps(ANSWER).encode())},
        {"EndpointName": ENDPOINT, "Body": tone_wav(), "ContentType": "audio/wav",
         "Accept": "application/json", "CustomAttributes": "v1/listen?model=nova-3"})

    # when smoke runs with the built-in tone, 0.42 s passing during the call
    status = run(aws, clock=FakeClock(step=0.42))

    # then it prints the latency and the first twelve words
    assert status == 0
    assert capsys.readouterr().out == (
        f"{ENDPOINT} (real-time): 1 synchronous request, 0.42 s\n"
        'transcript: "thank you for calling acme support this call may be recorded for '
        '..."\n')


def test_audio_file_and_query_are_sent_as_given(aws, tmp_path, capsys):
    audio = tmp_path / "call.mp3"
    audio.write_bytes(b"ID3 not really mp3")
    aws.endpoint()
    aws.config()
    aws.runtime.add_response(
        "invoke_endpoint", {"Body": body(json.dumps(ANSWER).encode())},
        {"EndpointName": ENDPOINT, "Body": b"ID3 not really mp3", "ContentType": "audio/mpeg",
         "Accept": "application/json",
         "CustomAttributes": custom_attributes({"model": "nova-3", "language": "de"})})

    assert run(aws, "--audio", str(audio), "--query", "model=nova-3&language=de") == 0


@pytest.mark.parametrize(("answer", "quoted"), [
    (b'{"err_code": "INVALID_QUERY", "err_msg": "unknown model"}',
     '{"err_code": "INVALID_QUERY", "err_msg": "unknown model"}'),
    (b"<html>Internal Server Error</html>", "<html>Internal Server Error</html>"),
    (b"", "(an empty body)"),
])
def test_a_200_answer_that_is_not_a_transcript_fails(aws, capsys, answer, quoted):
    # given an endpoint that answers 200 with an error body, HTML, or nothing
    aws.endpoint()
    aws.config()
    aws.runtime.add_response("invoke_endpoint", {"Body": body(answer)})

    # when smoke runs
    status = run(aws)

    # then it fails, says so once, and quotes what came back
    assert status == 1
    err = capsys.readouterr().err
    assert err.count("is not a Deepgram transcription") == 1
    assert err.startswith("error: the answer is not a Deepgram transcription")
    assert err.endswith(f"; the endpoint answered: {quoted}\n")


def test_an_async_result_that_is_an_error_body_fails(aws, capsys):
    aws.async_job_queued()
    aws.s3.add_response("head_object", {"ContentLength": 10})
    aws.s3.add_response("get_object", {"Body": body(b'{"error": "model not loaded"}')})

    assert run(aws) == 1
    err = capsys.readouterr().err
    assert err.count("is not a Deepgram transcription") == 1
    assert '{"error": "model not loaded"}' in err


def test_an_async_mp3_is_uploaded_and_announced_as_audio_mpeg(aws, tmp_path):
    # given an mp3 for an async endpoint
    audio = tmp_path / "call.mp3"
    audio.write_bytes(b"ID3 not really mp3")
    aws.endpoint()
    aws.config(asynchronous=True)
    # then both the upload and the invocation carry audio/mpeg
    aws.s3.add_response("put_object", {}, {"Bucket": BUCKET, "Key": ANY,
                                           "Body": b"ID3 not really mp3",
                                           "ContentType": "audio/mpeg"})
    aws.runtime.add_response(
        "invoke_endpoint_async", {"OutputLocation": f"s3://{BUCKET}/output/id-1.out"},
        {"EndpointName": ENDPOINT, "InputLocation": ANY, "ContentType": "audio/mpeg",
         "Accept": "application/json", "CustomAttributes": "v1/listen?model=nova-3"})
    aws.s3.add_response("head_object", {"ContentLength": 10})
    aws.s3.add_response("get_object", {"Body": body(json.dumps(ANSWER).encode())})

    # when smoke sends it
    assert run(aws, "--audio", str(audio)) == 0


def test_an_empty_transcript_says_the_tone_has_no_words(aws, capsys):
    aws.endpoint()
    aws.config()
    empty = {"results": {"channels": [{"alternatives": [{"transcript": ""}]}]}}
    aws.runtime.add_response("invoke_endpoint", {"Body": body(json.dumps(empty).encode())})

    assert run(aws) == 0
    assert "transcript: (no words: the built-in test audio is a tone" in \
        capsys.readouterr().out


def test_an_async_endpoint_gets_one_job_and_smoke_waits_for_it(aws, capsys):
    # given an InService async endpoint whose result appears on the third look
    aws.endpoint()
    aws.config(asynchronous=True)
    aws.s3.add_response("put_object", {}, {"Bucket": BUCKET, "Key": ANY, "Body": tone_wav(),
                                           "ContentType": "audio/wav"})
    aws.runtime.add_response(
        "invoke_endpoint_async",
        {"OutputLocation": f"s3://{BUCKET}/output/id-1.out",
         "FailureLocation": f"s3://{BUCKET}/failure/id-1.out", "InferenceId": "id-1"},
        {"EndpointName": ENDPOINT, "InputLocation": ANY, "ContentType": "audio/wav",
         "Accept": "application/json", "CustomAttributes": "v1/listen?model=nova-3"})
    for _ in range(2):
        aws.s3.add_client_error("head_object", "404", "Not Found", 404,
                                expected_params={"Bucket": BUCKET, "Key": "output/id-1.out"})
        aws.s3.add_client_error("head_object", "404", "Not Found", 404,
                                expected_params={"Bucket": BUCKET, "Key": "failure/id-1.out"})
    aws.s3.add_response("head_object", {"ContentLength": 10},
                        {"Bucket": BUCKET, "Key": "output/id-1.out"})
    aws.s3.add_response("get_object", {"Body": body(json.dumps(ANSWER).encode())},
                        {"Bucket": BUCKET, "Key": "output/id-1.out"})
    clock = FakeClock()

    # when smoke runs
    status = run(aws, clock=clock)

    # then it polled every 10 s and reports the time until the result was visible
    assert status == 0
    assert clock.sleeps == [10.0, 10.0]
    out = capsys.readouterr().out
    assert out.startswith(f"{ENDPOINT} (asynchronous): 1 asynchronous job, upload to result, "
                          "20.00 s\n")
    assert 'transcript: "thank you for calling' in out


def test_the_upload_goes_under_the_input_prefix(aws):
    aws.endpoint()
    aws.config(asynchronous=True)
    keys: list[str] = []
    aws.clients.s3.meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: keys.append(params["Key"]))
    aws.s3.add_response("put_object", {})
    aws.runtime.add_response("invoke_endpoint_async",
                             {"OutputLocation": f"s3://{BUCKET}/output/id-1.out"})
    aws.s3.add_response("head_object", {"ContentLength": 10})
    aws.s3.add_response("get_object", {"Body": body(json.dumps(ANSWER).encode())})

    assert run(aws, "--input-prefix", "uploads/smoke") == 0
    assert keys and keys[0].startswith("uploads/smoke/smoke-")


# --- the usual failures, one line each ------------------------------------------------


def test_no_credentials(capsys):
    # a session whose credential chain is empty: signing fails before any request is sent
    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver(providers=[]))
    session = boto3.session.Session(botocore_session=core, region_name=REGION)
    clients = Clients(sagemaker=session.client("sagemaker"),
                      runtime=session.client("sagemaker-runtime"), s3=session.client("s3"),
                      region=REGION)

    status = main(["--endpoint", ENDPOINT], make_clients=lambda region: clients)

    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials found: set AWS_PROFILE")
    assert err.count("\n") == 1


def test_no_region(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))

    with pytest.raises(SmokeError, match="no AWS region: pass --region or set AWS_DEFAULT_REGION"):
        boto3_clients(None)


@pytest.mark.parametrize("status", ["Creating", "Updating", "Failed", "OutOfService"])
def test_an_endpoint_not_in_service(aws, capsys, status):
    extra = {"FailureReason": "Image pull failed"} if status == "Failed" else {}
    aws.endpoint(status, **extra)

    assert run(aws) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: endpoint {ENDPOINT} is {status}, not InService")
    assert "aws sagemaker wait endpoint-in-service" in err
    assert ("(Image pull failed)" in err) == (status == "Failed")


def test_a_streaming_only_listing_answering_400(aws, capsys):
    # SageMaker reports the container's 400 as ModelError with OriginalStatusCode 400
    aws.endpoint()
    aws.config()
    aws.runtime.add_client_error(
        "invoke_endpoint", "ModelError", "Received client error (400) from primary", 424,
        modeled_fields={"OriginalStatusCode": 400,
                        "OriginalMessage": "this model serves streaming requests only"})

    assert run(aws) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: endpoint {ENDPOINT} answered 400 to InvokeEndpoint "
                          "(this model serves streaming requests only): its listing may be "
                          "streaming-only")
    assert err.count("\n") == 1


def test_another_model_error_is_not_called_streaming_only(aws, capsys):
    aws.endpoint()
    aws.config()
    aws.runtime.add_client_error(
        "invoke_endpoint", "ModelError", "Received server error (500) from primary", 424,
        modeled_fields={"OriginalStatusCode": 500})

    assert run(aws) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: sagemaker:InvokeEndpoint failed: ModelError: Received "
                          "server error (500)")
    assert "streaming-only" not in err


@pytest.mark.parametrize("where", ["describe", "invoke"])
def test_access_denied(aws, capsys, where):
    message = "User: arn:aws:iam::123456789012:user/dev is not authorized"
    if where == "describe":
        aws.sagemaker.add_client_error("describe_endpoint", "AccessDeniedException", message, 400)
        action = "sagemaker:DescribeEndpoint"
    else:
        aws.endpoint()
        aws.config()
        aws.runtime.add_client_error("invoke_endpoint", "AccessDeniedException", message, 403)
        action = "sagemaker:InvokeEndpoint"

    assert run(aws) == 1
    err = capsys.readouterr().err
    assert err == (f"error: access denied: {action} on {ENDPOINT} ({message}); allow {action} "
                   "for the caller's role\n")


def test_no_such_endpoint(aws, capsys):
    aws.sagemaker.add_client_error("describe_endpoint", "ValidationException",
                                   f'Could not find endpoint "{ENDPOINT}".', 400)

    assert run(aws) == 1
    assert capsys.readouterr().err.startswith(
        f"error: no endpoint named {ENDPOINT} in {REGION}: check the name")


def test_an_async_failure_is_reported_from_the_failure_object(aws, capsys):
    aws.async_job_queued(FailureLocation=f"s3://{BUCKET}/failure/id-1.out")
    aws.s3.add_client_error("head_object", "404", "Not Found", 404)
    aws.s3.add_response("head_object", {"ContentLength": 10})
    aws.s3.add_response("get_object", {"Body": body(b'{"err_code": 400,\n "err_msg": "bad"}')})

    assert run(aws) == 1
    assert capsys.readouterr().err == (
        f"error: the async request failed (s3://{BUCKET}/failure/id-1.out): "
        '{"err_code": 400, "err_msg": "bad"}\n')


def test_an_async_result_that_never_comes(aws, capsys):
    aws.async_job_queued()
    for _ in range(4):
        aws.s3.add_client_error("head_object", "404", "Not Found", 404)
    clock = FakeClock()

    assert run(aws, "--timeout", "30", clock=clock) == 1
    assert clock.sleeps == [10.0, 10.0, 10.0]
    assert capsys.readouterr().err.startswith(
        f"error: no result at s3://{BUCKET}/output/id-1.out after 30 s: an endpoint at zero "
        "instances needs a few minutes to wake")


def test_a_result_that_stays_forbidden_is_called_access_denied(aws, capsys):
    # without s3:ListBucket S3 answers 403 for an object not there yet: smoke keeps waiting,
    # then names the permission
    aws.async_job_queued()
    for _ in range(2):
        aws.s3.add_client_error("head_object", "403", "Forbidden", 403)

    assert run(aws, "--timeout", "10") == 1
    assert capsys.readouterr().err.startswith(
        f"error: access denied reading s3://{BUCKET}/output/id-1.out for 10 s")


def test_an_upload_that_is_denied(aws, capsys):
    aws.endpoint()
    aws.config(asynchronous=True)
    aws.s3.add_client_error("put_object", "AccessDenied", "Access Denied", 403)

    assert run(aws) == 1
    assert capsys.readouterr().err.startswith(
        f"error: access denied: s3:PutObject on s3://{BUCKET}/input/smoke-")


def test_an_unreadable_audio_file_is_a_usage_error(aws, tmp_path, capsys):
    assert run(aws, "--audio", str(tmp_path / "missing.wav")) == 2
    assert capsys.readouterr().err.startswith("error: cannot read --audio")


# --- the command ----------------------------------------------------------------------


def test_the_cli_dispatches_smoke(monkeypatch):
    seen: list[list[str]] = []
    monkeypatch.setattr("deepgram_scaling.smoke.main", lambda argv: seen.append(argv) or 0)

    assert cli.main(["smoke", "--endpoint", ENDPOINT]) == 0
    assert seen == [["--endpoint", ENDPOINT]]


def test_smoke_never_imports_the_cdk():
    code = ("import sys; import deepgram_scaling.cli, deepgram_scaling.smoke; "
            "sys.exit('aws_cdk' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for option in ("--endpoint", "--audio", "--region", "--query", "--input-prefix",
                   "--timeout"):
        assert option in out


def test_the_docs_show_smoke_among_the_deploy_steps():
    # wherever the user docs keep "Deploying for real" (README.md or a page of docs/), the
    # smoke command follows it in the same section
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    (page,) = [p for p in pages if "### Deploying for real" in p.read_text()]
    text = page.read_text()
    deploy = text.index("### Deploying for real")
    next_section = text.find("\n## ", deploy)
    smoke = text.index("deepgram-scaling smoke --endpoint", deploy)
    assert next_section == -1 or smoke < next_section
    assert Path(ROOT / "deepgram_scaling" / "smoke.py").is_file()
