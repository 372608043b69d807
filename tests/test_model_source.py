"""Where the model comes from, the DEEPGRAM_* settings, and what a self-hosted image needs
to validate its licence (docs/aws-behaviour.md#self-hosted-licence,
#secrets-dynamic-reference)."""

from __future__ import annotations

import json
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
from deepgram_scaling.model_source import (
    DISCOURAGED_SETTING_WARNING_ID,
    UNKNOWN_SETTING_WARNING_ID,
    toml_literal,
)

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


# --- the model's region against the stack's (docs/aws-behaviour.md#model-region) ------------


def stack_in(region: str | None, name: str) -> cdk.Stack:
    from .conftest import cdk_context

    app = cdk.App(context=cdk_context())
    env = cdk.Environment(account="123456789012", region=region) if region else None
    return cdk.Stack(app, name, env=env)


@pytest.mark.parametrize(("model", "prop", "region"), [
    (lambda: DeepgramModel.from_image(IMAGE_URI), "image_uri", "us-east-1"),
    (lambda: DeepgramModel.from_model_package(PACKAGE_ARN), "model_package_arn", "us-east-1"),
])
def test_a_model_from_another_region_is_refused(model, prop, region):
    # given a stack in eu-west-1 and a model whose image or package is in us-east-1
    stack = stack_in("eu-west-1", "Ireland")
    # when the endpoint is built / then the path, the prop, both regions and the value show
    with pytest.raises(DeepgramScalingConfigError,
                       match=rf"^Ireland/Speech: model {prop} is in {region}, but the stack "
                             rf"deploys to eu-west-1: .*got '"):
        endpoint_with(stack, model())


def test_a_model_in_the_stack_s_region_or_an_env_agnostic_stack_is_accepted():
    # given the model's own region, and a stack without a region (a token)
    for region, name in (("us-east-1", "Virginia"), (None, "Anywhere")):
        stack = stack_in(region, name)
        # when the endpoint is built / then the model is used as given
        template = endpoint_with(stack, DeepgramModel.from_image(IMAGE_URI))
        template.has_resource_properties("AWS::SageMaker::Model", {
            "PrimaryContainer": Match.object_like({"Image": IMAGE_URI})})


def test_a_token_image_is_not_compared():
    # given an image URI only known at deploy time, in a stack with a concrete region
    stack = stack_in("eu-west-1", "TokenImage")
    uri = cdk.CfnParameter(stack, "ImageUri").value_as_string
    # when the endpoint is built / then nothing is refused
    template = endpoint_with(stack, DeepgramModel.from_image(uri))
    template.has_resource_properties("AWS::SageMaker::Model", {
        "PrimaryContainer": Match.object_like({"Image": {"Ref": "ImageUri"}})})


def test_model_region_problems_are_pure():
    model = DeepgramModel.from_image(IMAGE_URI)
    assert model.region == "us-east-1"
    assert model.region_problems("us-east-1") == []
    assert model.region_problems(cdk.Aws.REGION) == []
    assert "push or replicate the image to eu-west-1" in model.region_problems("eu-west-1")[0]


# --- typed settings and unknown keys (docs/aws-behaviour.md#deepgram-setting-keys) ---------


@pytest.mark.parametrize(("settings", "message"), [
    ({"engine_settings": {"max_active_requests": "lots"}},
     r"engine_settings\['max_active_requests'\] must be a whole number \(Deepgram's "
     r"engine.toml setting.*got 'lots'"),
    ({"engine_settings": {"max_active_requests": True}},
     r"engine_settings\['max_active_requests'\] must be a whole number.*got True"),
    ({"engine_settings": {"max_active_requests": 12.5}}, r"must be a whole number.*got 12.5"),
    ({"engine_settings": {"flux.max_streams": "10"}},
     r"engine_settings\['flux.max_streams'\] must be a whole number.*got '10'"),
    ({"engine_settings": {"chunking.streaming.step": "fast"}},
     r"\['chunking.streaming.step'\] must be a number.*got 'fast'"),
    ({"engine_settings": {"health.gpu_required": "yes"}},
     r"\['health.gpu_required'\] must be True or False.*got 'yes'"),
    ({"engine_settings": {"half_precision.state": "on"}},
     r"\['half_precision.state'\] must be one of 'auto', 'enabled', 'disabled'.*got 'on'"),
    ({"api_settings": {"features.entity_detection": "false"}},
     r"api_settings\['features.entity_detection'\] must be True or False \(Deepgram's "
     r"api.toml setting.*got 'false'"),
    ({"api_settings": {"license.server_url": "https://proxy:8443"}},
     r"api_settings\['license.server_url'\] must be a TOML array"),
])
def test_a_documented_setting_of_the_wrong_type_is_refused(settings, message):
    # given a documented key with a value of the wrong type / when the model is made
    # then the prop, the key, what is valid and the value are named
    with pytest.raises(DeepgramScalingConfigError, match=message):
        DeepgramModel.from_model_package(PACKAGE_ARN, **settings)


def test_documented_settings_of_the_right_type_render():
    # given documented keys with values of their types (an int where a float is documented)
    model = DeepgramModel.from_model_package(
        PACKAGE_ARN,
        engine_settings={"max_active_requests": 120, "chunking.streaming.step": 1,
                         "half_precision.state": "auto", "flux.max_streams": 10},
        api_settings={"features.entity_detection": False})
    # then they render as TOML and no key is unknown
    assert model.environment == {
        "DEEPGRAM_API_01": "features.entity_detection=false",
        "DEEPGRAM_ENGINE_01": "max_active_requests=120",
        "DEEPGRAM_ENGINE_02": "chunking.streaming.step=1",
        "DEEPGRAM_ENGINE_03": 'half_precision.state="auto"',
        "DEEPGRAM_ENGINE_04": "flux.max_streams=10",
    }
    assert model.unknown_settings == ()


