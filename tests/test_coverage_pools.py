"""``instance_pools.check_pools`` rule by rule, on the exact problem list: the mutants
``make mutants`` found surviving there (a bound off by one, a loop that stopped at a token,
the product check inverted, messages that lost the value or what is valid) each change one
of these lists."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from deepgram_scaling._validation import Problems
from deepgram_scaling.errors import DeepgramScalingConfigError
from deepgram_scaling.instance_pools import MAX_POOLS, InstancePool, check_pools
from deepgram_scaling.products import PRODUCTS, DeepgramProduct

ACCEPTED = ["ml.g6.2xlarge", "ml.g6e.2xlarge", "ml.g5.2xlarge", "ml.g7.2xlarge",
            "ml.g4dn.2xlarge", "ml.g7e.2xlarge"]


def problems_of(pools: list[InstancePool], *, product: DeepgramProduct | None = None,
                encrypted_volume: bool = False) -> list[str]:
    problems = Problems("Stack/Speech")
    check_pools(problems, pools, product=product, encrypted_volume=encrypted_volume)
    if not problems:
        return []
    with pytest.raises(DeepgramScalingConfigError) as raised:
        problems.raise_if_any()
    return list(raised.value.problems)


def pools(*types: str) -> list[InstancePool]:
    return [InstancePool(t) for t in types]


def test_as_many_pools_as_a_variant_may_list_pass():
    # given MAX_POOLS distinct accepted types / then there is no problem
    assert problems_of(pools(*ACCEPTED[:MAX_POOLS])) == []


@pytest.mark.parametrize("count", [0, MAX_POOLS + 1])
def test_a_list_outside_the_limits_is_the_only_problem_reported(count):
    # given no pool, or one more than a variant may list (with a duplicate among them)
    listed = pools(*(ACCEPTED * 2)[:count])
    if count:
        listed[-1] = listed[0]

    # then the count alone is reported: the pools themselves are not checked
    assert problems_of(listed) == [
        f"Stack/Speech: instance_pools must list between 1 and {MAX_POOLS} instance types, "
        f"got {count}"]


def test_a_type_listed_twice_is_named_at_its_second_place():
    assert problems_of(pools("ml.g6.2xlarge", "ml.g6e.2xlarge", "ml.g6.2xlarge")) == [
        "Stack/Speech: instance_pools[2].instance_type is listed twice: each type may appear "
        "once, got 'ml.g6.2xlarge'"]


def test_a_token_type_is_skipped_and_the_pools_after_it_are_still_checked():
    # given a type known only at deploy time, then a type listed twice
    token = cdk.Token.as_string(cdk.Fn.ref("InstanceType"))
    listed = [InstancePool(token), *pools("ml.g6.2xlarge", "ml.g6.2xlarge")]

    # then the token is not judged, and the duplicate after it is found
    assert problems_of(listed) == [
        "Stack/Speech: instance_pools[2].instance_type is listed twice: each type may appear "
        "once, got 'ml.g6.2xlarge'"]


def test_a_type_without_a_gpu_names_the_families():
    assert problems_of(pools("ml.c5.2xlarge")) == [
        "Stack/Speech: instance_pools[0].instance_type must be a GPU type SageMaker endpoints "
        "accept (families: g4dn, g5, g6, g6e, g7, g7e, p3, p4d, p4de, p5, p5e, p5en) because "
        "Deepgram models need a GPU, got 'ml.c5.2xlarge'"]


def test_a_size_endpoints_do_not_accept_lists_the_sizes_of_its_family():
    assert problems_of(pools("ml.p5.24xlarge")) == [
        "Stack/Speech: instance_pools[0].instance_type 'ml.p5.24xlarge' is not a type "
        "SageMaker endpoints accept (docs/aws-behaviour.md#endpoint-instance-types): ml.p5 "
        "comes in 4xlarge, 48xlarge"]


def test_a_type_the_product_does_not_run_on_gives_the_reason_and_the_supported_types():
    # given Flux speech-to-text, which does not run on g4dn
    flux = PRODUCTS["flux-stt"]

    # then its g4dn pool is refused with the reason, and its supported pool passes
    assert problems_of(pools("ml.g6.2xlarge", "ml.g4dn.2xlarge"), product=flux) == [
        "Stack/Speech: instance_pools[1].instance_type 'ml.g4dn.2xlarge' is not supported by "
        "flux-stt (Flux speech-to-text does not run on g4dn); supported: ml.g6.2xlarge, "
        "ml.g7.2xlarge, ml.g7e.2xlarge, ml.g6e.2xlarge, ml.g5.2xlarge"]


def test_a_product_without_a_stated_reason_gives_no_empty_parentheses():
    # given Nova-3, which states no reason, and a size it is not documented on
    assert problems_of(pools("ml.g6.12xlarge"), product=PRODUCTS["nova-3"]) == [
        "Stack/Speech: instance_pools[0].instance_type 'ml.g6.12xlarge' is not supported by "
        "nova-3; supported: ml.g6.2xlarge, ml.g7.2xlarge, ml.g7e.2xlarge, ml.g6e.2xlarge, "
        "ml.g5.2xlarge, ml.g4dn.2xlarge"]


def test_every_supported_type_of_every_product_passes():
    for product in PRODUCTS.values():
        assert problems_of(pools(*product.supported_instance_types[:MAX_POOLS]),
                           product=product) == [], product.name


def test_a_kms_key_is_refused_on_local_nvme_types_only():
    # given an encrypted volume on a g6 (local NVMe) and on a p3 (EBS only)
    # then only the g6 is refused, with why and what to do
    assert problems_of(pools("ml.g6.2xlarge", "ml.p3.2xlarge"), encrypted_volume=True) == [
        "Stack/Speech: kms_key cannot be used with instance_pools[0].instance_type "
        "'ml.g6.2xlarge': CreateEndpointConfig rejects KmsKeyId for types with local NVMe "
        "storage, whose volumes are already encrypted by hardware; remove kms_key"]
    # and without a key, NVMe types pass
    assert problems_of(pools("ml.g6.2xlarge"), encrypted_volume=False) == []


def test_capacity_and_weight_must_be_declared_on_every_pool_or_none():
    # given a capacity and a weight on the first pool only
    listed = [InstancePool("ml.g6.2xlarge", max_concurrency=8, weight=1),
              InstancePool("ml.g6e.2xlarge")]

    # then both half-declarations are reported after the per-pool checks
    assert problems_of(listed) == [
        "Stack/Speech: max_concurrency must be declared on every pool or on none, got it "
        "missing on ['ml.g6e.2xlarge']",
        "Stack/Speech: weight must be set on every pool or on none, got it missing on "
        "['ml.g6e.2xlarge']"]
