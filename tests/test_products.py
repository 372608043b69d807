"""The Deepgram product catalogue."""

from __future__ import annotations

import pytest

from deepgram_scaling import (
    NOVA_3,
    PRODUCTS,
    DeepgramProduct,
    DeepgramScalingConfigError,
)


def test_catalogue():
    assert set(PRODUCTS) == {"nova-3", "flux-stt", "aura-2-tts", "flux-tts"}
    assert PRODUCTS["nova-3"].recommended_instance_type == "ml.g6.2xlarge"
    assert NOVA_3.supports("ml.g4dn.2xlarge")
    assert not PRODUCTS["flux-stt"].supports("ml.g4dn.2xlarge")
    assert not PRODUCTS["flux-tts"].supports("ml.g5.2xlarge")
    assert all(t.endswith(".12xlarge") for t in PRODUCTS["aura-2-tts"].supported_instance_types)


def test_custom_product_must_recommend_a_supported_type():
    with pytest.raises(DeepgramScalingConfigError, match="recommended_instance_type"):
        DeepgramProduct(name="x", supported_instance_types=("ml.g6.2xlarge",),
                        recommended_instance_type="ml.g5.2xlarge")
