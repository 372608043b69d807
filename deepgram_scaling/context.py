"""Typed reading of CDK context values (``cdk.json`` and ``-c key=value``).

``-c`` delivers strings, ``cdk.json`` delivers JSON: both are accepted where they mean the
same thing, and anything else is a :class:`ContextValueError` that names the key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from constructs import Node

from .errors import DeepgramScalingConfigError


class ContextValueError(DeepgramScalingConfigError):
    """A context value has the wrong form."""


class ContextReader:
    """Reads typed values from a construct node's context, keys under one prefix."""

    def __init__(self, node: Node, prefix: str = "") -> None:
        self._node = node
        self._prefix = prefix
        self._all: dict[str, Any] | None = None

    def raw(self, key: str) -> Any:
        """The value as given (None when unset), for shapes this reader has no method for."""
        if self._all is None:  # one round trip to the jsii kernel, not one per key
            self._all = dict(self._node.get_all_context())
        return self._all.get(self._prefix + key)

    def _raw(self, key: str) -> Any:
        return self.raw(key)

    def _fail(self, key: str, expected: str, value: Any) -> ContextValueError:
        return ContextValueError(
            f"context key '{self._prefix}{key}' must be {expected}, got {value!r}"
        )

    def string(self, key: str, default: str, *, pattern: str | None = None,
               expected: str = "a string") -> str:
        value = self._raw(key)
        if value is None:
            return default
        if not isinstance(value, str) or (pattern and not re.fullmatch(pattern, value)):
            raise self._fail(key, expected, value)
        return value

    def integer(self, key: str, default: int) -> int:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self._fail(key, "a whole number", value)

    def number(self, key: str, default: float) -> float:
        value = self.optional_number(key)
        return default if value is None else value

    def optional_number(self, key: str) -> float | None:
        """A number, or None when the key is absent."""
        value = self._raw(key)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise self._fail(key, "a number", value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self._fail(key, "true or false", value)

    def string_list(self, key: str, default: list[str]) -> list[str]:
        """A JSON list of strings (``-c key='["a","b"]'``) or a comma-separated string."""
        value = self._raw(key)
        if value is None:
            return list(default)
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError:
                    raise self._fail(key, "a list of strings", value) from None
            else:
                value = [part.strip() for part in text.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings", value)
        return value
