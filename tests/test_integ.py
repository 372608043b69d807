"""The integration suite in integ/, offline: it synthesizes (cdk-nag on the stack under
test), its templates match the committed snapshots, and its assertions call the APIs the
README lists. Deploying it is ``make integ``'s job, never the tests'.

Regenerate the snapshots after an intended change with ``make integ-snapshot-update``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from deepgram_scaling.testing import snapshot_template
from integ import cost
from integ.integ_deepgram_scaling import ALARM_REASON, STACK_NAME, WAKE_UP_KEY, build_app

from .conftest import ROOT

SNAPSHOTS = ROOT / "integ" / "snapshots"
UPDATE = os.environ.get("DEEPGRAM_SCALING_UPDATE_INTEG_SNAPSHOTS") == "1"
SDK_CALL = "Custom::DeployAssert@SdkCall"


def scrubbed(stack: cdk.Stack) -> dict[str, Any]:
    """The template without asset hashes and without integ-tests' per-synthesis ``salt``
    (a timestamp that makes every deploy run the assertions again)."""
    template = snapshot_template(stack)
    for resource in template.get("Resources", {}).values():
        if "salt" in resource.get("Properties", {}):
            resource["Properties"]["salt"] = "<salt>"
    return template


@pytest.fixture(scope="module")
def integ_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, cdk.Stack]:
    # placeholders only: the environment of whoever runs the tests must not leak in
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("DEEPGRAM_INTEG_")}
    try:
        app = build_app(outdir=str(tmp_path_factory.mktemp("integ")))
        app.synth()  # runs cdk-nag on the stack under test: a finding fails here
    finally:
        os.environ.update(saved)
    # the assertion stack sits below the IntegTest construct, not directly below the app
    return {node.stack_name: node for node in app.node.find_all()
            if isinstance(node, cdk.Stack)}


@pytest.fixture(scope="module")
def assertions(integ_stacks: dict[str, cdk.Stack]) -> Template:
    (name,) = [n for n in integ_stacks if n != STACK_NAME]
    return Template.from_stack(integ_stacks[name])


def test_the_integ_app_has_the_stack_under_test_and_the_assertion_stack(integ_stacks):
    assert STACK_NAME in integ_stacks
    assert len(integ_stacks) == 2


def test_the_integ_templates_match_the_snapshots(integ_stacks):
    # given the synthesized templates, scrubbed; when compared with integ/snapshots/
    mismatched = []
    for name, stack in integ_stacks.items():
        path = SNAPSHOTS / f"{name}.template.json"
        rendered = json.dumps(scrubbed(stack), indent=1, sort_keys=True) + "\n"
        if UPDATE:
            path.parent.mkdir(exist_ok=True)
            path.write_text(rendered)
        elif not path.is_file() or path.read_text() != rendered:
            mismatched.append(path.name)
    # then nothing changed without `make integ-snapshot-update`
    assert mismatched == [], "run `make integ-snapshot-update` after an intended change"
    assert sorted(p.name for p in SNAPSHOTS.glob("*.json")) == \
        sorted(f"{n}.template.json" for n in integ_stacks)


def test_the_stack_under_test_is_minimal(integ_stacks):
    template = Template.from_stack(integ_stacks[STACK_NAME])
    template.resource_count_is("AWS::SageMaker::Endpoint", 2)
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {
        "ProductionVariants": [Match.object_like({"InstanceType": "ml.g6.2xlarge",
                                                  "InitialInstanceCount": 1})]})
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget",
                                     {"MinCapacity": 1, "MaxCapacity": 2})
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget",
                                     {"MinCapacity": 0, "MaxCapacity": 1})
    # the queue the alarm notification must reach
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "sqs"})
    # a test leaves nothing behind: its bucket is emptied and deleted, its key scheduled
    template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Delete"})
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Delete"})


def test_it_asserts_the_scalable_targets_and_policies(assertions):
    calls = assertions.find_resources(f"{SDK_CALL}ApplicationAutoScalingdescribeSc")
    apis = sorted(r["Properties"]["api"] for r in calls.values())
    assert apis == ["describeScalableTargets"] * 2 + ["describeScalingPolicies"] * 3
    expected = " ".join(json.dumps(r["Properties"]["expected"]) for r in calls.values())
    for text in ("SageMakerVariantConcurrentRequestsPerModelHighResolution",
                 "ApproximateBacklogSizePerInstance", "StepScaling",
                 '\\"MinCapacity\\":0', '\\"MaxCapacity\\":2'):
        assert text in expected, text


def test_it_sets_an_alarm_and_waits_for_the_notification_on_the_queue(assertions):
    assertions.has_resource_properties(f"{SDK_CALL}CloudWatchsetAlarmState", {
        "parameters": Match.object_like({"StateValue": '"ALARM"',
                                         "StateReason": f'"{ALARM_REASON}"'})})
    receive = assertions.find_resources(f"{SDK_CALL}SQSreceiveMessage")
    (properties,) = [r["Properties"] for r in receive.values()]
    assert ALARM_REASON in json.dumps(properties["expected"])
    assert "stateMachineArn" in properties  # retried until the message arrives


def test_it_uploads_one_file_and_waits_for_the_async_endpoint_to_wake(assertions):
    assertions.has_resource_properties(f"{SDK_CALL}S3putObject", {
        "parameters": Match.object_like({"Key": f'"{WAKE_UP_KEY}"'})})
    assertions.has_resource_properties(f"{SDK_CALL}SageMakerRuntimeinvokeEndpointAs", {
        "parameters": Match.object_like({"CustomAttributes": '"v1/listen?model=nova-3"'})})
    describes = assertions.find_resources(f"{SDK_CALL}SageMakerdescribeEndpoint")
    counts = sorted(json.loads(r["Properties"]["expected"])["$ObjectLike"]
                    ["ProductionVariants"][0]["$ObjectLike"]["CurrentInstanceCount"]
                    for r in describes.values())
    assert counts == [0, 1]  # first idle at zero, then woken to one


def test_the_readme_lists_the_assertions_and_both_commands():
    section = (ROOT / "docs" / "integration-tests.md").read_text()
    for needed in ("make integ", "make integ-snapshot", "make integ-snapshot-update",
                   "describeScalableTargets", "describeScalingPolicies", "SetAlarmState",
                   "InvokeEndpointAsync", "CurrentInstanceCount"):
        assert needed in section, needed


def test_the_cost_estimate_states_its_basis():
    text = cost.estimate("ml.g6.2xlarge", environ={})
    assert "expected: 65 min, 2.2 instance-hours x $1.22/h = about $2.64" in text
    assert "worst case: 130 min, 4.3 instance-hours x $1.22/h = about $5.29" in text
    assert "not an AWS quote" in text
    mine = cost.estimate("ml.g6.2xlarge", environ={"DEEPGRAM_INTEG_PRICE_PER_HOUR": "2"})
    assert "x $2.00/h = about $4.33" in mine
    with pytest.raises(ValueError, match="set DEEPGRAM_INTEG_PRICE_PER_HOUR"):
        cost.price_per_hour("ml.p5.48xlarge", environ={})


def test_make_integ_never_runs_in_make_test():
    makefile = (ROOT / "Makefile").read_text()
    test_line = next(line for line in makefile.splitlines() if line.startswith("test:"))
    unit_recipe = makefile[makefile.index("\nunit:"):].split("\n\n")[0]
    assert "integ" not in test_line.replace("integ-snapshot", "")
    assert "integ-runner" not in unit_recipe
    assert Path(ROOT / "integ" / "integ_deepgram_scaling.py").is_file()
