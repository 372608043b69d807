"""Where the Deepgram model comes from: a Marketplace model package or a container image.

A Marketplace package runs with network isolation
(docs/aws-behaviour.md#deepgram-marketplace-model).
Deepgram's container reads its configuration from the environment variables
``DEEPGRAM_API_01..08`` and ``DEEPGRAM_ENGINE_01..08``, each one a dotted TOML assignment
such as ``max_active_requests=120`` (docs/aws-behaviour.md#deepgram-settings). A self-hosted
image validates its licence over the network (docs/aws-behaviour.md#self-hosted-licence).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Annotations, Arn, ArnComponents, ArnFormat
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ._compat import format_arn, stack_of
from ._validation import Problems, fmt, is_token
from .errors import DeepgramScalingConfigError
from .products import DeepgramProduct

#: A setting value: rendered as a TOML literal.
SettingValue = str | int | float | bool

#: Each of the two setting families has eight numbered variables.
MAX_SETTINGS_PER_FAMILY = 8
#: Deepgram's hosted licence server; a License Proxy is listed before it as the first choice
#: (docs/aws-behaviour.md#self-hosted-licence).
DEEPGRAM_LICENSE_SERVER = "https://license.deepgram.com"
#: The setting both containers read their licence servers from.
LICENSE_SERVER_SETTING = "license.server_url"
#: The environment variable a self-hosted container reads its API key from.
API_KEY_VARIABLE = "DEEPGRAM_API_KEY"
#: Warning id of a setting key Deepgram does not document (likely a typo).
UNKNOWN_SETTING_WARNING_ID = "deepgram-scaling:unknownDeepgramSetting"
DISCOURAGED_SETTING_WARNING_ID = "deepgram-scaling:discouragedDeepgramSetting"


@dataclass(frozen=True)
class SettingType:
    """What a documented Deepgram setting takes: ``int``, ``float`` (a whole number too),
    ``bool``, ``str`` (optionally one of ``choices``) or ``list`` (an array, which the
    setting maps cannot carry)."""

    kind: str
    choices: tuple[str, ...] = ()

    def accepts(self, value: object) -> bool:
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        if self.kind == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind == "str":
            return isinstance(value, str) and (not self.choices or value in self.choices)
        return False  # "list": a TOML array, which only license_proxy_url writes

    @property
    def valid(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return {"bool": "True or False", "int": "a whole number", "float": "a number",
                "str": "a string", "list": "a TOML array, which the setting maps cannot "
                "carry"}[self.kind]


_INT, _FLOAT, _BOOL, _STR, _LIST = (SettingType(k) for k in ("int", "float", "bool", "str",
                                                                "list"))
#: The ``engine.toml`` keys Deepgram documents, with their types
#: (docs/aws-behaviour.md#deepgram-setting-keys).
ENGINE_SETTINGS: dict[str, SettingType] = {
    "max_active_requests": _INT,
    "license.server_url": _LIST,
    "server.host": _STR, "server.port": _INT,
    "metrics_server.host": _STR, "metrics_server.port": _INT,
    "model_manager.max_concurrently_loaded_models": _INT,
    "model_manager.search_paths": _LIST,
    "features.multichannel": _BOOL, "features.language_detection": _BOOL,
    "features.streaming_ner": _BOOL, "features.use_v2_language_detection": _BOOL,
    "flux.enabled": _BOOL, "flux.max_streams": _INT, "flux.model_name": _STR,
    "chunking.batch.min_duration": _FLOAT, "chunking.batch.max_duration": _FLOAT,
    "chunking.streaming.min_duration": _FLOAT, "chunking.streaming.max_duration": _FLOAT,
    "chunking.streaming.step": _FLOAT,
    "preload_models.blocking": _BOOL,
    "half_precision.state": SettingType("str", ("auto", "enabled", "disabled")),
    "health.gpu_required": _BOOL,
}
#: The ``api.toml`` keys Deepgram documents, with their types
#: (docs/aws-behaviour.md#deepgram-setting-keys).
API_SETTINGS: dict[str, SettingType] = {
    "license.server_url": _LIST,
    "server.base_url": _STR, "server.host": _STR, "server.port": _INT,
    "server.callback_conn_timeout": _STR, "server.callback_timeout": _STR,
    "server.fetch_conn_timeout": _STR, "server.fetch_timeout": _STR,
    "resolver.nameservers": _LIST, "resolver.max_ttl": _INT,
    "concurrency_limit.active_requests": _INT,
    "features.topic_detection": _BOOL, "features.summarization": _BOOL,
    "features.entity_detection": _BOOL, "features.entity_redaction": _BOOL,
    "features.format_entity_tags": _BOOL, "features.speak_streaming": _BOOL,
    "features.disk_buffer_path": _STR,
}

_SETTING_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9][A-Za-z0-9./_-]*$"
)
#: An image in a private ECR registry: ``registry/repository[:tag]`` or ``@digest``, the tag
#: optional (latest); the registry host IPv4 (``dkr.ecr``), FIPS (``dkr.ecr-fips``) or
#: dual-stack (``dkr-ecr[-fips].<region>.on.aws``) (docs/aws-behaviour.md#ecr-image-uri).
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\."
    r"(?:dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"|dkr-ecr(?:-fips)?\.(?P<dual_stack_region>[a-z0-9-]+)\.on\.aws)/"
    r"(?P<repo>[a-z0-9][a-z0-9._/-]*)(?::[\w.-]+|@sha256:[0-9a-f]{64})?$"
)


def _ecr_region(match: re.Match[str]) -> str:
    return match.group("region") or match.group("dual_stack_region")


def toml_literal(value: SettingValue | list[str]) -> str:
    """Render one value as a TOML literal (strings quoted, booleans lower-case, lists of
    strings as arrays)."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = []
    for char in value:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def deepgram_environment(
    *, api: Mapping[str, SettingValue], engine: Mapping[str, SettingValue]
) -> dict[str, str]:
    """The ``DEEPGRAM_API_nn`` / ``DEEPGRAM_ENGINE_nn`` variables for two setting maps.

    >>> deepgram_environment(api={}, engine={"max_active_requests": 120})
    {'DEEPGRAM_ENGINE_01': 'max_active_requests=120'}
    """
    problems = Problems()
    env: dict[str, str] = {}
    families = (("API", "api_settings", api), ("ENGINE", "engine_settings", engine))
    for family, prop, settings in families:
        if len(settings) > MAX_SETTINGS_PER_FAMILY:
            problems.add(
                f"{prop} takes at most {MAX_SETTINGS_PER_FAMILY} entries "
                f"(DEEPGRAM_{family}_01..08), got {len(settings)}"
            )
            continue
        for number, (key, value) in enumerate(settings.items(), start=1):
            if not isinstance(key, str) or not _SETTING_KEY.match(key):
                problems.add(
                    f"{prop} keys must be dotted TOML keys such as 'features.diarize', "
                    f"got {fmt(key)}"
                )
                continue
            if not isinstance(value, (str, int, float, bool)):
                problems.add(
                    f"{prop}[{key!r}] must be a str, int, float or bool, got {fmt(value)}"
                )
                continue
            known = _KNOWN[family].get(key)
            if known is not None and not is_token(value) and not known.accepts(value):
                problems.add(
                    f"{prop}[{key!r}] must be {known.valid} (Deepgram's {family.lower()}.toml "
                    f"setting, docs/aws-behaviour.md#deepgram-setting-keys), got {fmt(value)}"
                )
                continue
            env[f"DEEPGRAM_{family}_{number:02d}"] = f"{key}={toml_literal(value)}"
    problems.raise_if_any()
    return env


