"""Instance pools, pure: pool rules and the variant's instance properties."""

from __future__ import annotations

import re

import pytest

from deepgram_scaling import (
    PRODUCTS,
    DeepgramScalingConfigError,
    InstancePool,
)
from deepgram_scaling._validation import Problems
from deepgram_scaling.instance_pools import (
    ENDPOINT_GPU_INSTANCE_TYPES,
    GPU_FAMILIES,
    NVME_FAMILIES,
    check_pools,
    endpoint_accepts,
    variant_instance_properties,
)


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


def test_pool_objects_with_bad_types_are_config_errors():
    for value in (123, None, ["ml.g6.2xlarge"]):
        try:
            InstancePool(value)  # type: ignore[arg-type]
        except DeepgramScalingConfigError as err:
            assert "instance_type" in str(err)
        else:
            raise AssertionError(value)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: InstancePool("ml.g6.2xlarge", max_concurrency=0),
         r"max_concurrency must be > 0, got 0"),
        (lambda: InstancePool("ml.g6.2xlarge", weight=-1), r"weight must be > 0, got -1"),
        (lambda: InstancePool("ml.g6.2xlarge", weight=0), r"weight must be > 0, got 0"),
    ],
)
def test_invalid_pools_are_refused_when_made(factory, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        factory()


# --- the instance types SageMaker endpoints accept ------------------------------------------

#: GPU families in the schema that the constructs leave out on purpose: p2 (Kepler GPUs, which
#: current CUDA releases no longer support) and the p6 families (Blackwell, for which Deepgram
#: documents no SageMaker product). A new GPU family in the schema fails the test below until
#: it is listed in ENDPOINT_GPU_INSTANCE_TYPES or here.
LEFT_OUT_GPU_FAMILIES = {"p2", "p6-b200", "p6-b300", "p6e-gb200"}


def _endpoint_config_schema() -> dict:
    import json
    from pathlib import Path

    import cfnlint

    resources = Path(cfnlint.__file__).parent / "data" / "schemas" / "resources"
    for path in resources.glob("*.json"):
        text = path.read_text()
        if '"AWS::SageMaker::EndpointConfig"' in text:
            schema = json.loads(text)
            if schema.get("typeName") == "AWS::SageMaker::EndpointConfig":
                return schema
    raise AssertionError("cfn-lint ships no AWS::SageMaker::EndpointConfig schema")


def test_the_gpu_type_list_is_the_cloudformation_schema_s():
    # given the enums of InstancePool.InstanceType and ProductionVariant.InstanceType in the
    # schema cfn-lint ships
    definitions = _endpoint_config_schema()["definitions"]
    pool = set(definitions["InstancePool"]["properties"]["InstanceType"]["enum"])
    variant = set(definitions["ProductionVariant"]["properties"]["InstanceType"]["enum"])
    ours = {f"ml.{family}.{size}" for family, sizes in ENDPOINT_GPU_INSTANCE_TYPES.items()
            for size in sizes}
    # then every type the package accepts is in both, and every schema type of a family the
    # package knows is accepted
    assert ours <= pool and ours <= variant, sorted(ours - (pool & variant))
    assert {t for t in variant if t.split(".")[1] in GPU_FAMILIES} == ours
    # and every GPU family of the schema is either known or left out on purpose
    schema_gpu_families = {t.split(".")[1] for t in variant if re.match(r"ml\.[gp]\d", t)}
    assert schema_gpu_families == set(GPU_FAMILIES) | LEFT_OUT_GPU_FAMILIES


def test_every_product_type_is_one_endpoints_accept():
    # given the built-in products / then each supported type is in the one list
    for product in PRODUCTS.values():
        assert all(endpoint_accepts(t) for t in product.supported_instance_types), product.name


@pytest.mark.parametrize("instance_type", [
    "ml.g7.xlarge", "ml.p3dn.24xlarge", "ml.g6.32xlarge", "ml.p5.24xlarge"])
def test_a_type_endpoints_do_not_accept_is_refused_without_a_product(instance_type):
    # given a pool of a type the CloudFormation schema does not allow, and no product
    problems = Problems("Stack/Speech")
    # when the pools are checked
    check_pools(problems, [InstancePool(instance_type)], product=None, encrypted_volume=False)
    # then the construct path, the prop, the value and what is valid are named
    with pytest.raises(DeepgramScalingConfigError,
                       match=rf"Stack/Speech: instance_pools\[0\]\.instance_type "
                             rf"(must be a GPU type SageMaker endpoints accept.*got "
                             rf"'{re.escape(instance_type)}'|'{re.escape(instance_type)}' is "
                             rf"not a type SageMaker endpoints accept.*comes in)"):
        problems.raise_if_any()


@pytest.mark.parametrize("instance_type", ["ml.g7.2xlarge", "ml.p5.4xlarge", "ml.g4dn.xlarge"])
def test_a_type_endpoints_accept_passes_without_a_product(instance_type):
    # given a pool of an accepted GPU type and no product / when checked / then no problem
    problems = Problems()
    check_pools(problems, [InstancePool(instance_type)], product=None, encrypted_volume=False)
    assert not problems


def test_the_package_does_not_import_cfnlint():
    # given the package's modules, but the plug-in rules that cfn-lint itself loads
    # then none imports cfnlint (only this test reads its schema)
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "deepgram_scaling"
    for path in package.rglob("*.py"):
        if "cfnlint_rules" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [n for n in names if n.split(".")[0] == "cfnlint"], path.name
