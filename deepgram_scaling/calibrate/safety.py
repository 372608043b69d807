"""Checks before pointing a calibration at a deployed endpoint.

``DescribeEndpoint`` and ``DescribeEndpointConfig`` give the variant, its instance type and
how many instances run; ``DescribeScalableTargets`` whether Application Auto Scaling may
change that count, and ``DescribeScheduledActions`` whether a scheduled action could change
its minimum and maximum mid-run. A calibration measures one instance, so it refuses an
endpoint that runs more than one, or whose scalable target could add one mid-run (anything
but min = max = 1, or any scheduled action on it), unless ``--allow-scaling``
(docs/aws-behaviour.md#calibration-one-instance). Before it starts it prints the levels, the
longest it can run and the instance-hours that costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .levels import SearchPlan
from .slo import (
    MIN_GROWTH_AUDIO_S,
    MIN_GROWTH_SPAN_S,
    Slo,
    detection_limit,
    growth_measurable,
)

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
#: Hard caps the CLI enforces whatever the flags say.
MAX_STREAMS_CAP = 1024
MAX_TOTAL_HOURS_CAP = 12.0


class SafetyError(Exception):
    """The endpoint is not safe to calibrate as asked."""


@dataclass(frozen=True, kw_only=True)
class EndpointFacts:
    endpoint_name: str
    region: str
    status: str
    variant_name: str
    instance_type: str | None
    instance_count: int | None
    instance_pools: tuple[str, ...]
    min_capacity: int | None
    max_capacity: int | None
    scheduled_actions: tuple[str, ...] = ()

    def to_target(self) -> dict[str, Any]:
        return {"kind": "endpoint", "endpoint_name": self.endpoint_name, "region": self.region,
                "variant_name": self.variant_name, "instance_type": self.instance_type,
                "instance_count": self.instance_count}


def describe(sagemaker: Any, autoscaling: Any, endpoint_name: str, region: str
             ) -> EndpointFacts:
    """What the endpoint runs. ``sagemaker`` and ``autoscaling`` are boto3 clients."""
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    variants = endpoint.get("ProductionVariants") or []
    if len(variants) != 1:
        raise SafetyError(f"endpoint {endpoint_name} has {len(variants)} production variants: "
                          "calibrate an endpoint with exactly one")
    summary = variants[0]
    name = summary["VariantName"]
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=endpoint["EndpointConfigName"])
    declared: dict[str, Any] = next((v for v in config.get("ProductionVariants", [])
                     if v.get("VariantName") == name), {})
    pools = tuple(p["InstanceType"] for p in sorted(declared.get("InstancePools") or [],
                                                    key=lambda p: p.get("Priority", 0)))
    instance_type = declared.get("InstanceType") or (pools[0] if len(pools) == 1 else None)
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{endpoint_name}/variant/{name}"],
        ScalableDimension=SCALABLE_DIMENSION).get("ScalableTargets", [])
    target = targets[0] if targets else {}
    scheduled = autoscaling.describe_scheduled_actions(
        ServiceNamespace="sagemaker", ResourceId=f"endpoint/{endpoint_name}/variant/{name}",
        ScalableDimension=SCALABLE_DIMENSION).get("ScheduledActions", [])
    return EndpointFacts(
        endpoint_name=endpoint_name, region=region, status=endpoint.get("EndpointStatus", ""),
        variant_name=name, instance_type=instance_type,
        instance_count=summary.get("CurrentInstanceCount"), instance_pools=pools,
        min_capacity=target.get("MinCapacity"), max_capacity=target.get("MaxCapacity"),
        scheduled_actions=tuple(a.get("ScheduledActionName", "?") for a in scheduled))


def aws_error(error: BaseException) -> str | None:
    """A one-line account of a botocore error (an error answer such as AccessDenied, missing
    credentials, an unreachable service), or None for any other error."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is installed with the client extra
        return None
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "error")
        return f"{code} on {error.operation_name}"
    if isinstance(error, BotoCoreError):
        return str(error)
    return None


