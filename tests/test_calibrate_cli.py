"""``deepgram-scaling calibrate`` as a command: the table and the code to paste, the JSON
and the plot, the safety checks against an endpoint (botocore's Stubber), and Ctrl-C sent
to ``deepgram-scaling calibrate`` running in its own process."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.stub import Stubber

from deepgram_scaling.calibrate.cli import Clients, main
from deepgram_scaling.calibrate.result import JSON_SCHEMA, calibration_target, load_result
from deepgram_scaling.calibrate.safety import describe

from .conftest import ROOT
from .deepgram_emulator import Emulator, wav

SCALE = "20"
ENDPOINT = "Streaming-1a2b"
REGION = "us-east-1"


@pytest.fixture
def audio_file(tmp_path: Path) -> Path:
    path = tmp_path / "speech.wav"
    path.write_bytes(wav(5.0))
    return path


@pytest.fixture
def server() -> Iterator[Emulator]:
    """A fast emulator that refuses a third concurrent stream (HTTP 503), on its own event
    loop thread, for a CLI in this process or another: its knee is 2 however loaded the
    machine running the tests is."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        async def run() -> None:
            async with Emulator(stream_capacity=100, max_active=2, time_scale=float(SCALE),
                                final_s=1.0) as emu:
                holder["emu"], holder["stop"] = emu, asyncio.Event()
                holder["loop"] = asyncio.get_running_loop()
                ready.set()
                await holder["stop"].wait()
        asyncio.run(run())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    yield holder["emu"]
    holder["loop"].call_soon_threadsafe(holder["stop"].set)
    thread.join(10)


def args(audio: Path, *extra: str) -> list[str]:
    # Latency bounds loose enough for a loaded machine: here only the refusals decide.
    return ["stream", "--audio", str(audio), "--hold", "5", "--max-streams", "4",
            "--slo", "first_result_p95<=4,finalization_p95<=4,failures<=0.5%",
            "--time-scale", SCALE, "--emulated-server", "--settle", "2", *extra]