def test_an_unknown_setting_key_warns_with_the_nearest_documented_one(
        new_stack: Callable[..., cdk.Stack]):
    # given a likely typo of max_active_requests, and a key Deepgram does not document
    stack = new_stack("TypoSetting", nag=False)
    model = DeepgramModel.from_image(
        IMAGE_URI, engine_settings={"max_active_request": 120},
        api_settings={"features.made_up": True})
    # when the endpoint is built
    endpoint_with(stack, model)
    # then each key warns once, at the endpoint, with its id; the typo names the documented key
    warnings = Annotations.from_stack(stack).find_warning(
        "/TypoSetting/Speech", Match.string_like_regexp("is not a documented"))
    texts = sorted(str(w.entry.data) for w in warnings)
    assert len(texts) == 2
    assert "api_settings key 'features.made_up' is not a documented api.toml setting." \
        in texts[0]
    assert ("engine_settings key 'max_active_request' is not a documented engine.toml "
            "setting; did you mean 'max_active_requests'?") in texts[1]
    assert all(UNKNOWN_SETTING_WARNING_ID in t for t in texts)
    # and the value is still passed on as given
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SageMaker::Model", {"PrimaryContainer": {
        "Environment": {"DEEPGRAM_ENGINE_01": "max_active_request=120",
                        "DEEPGRAM_API_01": "features.made_up=true"},
        "Image": IMAGE_URI}})


def test_documented_setting_keys_do_not_warn(new_stack: Callable[..., cdk.Stack]):
    # given only documented keys / when the endpoint is built / then nothing warns
    stack = new_stack("KnownSettings", nag=False)
    endpoint_with(stack, DeepgramModel.from_image(
        IMAGE_URI, engine_settings={"max_active_requests": 120, "flux.max_streams": 8}))
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


# --- ECR image URIs (docs/aws-behaviour.md#ecr-image-uri) -----------------------------------


@pytest.mark.parametrize(("uri", "region"), [
    # registry/repository[:tag]: the tag is optional
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram/engine", "us-east-1"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram:release-260105", "us-east-1"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/dg@sha256:" + "a" * 64, "eu-west-1"),
    # FIPS and dual-stack registry hosts
    ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/deepgram:1", "us-gov-west-1"),
    ("123456789012.dkr-ecr.us-east-2.on.aws/deepgram:1", "us-east-2"),
    ("123456789012.dkr-ecr-fips.us-east-2.on.aws/deepgram", "us-east-2"),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/deepgram:1", "cn-north-1"),
])
def test_ecr_image_uris_are_accepted_with_their_region(uri, region):
    # given an image URI of a private ECR registry / when the model is made
    model = DeepgramModel.from_image(uri)
    # then it is kept as given, and its region is read from the host
    assert model.image_uri == uri
    assert model.region == region
    assert model.region_problems(region) == []


@pytest.mark.parametrize("uri", [
    "public.ecr.aws/deepgram/engine:1",                               # ECR Public
    "123456789012.dkr.ecr.us-east-1.on.aws/deepgram:1",               # no such host
    "123456789012.dkr-ecr.us-east-1.amazonaws.com/deepgram:1",        # no such host
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/",                  # no repository
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram:",         # empty tag
])
def test_other_image_uris_are_refused(uri):
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"image_uri must be an Amazon ECR image .*tag or @sha256 digest "
                             r"optional; dkr.ecr-fips and dkr-ecr.<region>.on.aws hosts too"):
        DeepgramModel.from_image(uri)


def test_an_image_on_a_dual_stack_host_is_pulled_from_its_repository():
    stack = stack_in("us-east-2", "DualStack")
    template = endpoint_with(stack, DeepgramModel.from_image(
        "123456789012.dkr-ecr.us-east-2.on.aws/deepgram:1"))
    assert ":ecr:us-east-2:123456789012:repository/deepgram" in json.dumps(
        template.find_resources("AWS::IAM::ManagedPolicy"))


# --- health.gpu_required (docs/aws-behaviour.md#deepgram-setting-keys) ----------------------


@pytest.mark.parametrize(("value", "warns"), [(False, True), (True, False)])
def test_gpu_required_false_warns(new_stack: Callable[..., cdk.Stack], value, warns):
    # given health.gpu_required, which Deepgram's page gives as never false
    stack = new_stack("GpuRequired", nag=False)
    template = endpoint_with(stack, DeepgramModel.from_image(
        IMAGE_URI, engine_settings={"health.gpu_required": value}))
    # then False warns with its own id, True does not; the value is passed on either way
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(
        r"engine_settings\['health.gpu_required'\] is False: Deepgram's SageMaker "
        r"configuration page gives it as a boolean never set to false"))
    assert len(found) == (1 if warns else 0)
    assert all(DISCOURAGED_SETTING_WARNING_ID in str(w.entry.data) for w in found)
    template.has_resource_properties("AWS::SageMaker::Model", {
        "PrimaryContainer": Match.object_like({"Environment": {
            "DEEPGRAM_ENGINE_01": f"health.gpu_required={str(value).lower()}"}})})
