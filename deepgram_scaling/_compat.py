"""Logical ids that survive the 0.2 restructuring.

0.2 moved the scalable target, the alarm topic and the asynchronous storage into
constructs of their own, which changes their construct paths and so their logical ids.
CloudFormation replaces a resource whose logical id changes. For most resources that is
harmless (a policy, an alarm, a dashboard is created anew and the old one deleted), but not
for these:

- a scalable target: the new one registers the same variant again, then deleting the old one
  deregisters the variant, which deletes every scaling policy and scheduled action on it;
- a topic policy or bucket policy: deleting the old one resets the topic's or bucket's policy;
- a topic, bucket or key: subscriptions, objects and encrypted data stay with the old one.

So those resources keep the logical id they had in 0.1: :func:`keep_logical_id` computes it
from the 0.1 construct path the way the CDK does (``makeUniqueId`` in aws-cdk-lib's
``core/lib/private/uniqueid.ts``: the path components without ``Default``; a human part
without repeated components and without ``Resource``; the first 8 hex digits of the MD5 of
the path, upper case). A test compares it with the CDK's own ids.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import IConstruct

_HIDDEN_ID = "Default"
_HIDDEN_FROM_HUMAN_ID = "Resource"
_MAX_HUMAN_LENGTH = 240
_MAX_ID_LENGTH = 255


def _alphanumeric(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def cdk_logical_id(components: list[str]) -> str:
    """The logical id the CDK gives a resource at this path below its stack."""
    components = [c for c in components if c != _HIDDEN_ID]
    if not components:
        raise ValueError("a logical id needs at least one path component")
    if len(components) == 1:
        candidate = _alphanumeric(components[0])
        if len(candidate) <= _MAX_ID_LENGTH:
            return candidate
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()
    kept: list[str] = []
    for component in components:  # drop a component the one before it already ends with
        if not kept or not kept[-1].endswith(component):
            kept.append(component)
    human = "".join(_alphanumeric(c) for c in kept if c != _HIDDEN_FROM_HUMAN_ID)
    return human[:_MAX_HUMAN_LENGTH] + digest[:8].upper()


_Key = TypeVar("_Key")
_Answer = TypeVar("_Answer")


def remembered(known: weakref.WeakKeyDictionary[_Key, _Answer], key: _Key,
               ask: Callable[[_Key], _Answer]) -> _Answer:
    """``ask(key)``, asked once per key and kept in ``known``: for the lookups that are a
    round trip to the jsii kernel each (``make bench-synth``)."""
    answer = known.get(key)
    if answer is None:
        answer = known[key] = ask(key)
    return answer


# ``Stack.of`` per construct, asked of the jsii kernel once (each is a round trip,
# ``make bench-synth``). Weak keys: an entry goes with its construct.
_stacks: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()


def stack_of(scope: IConstruct) -> Stack:
    """``Stack.of(scope)``, remembered per construct."""
    return remembered(_stacks, scope, Stack.of)


class StackEnv(NamedTuple):
    """A stack's ``partition``, ``region`` and ``account`` (tokens or literals)."""

    partition: str
    region: str
    account: str


_envs: weakref.WeakKeyDictionary[Stack, StackEnv] = weakref.WeakKeyDictionary()


def stack_env(stack: Stack) -> StackEnv:
    """``stack``'s partition, region and account, asked of the kernel once per stack."""
    return remembered(_envs, stack, lambda s: StackEnv(s.partition, s.region, s.account))


def format_arn(stack: Stack, *, service: str, resource: str, resource_name: str,
               region: str | None = None, colon: bool = False) -> str:
    """``stack.format_arn(...)`` for these components, assembled on this side of the kernel
    as aws-cdk-lib's ``Arn.format`` assembles it (``arn:<partition>:<service>:<region>:
    <account>:<resource><sep><resource_name>``, ``sep`` ``:`` with ``colon`` (the
    ``COLON_RESOURCE_NAME`` format), else ``/``), from :func:`stack_env`: the same string,
    tokens included, without a round trip per ARN (``make bench-synth``).

    :param region: Default: the stack's (``""`` for a global service such as IAM).
    """
    env = stack_env(stack)
    region = env.region if region is None else region
    sep = ":" if colon else "/"
    return (f"arn:{env.partition}:{service}:{region}:{env.account}:"
            f"{resource}{sep}{resource_name}")


