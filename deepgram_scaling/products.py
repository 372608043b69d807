"""The Deepgram products and the SageMaker instance types each one supports.

This is data: add a product by constructing a :class:`DeepgramProduct`. Source: Deepgram's
supported-products page for SageMaker (docs/aws-behaviour.md#deepgram-products).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import DeepgramScalingConfigError


@dataclass(frozen=True, kw_only=True)
class DeepgramProduct:
    """A Deepgram model product and the instance types it runs on.

    :param name: Short product name, e.g. ``"nova-3"``.
    :param supported_instance_types: Every ``ml.*`` type the product is documented to run on.
    :param recommended_instance_type: The type Deepgram recommends; must be in the list.
    :param reason_for_limits: Why other types are refused (shown in errors). Default: "".
    """

    name: str
    supported_instance_types: tuple[str, ...]
    recommended_instance_type: str
    reason_for_limits: str = field(default="")

    def __post_init__(self) -> None:
        if not self.supported_instance_types:
            raise DeepgramScalingConfigError(
                f"supported_instance_types of product {self.name!r} must not be empty, got ()"
            )
        if self.recommended_instance_type not in self.supported_instance_types:
            raise DeepgramScalingConfigError(
                f"recommended_instance_type must be one of supported_instance_types, got "
                f"{self.recommended_instance_type!r}"
            )

    def supports(self, instance_type: str) -> bool:
        return instance_type in self.supported_instance_types


def _types(size: str, *families: str) -> tuple[str, ...]:
    return tuple(f"ml.{family}.{size}" for family in families)


#: Nova-3 speech-to-text: ml.g6.2xlarge recommended; g7, g7e, g6e, g5 and g4dn also run it.
NOVA_3 = DeepgramProduct(
    name="nova-3",
    supported_instance_types=_types("2xlarge", "g6", "g7", "g7e", "g6e", "g5", "g4dn"),
    recommended_instance_type="ml.g6.2xlarge",
)

#: Flux speech-to-text: like Nova-3, but not on g4dn.
FLUX_STT = DeepgramProduct(
    name="flux-stt",
    supported_instance_types=_types("2xlarge", "g6", "g7", "g7e", "g6e", "g5"),
    recommended_instance_type="ml.g6.2xlarge",
    reason_for_limits="Flux speech-to-text does not run on g4dn",
)

#: Aura-2 text-to-speech: needs two or more GPUs, so 12xlarge types only.
AURA_2_TTS = DeepgramProduct(
    name="aura-2-tts",
    supported_instance_types=_types("12xlarge", "g6", "g6e", "g5"),
    recommended_instance_type="ml.g6.12xlarge",
    reason_for_limits="Aura-2 needs 2 or more GPUs (12xlarge types); single-GPU types fail",
)

#: Flux text-to-speech: ml.g6e.2xlarge recommended; not on g5 or g4dn.
FLUX_TTS = DeepgramProduct(
    name="flux-tts",
    supported_instance_types=_types("2xlarge", "g6e", "g7", "g7e", "g6"),
    recommended_instance_type="ml.g6e.2xlarge",
    reason_for_limits="Flux text-to-speech does not run on g5 or g4dn",
)

#: Every built-in product by name, for configuration files and ``cdk.json`` context.
PRODUCTS: dict[str, DeepgramProduct] = {
    p.name: p for p in (NOVA_3, FLUX_STT, AURA_2_TTS, FLUX_TTS)
}