def count_changed(sagemaker: Any, facts: EndpointFacts) -> str | None:
    """A warning when the endpoint no longer runs the instance count read before the run
    (with ``--allow-scaling`` the capacity per instance was divided by it), or when it cannot
    be read again; None when it is unchanged."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=facts.endpoint_name)
    except Exception as err:
        reason = aws_error(err)
        if reason is None:
            raise
        return (f"warning: cannot read the instance count again after the run ({reason}): "
                f"the capacity assumes {facts.instance_count} instance(s) throughout")
    variants = [v for v in endpoint.get("ProductionVariants") or []
                if v.get("VariantName") == facts.variant_name]
    after = variants[0].get("CurrentInstanceCount") if variants else None
    if after == facts.instance_count:
        return None
    return (f"warning: endpoint {facts.endpoint_name} ran {facts.instance_count} instance(s) "
            f"before the run and {after} after it: the capacity per instance (the level "
            f"divided by {facts.instance_count}) is not reliable; pin the endpoint to one "
            "instance and run again")


def problems(facts: EndpointFacts, *, allow_scaling: bool) -> list[str]:
    """Why the endpoint cannot be calibrated as it stands (empty when it can)."""
    found = []
    if facts.status != "InService":
        found.append(f"endpoint {facts.endpoint_name} is {facts.status or 'in no state'}, "
                     "not InService")
    if len(facts.instance_pools) > 1:
        found.append(f"variant {facts.variant_name} lists {len(facts.instance_pools)} instance "
                     f"pools {list(facts.instance_pools)}: calibrate one instance type at a "
                     "time (deploy it with a single pool)")
    if allow_scaling:
        # the count may be above one: the result divides the capacity by it
        return found
    if facts.instance_count != 1:
        found.append(f"variant {facts.variant_name} runs {facts.instance_count} instances: a "
                     "calibration measures one (set min_capacity=1, max_capacity=1), or pass "
                     "--allow-scaling")
    if facts.min_capacity is not None and (facts.min_capacity, facts.max_capacity) != (1, 1):
        found.append(f"the scalable target of variant {facts.variant_name} allows "
                     f"{facts.min_capacity}-{facts.max_capacity} instances: pin it to min = "
                     "max = 1 so scaling cannot change what is measured, or pass "
                     "--allow-scaling")
    if facts.scheduled_actions:
        found.append(f"the scalable target of variant {facts.variant_name} has scheduled "
                     f"actions {list(facts.scheduled_actions)} that can change its minimum and "
                     "maximum mid-run: delete them for the calibration, or pass "
                     "--allow-scaling")
    return found


def plan_text(plan: SearchPlan, *, hold_s: float, close_s: float, max_total_s: float,
              instance_count: int | None, reference: bool = False) -> str:
    """The levels, the longest the run can take, and the instance-hours it uses.

    :param reference: Whether one stream runs alone for ``hold_s`` (twice at most) before
        the first level. Default: False.
    """
    levels = plan.worst_case_levels()
    # the reference runs once more when its first stream measured too little
    longest = min(max_total_s, (levels + 2 * reference) * (hold_s + close_s))
    hours = longest / 3600 * max(1, instance_count or 1)
    alone = (", after one stream alone as the growth reference, twice if the first measures "
             "too little") if reference else ""
    return (f"ramp levels: {', '.join(map(str, plan.ramp()))} (then bisection and one "
            f"confirmation; at most {levels} levels of {hold_s:g} s{alone})\n"
            f"longest run: {longest / 60:.0f} min (cap {max_total_s / 60:.0f} min); "
            f"at most {plan.max_streams} concurrent streams\n"
            f"instance-hours: {hours:.2f} on {max(1, instance_count or 1)} instance(s)")


def detection_text(slo: Slo, stream_s: float) -> str:
    """The largest capacity at which the run still sees one stream too many."""
    limit = detection_limit(slo, stream_s)
    unknown = ""
    if any(t.metric == "lag_growth" for t in slo.terms) and not growth_measurable(stream_s):
        unknown = (f"; lag_growth: unknown (the finals of streams under "
                   f"{MIN_GROWTH_AUDIO_S:g} s may not span the {MIN_GROWTH_SPAN_S:g} s it "
                   "needs: use longer audio and hold)")
    if limit is None:
        return ("warning: no term of the SLO grows with an overload (add finalization_p95 "
                "or lag_growth_p50): a level past the capacity can pass")
    return (f"with {stream_s:g} s streams the SLO sees one stream over the capacity up to a "
            f"capacity of about {max(0.0, limit):.0f}{unknown} "
            "(docs/calibration.md#keeps-up)")
