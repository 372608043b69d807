"""Session-wide fixtures: each template is synthesized once per test session.

Every app built here carries cdk-nag's AwsSolutions checks (v3 API), so any unacknowledged
finding fails the synthesis of the template that has it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from hypothesis import settings

import app as example_app_module
from deepgram_scaling import (
    NOVA_3,
    DeepgramModel,
    InstancePool,
    RealtimeDeepgramEndpoint,
)

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Deepgram's SageMaker transport needs Python 3.12+: `make calibrate-312` runs that module in a
# 3.12 virtual environment of its own (and says so where no 3.12 exists); this suite leaves it out.
collect_ignore = [] if sys.version_info >= (3, 12) else ["test_calibrate_sagemaker.py"]

# Under `make mutants` (mutmut sets MUTANT_UNDER_TEST) the code runs through mutmut's
# trampolines, several times slower: no deadline, and the same examples for every mutant.
settings.register_profile("mutants", deadline=None, derandomize=True)
if "MUTANT_UNDER_TEST" in os.environ:
    settings.load_profile("mutants")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/deepgram-nova-3-test"
IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram/self-hosted:2026.11"


def cdk_context() -> dict[str, Any]:
    """The context of cdk.json, so tests see the same feature flags as `cdk synth`."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


@pytest.fixture(scope="session")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk-out")


@pytest.fixture(scope="session")
def new_stack(outdir: Path) -> Callable[..., cdk.Stack]:
    """A fresh app (with cdk-nag attached) and stack per call."""
    counter = iter(range(1_000_000))

    def make(name: str = "TestStack", *, nag: bool = True) -> cdk.Stack:
        app = cdk.App(context=cdk_context(), outdir=str(outdir / f"app{next(counter)}"))
        if nag:
            cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        return cdk.Stack(app, name)

    return make


def package_model() -> DeepgramModel:
    return DeepgramModel.from_model_package(PACKAGE_ARN, product=NOVA_3)


# --- the example app ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def example_app(outdir: Path) -> cdk.App:
    return example_app_module.build_app(context=cdk_context(), outdir=str(outdir / "example"))


@pytest.fixture(scope="session")
def example_stack(example_app: cdk.App) -> cdk.Stack:
    stack = example_app.node.find_child("DeepgramScalingExample")
    assert isinstance(stack, cdk.Stack)
    return stack


@pytest.fixture(scope="session")
def example_template(example_stack: cdk.Stack) -> Template:
    return Template.from_stack(example_stack)


# --- a single-type, self-hosted real-time endpoint with everything customised -------------


class SingleTypeScenario:
    def __init__(self, new_stack: Callable[..., cdk.Stack]) -> None:
        self.stack = new_stack("SingleType")
        self.topic = sns.Topic(
            self.stack, "AlarmTopic", master_key=None, enforce_ssl=True
        )
        self.client_role = iam.Role(
            self.stack, "ClientRole", assumed_by=iam.AccountRootPrincipal()
        )
        self.endpoint = RealtimeDeepgramEndpoint(
            self.stack,
            "Streaming",
            model=DeepgramModel.from_image(
                IMAGE_URI, engine_settings={"max_active_requests": 120},
                api_settings={"features.diarize": True},
            ),
            instance_pools=[InstancePool("ml.g6.2xlarge")],
            min_capacity=2,
            max_capacity=6,
            target_concurrency_per_instance=8,
            scale_out_cooldown=cdk.Duration.seconds(30),
            scale_in_cooldown=cdk.Duration.minutes(15),
            alarm_topic=self.topic,
        )
        self.endpoint.grant_invoke(self.client_role)
        self.endpoint.grant_invoke_stream(self.client_role)
        cdk.Validations.of(self.topic).acknowledge(
            cdk.Acknowledgment(id="AwsSolutions-SNS2",
                               reason="test topic only; encryption is not under test here")
        )
        self.template = Template.from_stack(self.stack)


