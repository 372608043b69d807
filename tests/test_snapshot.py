"""One snapshot of the default example stack, and deterministic synthesis."""

from __future__ import annotations

import json

from syrupy.extensions.json import JSONSnapshotExtension

import app as example_app_module
from deepgram_scaling import snapshot_template

from .conftest import cdk_context


def test_example_stack_snapshot(example_stack, snapshot):
    assert snapshot_template(example_stack) == snapshot.use_extension(JSONSnapshotExtension)


def test_synthesis_is_deterministic(example_stack, tmp_path):
    again = example_app_module.build_app(context=cdk_context(), outdir=str(tmp_path))
    second = again.node.find_child("DeepgramScalingExample")
    first_json = json.dumps(snapshot_template(example_stack), sort_keys=True)
    assert json.dumps(snapshot_template(second), sort_keys=True) == first_json


def test_snapshot_helper_drops_volatile_values(example_stack):
    template = snapshot_template(example_stack)
    assert "BootstrapVersion" not in template.get("Parameters", {})
    assert "CheckBootstrapVersion" not in template.get("Rules", {})
    assert "CDKMetadata" not in template["Resources"]
    versions = {r["Metadata"]["deepgram-scaling"]["version"]
                for r in template["Resources"].values()
                if "deepgram-scaling" in r.get("Metadata", {})}
    assert versions == {"<deepgram-scaling-version>"}


def test_construct_defaults_snapshot(new_stack, snapshot):
    """Each construct with only its required props: what a user gets by default."""
    from deepgram_scaling import (
        AsyncDeepgramEndpoint,
        DeepgramModel,
        RealtimeDeepgramEndpoint,
    )

    from .conftest import IMAGE_URI, PACKAGE_ARN

    realtime_stack = new_stack("RealtimeDefaults")
    RealtimeDeepgramEndpoint(realtime_stack, "Endpoint",
                             model=DeepgramModel.from_model_package(PACKAGE_ARN),
                             instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                             target_concurrency_per_instance=7)
    async_stack = new_stack("AsyncDefaults")
    AsyncDeepgramEndpoint(async_stack, "Endpoint", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=["ml.g6.2xlarge"], max_capacity=2)
    json_snapshot = snapshot.use_extension(JSONSnapshotExtension)
    assert snapshot_template(realtime_stack) == json_snapshot(name="realtime")
    assert snapshot_template(async_stack) == json_snapshot(name="async")
