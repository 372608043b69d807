"""``deepgram-scaling check``: formats, exit codes, unreadable templates, and the time the
whole process takes on the example template."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import aws_cdk as cdk
import jsonschema
import pytest

from deepgram_scaling.checks.assembly import all_rules
from deepgram_scaling.checks.cli import main
from deepgram_scaling.cli import main as top_level_main

from .checks_templates import NON_COMPLIANT, build
from .conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "checks"
WRONG = FIXTURES / "wrong.template.json"
CORRECT = FIXTURES / "correct.template.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_a_correct_template_exits_0(capsys):
    status, out, _ = run(capsys, str(CORRECT))
    assert status == 0
    assert out.strip() == "0 errors, 0 warnings in 1 template"


def test_the_committed_fixtures_are_the_builders_output():
    # wrong.template.json backs the README example; keep it in step with the builders
    pick = {rule: cases[0][1] for rule, cases in NON_COMPLIANT.items()}
    assert json.loads(WRONG.read_text()) == build(
        pick["MetricDimensions"], pick["AsyncWakeUpFromZero"],
        pick["RetainVariantProperties"], pick["StreamingScaleInCooldown"])
    assert json.loads(CORRECT.read_text()) == build()


def test_text_output_names_file_resource_level_and_rule(capsys):
    status, out, _ = run(capsys, str(WRONG))
    assert status == 1
    lines = out.strip().splitlines()
    assert lines[-1] == "2 errors, 2 warnings in 1 template"
    assert lines[0].startswith(f"{WRONG}: AsyncBacklogScaling: error: ")
    assert lines[0].endswith("[SageMakerScaling-MetricDimensions]")


def test_json_is_a_list_of_rule_level_resource_message(capsys):
    status, out, _ = run(capsys, str(WRONG), "--format", "json")
    findings = json.loads(out)
    assert status == 1
    assert isinstance(findings, list) and len(findings) == 4
    for finding in findings:
        assert {"rule", "level", "resource", "message"} <= set(finding)
        assert finding["level"] in ("error", "warning")
        assert finding["rule"].startswith("SageMakerScaling-")
        assert all(isinstance(finding[key], str) and finding[key]
                   for key in ("rule", "level", "resource", "message"))
    assert {(f["rule"], f["resource"]) for f in findings} == {
        ("SageMakerScaling-MetricDimensions", "AsyncBacklogScaling"),
        ("SageMakerScaling-AsyncWakeUpFromZero", "AsyncTarget"),
        ("SageMakerScaling-RetainVariantProperties", "RtEndpoint"),
        ("SageMakerScaling-StreamingScaleInCooldown", "RtScaling"),
    }


def test_warnings_alone_exit_0(capsys, tmp_path):
    path = tmp_path / "warn.json"
    path.write_text(json.dumps(build(NON_COMPLIANT["RetainVariantProperties"][0][1])))
    status, out, _ = run(capsys, str(path), "--format", "json")
    assert status == 0
    assert [f["level"] for f in json.loads(out)] == ["warning"]


def test_sarif_is_valid_sarif_2_1_0(capsys):
    status, out, _ = run(capsys, str(WRONG), str(CORRECT), "--format", "sarif")
    log = json.loads(out)
    schema = json.loads((FIXTURES / "sarif-2.1.0-subset.schema.json").read_text())
    jsonschema.validate(log, schema)
    assert status == 1
    assert log["version"] == "2.1.0"
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "deepgram-scaling"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    results = log["runs"][0]["results"]
    assert len(results) == 4
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == str(WRONG)
        # the region is the line where the resource's logical id opens
        line = location["physicalLocation"]["region"]["startLine"]
        resource = location["logicalLocations"][0]["name"]
        assert f'"{resource}":' in WRONG.read_text().splitlines()[line - 1]


def test_sarif_results_carry_each_findings_level(capsys):
    # given the fixtures' findings as JSON (two errors and two warnings)
    _, listed, _ = run(capsys, str(WRONG), str(CORRECT), "--format", "json")
    levels = sorted((f["rule"], f["resource"], f["level"]) for f in json.loads(listed))

    # when the same templates are reported as SARIF
    _, out, _ = run(capsys, str(WRONG), str(CORRECT), "--format", "sarif")
    run_ = json.loads(out)["runs"][0]

    # then every result has its finding's level, and every rule its own default level
    results = sorted((r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"],
                      r["level"]) for r in run_["results"])
    assert results == levels
    assert {level for *_, level in results} == {"error", "warning"}
    rule_levels = {rule.id: rule.level for rule in all_rules()}
    for rule in run_["tool"]["driver"]["rules"]:
        assert rule["defaultConfiguration"]["level"] == rule_levels[rule["id"]]


def test_the_schema_rejects_what_sarif_forbids():
    schema = json.loads((FIXTURES / "sarif-2.1.0-subset.schema.json").read_text())
    bad = {"version": "2.0.0", "$schema": "x", "runs": []}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize(("content", "reason"), [
    ('{"Resources": ', "invalid JSON at line 1"),
    ("Resources:\n  A: [unclosed\n", "invalid YAML at line 3"),
    ('{"Parameters": {}}', "not a CloudFormation template (no Resources mapping)"),
    ("- a\n- b\n", "not a CloudFormation template (no top-level mapping)"),
])
def test_an_unreadable_template_exits_2_with_one_line(capsys, tmp_path, content, reason):
    path = tmp_path / "bad.template"
    path.write_text(content)
    status, out, err = run(capsys, str(CORRECT), str(path))
    assert status == 2
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"error: {path}: {reason}")


def test_a_missing_file_exits_2(capsys, tmp_path):
    status, _, err = run(capsys, str(tmp_path / "nope.json"))
    assert (status, err.strip()) == (2, f"error: {tmp_path / 'nope.json'}: no such file")


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--format", "xml", str(CORRECT)])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_a_directory_checks_its_templates(capsys):
    status, out, _ = run(capsys, str(FIXTURES))
    assert status == 1
    assert out.strip().splitlines()[-1] == "2 errors, 2 warnings in 2 templates"


def test_the_top_level_command_dispatches_check_and_the_simulator(capsys):
    assert top_level_main(["check", str(CORRECT)]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        top_level_main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "deepgram-scaling check TEMPLATE" in out and "simulate" in out


# --- the whole process, as a pre-commit hook runs it -------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).with_name("deepgram-scaling")
    if script.is_file() and "deepgram_scaling.cli" in script.read_text(errors="replace"):
        return [str(script)]
    return [sys.executable, "-m", "deepgram_scaling.cli"]


def test_check_on_the_example_template_takes_under_a_second(example_app: cdk.App):
    # given the example app's synthesized template, and bytecode cached by a first run (as a
    # pre-commit hook would have it; `make` sets PYTHONDONTWRITEBYTECODE for the suite)
    template = example_app.synth().get_stack_by_name("DeepgramScalingExample").template_full_path
    command = [*_command(), "check", template]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, capture_output=True, check=True, env=env)
    # when the whole process runs five times
    walls, cpus = [], []
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        assert done.returncode == 0, done.stdout + done.stderr
    # then it stays under a second: in CPU time always, in wall time at its best (the wall
    # time of a loaded shared machine says little about the command)
    assert max(cpus) < 1.0, cpus
    assert min(walls) < 1.0, walls
    # and the CDK was never imported
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from deepgram_scaling.checks.cli import main; "
         f"main(['{template}']); print('aws_cdk' in sys.modules, 'jsii' in sys.modules)"],
        capture_output=True, text=True, env=env, check=False)
    assert probe.stdout.strip().splitlines()[-1] == "False False"


# --- the pre-commit hooks -------------------------------------------------------------------


def test_the_pre_commit_hooks_run_check_on_templates_and_on_one_app():
    import re

    import yaml

    # given the repository's hook definitions
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    files, app = hooks["deepgram-scaling-check"], hooks["deepgram-scaling-check-app"]
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["entry"] == "deepgram-scaling check" and hook["language"] == "python"
    # then the per-file hook takes templates and nothing else
    pattern = re.compile(files["files"])
    assert all(pattern.search(path) for path in (
        "infra/app.template.json", "template.yaml", "sam/template.yml", "x.template.yaml"))
    assert not any(pattern.search(path) for path in (
        "package.json", "cdk.json", "templates.yaml", "mytemplate.yaml"))
    # and the app hook takes its folder from args, not from the changed files
    assert app["pass_filenames"] is False
    # and the command it names fails on an error and passes a correct template
    argv = files["entry"].split()[1:]
    assert top_level_main([*argv, str(WRONG)]) == 1
    assert top_level_main([*argv, str(CORRECT)]) == 0
