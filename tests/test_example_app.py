"""The example app as a user runs it: directly, through the CDK CLI, and with bad context."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT

ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
       "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true"}
STACK = "DeepgramScalingExample.template.json"


def resources(template: dict[str, Any]) -> dict[str, Any]:
    """Types and properties only: the CLI adds path metadata and CDKMetadata."""
    return {
        logical_id: {"Type": r["Type"], "Properties": r.get("Properties")}
        for logical_id, r in template["Resources"].items()
        if r["Type"] != "AWS::CDK::Metadata"
    }


@pytest.fixture(scope="module")
def cli_template(tmp_path_factory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("cli")
    env = {**ENV, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{ENV['PATH']}"}
    subprocess.run(
        [str(ROOT / "node_modules/.bin/cdk"), "synth", "--no-notices", "--quiet", "-o", str(out)],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
    )
    return json.loads((out / STACK).read_text())


def test_cdk_cli_synthesizes_the_same_app(cli_template, example_template):
    assert resources(cli_template) == resources(example_template.to_json())


def run_app(context: dict[str, Any] | None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**ENV, "CDK_OUTDIR": str(tmp_path)}
    if context is not None:  # what the CLI passes, with -c overrides merged in
        env["CDK_CONTEXT_JSON"] = json.dumps(context)
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"deepgram:realtime:instanceTypes": 5},
         "error: context key 'deepgram:realtime:instanceTypes' must be a list of strings, got 5"),
        ({"deepgram:realtime:maxCapacity": "eight"},
         "error: context key 'deepgram:realtime:maxCapacity' must be a whole number, got 'eight'"),
        ({"deepgram:modelPackageArn": "nova-3"},
         "error: context key 'deepgram:modelPackageArn' must be a SageMaker model-package ARN"),
        ({"deepgram:realtime:minCapacity": "0"},
         "error: DeepgramScalingExample/Realtime: min_capacity must be >= 1 for a real-time endpoint"),
    ],
)
def test_bad_context_stops_with_one_clear_line(override, message, tmp_path):
    from .conftest import cdk_context

    result = run_app({**cdk_context(), **override}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(message)
    assert "Traceback" not in result.stderr


def test_running_the_app_prints_each_warning_and_info_with_its_path(tmp_path):
    # given a companion target below the fleet's (a legal value the construct warns about)
    from .conftest import cdk_context

    context = {**cdk_context(), "deepgram:realtime:targetConcurrencyPerInstance": 5}

    # when the app runs as `make synth` runs it (no CDK CLI around it)
    result = run_app(context, tmp_path)

    # then the warning and the infos reach the screen, one line each, with the construct path
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("[Warning at /DeepgramScalingExample/Realtime") and
               "deepgram-scaling:companionBelowFleetTarget" in line for line in lines), lines
    assert sum(line.startswith("[Info at /DeepgramScalingExample/") for line in lines) >= 2
    assert all(re.match(r"\[(Error|Warning|Info) at /\S+\] \S", line) for line in lines)


def test_annotation_lines_are_left_to_the_cdk_cli_under_it(tmp_path):
    # the CLI prints annotations itself: the app stays quiet when CDK_CLI_VERSION is set
    from .conftest import cdk_context

    context = {**cdk_context(), "deepgram:realtime:targetConcurrencyPerInstance": 5}
    env = {**ENV, "CDK_OUTDIR": str(tmp_path), "CDK_CLI_VERSION": "2.1000.0",
           "CDK_CONTEXT_JSON": json.dumps(context)}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert (result.returncode, result.stderr) == (0, "")
