"""cdk-nag (v3 API) helpers: acknowledge one wildcard resource at a time, with a reason.

cdk-nag names an ``AwsSolutions-IAM5`` finding by the policy resource it flags, written in a
flattened form: ``Fn::Join`` parts concatenated, ``Ref`` as ``<Id>`` and ``Fn::GetAtt`` as
``<Id.Attr>``. :func:`nag_resource` builds that form from the same value the policy uses, so
an acknowledgement covers exactly that one resource, and survives renames of the construct.

Inside :func:`batched` (each endpoint's constructor), acknowledgements are collected and
written when the outermost batch ends: the wildcard resources of one stack resolved in one
call, and each construct's acknowledgements in one ``acknowledge`` call, in the order they
were made. The metadata written is the same as one call per acknowledgement; the kernel
round trips are fewer (``make bench-synth``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from ._compat import remembered
from ._compat import stack_of as _stack_of

# One kernel object per construct, asked for once: a policy gets several acknowledgements,
# and each ``Validations.of`` (like ``Stack.of``, see ``_compat.stack_of``) is a round trip
# to the jsii kernel (``make bench-synth``). Weak keys: a construct's entry goes with the
# construct.
_validations: weakref.WeakKeyDictionary[IConstruct, Validations] = weakref.WeakKeyDictionary()


def _validations_of(scope: IConstruct) -> Validations:
    return remembered(_validations, scope, Validations.of)


class _Batch:
    """Acknowledgements waiting for the end of the outermost :func:`batched` block."""

    def __init__(self) -> None:
        self.depth = 0
        #: Per construct, in the order first seen: (rule id, or the IAM5 resource as given
        #: when it is a token still to be resolved; reason).
        self.pending: dict[IConstruct, list[tuple[str, str | None, str]]] = {}

    def flush(self) -> None:
        pending, self.pending = self.pending, {}
        tokens: dict[Stack, dict[str, str]] = {}  # per stack: token resource -> its flat form
        for scope, acks in pending.items():
            for _, resource, _ in acks:
                if resource is not None:
                    tokens.setdefault(_stack_of(scope), {})[resource] = ""
        for stack, forms in tokens.items():
            values = list(forms)
            for value, resolved in zip(values, stack.resolve(values), strict=True):
                forms[value] = _flatten(resolved)
        for scope, acks in pending.items():
            forms = tokens.get(_stack_of(scope), {}) if any(r for _, r, _ in acks) else {}
            _validations_of(scope).acknowledge(*(
                Acknowledgment(id=rule_id if resource is None else _iam5(forms[resource]),
                               reason=reason)
                for rule_id, resource, reason in acks))


_batch = _Batch()


@contextmanager
def batched() -> Iterator[None]:
    """Collect the acknowledgements made inside, and write them when the outermost batch
    ends (usable as a decorator). If the block raises, they are dropped with the construct
    that failed."""
    _batch.depth += 1
    try:
        yield
    except BaseException:
        if _batch.depth == 1:
            _batch.pending = {}
        raise
    else:
        if _batch.depth == 1:
            _batch.flush()
    finally:
        _batch.depth -= 1


def _iam5(flat_resource: str) -> str:
    return f"AwsSolutions-IAM5[Resource::{flat_resource}]"


def _add(scope: IConstruct, acks: list[tuple[str, str | None, str]]) -> None:
    if _batch.depth:
        _batch.pending.setdefault(scope, []).extend(acks)
        return
    _validations_of(scope).acknowledge(*(
        Acknowledgment(id=rule_id if resource is None
                       else _iam5(nag_resource(scope, resource)), reason=reason)
        for rule_id, resource, reason in acks))


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_flatten(part) for part in parts)
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Ref":
            return f"<{argument}>"
    raise ValueError(f"cannot flatten {value!r} the way cdk-nag names a resource")


def nag_resource(scope: IConstruct, value: str) -> str:
    """The flattened form cdk-nag uses for a policy resource (``value`` may be a token)."""
    if "Token[" not in value:  # a plain string is its own form: no resolution needed
        return value
    return _flatten(_stack_of(scope).resolve(value))


def acknowledge_wildcard(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge ``AwsSolutions-IAM5`` for one wildcard ``resource`` of the policy ``scope``.

    :param scope: The policy (or its owner) that holds the statement.
    :param resource: The resource ARN exactly as the statement uses it (token or string).
    :param reason: Why the wildcard cannot be narrowed: shown in cdk-nag's report.
    """
    if "Token[" in resource:
        _add(scope, [("", resource, reason)])
    else:  # a plain string is its own flat form
        _add(scope, [(_iam5(resource), None, reason)])


def acknowledge_rules(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge whole rules (e.g. ``HIPAA.Security-S3BucketReplicationEnabled``) on one
    resource only, all with the same specific reason."""
    _add(scope, [(rule_id, None, reason) for rule_id in rule_ids])


def hipaa_and_nist(rule: str) -> tuple[str, str]:
    """The ids of a rule that the HIPAA Security and NIST 800-53 R5 packs share."""
    return (f"HIPAA.Security-{rule}", f"NIST.800.53.R5-{rule}")
