"""Where the model comes from, the DEEPGRAM_* settings, and what a self-hosted image needs
to validate its licence (docs/aws-behaviour.md#self-hosted-licence,
#secrets-dynamic-reference)."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Match, Template
from hypothesis import given
from hypothesis import strategies as st

from deepgram_scaling import (
    DeepgramModel,
    DeepgramScalingConfigError,
    RealtimeDeepgramEndpoint,
    deepgram_environment,
)
from deepgram_scaling.endpoint_base import ISOLATED_IMAGE_WARNING_ID
from deepgram_scaling.model_source import toml_literal

from .conftest import IMAGE_URI, PACKAGE_ARN


def endpoint_with(stack: cdk.Stack, model: DeepgramModel) -> Template:
    RealtimeDeepgramEndpoint(stack, "Speech", model=model, instance_pools=["ml.g6.2xlarge"],
                             max_capacity=2, target_concurrency_per_instance=7)
    return Template.from_stack(stack)


def test_an_image_has_network_access_by_default():
    # A self-hosted container must reach Deepgram's licence server or a License Proxy.
    assert DeepgramModel.from_image(IMAGE_URI).network_isolation is False
    assert DeepgramModel.from_image(IMAGE_URI).environment == {}


def test_an_isolated_image_warns_at_synthesis(new_stack: Callable[..., cdk.Stack]):
    stack = new_stack("IsolatedImage", nag=False)
    endpoint_with(stack, DeepgramModel.from_image(IMAGE_URI, network_isolation=True))
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("cannot reach Deepgram's licence server"))
    assert len(warnings) == 1
    assert ISOLATED_IMAGE_WARNING_ID in str(warnings[0])


def test_an_image_with_network_access_does_not_warn(new_stack: Callable[..., cdk.Stack]):
    stack = new_stack("OpenImage", nag=False)
    endpoint_with(stack, DeepgramModel.from_image(IMAGE_URI))
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


def test_license_proxy_goes_first_in_both_containers_settings():
    model = DeepgramModel.from_image(
        IMAGE_URI, license_proxy_url="https://license-proxy.internal:8443",
        engine_settings={"max_active_requests": 120})
    servers = 'license.server_url=["https://license-proxy.internal:8443", ' \
              '"https://license.deepgram.com"]'
    assert model.environment == {
        "DEEPGRAM_ENGINE_01": "max_active_requests=120",
        "DEEPGRAM_API_01": servers,
        "DEEPGRAM_ENGINE_02": servers,
    }


def test_api_key_comes_from_secrets_manager_without_plain_text(
        new_stack: Callable[..., cdk.Stack]):
    stack = new_stack("KeyFromSecret", nag=False)
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Key", "deepgram/self-hosted")
    template = endpoint_with(stack, DeepgramModel.from_image(
        IMAGE_URI, api_key_secret=secret, api_key_secret_field="apiKey"))
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    value = model["Properties"]["PrimaryContainer"]["Environment"]["DEEPGRAM_API_KEY"]
    # A CloudFormation dynamic reference: resolved at deploy time, never in the template.
    rendered = str(value)
    assert "{{resolve:secretsmanager:" in rendered
    assert ":SecretString:apiKey::}}" in rendered


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"license_proxy_url": "license-proxy:8443"},
     "license_proxy_url must be an http(s) URL such as 'https://license-proxy:8443', "
     "got 'license-proxy:8443'"),
    ({"license_proxy_url": "https://proxy:8443", "network_isolation": True},
     "license_proxy_url needs network access, but network_isolation=True"),
    ({"license_proxy_url": "https://proxy:8443",
      "api_settings": {"license.server_url": "https://other"}},
     "api_settings sets 'license.server_url' and license_proxy_url sets it too"),
    ({"license_proxy_url": "https://proxy:8443",
      "engine_settings": {f"k{i}": i for i in range(8)}},
     "engine_settings takes at most 7 entries with license_proxy_url"),
    ({"api_key_secret_field": "apiKey"}, "api_key_secret_field needs api_key_secret"),
    ({"network_isolation": False, "api_settings": {"bad key": 1}},
     "api_settings keys must be dotted TOML keys"),
])
def test_invalid_image_options_are_refused(kwargs, message):
    with pytest.raises(DeepgramScalingConfigError, match=message.replace("(", r"\(")
                       .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        DeepgramModel.from_image(IMAGE_URI, **kwargs)


def test_a_marketplace_package_stays_isolated():
    model = DeepgramModel.from_model_package(
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/deepgram-nova-3")
    assert model.network_isolation is True


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


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: DeepgramModel.from_model_package("deepgram-nova-3"),
         r"model_package_arn must be a SageMaker model-package ARN.*got 'deepgram-nova-3'"),
        (lambda: DeepgramModel.from_image("docker.io/deepgram/engine:latest"),
         r"image_uri must be an Amazon ECR image.*got 'docker.io/deepgram/engine:latest'"),
        (lambda: DeepgramModel.from_image(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/dg:1",
            engine_settings={f"k{i}": i for i in range(9)}),
         r"engine_settings takes at most 8 entries \(DEEPGRAM_ENGINE_01..08\), got 9"),
        (lambda: DeepgramModel.from_model_package(PACKAGE_ARN, api_settings={"bad key": 1}),
         r"api_settings keys must be dotted TOML keys.*got 'bad key'"),
        (lambda: DeepgramModel.from_model_package(PACKAGE_ARN, api_settings={"a": [1]}),
         r"api_settings\['a'\] must be a str, int, float or bool, got \[1\]"),
    ],
)
def test_invalid_model_sources_are_refused_when_made(factory, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        factory()
