"""cdk-nag (v3 API) helpers: acknowledge one wildcard resource at a time, with a reason.

cdk-nag names an ``AwsSolutions-IAM5`` finding by the policy resource it flags, written in a
flattened form: ``Fn::Join`` parts concatenated, ``Ref`` as ``<Id>`` and ``Fn::GetAtt`` as
``<Id.Attr>``. :func:`nag_resource` builds that form from the same value the policy uses, so
an acknowledgement covers exactly that one resource, and survives renames of the construct.
"""

from __future__ import annotations

import weakref
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

# One kernel object per construct, asked for once: a policy gets several acknowledgements,
# and each ``Stack.of`` or ``Validations.of`` is a round trip to the jsii kernel
# (``make bench-synth``). Weak keys: a construct's entry goes with the construct.
_stacks: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()
_validations: weakref.WeakKeyDictionary[IConstruct, Validations] = weakref.WeakKeyDictionary()


def _stack_of(scope: IConstruct) -> Stack:
    stack = _stacks.get(scope)
    if stack is None:
        stack = _stacks[scope] = Stack.of(scope)
    return stack


def _validations_of(scope: IConstruct) -> Validations:
    validations = _validations.get(scope)
    if validations is None:
        validations = _validations[scope] = Validations.of(scope)
    return validations


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
    _validations_of(scope).acknowledge(
        Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{nag_resource(scope, resource)}]",
                       reason=reason)
    )


def acknowledge_rules(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge whole rules (e.g. ``HIPAA.Security-S3BucketReplicationEnabled``) on one
    resource only, all with the same specific reason."""
    _validations_of(scope).acknowledge(
        *(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids)
    )


def hipaa_and_nist(rule: str) -> tuple[str, str]:
    """The ids of a rule that the HIPAA Security and NIST 800-53 R5 packs share."""
    return (f"HIPAA.Security-{rule}", f"NIST.800.53.R5-{rule}")
