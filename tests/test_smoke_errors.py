"""``deepgram-scaling smoke``'s one-line errors for the AWS answers test_smoke.py does not
cover: other service errors of each call, an unreachable AWS, the clients' region, and a
missing boto3. Offline: botocore's Stubber answers, or nothing listens."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from botocore.config import Config

from deepgram_scaling.smoke import Clients, boto3_clients, main

from .aws_stubs import offline_session, stubbed
from .test_smoke import BUCKET, ENDPOINT, REGION, FakeClock, Stubbed


@pytest.fixture(name="aws")
def _aws() -> Iterator[Stubbed]:
    session = offline_session(REGION)
    clients = Clients(sagemaker=session.client("sagemaker"),
                      runtime=session.client("sagemaker-runtime"),
                      s3=session.client("s3"), region=REGION)
    with stubbed(clients.sagemaker, clients.runtime, clients.s3) as stubbers:
        yield Stubbed(clients, *stubbers)


def _run(clients: Clients, *args: str) -> int:
    clock = FakeClock()
    return main(["--endpoint", ENDPOINT, *args], make_clients=lambda region: clients,
                clock=clock, sleep=clock.sleep)


def test_a_validation_error_on_invoke_is_read_as_a_streaming_only_listing(aws, capsys):
    # Given a real-time endpoint where SageMaker itself refuses the request with 400
    # (docs/aws-behaviour.md#invoke-endpoint-fields)
    aws.endpoint()
    aws.config()
    aws.runtime.add_client_error("invoke_endpoint", "ValidationError",
                                 "this model does not accept InvokeEndpoint", 400)
    # When smoke runs, then it points at a streaming-only listing, in one line
    assert _run(aws.clients) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: endpoint {ENDPOINT} answered 400 to InvokeEndpoint (this "
                          "model does not accept InvokeEndpoint): its listing may be "
                          "streaming-only")
    assert err.count("\n") == 1


def test_another_describe_failure_is_named_with_its_code(aws, capsys):
    # Given DescribeEndpoint throttled
    aws.sagemaker.add_client_error("describe_endpoint", "ThrottlingException",
                                   "Rate exceeded", 400)
    # Then smoke names the call, the code and the message
    assert _run(aws.clients) == 1
    assert capsys.readouterr().err == \
        "error: sagemaker:DescribeEndpoint failed: ThrottlingException: Rate exceeded\n"


def test_a_refused_async_invocation_is_named_with_its_first_line(aws, capsys):
    # Given an async endpoint that takes the upload, then refuses the job on two lines
    aws.endpoint()
    aws.config(asynchronous=True)
    aws.s3.add_response("put_object", {})
    aws.runtime.add_client_error("invoke_endpoint_async", "ValidationError",
                                 "InputLocation is not readable\nby the endpoint", 400)
    # Then the message is one line
    assert _run(aws.clients) == 1
    assert capsys.readouterr().err == ("error: sagemaker:InvokeEndpointAsync failed: "
                                       "ValidationError: InputLocation is not readable by "
                                       "the endpoint\n")


def test_an_s3_failure_while_waiting_for_the_result_stops_the_wait(aws, capsys):
    # Given a queued job whose result S3 cannot look up (neither missing nor forbidden)
    aws.async_job_queued()
    aws.s3.add_client_error("head_object", "InternalError", "We encountered an internal error",
                            500)
    # Then smoke stops at once, naming the object and the error
    assert _run(aws.clients) == 1
    assert capsys.readouterr().err == (
        f"error: s3:HeadObject on s3://{BUCKET}/output/id-1.out failed: InternalError: "
        "We encountered an internal error\n")


def test_an_unreachable_aws_is_named_with_the_call(capsys):
    # Given a SageMaker API address where nothing listens, and no retries
    session = offline_session(REGION)
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=1)
    nowhere = session.client("sagemaker", endpoint_url="http://127.0.0.1:9", config=config)
    clients = Clients(sagemaker=nowhere, runtime=session.client("sagemaker-runtime"),
                      s3=session.client("s3"), region=REGION)
    # Then smoke says it cannot reach AWS for DescribeEndpoint
    assert _run(clients) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach AWS for sagemaker:DescribeEndpoint: ")
    assert err.count("\n") == 1


def test_the_region_option_wins_over_the_environment(monkeypatch):
    # Given the environment's region (botocore reads AWS_DEFAULT_REGION), and --region
    # naming another region
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    # When smoke builds its clients, then every client is in the region asked for
    clients = boto3_clients("ap-southeast-2")
    assert clients.region == "ap-southeast-2"
    assert {c.meta.region_name for c in (clients.sagemaker, clients.runtime, clients.s3)} == \
        {"ap-southeast-2"}
    # And without --region the environment's is used
    assert boto3_clients(None).region == "eu-west-1"


def test_without_boto3_smoke_says_which_extra_to_install(monkeypatch, capsys):
    # Given a Python where boto3 cannot be imported
    monkeypatch.setitem(sys.modules, "boto3", None)
    # When smoke runs with its default clients, then it names the extra, as a usage error
    assert main(["--endpoint", ENDPOINT]) == 2
    assert capsys.readouterr().err == \
        "error: smoke needs boto3: pip install 'deepgram-scaling[client]'\n"