def unknown_settings(
    *, api: Mapping[str, object], engine: Mapping[str, object]
) -> tuple[str, ...]:
    """One sentence per key of the two setting maps that Deepgram does not document (likely
    a typo), with the nearest documented key when there is one.

    >>> unknown_settings(api={}, engine={"max_active_request": 120})[0].split("; ")[1]
    "did you mean 'max_active_requests'?"
    """
    found = []
    families = (("API", "api_settings", api), ("ENGINE", "engine_settings", engine))
    for family, prop, settings in families:
        for key in settings:
            if not isinstance(key, str) or key in _KNOWN[family]:
                continue
            near = difflib.get_close_matches(key, _KNOWN[family], n=1, cutoff=0.75)
            hint = f"; did you mean {near[0]!r}?" if near else "."
            found.append(f"{prop} key {key!r} is not a documented {family.lower()}.toml "
                         f"setting{hint}")
    return tuple(found)


_KNOWN = {"API": API_SETTINGS, "ENGINE": ENGINE_SETTINGS}


def discouraged_settings(*, engine: Mapping[str, object]) -> tuple[str, ...]:
    """One sentence per documented setting given a value Deepgram's SageMaker page advises
    against: ``health.gpu_required`` is a boolean it gives as never false
    (docs/aws-behaviour.md#deepgram-setting-keys).

    >>> discouraged_settings(engine={"health.gpu_required": False})[0][:41]
    "engine_settings['health.gpu_required'] is"
    """
    if engine.get("health.gpu_required") is False:
        return ("engine_settings['health.gpu_required'] is False: Deepgram's SageMaker "
                "configuration page gives it as a boolean never set to false on SageMaker's "
                "GPU instances; leave it out or set True.",)
    return ()


