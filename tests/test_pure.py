"""Pure pieces, tested without synthesizing."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepgram_scaling import (
    NOVA_3,
    PRODUCTS,
    DeepgramProduct,
    DeepgramScalingConfigError,
    InstancePool,
    deepgram_environment,
)
from deepgram_scaling.context import ContextReader, ContextValueError
from deepgram_scaling.instance_pools import NVME_FAMILIES, variant_instance_properties
from deepgram_scaling.model_source import toml_literal
from deepgram_scaling.testing import scrub


def test_environment_numbers_settings_in_order_and_renders_toml():
    env = deepgram_environment(
        api={"features.diarize": True, "name": "nova"},
        engine={"max_active_requests": 120, "ratio": 0.5},
    )
    assert env == {
        "DEEPGRAM_API_01": "features.diarize=true",
        "DEEPGRAM_API_02": 'name="nova"',
        "DEEPGRAM_ENGINE_01": "max_active_requests=120",
        "DEEPGRAM_ENGINE_02": "ratio=0.5",
    }


@given(st.text(max_size=30))
def test_toml_strings_round_trip(value: str):
    import tomllib

    assert tomllib.loads(f"k={toml_literal(value)}")["k"] == value


def test_catalogue():
    assert set(PRODUCTS) == {"nova-3", "flux-stt", "aura-2-tts", "flux-tts"}
    assert PRODUCTS["nova-3"].recommended_instance_type == "ml.g6.2xlarge"
    assert NOVA_3.supports("ml.g4dn.2xlarge")
    assert not PRODUCTS["flux-stt"].supports("ml.g4dn.2xlarge")
    assert not PRODUCTS["flux-tts"].supports("ml.g5.2xlarge")
    assert all(t.endswith(".12xlarge") for t in PRODUCTS["aura-2-tts"].supported_instance_types)


def test_custom_product_must_recommend_a_supported_type():
    with pytest.raises(DeepgramScalingConfigError, match="recommended_instance_type"):
        DeepgramProduct(name="x", supported_instance_types=("ml.g6.2xlarge",),
                        recommended_instance_type="ml.g5.2xlarge")


def test_every_deepgram_type_has_local_nvme():
    families = {t.split(".")[1] for p in PRODUCTS.values() for t in p.supported_instance_types}
    assert families <= NVME_FAMILIES


def test_pool_properties_one_vs_many():
    assert variant_instance_properties([InstancePool("ml.g6.2xlarge")], 300,
                                       least_outstanding_requests=True) == {
        "instance_type": "ml.g6.2xlarge"}
    many = variant_instance_properties(
        [InstancePool("ml.g6.2xlarge"), InstancePool("ml.g5.2xlarge")], 600,
        least_outstanding_requests=False)
    assert [(p.instance_type, p.priority) for p in many["instance_pools"]] == [
        ("ml.g6.2xlarge", 1), ("ml.g5.2xlarge", 2)]
    assert many["variant_instance_provision_timeout_in_seconds"] == 600
    assert "routing_config" not in many


def test_scrub_replaces_asset_hashes_only():
    digest = "a" * 64
    assert scrub({"S3Key": f"{digest}.json", "n": 1, "l": ["x"]}) == {
        "S3Key": "<asset-hash>.json", "n": 1, "l": ["x"]}


def _reader(context: dict[str, object]) -> ContextReader:
    return ContextReader(cdk.App(context=context).node, "p:")


def test_context_reader_accepts_cli_strings_and_json():
    reader = _reader({"p:n": "3", "p:f": "0.5", "p:l": "ml.g6.2xlarge, ml.g5.2xlarge",
                      "p:j": '["a"]', "p:b": "false"})
    assert reader.integer("n", 1) == 3
    assert reader.number("f", 1) == 0.5
    assert reader.string_list("l", []) == ["ml.g6.2xlarge", "ml.g5.2xlarge"]
    assert reader.string_list("j", []) == ["a"]
    assert reader.boolean("b", True) is False
    assert reader.integer("missing", 7) == 7


@pytest.mark.parametrize(
    ("context", "call", "message"),
    [
        ({"p:n": "three"}, lambda r: r.integer("n", 1),
         r"context key 'p:n' must be a whole number, got 'three'"),
        ({"p:l": 5}, lambda r: r.string_list("l", []),
         r"context key 'p:l' must be a list of strings, got 5"),
        ({"p:l": "[1, 2"}, lambda r: r.string_list("l", []),
         r"context key 'p:l' must be a list of strings"),
        ({"p:f": "fast"}, lambda r: r.number("f", 1), r"context key 'p:f' must be a number"),
        ({"p:b": "yes"}, lambda r: r.boolean("b", True), r"context key 'p:b' must be true or false"),
    ],
)
def test_context_reader_rejects_malformed_values(context, call, message):
    with pytest.raises(ContextValueError, match=message):
        call(_reader(context))


def test_the_declared_python_floor_is_the_one_the_code_needs():
    # The simulator reads TOML with tomllib (3.11+); the package must not claim 3.10, and CI
    # runs on the floor it claims (the machines here run 3.11).
    import sys
    import tomllib

    from .conftest import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert sys.version_info[:2] >= (3, 11)