def share_stack(child: IConstruct, scope: IConstruct) -> None:
    """Remember that ``child``, a construct (not a stack) just created under ``scope``, is in
    ``scope``'s stack, so that :func:`stack_of` answers for it without a kernel call."""
    _stacks[child] = stack_of(scope)


def path_below_stack(scope: IConstruct, *, parent: IConstruct | None = None,
                     construct_id: str = "") -> list[str]:
    """The construct path of ``scope`` below its stack, as components. The nearest stack is
    found among ``node.scopes`` on this side of the kernel: three kernel calls, where asking
    the stack for its path costs five (``make bench-synth``); :func:`stack_of` remembers it.

    :param parent: The scope ``scope`` was created in, with ``construct_id``: when that is a
        stack, and the id one the constructs library keeps as given (no ``/`` or newline,
        which it would escape), the path is ``[construct_id]`` with no kernel call.
        Default: None (ask the kernel).
    """
    if isinstance(parent, Stack) and construct_id and not set(construct_id) & {"/", "\n"}:
        _stacks[scope] = parent
        return [construct_id]
    node = scope.node
    scopes = node.scopes  # the root first, then each scope down to ``scope`` itself
    # how many scopes lie below the nearest stack
    below = next((i for i, s in enumerate(reversed(scopes)) if isinstance(s, Stack)), None)
    if below is None:
        raise ValueError(f"{node.path} is not inside a stack")
    stack = scopes[len(scopes) - 1 - below]
    assert isinstance(stack, Stack)
    _stacks[scope] = stack
    return node.path.split("/")[-below:] if below else []


def keep_logical_id(resource: CfnResource, owner_path: Sequence[str], *legacy: str) -> None:
    """Give ``resource`` the logical id it had in 0.1, when it lived at ``legacy`` below the
    endpoint construct whose path below its stack is ``owner_path``
    (:func:`path_below_stack`, computed once per endpoint)."""
    resource.override_logical_id(cdk_logical_id([*owner_path, *legacy]))


#: The L1 types that are an L2's resource policy, at ``<L2>/Policy/Resource``.
_RESOURCE_POLICIES = (s3.CfnBucketPolicy, sns.CfnTopicPolicy)


def keep_logical_ids(construct: IConstruct, owner_path: Sequence[str], *legacy: str) -> None:
    """Give the L1 resources of the L2 ``construct`` (a key, bucket or topic) the logical ids
    they had in 0.1, when the L2 lived at ``legacy`` below the endpoint: its resource
    (``<legacy>/Resource``) and its resource policy, when it has one
    (``<legacy>/Policy/Resource``). One ``find_all`` lists both, where looking up the default
    child and the policy's costs eight kernel calls (``make bench-synth``)."""
    _keep_resources([c for c in construct.node.find_all() if isinstance(c, CfnResource)],
                    owner_path, legacy)


def keep_children_logical_ids(parent: IConstruct, owner_path: Sequence[str],
                              children: Sequence[tuple[IConstruct, str]]) -> None:
    """:func:`keep_logical_ids` for several L2 children of ``parent``, each with the name it
    had in 0.1, from one ``find_all`` on ``parent`` (two kernel calls in all, where each
    child's own ``find_all`` costs two). The listing is pre-order: an L2's resources follow
    it, up to the next child. Every resource below ``parent`` must belong to one of
    ``children`` (checked: one resource and at most one policy per child)."""
    found: dict[str, list[CfnResource]] = {name: [] for _, name in children}
    current: str | None = None
    for construct in parent.node.find_all():
        name = next((n for child, n in children if child is construct), None)
        if name is not None:
            current = name
        elif isinstance(construct, CfnResource):
            if current is None:
                raise ValueError(f"a {type(construct).__name__} below the parent belongs to "
                                 f"none of {[n for _, n in children]}")
            found[current].append(construct)
    for name, resources in found.items():
        _keep_resources(resources, owner_path, (name,))


def _keep_resources(resources: list[CfnResource], owner_path: Sequence[str],
                    legacy: Sequence[str]) -> None:
    policies = [c for c in resources if isinstance(c, _RESOURCE_POLICIES)]
    own = [c for c in resources if not isinstance(c, _RESOURCE_POLICIES)]
    if len(own) != 1 or len(policies) > 1:
        raise ValueError(f"expected one resource and at most one resource policy below "
                         f"{'/'.join(legacy)}, got {[type(c).__name__ for c in resources]}")
    keep_logical_id(own[0], owner_path, *legacy, "Resource")
    for policy in policies:
        keep_logical_id(policy, owner_path, *legacy, "Policy", "Resource")
