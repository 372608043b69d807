"""``deepgram-scaling smoke --endpoint NAME [--audio FILE] [--region R]``.

Right after ``cdk deploy``: sends one synchronous request to a real-time endpoint, or one
job to an asynchronous endpoint and waits for its result, then prints the latency and the
first words of the transcript. Each usual failure is one line on stderr: no credentials,
an endpoint that is not InService, a streaming-only listing answering 400 to
``InvokeEndpoint``, access denied.

Exit status: 0 when the endpoint answered, 1 when the smoke test failed, 2 on bad usage
(unreadable audio file, boto3 missing). Needs boto3 (``pip install
'deepgram-scaling[client]'``), imported only when the command runs; never imports the CDK.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from .calling import (
    CallingError,
    EndpointKind,
    Options,
    async_storage,
    endpoint_kind,
    first_words,
    input_key,
    invoke_endpoint_async_request,
    invoke_endpoint_request,
    s3_uri,
    split_s3_uri,
    tone_wav,
    transcript,
)

DEFAULT_QUERY = "model=nova-3"
DEFAULT_TIMEOUT_S = 1200.0  # a scaled-to-zero endpoint wakes in minutes, not seconds
DEFAULT_POLL_S = 10.0
CONTENT_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac",
                 ".ogg": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4",
                 ".webm": "audio/webm"}
ACCESS_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
NO_REGION = "no AWS region: pass --region or set AWS_DEFAULT_REGION"


class AwsCommandError(Exception):
    """A command's failure, with a message that fits on one line."""


class SmokeError(AwsCommandError):
    """A failed smoke test, with a message that fits on one line."""


@dataclass(frozen=True)
class Clients:
    """The three boto3 clients smoke uses (``sagemaker``, ``sagemaker-runtime``, ``s3``)."""

    sagemaker: Any
    runtime: Any
    s3: Any
    region: str


@dataclass(frozen=True, kw_only=True)
class SmokeResult:
    endpoint_name: str
    kind: EndpointKind
    latency_s: float
    transcript: str
    output_location: str | None = None


def _error_summary(error: Exception) -> tuple[str, str, int, dict[str, Any]]:
    response: dict[str, Any] = getattr(error, "response", {}) or {}
    details = response.get("Error", {})
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return str(details.get("Code", "")), str(details.get("Message", "")), status, response


@contextmanager
def translated(action: str, resource: str,
               error_type: type[AwsCommandError] = SmokeError) -> Iterator[None]:
    """botocore's usual failures (no credentials, no network, access denied), turned into
    one-line ``error_type`` messages; other service errors pass through for the caller to
    read. A missing region is refused before any client exists (:func:`boto3_session`)."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    try:
        yield
    except NoCredentialsError:
        raise error_type(
            "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or run 'aws sso login'") from None
    except EndpointConnectionError as error:
        raise error_type(f"cannot reach AWS for {action}: {error}") from None
    except ClientError as error:
        code, message, status, _ = _error_summary(error)
        if code in ACCESS_DENIED_CODES or status == 403:
            raise error_type(f"access denied: {action} on {resource} ({message or code}); "
                             f"allow {action} for the caller's role") from None
        raise


def _call(action: str, resource: str, function: Callable[..., Any], **kwargs: Any) -> Any:
    """One AWS call under :func:`translated`."""
    with translated(action, resource):
        return function(**kwargs)


def _first_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "..."


def describe(clients: Clients, endpoint_name: str) -> tuple[EndpointKind, dict[str, Any]]:
    """The endpoint's kind and its endpoint config; refuses an endpoint not InService."""
    from botocore.exceptions import ClientError

    try:
        endpoint = _call("sagemaker:DescribeEndpoint", endpoint_name,
                         clients.sagemaker.describe_endpoint, EndpointName=endpoint_name)
    except ClientError as error:
        code, message, _, _ = _error_summary(error)
        if code == "ValidationException" and "could not find" in message.lower():
            raise SmokeError(f"no endpoint named {endpoint_name} in {clients.region}: check "
                             "the name (the stack's outputs) and --region") from None
        raise SmokeError(f"sagemaker:DescribeEndpoint failed: {code}: {message}") from None
    status = endpoint.get("EndpointStatus", "")
    if status != "InService":
        reason = endpoint.get("FailureReason")
        why = f" ({_first_line(reason)})" if reason else ""
        raise SmokeError(
            f"endpoint {endpoint_name} is {status}, not InService{why}: wait for it "
            f"('aws sagemaker wait endpoint-in-service --endpoint-name {endpoint_name}') "
            "and run smoke again")
    config_name = endpoint["EndpointConfigName"]
    config = _call("sagemaker:DescribeEndpointConfig", config_name,
                   clients.sagemaker.describe_endpoint_config, EndpointConfigName=config_name)
    return endpoint_kind(config), config


def _is_model_400(error: Exception) -> bool:
    code, _, status, response = _error_summary(error)
    if code == "ModelError":
        return int(response.get("OriginalStatusCode", 0) or 0) == 400
    return code == "ValidationError" and status == 400