@dataclass(frozen=True, kw_only=True)
class DeepgramModel:
    """The model an endpoint serves. Build it with :meth:`from_model_package` or
    :meth:`from_image`."""

    model_package_arn: str | None = None
    image_uri: str | None = None
    product: DeepgramProduct | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    network_isolation: bool = True
    #: Setting keys Deepgram does not document, one sentence each; the endpoint warns.
    unknown_settings: tuple[str, ...] = ()
    #: Documented settings given a value Deepgram advises against; the endpoint warns.
    discouraged_settings: tuple[str, ...] = ()

    @staticmethod
    def from_model_package(
        model_package_arn: str,
        *,
        product: DeepgramProduct | None = None,
        api_settings: Mapping[str, SettingValue] | None = None,
        engine_settings: Mapping[str, SettingValue] | None = None,
    ) -> DeepgramModel:
        """A Deepgram model package from AWS Marketplace (subscribe first).

        Network isolation is always on: Deepgram requires it for Marketplace packages.

        :param model_package_arn: The package ARN for your region.
        :param product: Checks the endpoint's instance types against this product.
            Default: None (any GPU type).
        :param api_settings: Written to ``DEEPGRAM_API_01..08``. Default: none.
        :param engine_settings: Written to ``DEEPGRAM_ENGINE_01..08``. Default: none.
        """
        if not is_token(model_package_arn) and (
            not isinstance(model_package_arn, str)
            or not _MODEL_PACKAGE_ARN.match(model_package_arn)
        ):
            raise DeepgramScalingConfigError(
                "model_package_arn must be a SageMaker model-package ARN such as "
                "'arn:aws:sagemaker:us-east-1:123456789012:model-package/name', "
                f"got {fmt(model_package_arn)}"
            )
        return DeepgramModel(
            model_package_arn=model_package_arn,
            product=product,
            environment=deepgram_environment(api=api_settings or {}, engine=engine_settings or {}),
            network_isolation=True,
            unknown_settings=unknown_settings(api=api_settings or {},
                                              engine=engine_settings or {}),
            discouraged_settings=discouraged_settings(engine=engine_settings or {}),
        )

    @staticmethod
    def from_image(
        image_uri: str,
        *,
        product: DeepgramProduct | None = None,
        api_settings: Mapping[str, SettingValue] | None = None,
        engine_settings: Mapping[str, SettingValue] | None = None,
        network_isolation: bool = False,
        license_proxy_url: str | None = None,
        api_key_secret: secretsmanager.ISecret | None = None,
        api_key_secret_field: str | None = None,
    ) -> DeepgramModel:
        """A self-hosted Deepgram container image in Amazon ECR.

        The execution role gets pull access to exactly that repository. A self-hosted
        Deepgram container validates its licence with Deepgram's licence server, or with a
        License Proxy you run (docs/aws-behaviour.md#self-hosted-licence), so it needs
        network access unless the image carries its own offline licence configuration.

        :param image_uri: ``<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:<tag>]`` (or
            ``@sha256:<digest>``; a FIPS ``dkr.ecr-fips`` or dual-stack
            ``dkr-ecr.<region>.on.aws`` host is accepted too).
        :param network_isolation: Cut the container off the network. The licence check then
            fails unless the image needs no network for it; the endpoint warns at synthesis.
            Default: False.
        :param license_proxy_url: Your License Proxy, e.g. ``"https://license-proxy:8443"``.
            Written to both containers' ``license.server_url`` as the first choice, with
            Deepgram's own server as the fallback, as Deepgram's proxy deployment does.
            Default: None (the image's own licence configuration).
        :param api_key_secret: A Secrets Manager secret holding the self-hosted API key. It
            becomes ``DEEPGRAM_API_KEY`` through a CloudFormation dynamic reference: the
            template holds no plain text, but SageMaker stores the resolved value in the
            model, where ``DescribeModel`` shows it
            (docs/aws-behaviour.md#secrets-dynamic-reference). Default: None (the image's
            own configuration).
        :param api_key_secret_field: The JSON key of the API key inside the secret.
            Default: None (the whole secret string is the key).
        """
        problems = Problems()
        if not is_token(image_uri) and (
            not isinstance(image_uri, str) or not _ECR_IMAGE.match(image_uri)
        ):
            problems.add(
                "image_uri must be an Amazon ECR image such as "
                "'123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram:tag' (tag or "
                "@sha256 digest optional; dkr.ecr-fips and dkr-ecr.<region>.on.aws hosts too), "
                f"got {fmt(image_uri)}"
            )
        api = dict(api_settings or {})
        engine = dict(engine_settings or {})
        if license_proxy_url is not None:
            _check_license_proxy(problems, license_proxy_url, network_isolation, api, engine)
        if api_key_secret_field is not None and api_key_secret is None:
            problems.add("api_key_secret_field needs api_key_secret, got "
                         f"api_key_secret_field={api_key_secret_field!r} without a secret")
        problems.raise_if_any()
        environment = deepgram_environment(api=api, engine=engine)
        if license_proxy_url is not None:
            servers = [license_proxy_url, DEEPGRAM_LICENSE_SERVER]
            for family in ("API", "ENGINE"):
                number = sum(1 for name in environment if name.startswith(f"DEEPGRAM_{family}_"))
                environment[f"DEEPGRAM_{family}_{number + 1:02d}"] = (
                    f"{LICENSE_SERVER_SETTING}={toml_literal(servers)}"
                )
        if api_key_secret is not None:
            value = (api_key_secret.secret_value_from_json(api_key_secret_field)
                     if api_key_secret_field is not None else api_key_secret.secret_value)
            environment[API_KEY_VARIABLE] = value.unsafe_unwrap()
        return DeepgramModel(
            image_uri=image_uri,
            product=product,
            environment=environment,
            network_isolation=network_isolation,
            unknown_settings=unknown_settings(api=api, engine=engine),
            discouraged_settings=discouraged_settings(engine=engine),
        )

    @property
    def is_marketplace(self) -> bool:
        return self.model_package_arn is not None

    @property
    def region(self) -> str | None:
        """The region of the image or package, or None when it is a token."""
        if self.image_uri is not None and not is_token(self.image_uri):
            match = _ECR_IMAGE.match(self.image_uri)
            return _ecr_region(match) if match else None
        if self.model_package_arn is not None and not is_token(self.model_package_arn):
            return self.model_package_arn.split(":")[3]
        return None

    def region_problems(self, stack_region: str) -> list[str]:
        """Why this model cannot serve from a stack in ``stack_region``: an ECR image or a
        model package of another region (docs/aws-behaviour.md#model-region). Nothing is
        said when either region is a token."""
        region = self.region
        if region is None or is_token(stack_region) or region == stack_region:
            return []
        if self.image_uri is not None:
            return [f"model image_uri is in {region}, but the stack deploys to "
                    f"{stack_region}: SageMaker pulls a model's image only from Amazon ECR in "
                    f"the model's region; push or replicate the image to {stack_region}, got "
                    f"{self.image_uri!r}"]
        return [f"model model_package_arn is in {region}, but the stack deploys to "
                f"{stack_region}: use the package ARN Deepgram lists for {stack_region}, got "
                f"{self.model_package_arn!r}"]

    def warn_about_settings(self, scope: Construct) -> None:
        """Warn on ``scope`` about setting keys Deepgram does not document, and settings it
        discourages. (A model of another region is refused by the endpoint's rules, through
        :meth:`region_problems`.)"""
        for sentence in self.unknown_settings:
            Annotations.of(scope).add_warning_v2(
                UNKNOWN_SETTING_WARNING_ID,
                f"{sentence} It is passed on as given: Deepgram's containers may ignore it "
                "or fail to start (docs/aws-behaviour.md#deepgram-setting-keys).")
        for sentence in self.discouraged_settings:
            Annotations.of(scope).add_warning_v2(DISCOURAGED_SETTING_WARNING_ID, sentence)

    def execution_statements(self, scope: Construct) -> list[iam.PolicyStatement]:
        """What the execution role needs to pull this model's image (nothing for a package)."""
        if self.image_uri is None:
            return []
        stack = stack_of(scope)
        match = None if is_token(self.image_uri) else _ECR_IMAGE.match(self.image_uri)
        if match:
            repository_arn = Arn.format(
                ArnComponents(
                    service="ecr",
                    resource="repository",
                    resource_name=match.group("repo"),
                    region=_ecr_region(match),
                    account=match.group("account"),
                    arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                ),
                stack,
            )
        else:  # an image URI only known at deploy time: any repository of this account
            repository_arn = format_arn(stack, service="ecr", resource="repository",
                                        resource_name="*")
        return [
            iam.PolicyStatement(
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                         "ecr:GetDownloadUrlForLayer"],
                resources=[repository_arn],
            ),
            # GetAuthorizationToken has no resource-level permission: "*" is its only form.
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        ]


def _check_license_proxy(
    problems: Problems,
    url: object,
    network_isolation: bool,
    api: Mapping[str, SettingValue],
    engine: Mapping[str, SettingValue],
) -> None:
    if not is_token(url) and (not isinstance(url, str) or not re.fullmatch(r"https?://\S+", url)):
        problems.add("license_proxy_url must be an http(s) URL such as "
                     f"'https://license-proxy:8443', got {fmt(url)}")
    if network_isolation:
        problems.add("license_proxy_url needs network access, but network_isolation=True cuts "
                     "the container off every network; drop one of them, got both")
    for prop, settings in (("api_settings", api), ("engine_settings", engine)):
        if LICENSE_SERVER_SETTING in settings:
            problems.add(f"{prop} sets {LICENSE_SERVER_SETTING!r} and license_proxy_url sets it "
                         "too; keep one of them, got both")
        elif len(settings) >= MAX_SETTINGS_PER_FAMILY:
            problems.add(f"{prop} takes at most {MAX_SETTINGS_PER_FAMILY - 1} entries with "
                         f"license_proxy_url, which uses one more variable, got {len(settings)}")