def test_the_command_prints_levels_and_the_code_to_paste_and_writes_json_and_plot(
        server: Emulator, audio_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    # when
    status = main(args(audio_file, "--url", server.ws_url, "--json", str(tmp_path / "r.json"),
                       "--plot", str(tmp_path / "r.png"), "--seed", "5", "--chunk-ms", "300"))
    # then
    out, err = capsys.readouterr()
    result = load_result(tmp_path / "r.json")
    assert status == 0 and result.capacity == 2
    # the seed of the streams' starting points is recorded, and a chunk size outside
    # Deepgram's advice is warned of
    assert result.seed == 5 and json.loads((tmp_path / "r.json").read_text())["seed"] == 5
    assert "warning: --chunk-ms 300 is outside the 20-250 ms" in err
    assert "first p50/p95 ms" in out and "pass" in out
    # 5 s streams, finalization_p95<=4 and no lag_growth term: blind past a capacity of 0
    assert "with 5 s streams the SLO sees one stream over the capacity up to a capacity " \
           "of about 0" in out
    assert "warning: with 5 s streams, one stream more than 2 may pass" in out
    assert "FAIL: failures<=0.5% (got" in out
    assert f'InstancePool("ml.g6.2xlarge", max_concurrency={result.capacity})' in out
    assert f"target_concurrency_per_instance={result.target_concurrency}," in out
    jsonschema.validate(json.loads((tmp_path / "r.json").read_text()), JSON_SCHEMA)
    # an accelerated run is for the tests: it sizes nothing
    with pytest.raises(ValueError, match="accelerated clock"):
        calibration_target(tmp_path / "r.json")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def stubbed(count: int = 1, target: tuple[int, int] | None = (1, 1), pools: int = 1,
            status: str = "InService", scheduled: int = 0,
            scheduled_denied: bool = False) -> tuple[Clients, list[Stubber]]:
    sagemaker = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x",
                             aws_secret_access_key="x")
    autoscaling = boto3.client("application-autoscaling", region_name=REGION,
                               aws_access_key_id="x", aws_secret_access_key="x")
    sm, aas = Stubber(sagemaker), Stubber(autoscaling)
    sm.add_response("describe_endpoint", {
        "EndpointName": ENDPOINT, "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:"
        f"endpoint/{ENDPOINT.lower()}", "EndpointConfigName": "Config-1",
        "EndpointStatus": status, "CreationTime": "2026-11-30T10:00:00Z",
        "LastModifiedTime": "2026-11-30T10:00:00Z",
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": count,
                                "DesiredInstanceCount": count}]},
        {"EndpointName": ENDPOINT})
    variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName": "m"}
    if pools == 1:
        variant["InstanceType"] = "ml.g6.2xlarge"
    else:
        variant["InstancePools"] = [{"InstanceType": t, "Priority": i + 1}
                                    for i, t in enumerate(["ml.g6.2xlarge", "ml.g5.2xlarge"])]
    sm.add_response("describe_endpoint_config", {
        "EndpointConfigName": "Config-1", "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:"
        "123456789012:endpoint-config/config-1", "ProductionVariants": [variant],
        "CreationTime": "2026-11-30T10:00:00Z"}, {"EndpointConfigName": "Config-1"})
    targets = [] if target is None else [{
        "ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/{ENDPOINT}/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": target[0], "MaxCapacity": target[1],
        "RoleARN": "arn:aws:iam::123456789012:role/x", "CreationTime": "2026-11-30T10:00:00Z"}]
    aas.add_response("describe_scalable_targets", {"ScalableTargets": targets}, {
        "ServiceNamespace": "sagemaker",
        "ResourceIds": [f"endpoint/{ENDPOINT}/variant/AllTraffic"],
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"})
    actions = [{
        "ScheduledActionName": f"night-{i}", "ScheduledActionARN": "arn:aws:autoscaling:x",
        "ServiceNamespace": "sagemaker", "Schedule": "cron(0 20 * * ? *)",
        "ResourceId": f"endpoint/{ENDPOINT}/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 4},
        "CreationTime": "2026-11-30T10:00:00Z"} for i in range(scheduled)]
    if scheduled_denied:
        aas.add_client_error("describe_scheduled_actions",
                             service_error_code="AccessDeniedException", http_status_code=400)
    else:
        aas.add_response("describe_scheduled_actions", {"ScheduledActions": actions}, {
            "ServiceNamespace": "sagemaker",
            "ResourceId": f"endpoint/{ENDPOINT}/variant/AllTraffic",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"})
    sm.activate()
    aas.activate()
    return Clients(sagemaker, autoscaling, None), [sm, aas]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"count": 2}, "runs 2 instances: a calibration measures one"),
    ({"target": (1, 4)}, "allows 1-4 instances: pin it to min = max = 1"),
    ({"pools": 2}, "lists 2 instance pools"),
    ({"status": "Updating"}, "is Updating, not InService"),
    ({"scheduled": 1}, "has scheduled actions ['night-0'] that can change its minimum"),
])
def test_an_endpoint_that_may_not_be_one_instance_is_refused(
        audio_file: Path, capsys: pytest.CaptureFixture[str], kwargs: dict[str, Any],
        message: str):
    # given
    clients, stubs = stubbed(**kwargs)
    # when
    status = main(args(audio_file, "--endpoint", ENDPOINT, "--region", REGION, "--yes"),
                  clients=clients, transport_factory=lambda url, headers: None)
    # then
    assert status == 3
    assert message in capsys.readouterr().err
    for stub in stubs:
        stub.assert_no_pending_responses()