def invoke_realtime(clients: Clients, endpoint_name: str, audio: bytes, *,
                    content_type: str, options: Options,
                    clock: Callable[[], float] = time.monotonic) -> SmokeResult:
    """One synchronous ``InvokeEndpoint`` with the Deepgram path and query in
    ``CustomAttributes``."""
    from botocore.exceptions import ClientError

    request = invoke_endpoint_request(endpoint_name, audio, options=options,
                                      content_type=content_type)
    start = clock()
    try:
        response = _call("sagemaker:InvokeEndpoint", endpoint_name,
                         clients.runtime.invoke_endpoint, **request)
    except ClientError as error:
        code, message, _, answer = _error_summary(error)
        if _is_model_400(error):
            detail = answer.get("OriginalMessage") or message
            raise SmokeError(
                f"endpoint {endpoint_name} answered 400 to InvokeEndpoint "
                f"({_first_line(str(detail), 120)}): its listing may be streaming-only "
                "(e.g. Flux), which takes InvokeEndpointWithBidirectionalStream only; test "
                "it by streaming (docs/calling.md)") from None
        raise SmokeError(f"sagemaker:InvokeEndpoint failed: {code}: "
                         f"{_first_line(message)}") from None
    latency = clock() - start
    body = response["Body"].read()
    return SmokeResult(endpoint_name=endpoint_name, kind=EndpointKind.REALTIME,
                       latency_s=latency, transcript=_transcript_of(body))


