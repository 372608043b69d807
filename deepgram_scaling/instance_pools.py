"""Instance pools: several instance types for one variant, tried in priority order.

``ProductionVariant.InstancePools`` takes 1-5 entries ``{InstanceType, Priority}`` (1 =
highest) and replaces ``InstanceType``. On an insufficient-capacity error SageMaker moves to
the next pool at once; ``VariantInstanceProvisionTimeoutInSeconds`` (300-3600) bounds the
whole attempt across all pools. Pools are a fallback order, not a split:
``InitialInstanceCount`` is the variant's total. See docs/aws-behaviour.md#instance-pools.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from aws_cdk import aws_sagemaker as sagemaker

from ._validation import Problems, fmt, is_token
from .errors import DeepgramScalingConfigError
from .products import DeepgramProduct

#: Most pools one variant can list (CreateEndpointConfig's limit).
MAX_POOLS = 5
#: Range of ``VariantInstanceProvisionTimeoutInSeconds`` accepted by the API (botocore model).
PROVISION_TIMEOUT_RANGE_S = (300, 3600)

_ALL_SIZES = ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
#: The NVIDIA GPU instance types, by family, that SageMaker endpoints accept for a
#: ``ProductionVariant.InstanceType`` or an ``InstancePool.InstanceType``: the enum of
#: CloudFormation's ``AWS::SageMaker::EndpointConfig`` schema, for the families Deepgram's
#: models run on (docs/aws-behaviour.md#endpoint-instance-types). The one list in the
#: package; ``tests/test_instance_pools.py`` compares it with the schema cfn-lint ships.
#: ``ml.p3dn`` is not a hosting type, and g7 and g7e start at ``2xlarge``.
ENDPOINT_GPU_INSTANCE_TYPES: dict[str, tuple[str, ...]] = {
    "g4dn": _ALL_SIZES,
    "g5": (*_ALL_SIZES, "24xlarge", "48xlarge"),
    "g6": (*_ALL_SIZES, "24xlarge", "48xlarge"),
    "g6e": (*_ALL_SIZES, "24xlarge", "48xlarge"),
    "g7": ("2xlarge", "4xlarge", "8xlarge", "12xlarge", "24xlarge", "48xlarge"),
    "g7e": ("2xlarge", "4xlarge", "8xlarge", "12xlarge", "24xlarge", "48xlarge"),
    "p3": ("2xlarge", "8xlarge", "16xlarge"),
    "p4d": ("24xlarge",),
    "p4de": ("24xlarge",),
    "p5": ("4xlarge", "48xlarge"),
    "p5e": ("48xlarge",),
    "p5en": ("48xlarge",),
}
#: SageMaker instance families with NVIDIA GPUs. Deepgram's models all need a GPU.
GPU_FAMILIES = frozenset(ENDPOINT_GPU_INSTANCE_TYPES)
#: Families with local NVMe instance storage. CreateEndpointConfig rejects a ``KmsKeyId``
#: for them; their local volumes are encrypted by a hardware module
#: (docs/aws-behaviour.md#nvme-kms).
NVME_FAMILIES = frozenset(
    {"g4dn", "g5", "g6", "g6e", "g7", "g7e", "p4d", "p4de", "p5", "p5e", "p5en"}
)


def endpoint_accepts(instance_type: str) -> bool:
    """Whether SageMaker endpoints accept this GPU instance type
    (:data:`ENDPOINT_GPU_INSTANCE_TYPES`)."""
    match = _INSTANCE_TYPE.match(instance_type)
    return match is not None and \
        match.group(2) in ENDPOINT_GPU_INSTANCE_TYPES.get(match.group(1), ())

_INSTANCE_TYPE = re.compile(r"^ml\.([a-z0-9-]+)\.([a-z0-9]+)$")
#: Sizes EC2 and SageMaker name instance types with: ``medium``, ``large``, ``xlarge`` and
#: ``<n>xlarge``. A typo such as ``2xlarg`` would otherwise only fail at deploy time.
_SIZE = re.compile(r"^(medium|large|xlarge|(2|3|4|6|8|9|12|16|18|24|32|48)xlarge)$")


@dataclass(frozen=True)
class InstancePool:
    """One instance type in a variant's fallback list. List order gives the priority.

    :param instance_type: A SageMaker type such as ``"ml.g6.2xlarge"``.
    :param max_concurrency: Concurrent requests one instance of this type serves within your
        latency bound, measured by a load test. Declaring it on every pool, with different
        values, turns on capacity-aware scaling for mixed fleets. Default: None (undeclared).
    :param weight: Explicit weight (> 0) of this type in AWS's weighted form. Default: None.
    """

    instance_type: str
    _: KW_ONLY
    max_concurrency: float | None = None
    weight: float | None = None

    def __post_init__(self) -> None:
        problems = Problems()
        if not is_token(self.instance_type):
            match = (_INSTANCE_TYPE.match(self.instance_type)
                     if isinstance(self.instance_type, str) else None)
            if match is None:
                problems.add(
                    "instance_type must look like 'ml.<family>.<size>' "
                    f"(e.g. 'ml.g6.2xlarge'), got {fmt(self.instance_type)}"
                )
            elif not _SIZE.match(match.group(2)):
                problems.add(
                    f"instance_type has an unknown size {match.group(2)!r}: sizes are medium, "
                    "large, xlarge or <n>xlarge with n in 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, "
                    f"48 (e.g. 'ml.g6.2xlarge'), got {self.instance_type!r}"
                )
        if self.max_concurrency is not None:
            problems.number(
                "max_concurrency", self.max_concurrency, minimum=0, exclusive_minimum=True
            )
        if self.weight is not None:
            # A zero weight would zero the normalizing divisor while only that pool reports.
            problems.number("weight", self.weight, minimum=0, exclusive_minimum=True)
        problems.raise_if_any()

    @classmethod
    def from_calibration(cls, path: str, *, weight: float | None = None) -> InstancePool:
        """The pool a calibration result measured: its instance type, and its capacity as
        ``max_concurrency``. Pair it with ``calibration_target(path)`` from
        ``deepgram_scaling.calibrate.result`` for ``target_concurrency_per_instance``.

        :param path: A file written by ``deepgram-scaling calibrate ... --json FILE``.
        :param weight: As for the constructor. Default: None.
        :raises DeepgramScalingConfigError: when the result names no instance type (a
            ``--url`` run), no level met its SLO, or it is a batch, accelerated or
            interrupted run.
        """
        from .calibrate.result import load_result, warn_inconclusive

        try:
            result = load_result(path)
        except (OSError, ValueError) as err:
            raise DeepgramScalingConfigError(f"from_calibration cannot read {path!r}: {err}"
                                             ) from None
        problems = Problems()
        if result.instance_type is None:
            problems.add(f"from_calibration needs a result that names its instance type (an "
                         f"--endpoint run), got target {result.target!r} in {path!r}")
        if result.capacity is None:
            problems.add(f"from_calibration needs a capacity, got none in {path!r}: no level "
                         f"met the SLO ({result.slo})")
        for problem in result.sizing_problems():
            problems.add(f"from_calibration needs a stream calibration at real time run to "
                         f"its end, got {path!r}: {problem}")
        if result.lower_bound:
            warnings.warn(f"from_calibration: {path!r} reached its stream cap with every "
                          f"level passing; {result.capacity} is only a lower bound",
                          stacklevel=2)
        problems.raise_if_any()
        warn_inconclusive(result, f"from_calibration: {path!r}")
        assert result.instance_type is not None
        return cls(result.instance_type, max_concurrency=result.capacity, weight=weight)

    @property
    def family(self) -> str | None:
        """The family (``g6`` of ``ml.g6.2xlarge``), or None for a token."""
        if is_token(self.instance_type):
            return None
        match = _INSTANCE_TYPE.match(self.instance_type)
        return match.group(1) if match else None

    @property
    def has_local_nvme(self) -> bool:
        return self.family in NVME_FAMILIES


def coerce_pools(value: Any) -> tuple[InstancePool, ...]:
    """Accept pools or plain type strings; anything else is a configuration error."""
    if isinstance(value, (str, InstancePool)) or not isinstance(value, Sequence):
        raise DeepgramScalingConfigError(
            f"instance_pools must be a list of InstancePool (or instance-type strings), "
            f"got {fmt(value)}"
        )
    pools: list[InstancePool] = []
    for index, item in enumerate(value):
        if isinstance(item, InstancePool):
            pools.append(item)
        elif isinstance(item, str):
            try:
                pools.append(InstancePool(item))
            except DeepgramScalingConfigError as err:
                raise DeepgramScalingConfigError(
                    [f"instance_pools[{index}].{p}" for p in err.problems]
                ) from None
        else:
            raise DeepgramScalingConfigError(
                f"instance_pools[{index}] must be an InstancePool or a string, got {fmt(item)}"
            )
    return tuple(pools)


def check_pools(
    problems: Problems,
    pools: Sequence[InstancePool],
    *,
    product: DeepgramProduct | None,
    encrypted_volume: bool,
) -> None:
    """Add every problem with a pool list to ``problems``."""
    if not 1 <= len(pools) <= MAX_POOLS:
        problems.add(
            f"instance_pools must list between 1 and {MAX_POOLS} instance types, "
            f"got {len(pools)}"
        )
        return
    seen: set[str] = set()
    for index, pool in enumerate(pools):
        prop = f"instance_pools[{index}]"
        if is_token(pool.instance_type):
            continue
        if pool.instance_type in seen:
            problems.add(
                f"{prop}.instance_type is listed twice: each type may appear once, "
                f"got {pool.instance_type!r}"
            )
        seen.add(pool.instance_type)
        if pool.family not in GPU_FAMILIES:
            problems.add(
                f"{prop}.instance_type must be a GPU type SageMaker endpoints accept "
                f"(families: {', '.join(sorted(GPU_FAMILIES))}) because Deepgram models "
                "need a GPU, "
                f"got {pool.instance_type!r}"
            )
        elif not endpoint_accepts(pool.instance_type):
            sizes = ", ".join(ENDPOINT_GPU_INSTANCE_TYPES[pool.family or ""])
            problems.add(
                f"{prop}.instance_type {pool.instance_type!r} is not a type SageMaker "
                f"endpoints accept (docs/aws-behaviour.md#endpoint-instance-types): "
                f"ml.{pool.family} comes in {sizes}"
            )
        elif product is not None and not product.supports(pool.instance_type):
            reason = f" ({product.reason_for_limits})" if product.reason_for_limits else ""
            problems.add(
                f"{prop}.instance_type {pool.instance_type!r} is not supported by "
                f"{product.name}{reason}; supported: {', '.join(product.supported_instance_types)}"
            )
        if encrypted_volume and pool.has_local_nvme:
            problems.add(
                f"kms_key cannot be used with {prop}.instance_type {pool.instance_type!r}: "
                "CreateEndpointConfig rejects KmsKeyId for types with local NVMe storage, "
                "whose volumes are already encrypted by hardware; remove kms_key"
            )
    _check_capacity_declarations(problems, pools)


def _check_capacity_declarations(problems: Problems, pools: Sequence[InstancePool]) -> None:
    declared = [p.max_concurrency is not None for p in pools]
    if any(declared) and not all(declared):
        missing = [p.instance_type for p in pools if p.max_concurrency is None]
        problems.add(
            "max_concurrency must be declared on every pool or on none, "
            f"got it missing on {missing}"
        )
    weights = [p.weight for p in pools]
    if any(w is not None for w in weights) and not all(w is not None for w in weights):
        missing = [p.instance_type for p in pools if p.weight is None]
        problems.add(f"weight must be set on every pool or on none, got it missing on {missing}")


def variant_instance_properties(
    pools: Sequence[InstancePool], provision_timeout_s: float, *, least_outstanding_requests: bool
) -> dict[str, Any]:
    """``ProductionVariant`` keyword arguments for the instance choice.

    One type gives a plain ``InstanceType``. Several give ``InstancePools`` with priorities
    1..n in list order and the provision timeout; with ``least_outstanding_requests``
    (real-time endpoints) also the routing AWS recommends for mixed fleets
    (docs/aws-behaviour.md#least-outstanding-requests).
    """
    if len(pools) == 1:
        return {"instance_type": pools[0].instance_type}
    properties: dict[str, Any] = {
        "instance_pools": [
            sagemaker.CfnEndpointConfig.InstancePoolProperty(
                instance_type=pool.instance_type, priority=priority
            )
            for priority, pool in enumerate(pools, start=1)
        ],
        "variant_instance_provision_timeout_in_seconds": provision_timeout_s,
    }
    if least_outstanding_requests:
        properties["routing_config"] = sagemaker.CfnEndpointConfig.RoutingConfigProperty(
            routing_strategy="LEAST_OUTSTANDING_REQUESTS"
        )
    return properties