def test_allow_scaling_lifts_the_one_instance_rule_and_a_declined_confirmation_stops(
        audio_file: Path, capsys: pytest.CaptureFixture[str]):
    clients, _ = stubbed(count=2, target=(1, 4))
    status = main(args(audio_file, "--endpoint", ENDPOINT, "--region", REGION,
                       "--allow-scaling"), clients=clients, confirm=lambda _prompt: "n",
                  transport_factory=lambda url, headers: None)
    captured = capsys.readouterr()
    assert status == 3 and "not confirmed" in captured.err
    assert "ramp levels: 1, 2, 4 (then" in captured.out and "instance-hours:" in captured.out


def test_an_endpoint_check_aws_denies_is_a_one_line_refusal(
        audio_file: Path, capsys: pytest.CaptureFixture[str]):
    # given a role that may describe the endpoint but not its scheduled actions
    clients, _ = stubbed(scheduled_denied=True)
    # when
    status = main(args(audio_file, "--endpoint", ENDPOINT, "--region", REGION, "--yes"),
                  clients=clients, transport_factory=lambda url, headers: None)
    # then: its own exit status and one line, no traceback
    err = capsys.readouterr().err
    assert status == 4
    assert err.strip().splitlines() == [
        f"calibrate: refused: cannot read endpoint {ENDPOINT}: AccessDeniedException on "
        "DescribeScheduledActions (the actions calibrate needs: "
        "docs/calibration.md#permissions)"]


def test_missing_credentials_are_a_one_line_refusal(audio_file: Path,
                                                    capsys: pytest.CaptureFixture[str]):
    from botocore.exceptions import NoCredentialsError

    class NoCredentials:
        def describe_endpoint(self, **_kwargs: Any) -> Any:
            raise NoCredentialsError()

    status = main(args(audio_file, "--endpoint", ENDPOINT, "--region", REGION, "--yes"),
                  clients=Clients(NoCredentials(), None, None),
                  transport_factory=lambda url, headers: None)
    assert status == 4
    assert f"refused: cannot read endpoint {ENDPOINT}: Unable to locate credentials" in \
        capsys.readouterr().err


def describe_endpoint_answer(count: int) -> dict[str, Any]:
    return {"EndpointName": ENDPOINT, "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:"
            f"endpoint/{ENDPOINT.lower()}", "EndpointConfigName": "Config-1",
            "EndpointStatus": "InService", "CreationTime": "2026-11-30T10:00:00Z",
            "LastModifiedTime": "2026-11-30T10:00:00Z",
            "ProductionVariants": [{"VariantName": "AllTraffic",
                                    "CurrentInstanceCount": count}]}


def test_allow_scaling_warns_when_the_instance_count_changed_during_the_run(
        server: Emulator, audio_file: Path, capsys: pytest.CaptureFixture[str]):
    # given an endpoint allowed to scale, running 2 instances before the run and 3 after
    clients, [sm, _] = stubbed(count=2, target=(1, 4))
    sm.add_response("describe_endpoint", describe_endpoint_answer(3), {"EndpointName": ENDPOINT})
    # when
    status = main(args(audio_file, "--endpoint", ENDPOINT, "--region", REGION, "--yes",
                       "--allow-scaling", "--max-streams", "2"),
                  clients=clients, transport_factory=server.transport_factory)
    # then the count is read again after the run
    assert status == 0
    assert (f"calibrate: warning: endpoint {ENDPOINT} ran 2 instance(s) before the run and 3 "
            "after it") in capsys.readouterr().err
    sm.assert_no_pending_responses()


def test_an_unchanged_instance_count_is_not_warned_of():
    from deepgram_scaling.calibrate.safety import count_changed

    # given the facts read before the run, and the same count after it
    clients, [sm, _] = stubbed(count=2, target=(1, 4))
    facts = describe(clients.sagemaker, clients.autoscaling, ENDPOINT, REGION)
    sm.add_response("describe_endpoint", describe_endpoint_answer(2), {"EndpointName": ENDPOINT})
    # when / then
    assert count_changed(clients.sagemaker, facts) is None


