"""``check DIR``: a cloud assembly (or a folder of templates) checked as one app.

The assemblies are real syntheses (``tests/assembly_apps.py``, built once per session):
endpoints in one stack, their scaling in others, tied by the CDK's strong and weak
cross-stack references, by an exported name with ``Fn::ImportValue``, by a literal name
with and without a stack dependency, and through a nested stack.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepgram_scaling.checks.assembly import (
    check_assembly,
    load_assembly,
    read_folder,
    template_transforms,
)
from deepgram_scaling.checks.cli import main

from .checks_templates import NON_COMPLIANT, build, compliant

WAKE = "SageMakerScaling-AsyncWakeUpFromZero"
RESOLVES = "SageMakerScaling-ScalableTargetResolvesToEndpoint"
TRANSFORM = "SageMakerScaling-TransformNotExpanded"


def findings_of(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, str]]]:
    status = main([*argv, "--format", "json"])
    return status, json.loads(capsys.readouterr().out)


def by_file(findings: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(Path(f["template"]).name, f["resource"], f["rule"]) for f in findings}


# --- the CDK's cross-stack references ---------------------------------------------------


def test_a_strong_cross_stack_reference_ties_the_target_to_the_endpoint(assemblies, capsys):
    # given the Scaling stack, whose target imports the Endpoints stack's endpoint name
    # (an export the CDK wrote) and wakes the async endpoint from zero
    scaling = assemblies.strong / "Scaling.template.json"
    # when the stack is checked alone, then the endpoint cannot be found
    _, alone = findings_of(capsys, str(scaling))
    assert by_file(alone) == {("Scaling.template.json", "Target", RESOLVES)}
    # when the assembly is checked, then the import resolves and nothing is reported on it
    _, together = findings_of(capsys, str(assemblies.strong))
    assert not [f for f in together if Path(f["template"]).name == "Scaling.template.json"]


def test_a_weak_cross_stack_reference_resolves_through_get_stack_output(assemblies, capsys):
    # given the weak-reference app (Fn::GetStackOutput), min 0 and no wake-up
    template = json.loads((assemblies.weak / "Scaling.template.json").read_text())
    join = template["Resources"]["Target"]["Properties"]["ResourceId"]["Fn::Join"][1]
    assert "Fn::GetStackOutput" in join[1]
    # when the assembly is checked
    status, findings = findings_of(capsys, str(assemblies.weak))
    # then the endpoint is known to be asynchronous: the missing wake-up is an error
    assert status == 1
    assert by_file(findings) == {("Scaling.template.json", "Target", WAKE)}
    assert "asynchronous endpoint Endpoints::Jobs" in findings[0]["message"]


def test_a_cross_region_reference_resolves_through_the_cdks_export_writer(assemblies, capsys):
    # given an endpoint in us-east-1 scaled from eu-west-1: the CDK writes the name to an SSM
    # parameter (/cdk/exports/...) and the consumer reads it through a custom resource
    template = json.loads((assemblies.cross_region / "Scaling.template.json").read_text())
    join = template["Resources"]["Target"]["Properties"]["ResourceId"]["Fn::Join"][1]
    assert join[1]["Fn::GetAtt"][1].startswith("/cdk/exports/")
    # when the assembly is checked
    _, findings = findings_of(capsys, str(assemblies.cross_region))
    # then the endpoint is known to be asynchronous: the missing wake-up is an error
    assert by_file(findings) == {("Scaling.template.json", "Target", WAKE)}


def test_an_exported_name_reaches_fn_import_value(assemblies, capsys):
    # given the Imported stack: Fn::ImportValue of a name exported by hand, min 0
    # when the assembly is checked
    _, findings = findings_of(capsys, str(assemblies.strong))
    # then the target is tied to the exported endpoint, and the missing wake-up reported
    imported = [f for f in findings if Path(f["template"]).name == "Imported.template.json"]
    assert [(f["resource"], f["rule"]) for f in imported] == [("Target", WAKE)]
    assert "Endpoints::Exported" in imported[0]["message"]


# --- literal names and stack order ------------------------------------------------------


def test_a_literal_name_needs_the_endpoints_stack_first(assemblies, capsys):
    # given two stacks naming the endpoint "named-realtime" literally, one of them depending
    # on the endpoint's stack in manifest.json
    manifest = json.loads((assemblies.strong / "manifest.json").read_text())
    assert "Endpoints" in manifest["artifacts"]["NamedAfter"]["dependencies"]
    assert "Endpoints" not in manifest["artifacts"]["NamedUnordered"]["dependencies"]
    # when the assembly is checked
    _, findings = findings_of(capsys, str(assemblies.strong))
    # then only the target of the unordered stack may be registered before the endpoint
    named = by_file(f for f in findings if f["rule"] == RESOLVES)  # type: ignore[arg-type]
    assert named == {("NamedUnordered.template.json", "Target", RESOLVES)}
    message = next(f["message"] for f in findings if f["rule"] == RESOLVES)
    assert "before the endpoint exists" in message


def test_the_stacks_of_a_stage_are_read_from_its_nested_assembly(assemblies, capsys):
    # given an app whose two stacks live in a Stage (cdk.out/assembly-Prod/)
    # when the top folder is checked
    _, findings = findings_of(capsys, str(assemblies.staged))
    # then the stage's stacks are found, and the cross-stack reference resolves
    assert [(Path(f["template"]).parent.name, f["resource"], f["rule"]) for f in findings] == [
        ("assembly-Prod", "Target", WAKE)]


def test_a_stack_name_in_a_name_is_the_stacks_own(tmp_path, capsys):
    # given two loose templates that name their endpoint "${AWS::StackName}-jobs", the second
    # with a target on the same expression but no endpoint of its own
    template = build()
    template["Resources"]["AsyncEndpoint"]["Properties"]["EndpointName"] = {
        "Fn::Sub": "${AWS::StackName}-jobs"}
    (tmp_path / "a.template.json").write_text(json.dumps(template))
    other = build()
    target = other["Resources"]["AsyncTarget"]
    other["Resources"] = {"AsyncTarget": target}
    target["Properties"]["ResourceId"] = {
        "Fn::Sub": "endpoint/${AWS::StackName}-jobs/variant/AllTraffic"}
    (tmp_path / "b.template.json").write_text(json.dumps(other))
    # when the folder is checked
    _, findings = findings_of(capsys, str(tmp_path))
    # then b's target is not tied to a's endpoint: each stack has its own name
    assert ("b.template.json", "AsyncTarget", RESOLVES) in by_file(findings)


def test_a_manifest_gives_each_stack_its_name(tmp_path, capsys):
    # given a hand-written manifest: stack Endpoints names its async endpoint
    # "${AWS::StackName}-jobs", stack Scaling (deployed after it) targets "Endpoints-jobs"
    endpoints = build()
    endpoints["Resources"]["AsyncEndpoint"]["Properties"]["EndpointName"] = {
        "Fn::Sub": "${AWS::StackName}-jobs"}
    target = endpoints["Resources"].pop("AsyncTarget")
    target["Properties"]["ResourceId"] = "endpoint/Endpoints-jobs/variant/AllTraffic"
    (tmp_path / "Endpoints.template.json").write_text(json.dumps(endpoints))
    (tmp_path / "Scaling.template.json").write_text(json.dumps(
        {"Resources": {"Target": target}}))
    stack = {"type": "aws:cloudformation:stack"}
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": {
        "Endpoints": {**stack, "properties": {"templateFile": "Endpoints.template.json"}},
        "Scaling": {**stack, "properties": {"templateFile": "Scaling.template.json"},
                    "dependencies": ["Endpoints"]}}}))
    # when the assembly is checked
    _, findings = findings_of(capsys, str(tmp_path))
    # then the literal name is the endpoint's, so its missing wake-up is reported, and the
    # stack order means no "registered before the endpoint" warning
    assert ("Scaling.template.json", "Target", WAKE) in by_file(findings)
    assert ("Scaling.template.json", "Target", RESOLVES) not in by_file(findings)


# --- nested stacks ----------------------------------------------------------------------


def test_nested_stacks_are_checked_with_their_parameters_and_imports(assemblies, capsys):
    # given the Parent stack whose nested stack holds two min-0 targets: one on the parent's
    # endpoint (passed as a parameter), one on another stack's (imported)
    # when the assembly is checked
    _, findings = findings_of(capsys, str(assemblies.strong))
    nested = [f for f in findings if f["template"].endswith(".nested.template.json")]
    # then both are tied to their async endpoints and reported in the nested template
    assert {(f["resource"], f["rule"]) for f in nested} == {("LocalTarget", WAKE),
                                                           ("Target", WAKE)}
    assert any("Parent::Local" in f["message"] for f in nested)
    # and the nested template is not checked again on its own
    assert sum(f["template"].endswith(".nested.template.json") for f in findings) == 2


def test_a_nested_stack_next_to_its_parent_in_a_plain_folder(tmp_path, capsys):
    # given a parent template whose TemplateURL is a local file (before `aws cloudformation
    # package`), passing the async endpoint's name as a parameter to a min-0 target
    parent = build()
    parent["Resources"]["Scaling"] = {"Type": "AWS::CloudFormation::Stack", "Properties": {
        "TemplateURL": "scaling.yaml",
        "Parameters": {"EndpointName": {"Fn::GetAtt": ["AsyncEndpoint", "EndpointName"]}}}}
    del parent["Resources"]["AsyncTarget"]
    (tmp_path / "app.template.json").write_text(json.dumps(parent))
    (tmp_path / "scaling.yaml").write_text(
        "Parameters:\n  EndpointName: {Type: String}\n"
        "Resources:\n  Jobs:\n    Type: AWS::ApplicationAutoScaling::ScalableTarget\n"
        "    Properties:\n      MinCapacity: 0\n      MaxCapacity: 2\n"
        "      ResourceId: !Sub endpoint/${EndpointName}/variant/AllTraffic\n"
        "      ScalableDimension: sagemaker:variant:DesiredInstanceCount\n"
        "      ServiceNamespace: sagemaker\n")
    # when the folder is checked
    _, findings = findings_of(capsys, str(tmp_path))
    # then the nested target is tied to the parent's async endpoint; the endpoint's own
    # wake-up policies no longer name a target here, so the wake-up error is reported
    assert ("scaling.yaml", "Jobs", WAKE) in by_file(findings)


# --- repeated logical ids, several apps -------------------------------------------------


def test_logical_ids_repeat_across_apps_in_one_folder(assemblies, capsys):
    # given a folder holding two apps, each with stacks Endpoints and Scaling whose logical
    # ids are the same
    stacks = read_folder(assemblies.both)
    assert len({s.prefix for s in stacks}) == len(stacks)
    # when the folder is checked
    status, findings = findings_of(capsys, str(assemblies.both))
    # then each finding stays with its own app's template
    assert status == 1
    scaling = {f["template"] for f in findings if f["rule"] == WAKE
               and Path(f["template"]).name == "Scaling.template.json"}
    assert scaling == {str(assemblies.weak / "Scaling.template.json")}


def test_every_template_of_the_folder_is_counted(assemblies, capsys):
    status = main([str(assemblies.strong)])
    out = capsys.readouterr().out
    # 6 stacks and 1 nested stack
    assert status == 1
    assert out.strip().splitlines()[-1] == "3 errors, 1 warning in 7 templates"


def test_the_virtual_template_maps_back_to_files_and_ids(assemblies):
    # given the strong assembly, when it is merged
    assembly = load_assembly(assemblies.strong)
    # then every virtual id maps to a file of the assembly and the id in that file
    for vid, (path, lid) in assembly.origin.items():
        assert vid.endswith(f"::{lid}")
        assert lid in json.loads(path.read_text())["Resources"]
    # and Fn::ImportValue is gone where the export is in the folder
    assert "Fn::ImportValue" not in json.dumps(assembly.template)


def test_a_single_file_keeps_its_own_logical_ids(capsys, tmp_path):
    # given the non-compliant hand-written template, once as a file and once in a folder
    template = build(NON_COMPLIANT["AsyncWakeUpFromZero"][0][1])
    path = tmp_path / "one.template.json"
    path.write_text(json.dumps(template))
    # when both are checked, then the findings are the same, on the same logical ids
    _, alone = findings_of(capsys, str(path))
    _, folder = findings_of(capsys, str(tmp_path))
    assert [(f["resource"], f["rule"], f["message"]) for f in alone] == [
        (f["resource"], f["rule"], f["message"]) for f in folder]
    assert any(f["rule"] == WAKE for f in alone)


def test_an_empty_directory_exits_2(capsys, tmp_path):
    status = main([str(tmp_path)])
    assert status == 2
    assert "holds no cloud assembly manifest.json" in capsys.readouterr().err


# --- template-level transforms ----------------------------------------------------------


def test_a_template_level_transform_warns_and_judges_plain_resources(tmp_path, capsys):
    # given a SAM template whose plain resources include a min-0 async target, no wake-up
    template = build(NON_COMPLIANT["AsyncWakeUpFromZero"][0][1])
    template["Transform"] = "AWS::Serverless-2016-10-31"
    path = tmp_path / "sam.template.json"
    path.write_text(json.dumps(template))
    # when it is checked
    _, findings = findings_of(capsys, str(path))
    # then the plain resources are judged, and the transform is named in a warning
    rules = {f["rule"] for f in findings}
    assert WAKE in rules
    (transform,) = [f for f in findings if f["rule"] == TRANSFORM]
    assert transform["level"] == "warning"
    assert "AWS::Serverless-2016-10-31" in transform["message"]


def test_no_transform_no_warning():
    assert template_transforms(compliant()) == []


def test_a_transform_in_a_folder_is_reported_on_its_template(tmp_path):
    # given a folder with one template carrying a list of transforms
    template = compliant()
    template["Transform"] = ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
    (tmp_path / "a.template.json").write_text(json.dumps(template))
    (tmp_path / "b.template.json").write_text(json.dumps(compliant()))
    # when the folder is checked
    found = check_assembly(load_assembly(tmp_path))
    # then the warning is on the template that has the transform only
    assert [f.rule for f in found[tmp_path / "a.template.json"]] == [TRANSFORM]
    assert found[tmp_path / "b.template.json"] == []


# --- time: what `make bench-check` measures, kept honest ---------------------------------


def test_check_stays_under_a_second_on_500_resources_and_on_the_corpus(tmp_path):
    # given a generated 500-resource template and every corpus item
    from bench.check_speed import big_template, corpus_items, time_runs

    template = big_template(500)
    path = tmp_path / "big.template.json"
    path.write_text(json.dumps(template))
    assert len(template["Resources"]) >= 500
    workloads = [[str(path)]] + ([corpus_items()] if corpus_items() else [])
    for paths in workloads:
        # when the whole command runs three times (after one untimed run)
        walls, cpus = time_runs(paths, 3)
        # then its CPU time stays under a second every time; a loaded shared machine (the
        # suite runs beside other jobs) stretches wall time, not the work done, so wall time
        # only has to show that nothing waits (no network, no sleep); `make bench-check`
        # reports both on a quiet machine
        assert max(cpus) < 1.0, (paths[:1], cpus, walls)
        assert min(walls) < 3.0, (paths[:1], cpus, walls)


def test_the_generated_template_is_checked_for_real():
    # given the benchmark's template with five wake-up alarms removed
    from bench.check_speed import big_template
    from deepgram_scaling.checks.rules import check_template

    template = big_template(500)
    removed = [lid for lid in template["Resources"] if lid.endswith("Backlogged")][:5]
    for lid in removed:
        del template["Resources"][lid]
    # when it is checked, then exactly those five endpoints lack a wake-up (the timing is of
    # a template the rules read through, not one they skip)
    assert check_template(big_template(500)) == []
    found = check_template(template)
    assert sorted(f.resource for f in found if f.rule == WAKE) == sorted(
        lid.replace("Backlogged", "Target") for lid in removed)


# --- names read from another resource -----------------------------------------------------


@pytest.mark.parametrize(("config_name", "tied"), [("jobs", True), ("jobs-config", False)])
def test_a_target_named_through_the_configs_name_is_tied_when_the_names_match(
        config_name, tied):
    from deepgram_scaling.checks.resolve import Graph

    # given an endpoint and its config with literal names, and a target whose ResourceId
    # reads the config's name (AWS's fraud-detection sample gives both the same name)
    template = build()
    resources = template["Resources"]
    resources["AsyncEndpoint"]["Properties"]["EndpointName"] = "jobs"
    resources["AsyncConfig"]["Properties"]["EndpointConfigName"] = config_name
    resources["AsyncTarget"]["Properties"]["ResourceId"] = {"Fn::Join": ["", [
        "endpoint/", {"Fn::GetAtt": ["AsyncConfig", "EndpointConfigName"]},
        "/variant/AllTraffic"]]}
    # when the graph ties the target
    target = Graph(template).targets["AsyncTarget"]
    # then it names the endpoint only when the two names are the same
    assert (target.endpoint == "AsyncEndpoint") is tied
    assert (target.tie == "name") is tied


def test_sarif_for_an_assembly_points_at_each_template_and_line(assemblies, capsys):
    # given the strong assembly, when it is reported as SARIF (for code scanning)
    main([str(assemblies.strong), "--format", "sarif"])
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    # then each result is located in its own template, on the line of its logical id
    assert len(results) == 4
    for result in results:
        location = result["locations"][0]
        path = Path(location["physicalLocation"]["artifactLocation"]["uri"])
        resource = location["logicalLocations"][0]["name"]
        line = location["physicalLocation"]["region"]["startLine"]
        assert f'"{resource}":' in path.read_text().splitlines()[line - 1]


def test_the_checking_page_documents_apps_cfn_lint_hooks_scanning_describe_and_timing():
    # docs/checking.md is shared; these sections describe this module's commands
    from deepgram_scaling.checks.cfnlint_rules._numbering import NUMBERS

    from .conftest import ROOT

    page = (ROOT / "docs" / "checking.md").read_text()
    for heading in ("## A whole app: cloud assemblies and folders", "### Nested stacks",
                    "### Transforms", "## Inside cfn-lint", "## pre-commit",
                    "## GitHub code scanning", "## `describe`: the scaling in words",
                    "## Timing"):
        assert f"\n{heading}\n" in page, heading
    assert "make bench-check" in page and "github/codeql-action/upload-sarif" in page
    # and the cfn-lint table gives every rule its number
    for name, number in NUMBERS.items():
        assert f"| {number} | `{name}` |" in page, name


def test_a_message_naming_another_stack_names_the_own_stack_too(tmp_path, capsys):
    # given two loose templates whose async endpoints are named jobs-a and jobs-b, a's
    # wake-up alarm watching jobs-b
    first, second = build(), build()
    first["Resources"]["AsyncEndpoint"]["Properties"]["EndpointName"] = "jobs-a"
    first["Resources"]["AsyncWakeUpAlarm"]["Properties"]["Dimensions"] = [
        {"Name": "EndpointName", "Value": "jobs-b"}]
    first["Resources"]["RtErrorsAlarm"]["Properties"]["Dimensions"] = [
        {"Name": "EndpointName", "Value": {"Ref": "RtEndpoint"}},
        {"Name": "VariantName", "Value": "AllTraffic"}]
    second["Resources"]["AsyncEndpoint"]["Properties"]["EndpointName"] = "jobs-b"
    (tmp_path / "a.template.json").write_text(json.dumps(first))
    (tmp_path / "b.template.json").write_text(json.dumps(second))
    # when the folder is checked
    _, findings = findings_of(capsys, str(tmp_path))
    # then a's missing wake-up names both endpoints with their stacks
    (message,) = [f["message"] for f in findings
                  if f["rule"] == WAKE and Path(f["template"]).name == "a.template.json"]
    assert "a::AsyncWakeUpAlarm watches b::AsyncEndpoint, not a::AsyncEndpoint" in message
    # and a message naming only its own stack's resources keeps them bare
    (own_only,) = [f["message"] for f in findings
                   if f["rule"] == "SageMakerScaling-EndpointNameDimensionIsAName"]
    assert "Ref RtEndpoint" in own_only and "a::" not in own_only
