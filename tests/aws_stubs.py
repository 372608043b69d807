"""botocore stubs for the tests of the commands that call AWS (``smoke``, ``status``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.stub import Stubber


def offline_session(region: str) -> Any:
    """A boto3 session with placeholder credentials, for clients a Stubber answers."""
    return boto3.session.Session(aws_access_key_id="testing",
                                 aws_secret_access_key="testing", region_name=region)


@contextmanager
def stubbed(*clients: Any) -> Iterator[list[Stubber]]:
    """An active Stubber per client, in order; on leaving, each must have handed out every
    response it was given."""
    stubbers = [Stubber(client) for client in clients]
    for stubber in stubbers:
        stubber.activate()
    yield stubbers
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()