@pytest.fixture(scope="session")
def single_type(new_stack: Callable[..., cdk.Stack]) -> SingleTypeScenario:
    return SingleTypeScenario(new_stack)


# --- two endpoints composed into one user stack -------------------------------------------


@pytest.fixture(scope="session")
def two_endpoints(new_stack: Callable[..., cdk.Stack]) -> Template:
    stack = new_stack("TwoEndpoints")
    for name, target in (("English", 7), ("Multilingual", 5)):
        RealtimeDeepgramEndpoint(
            stack, name, model=package_model(),
            instance_pools=["ml.g6.2xlarge", "ml.g6e.2xlarge"],
            max_capacity=4, target_concurrency_per_instance=target,
        )
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def all_templates(
    example_template: Template, single_type: SingleTypeScenario, two_endpoints: Template
) -> Iterator[tuple[str, Template]]:
    return iter(
        [
            ("example", example_template),
            ("single_type", single_type.template),
            ("two_endpoints", two_endpoints),
        ]
    )


# --- an asynchronous endpoint with the user's own bucket and topics -----------------------


class AsyncOwnStorageScenario:
    """Marketplace package (expect a warning), user bucket/topics, min_capacity 1."""

    def __init__(self, new_stack: Callable[..., cdk.Stack]) -> None:
        from aws_cdk import aws_kms as kms
        from aws_cdk import aws_s3 as s3

        from deepgram_scaling import AsyncDeepgramEndpoint
        from deepgram_scaling.nag import acknowledge_wildcard

        self.stack = new_stack("AsyncOwnStorage")
        self.key = kms.Key(self.stack, "UserKey", enable_key_rotation=True)
        logs = s3.Bucket(self.stack, "UserLogs", enforce_ssl=True,
                         block_public_access=s3.BlockPublicAccess.BLOCK_ALL)
        cdk.Validations.of(logs).acknowledge(
            cdk.Acknowledgment(id="AwsSolutions-S1", reason="test access-log target bucket"))
        self.bucket = s3.Bucket(
            self.stack, "UserBucket", encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key, enforce_ssl=True, server_access_logs_bucket=logs,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL)
        self.success = sns.Topic(self.stack, "UserSuccess", master_key=self.key,
                                 enforce_ssl=True)
        self.error = sns.Topic(self.stack, "UserError", master_key=self.key, enforce_ssl=True)
        self.client_role = iam.Role(self.stack, "Uploader",
                                    assumed_by=iam.AccountRootPrincipal())
        self.endpoint = AsyncDeepgramEndpoint(
            self.stack, "Jobs",
            model=package_model(),
            instance_pools=[InstancePool("ml.g6.2xlarge")],
            min_capacity=1, max_capacity=3,
            target_backlog_per_instance=10,
            max_concurrent_invocations_per_instance=16,
            bucket=self.bucket, encryption_key=self.key,
            success_topic=self.success, error_topic=self.error,
            input_prefix="audio/in/", output_prefix="audio/out/", failure_prefix="audio/err/",
        )
        self.endpoint.grant_invoke_async(self.client_role)
        policy = self.client_role.node.find_child("DefaultPolicy")
        for prefix in ("audio/in/", "audio/out/", "audio/err/"):
            acknowledge_wildcard(policy, self.bucket.arn_for_objects(f"{prefix}*"),
                                 "test: a caller uploads and reads its own per-request keys")
        self.template = Template.from_stack(self.stack)


@pytest.fixture(scope="session")
def async_own_storage(new_stack: Callable[..., cdk.Stack]) -> AsyncOwnStorageScenario:
    return AsyncOwnStorageScenario(new_stack)


# --- cloud assemblies with several stacks (check DIR, describe DIR, cfn-lint) -------------


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from .assembly_apps import build_all

    return build_all(tmp_path_factory.mktemp("assemblies"))
