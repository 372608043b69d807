"""The Deepgram Python SDK, as calibration uses it: one async client per run.

A URL (``ws://host:8080``, ``wss://...``) becomes the SDK's environment, so streams go
through the SDK's own WebSocket transport and batch requests through its HTTP client. A
``transport_factory`` (the SageMaker transport, or a test's in-process one) replaces the
WebSocket transport. The SDK installs a factory process-wide by patching its modules, and
refuses a second, different one (docs/aws-behaviour.md#deepgram-sdk-transport-factory): a
run restores the SDK's own transport when it ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: Placeholder key for self-hosted servers and SageMaker, which do not read it.
PLACEHOLDER_KEY = "calibrate"
#: Where the SDK would connect by default; a transport factory only reads its path and query.
DEFAULT_URL = "wss://api.deepgram.com"


class SdkMissingError(RuntimeError):
    """deepgram-sdk is not installed."""


def _sdk() -> Any:
    try:
        import deepgram
    except ImportError:
        raise SdkMissingError("calibrate needs the Deepgram SDK: "
                              "pip install 'deepgram-scaling[calibrate]'") from None
    return deepgram


def base_urls(url: str) -> tuple[str, str]:
    """``(websocket base, http base)`` of a server URL, without a path."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("ws", "wss", "http", "https") or not parts.netloc:
        raise ValueError(f"url must be ws://, wss://, http:// or https:// with a host, "
                         f"got {url!r}")
    secure = scheme in ("wss", "https")
    ws = urlunsplit(("wss" if secure else "ws", parts.netloc, "", "", ""))
    http = urlunsplit(("https" if secure else "http", parts.netloc, "", "", ""))
    return ws, http


@contextmanager
def deepgram_client(*, url: str | None = None,
                    transport_factory: Callable[[str, dict[str, str]], Any] | None = None,
                    api_key: str | None = None) -> Iterator[Any]:
    """An ``AsyncDeepgramClient`` for a URL or a transport factory; the SDK's own
    transport is back in place when the block ends."""
    deepgram = _sdk()
    from deepgram.transport import restore_transport

    ws, http = base_urls(url or DEFAULT_URL)
    environment = deepgram.DeepgramClientEnvironment(base=http, production=ws, agent=ws,
                                                     agent_rest=http)
    key = api_key or os.environ.get("DEEPGRAM_API_KEY") or PLACEHOLDER_KEY
    restore_transport()
    kwargs: dict[str, Any] = {"api_key": key, "environment": environment}
    if transport_factory is not None:
        kwargs["transport_factory"] = transport_factory
    try:
        yield deepgram.AsyncDeepgramClient(**kwargs)
    finally:
        restore_transport()
