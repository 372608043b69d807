"""Helpers for users who snapshot-test stacks built with these constructs."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
ASSET_HASH_PLACEHOLDER = "<asset-hash>"


def scrub(value: Any) -> Any:
    """Replace every 64-hex-digit asset hash inside a template fragment."""
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub(ASSET_HASH_PLACEHOLDER, value)
    return value


def snapshot_template(stack: Stack) -> dict[str, Any]:
    """The stack's template with the values that change between runs removed.

    Drops the ``BootstrapVersion`` parameter, the ``CheckBootstrapVersion`` rule and the
    ``CDKMetadata`` resource and condition, and replaces asset hashes with
    ``"<asset-hash>"``. The result is ready for syrupy or any other snapshot tool.
    """
    template: dict[str, Any] = dict(Template.from_stack(stack).to_json())
    template.get("Parameters", {}).pop("BootstrapVersion", None)
    template.get("Rules", {}).pop("CheckBootstrapVersion", None)
    template.get("Resources", {}).pop("CDKMetadata", None)
    template.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    for section in ("Parameters", "Rules", "Conditions"):
        if section in template and not template[section]:
            del template[section]
    scrubbed: dict[str, Any] = scrub(template)
    return scrubbed
