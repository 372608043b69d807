"""Checkov's CloudFormation scan: the two findings that cannot be fixed are recorded in the
template itself, as skip entries in the resource's metadata (``Metadata.checkov.skip``, a list
of ``{id, comment}``, which checkov's CloudFormation parser reads), each with its reason."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template


def checkov_skips(resource: dict[str, Any]) -> dict[str, str]:
    skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    return {skip["id"]: skip["comment"] for skip in skips}


def test_the_access_log_bucket_records_why_it_is_not_logged(example_template: Template):
    # given the example app's async storage: a results bucket logging to a log bucket
    buckets = example_template.find_resources("AWS::S3::Bucket")
    log_targets = {b["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
                   for b in buckets.values() if "LoggingConfiguration" in b["Properties"]}

    # then exactly the log target carries checkov's exception for CKV_AWS_18, with its reason
    skipped = {logical_id for logical_id, b in buckets.items() if "CKV_AWS_18" in checkov_skips(b)}
    assert skipped == log_targets and len(skipped) == 1
    (target,) = log_targets
    assert "server access logs" in checkov_skips(buckets[target])["CKV_AWS_18"]


def test_only_a_model_with_network_access_records_why_it_is_not_isolated(example_template):
    # given the example app: a Marketplace package (isolated) and a self-hosted image (not)
    models = example_template.find_resources("AWS::SageMaker::Model").values()
    by_isolation = {m["Properties"]["EnableNetworkIsolation"]: checkov_skips(m) for m in models}

    # then the image's model explains CKV_AWS_370 by its licence check; the package has no skip
    assert by_isolation[True] == {}
    assert "licence" in by_isolation[False]["CKV_AWS_370"]


def test_an_isolated_image_needs_no_exception(new_stack):
    # given a self-hosted image whose user turned isolation on (the construct warns about it)
    from deepgram_scaling import DeepgramModel, RealtimeDeepgramEndpoint

    from .conftest import IMAGE_URI

    stack = new_stack("IsolatedImage", nag=False)
    RealtimeDeepgramEndpoint(stack, "Isolated", instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                             target_concurrency_per_instance=7,
                             model=DeepgramModel.from_image(IMAGE_URI, network_isolation=True))

    # then its model skips nothing
    (model,) = Template.from_stack(stack).find_resources("AWS::SageMaker::Model").values()
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert checkov_skips(model) == {}
