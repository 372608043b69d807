"""Instance pools, pure: pool rules and the variant's instance properties."""

from __future__ import annotations

import pytest

from deepgram_scaling import (
    PRODUCTS,
    DeepgramScalingConfigError,
    InstancePool,
)
from deepgram_scaling.instance_pools import NVME_FAMILIES, variant_instance_properties


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
