"""The hand-written baseline of ``make bench-synth`` builds what the example app builds.

``bench/handwritten.py`` spells out the example's two endpoints with plain aws-cdk-lib so the
library's synthesis time can be compared with it. If the library gains or loses a resource,
this test fails until the baseline is brought back in line, so the ratio keeps comparing
the same resources.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from bench import handwritten

# Added by the CDK to every stack, not by either app.
CDK_OWN = {"AWS::CDK::Metadata"}


def resource_types(template: Template) -> Counter[str]:
    resources: dict[str, Any] = template.to_json().get("Resources", {})
    return Counter(r["Type"] for r in resources.values() if r["Type"] not in CDK_OWN)


@pytest.fixture(scope="module")
def handwritten_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    outdir: Path = tmp_path_factory.mktemp("handwritten")
    app = handwritten.build_app(outdir=str(outdir))
    stack = app.node.find_child(handwritten.STACK_NAME)
    assert isinstance(stack, cdk.Stack)
    return Template.from_stack(stack)


def test_handwritten_has_the_example_resource_types_and_counts(
    example_template: Template, handwritten_template: Template
) -> None:
    assert resource_types(handwritten_template) == resource_types(example_template)


def test_handwritten_has_the_example_outputs(
    example_template: Template, handwritten_template: Template
) -> None:
    assert set(handwritten_template.to_json().get("Outputs", {})) == set(
        example_template.to_json().get("Outputs", {})
    )
