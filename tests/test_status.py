"""``deepgram-scaling status``, offline: botocore's Stubber answers CloudFormation, SageMaker
and Application Auto Scaling, and every request's parameters are checked against the
services' models."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from botocore.stub import Stubber

from deepgram_scaling import cli
from deepgram_scaling.status import (
    Clients,
    declared_endpoints,
    describe_deployment,
    main,
    name_from_physical_id,
)

from .aws_stubs import offline_session, stubbed
from .conftest import ROOT

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "SpeechStack"
ENDPOINT = "SpeechStack-Realtime-1a2b3c4d"
NEW_CONFIG = "RealtimeEndpointConfig-NEW0000000"
OLD_CONFIG = "RealtimeEndpointConfig-OLD0000000"
TARGET_ID = f"endpoint/{ENDPOINT}/variant/AllTraffic"
GUARDED = {"BlueGreenUpdatePolicy": {
    "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 600,
                                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25}}},
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "Realtime-Invocation5XXErrors"}]}}


def template(*, suspended: bool = False, literal_name: bool = True) -> dict[str, Any]:
    """What the constructs synthesize, cut down to what status reads."""
    endpoint: dict[str, Any] = {"EndpointConfigName": {
        "Fn::GetAtt": ["RealtimeEndpointConfig5F0A", "EndpointConfigName"]}}
    if literal_name:
        endpoint["EndpointName"] = ENDPOINT
    target: dict[str, Any] = {
        "ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:"
        "DesiredInstanceCount", "MinCapacity": 2, "MaxCapacity": 6,
        "ResourceId": {"Fn::Join": ["", ["endpoint/", {"Fn::GetAtt": [
            "RealtimeEndpoint1C2D", "EndpointName"]}, "/variant/AllTraffic"]]}}
    if suspended:
        target["SuspendedState"] = {"DynamicScalingInSuspended": True,
                                    "DynamicScalingOutSuspended": True,
                                    "ScheduledScalingSuspended": True}
    return {"Resources": {
        "RealtimeEndpointConfig5F0A": {"Type": "AWS::SageMaker::EndpointConfig",
                                       "Properties": {"ProductionVariants": []}},
        "RealtimeEndpoint1C2D": {"Type": "AWS::SageMaker::Endpoint", "Properties": endpoint},
        "RealtimeScalingTarget9E": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                                    "Properties": target},
        "Topic": {"Type": "AWS::SNS::Topic"}}}


@dataclass
class Stubbed:
    clients: Clients
    cloudformation: Stubber
    sagemaker: Stubber
    autoscaling: Stubber

    def stack_status(self, status: str = "UPDATE_COMPLETE", **extra: Any) -> None:
        self.cloudformation.add_response(
            "describe_stacks", {"Stacks": [{"StackName": STACK, "StackStatus": status,
                                            "CreationTime": "2026-12-01T10:00:00Z",
                                            **extra}]},
            {"StackName": STACK})

    def stack(self, body: dict[str, Any] | str, *, endpoint_physical: str | None = None,
              status: str = "UPDATE_COMPLETE") -> None:
        self.stack_status(status)
        text = body if isinstance(body, str) else json.dumps(body)
        self.cloudformation.add_response("get_template", {"TemplateBody": text},
                                         {"StackName": STACK})
        self.resource("RealtimeEndpoint1C2D", endpoint_physical or
                      f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT.lower()}",
                      "AWS::SageMaker::Endpoint")
        self.resource("RealtimeEndpointConfig5F0A",
                      f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/"
                      f"{NEW_CONFIG.lower()}", "AWS::SageMaker::EndpointConfig")

    def resource(self, logical_id: str, physical_id: str, resource_type: str,
                 status: str = "UPDATE_COMPLETE") -> None:
        self.cloudformation.add_response(
            "describe_stack_resources",
            {"StackResources": [{"StackName": STACK, "LogicalResourceId": logical_id,
                                 "PhysicalResourceId": physical_id,
                                 "ResourceType": resource_type,
                                 "Timestamp": "2026-12-05T10:00:00Z",
                                 "ResourceStatus": status}]},
            {"StackName": STACK, "LogicalResourceId": logical_id})

    def endpoint(self, *, config: str = NEW_CONFIG, status: str = "InService",
                 current: int = 2, desired: int = 2, name: str = ENDPOINT,
                 **extra: Any) -> None:
        self.sagemaker.add_response(
            "describe_endpoint",
            {"EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:"
             f"endpoint/{name.lower()}", "EndpointConfigName": config,
             "EndpointStatus": status, "CreationTime": "2026-12-01T10:00:00Z",
             "LastModifiedTime": "2026-12-05T10:00:00Z",
             "ProductionVariants": [{"VariantName": "AllTraffic",
                                     "CurrentInstanceCount": current,
                                     "DesiredInstanceCount": desired,
                                     **extra.pop("variant", {})}],
             "LastDeploymentConfig": GUARDED, **extra},
            {"EndpointName": name})

    def target(self, *, suspended: bool = False, name: str = ENDPOINT,
               registered: bool = True) -> None:
        state = {"DynamicScalingInSuspended": suspended,
                 "DynamicScalingOutSuspended": suspended,
                 "ScheduledScalingSuspended": suspended}
        targets = [{"ServiceNamespace": "sagemaker",
                    "ResourceId": f"endpoint/{name}/variant/AllTraffic",
                    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                    "MinCapacity": 2, "MaxCapacity": 6, "RoleARN": "arn:aws:iam::1:role/x",
                    "CreationTime": "2026-12-01T10:00:00Z", "SuspendedState": state}]
        self.autoscaling.add_response(
            "describe_scalable_targets", {"ScalableTargets": targets if registered else []},
            {"ServiceNamespace": "sagemaker",
             "ResourceIds": [f"endpoint/{name}/variant/AllTraffic"],
             "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"})


@pytest.fixture
def aws() -> Iterator[Stubbed]:
    session = offline_session(REGION)
    clients = Clients(cloudformation=session.client("cloudformation"),
                      sagemaker=session.client("sagemaker"),
                      autoscaling=session.client("application-autoscaling"), region=REGION)
    with stubbed(clients.cloudformation, clients.sagemaker, clients.autoscaling) as stubbers:
        yield Stubbed(clients, *stubbers)


def run(aws: Stubbed, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str, str]:
    status = main([STACK, *flags], make_clients=lambda region: aws.clients)
    out, err = capsys.readouterr()
    return status, out, err


def disagreements(out: str) -> list[str]:
    return [line.strip().removeprefix("DISAGREES: ") for line in out.splitlines()
            if line.strip().startswith("DISAGREES")]


# --- agreement --------------------------------------------------------------------------


def test_an_endpoint_on_the_expected_config_agrees(aws, capsys):
    # given a stack whose endpoint runs the config the stack names (its ARN lower-cased)
    aws.stack(template())
    aws.endpoint()
    aws.target()

    # when status runs
    status, out, _ = run(aws, capsys)

    # then it prints both configs, the deployment, the counts and the scaling, and exits 0
    assert status == 0
    assert out.splitlines() == [
        f"stack {STACK}: UPDATE_COMPLETE",
        f"RealtimeEndpoint1C2D: endpoint {ENDPOINT}, InService",
        f"  endpoint config: runs {NEW_CONFIG}, the stack expects {NEW_CONFIG.lower()}",
        "  last deployment: blue/green, canary of 25%, rolls back on 1 alarm "
        "(Realtime-Invocation5XXErrors)",
        "  variant AllTraffic: 2 instances, 2 desired; scales 2-6, suspended: nothing",
        "1 endpoint: all agree with the stack",
    ]


def test_a_suspension_the_stack_declares_agrees(aws, capsys):
    aws.stack(template(suspended=True))
    aws.endpoint()
    aws.target(suspended=True)

    status, out, _ = run(aws, capsys)

    assert status == 0
    assert "suspended: scale-in, scale-out, scheduled" in out


def test_the_name_comes_from_the_physical_id_when_the_template_has_none(aws, capsys):
    # given a template that lets CloudFormation name the endpoint
    aws.stack(template(literal_name=False),
              endpoint_physical=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/generated-1")
    aws.endpoint(name="generated-1")
    aws.target(name="generated-1")

    status, out, _ = run(aws, capsys)

    assert status == 0
    assert out.splitlines()[1] == "RealtimeEndpoint1C2D: endpoint generated-1, InService"


def test_the_scalable_target_is_looked_up_by_the_name_sagemaker_gives(aws, capsys):
    # given a template without a literal name, whose endpoint's ARN lower-cases the name
    # SageMaker spells with capitals (the target is registered under the latter)
    real = "Generated-Speech-1"
    aws.stack(template(literal_name=False),
              endpoint_physical=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{real.lower()}")
    aws.sagemaker.add_response(
        "describe_endpoint",
        {"EndpointName": real, "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:"
         f"endpoint/{real.lower()}", "EndpointConfigName": NEW_CONFIG,
         "EndpointStatus": "InService", "CreationTime": "2026-12-01T10:00:00Z",
         "LastModifiedTime": "2026-12-05T10:00:00Z",
         "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 2,
                                 "DesiredInstanceCount": 2}]},
        {"EndpointName": real.lower()})
    aws.target(name=real)

    # when status runs
    status, out, _ = run(aws, capsys)

    # then DescribeScalableTargets is asked for the real casing (the stub checks it), the
    # target is found and the endpoint agrees
    assert status == 0
    assert out.splitlines()[1] == f"RealtimeEndpoint1C2D: endpoint {real}, InService"
    assert "scales 2-6, suspended: nothing" in out


def test_a_yaml_template_is_read(aws, capsys):
    # botocore parses a JSON template body; a YAML one arrives as text
    aws.stack(yaml.safe_dump(template()))
    aws.endpoint()
    aws.target()

    assert run(aws, capsys)[0] == 0


# --- disagreement -----------------------------------------------------------------------


def test_a_rolled_back_update_disagrees(aws, capsys):
    # given a guarded update SageMaker rolled back: the endpoint is back on the old config
    aws.stack(template())
    aws.endpoint(config=OLD_CONFIG)
    aws.target()

    # when status runs
    status, out, _ = run(aws, capsys)

    # then it names both configs and exits 1
    assert status == 1
    assert disagreements(out) == [
        f"the endpoint runs config {OLD_CONFIG}, the stack expects {NEW_CONFIG.lower()}: the "
        "last update did not take (rolled back, or still under way)"]
    assert out.splitlines()[-1] == "1 of 1 endpoint disagree with the stack"


def test_an_update_in_progress_disagrees(aws, capsys):
    aws.stack(template())
    aws.endpoint(status="Updating", current=2, desired=3,
                 PendingDeploymentSummary={"EndpointConfigName": "NextConfig"},
                 variant={"VariantStatus": [{"Status": "Baking"}]})
    aws.target()

    status, out, _ = run(aws, capsys)

    assert status == 1
    assert "  variant AllTraffic: 2 instances, 3 desired (Baking); scales 2-6, suspended: " \
        "nothing" in out
    assert disagreements(out) == [
        "the endpoint is Updating, not InService",
        "a deployment of config NextConfig is in progress",
        "variant AllTraffic has 2 instances, 3 desired: a capacity change is under way"]


def test_a_failed_endpoint_shows_its_reason(aws, capsys):
    aws.stack(template())
    aws.endpoint(status="Failed", FailureReason="Image pull failed")
    aws.target()

    status, out, _ = run(aws, capsys)

    assert status == 1
    assert "  failure reason: Image pull failed" in out
    assert "the endpoint is Failed, not InService (Image pull failed)" in disagreements(out)


def test_scaling_left_suspended_disagrees(aws, capsys):
    # given a stack that no longer suspends scaling, and a target still suspended
    aws.stack(template(suspended=False))
    aws.endpoint()
    aws.target(suspended=True)

    status, out, _ = run(aws, capsys)

    assert status == 1
    assert disagreements(out) == [
        "variant AllTraffic: scaling suspended scale-in, scale-out, scheduled, the stack "
        "declares nothing"]


def test_a_target_that_is_not_registered_disagrees(aws, capsys):
    aws.stack(template())
    aws.endpoint()
    aws.target(registered=False)

    status, out, _ = run(aws, capsys)

    assert status == 1
    assert "no scalable target" in out
    assert disagreements(out) == [
        "variant AllTraffic is not registered with Application Auto Scaling, though the "
        "stack declares a scalable target"]


def test_an_endpoint_sagemaker_does_not_know_disagrees(aws, capsys):
    aws.stack(template())
    aws.sagemaker.add_client_error("describe_endpoint", "ValidationException",
                                   f'Could not find endpoint "{ENDPOINT}".', 400)

    status, out, _ = run(aws, capsys)

    assert status == 1
    assert out.splitlines()[1] == f"RealtimeEndpoint1C2D: endpoint {ENDPOINT}, not found"
    assert disagreements(out) == [
        f"the stack declares endpoint {ENDPOINT}, but SageMaker has no endpoint of that name"]


# --- cannot tell --------------------------------------------------------------------------


def test_a_stack_still_updating_disagrees(aws, capsys):
    # given a stack update still running, its endpoint on the config the template names
    aws.stack(template(), status="UPDATE_IN_PROGRESS")
    aws.endpoint()
    aws.target()

    status, out, _ = run(aws, capsys)

    assert status == 1
    assert disagreements(out) == [
        "the stack is UPDATE_IN_PROGRESS: run status again when it has settled"]
    assert out.splitlines()[-1] == "1 endpoint agree with the stack, which has not settled"


def test_a_rolled_back_stack_is_noted(aws, capsys):
    # given a stack update CloudFormation rolled back: the stack describes the old release,
    # and the endpoint runs it
    aws.stack(template(), status="UPDATE_ROLLBACK_COMPLETE")
    aws.endpoint()
    aws.target()

    status, out, _ = run(aws, capsys)

    assert status == 0
    assert out.splitlines()[:2] == [
        f"stack {STACK}: UPDATE_ROLLBACK_COMPLETE",
        "  note: the last stack operation was rolled back, so the stack (and what follows) "
        "describes the release before it"]


def test_a_rolled_back_stack_disagrees_under_strict(aws, capsys):
    # given a stack update CloudFormation rolled back, its endpoint back on the old release
    aws.stack(template(), status="UPDATE_ROLLBACK_COMPLETE")
    aws.endpoint()
    aws.target()

    # when a pipeline runs status --strict right after the release
    status, out, _ = run(aws, capsys, "--strict")

    # then the release that did not take is a disagreement: exit 1
    assert status == 1
    assert disagreements(out) == [
        "the stack is UPDATE_ROLLBACK_COMPLETE: the last stack operation was rolled back, so "
        "the release it carried did not take (--strict)"]


def test_strict_passes_a_stack_whose_update_completed(aws, capsys):
    aws.stack(template())
    aws.endpoint()
    aws.target()

    assert run(aws, capsys, "--strict")[0] == 0


def test_an_endpoint_not_created_yet_is_exit_2(aws, capsys):
    # given a template that lets CloudFormation name the endpoint, and no endpoint yet
    aws.stack_status("CREATE_COMPLETE")
    aws.cloudformation.add_response("get_template", {"TemplateBody": json.dumps(
        template(literal_name=False))})
    aws.cloudformation.add_client_error(
        "describe_stack_resources", "ValidationError",
        f"Resource RealtimeEndpoint1C2D does not exist for stack {STACK}", 400)

    status, _, err = run(aws, capsys)

    assert status == 2
    assert err.startswith(f"error: stack {STACK} has no physical endpoint for "
                          "RealtimeEndpoint1C2D yet")


def test_no_such_stack_is_one_line_and_exit_2(aws, capsys):
    aws.cloudformation.add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist", 400)

    status, out, err = run(aws, capsys)

    assert (status, out) == (2, "")
    assert err == (f"error: no stack named {STACK} in {REGION}: check the name and "
                   "--region\n")


def test_a_stack_without_endpoints_is_exit_2(aws, capsys):
    aws.stack_status()
    aws.cloudformation.add_response(
        "get_template", {"TemplateBody": json.dumps({"Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"}}})})

    status, _, err = run(aws, capsys)

    assert status == 2
    assert err == f"error: stack {STACK} declares no AWS::SageMaker::Endpoint\n"


def test_access_denied_names_the_action(aws, capsys):
    aws.cloudformation.add_client_error("describe_stacks", "AccessDenied", "not authorized",
                                        403)

    status, _, err = run(aws, capsys)

    assert status == 2
    assert err == (f"error: access denied: cloudformation:DescribeStacks on {STACK} "
                   "(not authorized); allow cloudformation:DescribeStacks for the caller's "
                   "role\n")


# --- the pure parts -----------------------------------------------------------------------


def test_declared_endpoints_of_the_example_app(example_template):
    # given the example app's synthesized template
    declared = {e.logical_id: e for e in declared_endpoints(example_template.to_json())}

    # then each endpoint names its config by reference and has its scalable target
    assert len(declared) == 2
    for endpoint in declared.values():
        assert endpoint.config_logical_id is not None
        assert endpoint.config_name is None
        assert endpoint.scaled
        assert endpoint.name is not None and endpoint.suspended == frozenset()


@pytest.mark.parametrize("resource_id", [
    {"Fn::Sub": "endpoint/${RealtimeEndpoint1C2D.EndpointName}/variant/AllTraffic"},
    {"Fn::Join": ["/", ["endpoint", {"Fn::GetAtt": "RealtimeEndpoint1C2D.EndpointName"},
                        "variant", "AllTraffic"]]},
    f"endpoint/{ENDPOINT}/variant/AllTraffic",
])
def test_a_target_is_matched_however_its_resource_id_is_written(resource_id):
    body = template(suspended=True)
    body["Resources"]["RealtimeScalingTarget9E"]["Properties"]["ResourceId"] = resource_id

    (declared,) = declared_endpoints(body)

    assert declared.scaled
    assert len(declared.suspended) == 3


def test_a_target_of_another_endpoint_is_not_counted():
    body = template()
    body["Resources"]["RealtimeScalingTarget9E"]["Properties"]["ResourceId"] = \
        "endpoint/someone-else/variant/AllTraffic"

    (declared,) = declared_endpoints(body)

    assert not declared.scaled


def test_physical_ids_and_deployments_in_words():
    assert name_from_physical_id(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/a-b",
                                 "endpoint") == "a-b"
    assert name_from_physical_id("plain-name", "endpoint") == "plain-name"
    assert describe_deployment(None) == \
        "no deployment config (blue/green, all at once, no rollback alarms)"
    assert describe_deployment({"RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 300}}) == \
        "rolling, batches of 1 instance(s), rolls back on 0 alarms"


# --- the command ----------------------------------------------------------------------------


def test_the_cli_dispatches_status(monkeypatch):
    seen: list[list[str]] = []
    monkeypatch.setattr("deepgram_scaling.status.main", lambda argv: seen.append(argv) or 0)

    assert cli.main(["status", STACK, "--region", REGION]) == 0
    assert seen == [[STACK, "--region", REGION]]


def test_status_never_imports_the_cdk():
    code = ("import sys; import deepgram_scaling.cli, deepgram_scaling.status; "
            "sys.exit('aws_cdk' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_no_region_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    # given no region in the environment or a config file
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))

    # when status builds its boto3 clients
    code = main([STACK])

    # then it says what to set, on one line, and exits 2
    assert code == 2
    assert capsys.readouterr().err == "error: no AWS region: pass --region or set AWS_DEFAULT_REGION\n"
