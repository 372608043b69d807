"""Helpers for users who snapshot-test stacks built with these constructs."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
ASSET_HASH_PLACEHOLDER = "<asset-hash>"
VERSION_PLACEHOLDER = "<deepgram-scaling-version>"


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
    ``CDKMetadata`` resource and condition, replaces asset hashes with ``"<asset-hash>"``
    and the library version in each endpoint's ``deepgram-scaling`` metadata with
    ``"<deepgram-scaling-version>"`` (so that upgrading the library alone changes no
    snapshot). The result is ready for syrupy or any other snapshot tool.
    """
    template: dict[str, Any] = dict(Template.from_stack(stack).to_json())
    template.get("Parameters", {}).pop("BootstrapVersion", None)
    template.get("Rules", {}).pop("CheckBootstrapVersion", None)
    template.get("Resources", {}).pop("CDKMetadata", None)
    template.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    for resource in template.get("Resources", {}).values():
        ours = resource.get("Metadata", {}).get("deepgram-scaling")
        if isinstance(ours, dict) and "version" in ours:
            ours["version"] = VERSION_PLACEHOLDER
    for section in ("Parameters", "Rules", "Conditions"):
        if section in template and not template[section]:
            del template[section]
    scrubbed: dict[str, Any] = scrub(template)
    return scrubbed
