"""Reading a template for the checker (deepgram_scaling.checks.template and the ``check``
command): YAML short forms, and the one-line reasons a file cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

import deepgram_scaling
from deepgram_scaling.checks import TemplateReadError, load_template, parse_template
from deepgram_scaling.checks.cli import main

YAML = """
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Condition: IsProd
    Properties:
      Tags:
        - Key: prod
          Value: !If [IsProd, !Condition IsProd, "no"]
  Included: !Transform {Name: AWS::Include, Parameters: {Location: s3://bucket/part.yaml}}
"""


def test_yaml_short_forms_of_conditions_and_mappings_read_as_their_long_form():
    # Given a YAML template using !Condition and a short form that takes a mapping
    template = parse_template(YAML)
    # Then each reads as the JSON form CloudFormation documents
    tag = template["Resources"]["Bucket"]["Properties"]["Tags"][0]
    assert tag["Value"] == {"Fn::If": ["IsProd", {"Condition": "IsProd"}, "no"]}
    assert template["Resources"]["Included"] == {"Fn::Transform": {
        "Name": "AWS::Include", "Parameters": {"Location": "s3://bucket/part.yaml"}}}


def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("Resources: {}\nDescription: caf\xe9\n".encode("latin-1"))
    return path


@pytest.mark.parametrize(("make", "reason"), [
    (lambda tmp: tmp, "is a directory"),
    (_latin1, "not UTF-8 text"),
    (lambda tmp: tmp / "absent.json", "no such file"),
], ids=["directory", "latin-1", "absent"])
def test_a_file_that_is_not_a_template_gives_a_one_line_reason(tmp_path, make, reason):
    # Given a directory, a file in another encoding, or no file at all
    path = make(tmp_path)
    # When read as one template, then the error names the file and why
    with pytest.raises(TemplateReadError) as error:
        load_template(path)
    assert str(error.value) == f"{path}: {reason}"


def test_check_names_a_template_in_another_encoding(tmp_path, capsys):
    # Given a template file that is not UTF-8
    path = _latin1(tmp_path)
    # When checked, then the command fails with a usage error naming it
    assert main([str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: not UTF-8 text\n"


def test_the_package_lists_its_lazy_exports_and_refuses_unknown_names():
    # Given the package, which imports its constructs on first use
    # Then dir() lists every export, and an unknown name is an AttributeError naming it
    assert set(deepgram_scaling.__all__) <= set(dir(deepgram_scaling))
    with pytest.raises(AttributeError, match="module 'deepgram_scaling' has no attribute "
                                             "'RealTimeEndpoint'"):
        deepgram_scaling.RealTimeEndpoint  # noqa: B018