def _transcript_of(body: bytes) -> str:
    """The transcript of an answer; an answer that is not one (an error body sent with
    status 200, HTML from a proxy, an empty body) fails the smoke test, quoting the body."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    try:
        if answer is None:
            raise CallingError("the answer is not a Deepgram transcription: not JSON")
        return transcript(answer)
    except CallingError as error:
        text = body.decode("utf-8", errors="replace")
        raise SmokeError(f"{error}; the endpoint answered: "
                         f"{_first_line(text, 160) or '(an empty body)'}") from None


def _object_state(clients: Clients, uri: str) -> str:
    """``"present"``, ``"missing"``, or ``"forbidden"``: without ``s3:ListBucket`` S3
    answers 403 rather than 404 for an object that does not exist yet
    (docs/aws-behaviour.md#s3-missing-object-403), so a 403 while waiting is not yet a
    failure."""
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(uri)
    with translated("s3:GetObject", uri):
        try:
            clients.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            code, message, status, _ = _error_summary(error)
            if status == 404 or code in ("404", "NoSuchKey", "NotFound"):
                return "missing"
            if status == 403 or code in ACCESS_DENIED_CODES or code == "403":
                return "forbidden"
            raise SmokeError(f"s3:HeadObject on {uri} failed: {code}: {message}") from None
    return "present"


def _read_object(clients: Clients, uri: str) -> bytes:
    bucket, key = split_s3_uri(uri)
    response = _call("s3:GetObject", uri, clients.s3.get_object, Bucket=bucket, Key=key)
    body: bytes = response["Body"].read()
    return body


def invoke_async(clients: Clients, endpoint_name: str, audio: bytes, *,
                 endpoint_config: dict[str, Any], content_type: str, options: Options,
                 input_prefix: str = "input/", timeout_s: float = DEFAULT_TIMEOUT_S,
                 poll_s: float = DEFAULT_POLL_S,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 object_name: str | None = None) -> SmokeResult:
    """Upload to the input prefix, ``InvokeEndpointAsync``, then wait for the result (or
    the failure) object to appear in S3."""
    from botocore.exceptions import ClientError

    storage = async_storage(endpoint_config)
    key = input_key(input_prefix, object_name or f"smoke-{uuid.uuid4().hex}.audio")
    location = s3_uri(storage.bucket, key)
    _call("s3:PutObject", location, clients.s3.put_object, Bucket=storage.bucket, Key=key,
          Body=audio, ContentType=content_type)
    request = invoke_endpoint_async_request(endpoint_name, location, options=options,
                                            content_type=content_type)
    start = clock()
    try:
        response = _call("sagemaker:InvokeEndpointAsync", endpoint_name,
                         clients.runtime.invoke_endpoint_async, **request)
    except ClientError as error:
        code, message, _, _ = _error_summary(error)
        raise SmokeError(f"sagemaker:InvokeEndpointAsync failed: {code}: "
                         f"{_first_line(message)}") from None
    output, failure = response["OutputLocation"], response.get("FailureLocation")
    forbidden = False
    while True:
        state = _object_state(clients, output)
        forbidden = forbidden or state == "forbidden"
        if state == "present":
            latency = clock() - start
            return SmokeResult(endpoint_name=endpoint_name, kind=EndpointKind.ASYNC,
                               latency_s=latency,
                               transcript=_transcript_of(_read_object(clients, output)),
                               output_location=output)
        if failure and _object_state(clients, failure) == "present":
            text = _read_object(clients, failure).decode("utf-8", errors="replace")
            raise SmokeError(f"the async request failed ({failure}): {_first_line(text)}")
        if clock() - start >= timeout_s:
            if forbidden:
                raise SmokeError(
                    f"access denied reading {output} for {timeout_s:.0f} s: S3 answers 403 "
                    "both for an object you may not read and, without s3:ListBucket, for "
                    "one not there yet; allow s3:GetObject on the output prefix (and "
                    "s3:ListBucket) for the caller's role")
            raise SmokeError(
                f"no result at {output} after {timeout_s:.0f} s: an endpoint at zero "
                "instances needs a few minutes to wake (see its HasBacklogWithoutCapacity "
                "alarm); raise --timeout, or look at the endpoint's CloudWatch logs")
        sleep(poll_s)


def smoke(clients: Clients, endpoint_name: str, audio: bytes, *, content_type: str,
          options: Options, input_prefix: str = "input/",
          timeout_s: float = DEFAULT_TIMEOUT_S, poll_s: float = DEFAULT_POLL_S,
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> SmokeResult:
    """Find the endpoint's kind, then send it one request the way its kind takes it."""
    kind, config = describe(clients, endpoint_name)
    if kind is EndpointKind.REALTIME:
        return invoke_realtime(clients, endpoint_name, audio, content_type=content_type,
                               options=options, clock=clock)
    return invoke_async(clients, endpoint_name, audio, endpoint_config=config,
                        content_type=content_type, options=options,
                        input_prefix=input_prefix, timeout_s=timeout_s, poll_s=poll_s,
                        clock=clock, sleep=sleep)


def report(result: SmokeResult, *, words: int = 12) -> str:
    how = ("1 synchronous request" if result.kind is EndpointKind.REALTIME
           else "1 asynchronous job, upload to result")
    text = first_words(result.transcript, words)
    said = f'"{text}"' if text else "(no words: the built-in test audio is a tone; " \
                                    "pass --audio with speech to see a transcript)"
    return (f"{result.endpoint_name} ({result.kind.value}): {how}, "
            f"{result.latency_s:.2f} s\ntranscript: {said}")


def boto3_session(region: str | None, error_type: type[AwsCommandError] = SmokeError) -> Any:
    """A boto3 session on its usual chain of credentials and region, ``region`` first;
    ``error_type`` when that chain finds no region either."""
    import boto3

    session = boto3.Session(region_name=region)
    if session.region_name is None:
        raise error_type(NO_REGION)
    return session


def boto3_clients(region: str | None) -> Clients:
    """Clients from boto3's usual chain of credentials and region."""
    session = boto3_session(region)
    return Clients(sagemaker=session.client("sagemaker"),
                   runtime=session.client("sagemaker-runtime"), s3=session.client("s3"),
                   region=session.region_name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepgram-scaling smoke",
        description="Send one request to a deployed Deepgram endpoint (synchronous for a "
                    "real-time endpoint, one job for an asynchronous one) and print the "
                    "latency and the first words of the transcript.")
    parser.add_argument("--endpoint", required=True, metavar="NAME",
                        help="the SageMaker endpoint name (the stack's output)")
    parser.add_argument("--audio", type=Path, metavar="FILE",
                        help="audio to send (default: a one-second tone made on the fly)")
    parser.add_argument("--region", help="AWS region (default: boto3's, e.g. AWS_DEFAULT_REGION)")
    parser.add_argument("--query", default=DEFAULT_QUERY,
                        help=f"Deepgram query options (default: {DEFAULT_QUERY})")
    parser.add_argument("--input-prefix", default="input/",
                        help="async endpoints: where to upload (default: input/)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help="async endpoints: how long to wait for the result "
                             f"(default: {DEFAULT_TIMEOUT_S:.0f})")
    return parser


def main(argv: Sequence[str] | None = None, *,
         make_clients: Callable[[str | None], Clients] | None = None,
         clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> int:
    args = build_parser().parse_args(argv)
    if args.audio is not None:
        try:
            audio = args.audio.read_bytes()
        except OSError as error:
            print(f"error: cannot read --audio {args.audio}: {error.strerror}", file=sys.stderr)
            return 2
        content_type = CONTENT_TYPES.get(args.audio.suffix.lower(), "application/octet-stream")
    else:
        audio, content_type = tone_wav(), "audio/wav"
    options = dict(parse_qsl(args.query, keep_blank_values=True))
    if make_clients is None:
        try:
            import boto3  # noqa: F401
        except ImportError:
            print("error: smoke needs boto3: pip install 'deepgram-scaling[client]'",
                  file=sys.stderr)
            return 2
        make_clients = boto3_clients
    try:
        clients = make_clients(args.region)
        result = smoke(clients, args.endpoint, audio, content_type=content_type,
                       options=options, input_prefix=args.input_prefix,
                       timeout_s=args.timeout, clock=clock, sleep=sleep)
    except (SmokeError, CallingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