def test_a_pinned_endpoint_is_calibrated_through_the_transport_factory(
        server: Emulator, audio_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path):
    # given a pinned one-instance endpoint (no scalable target at all is pinned too)
    clients, _stubs = stubbed(target=None)

    # when the SageMaker transport is replaced by the emulator's in-process one
    def factory(url: str, headers: dict[str, str]) -> Any:
        return server.transport_factory(url, headers)

    status = main(args(audio_file, "--endpoint", ENDPOINT, "--region", REGION, "--yes",
                       "--json", str(tmp_path / "e.json"), "--max-streams", "2"),
                  clients=clients, transport_factory=factory)
    # then
    out = capsys.readouterr().out
    result = load_result(tmp_path / "e.json")
    assert status == 0 and result.instance_type == "ml.g6.2xlarge" and result.capacity == 2
    assert result.target["instance_count"] == 1
    assert f'InstancePool("ml.g6.2xlarge", max_concurrency={result.capacity})' in out


def test_ctrl_c_closes_the_streams_and_still_reports(server: Emulator, audio_file: Path,
                                                      tmp_path: Path):
    # given the command running in its own process
    out = tmp_path / "i.json"
    # (Ctrl-C's handler put back: a suite started in the background, as `make test &`, hands
    # its children SIGINT ignored, and Python then installs no handler of its own)
    process = subprocess.Popen(
        [sys.executable, "-c", "import runpy, signal; "
         "signal.signal(signal.SIGINT, signal.default_int_handler); "
         "runpy.run_module('deepgram_scaling.cli', run_name='__main__')", "calibrate",
         *args(audio_file, "--url", server.ws_url, "--json", str(out), "--hold", "10")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # when Ctrl-C arrives while level 2 streams
    deadline = time.monotonic() + 20
    while server.active < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    # then
    assert process.returncode == 130, stderr
    assert "interrupted" in stdout and "stopped: interrupted during level 2" in stdout
    result = load_result(out)
    assert result.interrupted and result.levels[-1].interrupted
    time.sleep(0.2)
    # a stream still in its handshake when Ctrl-C came had sent nothing to close
    assert server.active == 0 and server.ended and server.sessions == set()
    assert server.streams_left_without_close_stream() == 0


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the 3.11 message; 3.12 has the package")
def test_without_the_sagemaker_transport_an_endpoint_stream_stops_before_any_aws_call(
        audio_file: Path, capsys: pytest.CaptureFixture[str]):
    # given no clients at all: any AWS call would fail loudly
    status = main(["stream", "--audio", str(audio_file), "--endpoint", ENDPOINT, "--region",
                   REGION, "--yes"], clients=Clients(None, None, None))
    assert status == 2
    assert "needs deepgram-sagemaker, which needs Python 3.12+" in capsys.readouterr().err


def test_no_answer_to_the_confirmation_starts_nothing(audio_file: Path,
                                                      capsys: pytest.CaptureFixture[str]):
    clients, _ = stubbed()

    def closed_stdin(_prompt: str) -> str:
        raise EOFError

    status = main(args(audio_file, "--endpoint", ENDPOINT, "--region", REGION),
                  clients=clients, confirm=closed_stdin,
                  transport_factory=lambda url, headers: None)
    assert status == 3 and "not confirmed" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [
    ("--url", "ws://127.0.0.1:9"),  # no --emulated-server
    ("--endpoint", ENDPOINT, "--region", REGION, "--emulated-server"),  # a real endpoint
])
def test_the_accelerated_clock_is_refused_outside_the_emulator(
        audio_file: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]):
    # given no clients at all: any AWS call would fail loudly
    status = main(["stream", "--audio", str(audio_file), "--time-scale", "20", *extra],
                  clients=Clients(None, None, None))
    assert status == 2
    assert "--time-scale is for the test suite's emulated server only" in capsys.readouterr().err
