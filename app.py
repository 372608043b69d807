#!/usr/bin/env python3
"""Example deployment: Deepgram on SageMaker, scaled by deepgram_scaling.

Every setting comes from ``cdk.json`` context and can be overridden with ``-c key=value``
under the CDK CLI. Run directly (``python3 app.py``) it reads ``cdk.json`` itself and writes
to ``cdk.out/``, exactly as ``cdk synth`` does.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import cx_api
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks
from constructs import Construct

from deepgram_scaling import (
    PRODUCTS,
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
    InstancePool,
    RealtimeDeepgramEndpoint,
    SageMakerScalingChecks,
)
from deepgram_scaling.context import ContextReader, ContextValueError

HERE = Path(__file__).resolve().parent


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` block of ``cdk.json``, as the CDK CLI would pass it."""
    context: dict[str, Any] = json.loads((HERE / "cdk.json").read_text())["context"]
    return context


class DeepgramExampleStack(cdk.Stack):
    """A real-time and an asynchronous Deepgram endpoint, configured from context."""

    @staticmethod
    def _realtime_pools(ctx: ContextReader) -> list[InstancePool]:
        capacities = _pool_capacities(ctx)
        return [InstancePool(t, max_concurrency=capacities.get(t))
                for t in ctx.string_list("realtime:instanceTypes", ["ml.g6.2xlarge"])]

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        ctx = ContextReader(self.node, "deepgram:")
        product_name = ctx.string("product", "nova-3")
        if product_name not in PRODUCTS:
            raise ContextValueError(
                f"context key 'deepgram:product' must be one of {sorted(PRODUCTS)}, "
                f"got {product_name!r}"
            )
        model_package_arn = ctx.string(
            "modelPackageArn",
            "",
            pattern=r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/.+",
            expected="a SageMaker model-package ARN (arn:aws:sagemaker:<region>:<account>:"
                     "model-package/<name>)",
        )
        model = DeepgramModel.from_model_package(
            model_package_arn, product=PRODUCTS[product_name]
        )

        self.realtime = RealtimeDeepgramEndpoint(
            self,
            "Realtime",
            model=model,
            instance_pools=self._realtime_pools(ctx),
            min_capacity=ctx.integer("realtime:minCapacity", 1),
            max_capacity=ctx.integer("realtime:maxCapacity", 4),
            # Absent: derived from the declared capacities (target_utilization x the largest).
            target_concurrency_per_instance=ctx.optional_number(
                "realtime:targetConcurrencyPerInstance"),
            target_utilization=ctx.number("realtime:targetUtilization", 0.75),
            # Deploy with -c deepgram:suspendScaling=true around a model update.
            suspend_scaling=ctx.boolean("suspendScaling", False),
        )
        cdk.CfnOutput(self, "RealtimeEndpointName", value=self.realtime.endpoint_name)

        # A scheduled floor for known busy hours: raise it on weekday mornings, release it in
        # the evening (scheduled actions hold until another one changes them).
        time_zone = cdk.TimeZone.of(ctx.string("timeZone", "America/New_York"))
        busy_floor = ctx.integer("realtime:businessHoursMinCapacity", 2)
        self.realtime.scale_on_schedule("BusinessHoursFloor",
                                        schedule="cron(0 8 ? * MON-FRI *)",
                                        min_capacity=busy_floor, time_zone=time_zone)
        self.realtime.scale_on_schedule("EveningRelease", schedule="cron(0 19 ? * MON-FRI *)",
                                        min_capacity=ctx.integer("realtime:minCapacity", 1),
                                        time_zone=time_zone)
        self.realtime.add_dashboard()

        # Deepgram documents asynchronous endpoints as unsupported for Marketplace packages,
        # so the example's asynchronous endpoint runs a self-hosted image.
        async_model = DeepgramModel.from_image(
            ctx.string(
                "async:imageUri",
                "",
                pattern=r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/.+",
                expected="an Amazon ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/"
                         "<repo>:<tag>)",
            ),
            product=PRODUCTS[product_name],
        )
        self.batch = AsyncDeepgramEndpoint(
            self,
            "Batch",
            model=async_model,
            instance_pools=[
                InstancePool(t)
                for t in ctx.string_list("async:instanceTypes", ["ml.g6.2xlarge"])
            ],
            min_capacity=ctx.integer("async:minCapacity", 0),
            max_capacity=ctx.integer("async:maxCapacity", 4),
            target_backlog_per_instance=ctx.number("async:targetBacklogPerInstance", 5),
            suspend_scaling=ctx.boolean("suspendScaling", False),
        )
        self.batch.add_dashboard()
        cdk.CfnOutput(self, "AsyncEndpointName", value=self.batch.endpoint_name)
        cdk.CfnOutput(self, "AsyncInputLocation",
                      value=self.batch.bucket.s3_url_for_object(self.batch.input_prefix))


def _pool_capacities(ctx: ContextReader) -> dict[str, float]:
    """``deepgram:realtime:maxConcurrency``: {"ml.g6.2xlarge": 8, ...}, measured by load test."""
    raw = ctx.raw("realtime:maxConcurrency")
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raw = None
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
        for k, v in raw.items()
    ):
        raise ContextValueError(
            "context key 'deepgram:realtime:maxConcurrency' must be a JSON object of instance "
            f"type to concurrent requests, got {raw!r}"
        )
    return {k: float(v) for k, v in raw.items()}


def build_app(
    *, context: dict[str, Any] | None = None, outdir: str | None = None
) -> cdk.App:
    """The example app. Under the CLI, context comes from ``CDK_CONTEXT_JSON``; otherwise
    from ``cdk.json``, so both ways see the same feature flags and settings."""
    if context is None and "CDK_CONTEXT_JSON" not in os.environ:
        context = cdk_json_context()
    app = cdk.App(
        context=context,
        outdir=outdir or os.environ.get("CDK_OUTDIR") or str(HERE / "cdk.out"),
    )
    reader = ContextReader(app.node, "deepgram:")
    if reader.boolean("nag", True):
        cdk.Validations.of(app).add_plugins(
            AwsSolutionsChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app),
            SageMakerScalingChecks(app),
        )
    DeepgramExampleStack(app, reader.string("stackName", "DeepgramScalingExample"))
    return app


def annotation_lines(assembly: cx_api.CloudAssembly) -> list[str]:
    """The constructs' errors, warnings and infos, one line each with the construct path, in
    the form the CDK CLI prints them: ``[Warning at /Stack/Path] message``."""
    return [
        f"[{message.level.value.capitalize()} at {message.id}] {message.entry.data}"
        for stack in assembly.stacks_recursively
        for message in stack.messages
    ]


def main() -> int:
    try:
        assembly = build_app().synth()
    except DeepgramScalingConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # Under the CDK CLI (which sets CDK_CLI_VERSION) the CLI prints the annotations itself.
    if "CDK_CLI_VERSION" in os.environ:
        return 0
    lines = annotation_lines(assembly)
    for line in lines:
        print(line, file=sys.stderr)
    # An error annotation fails synthesis, as it does under the CLI.
    return 1 if any(line.startswith("[Error at ") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
