"""Small helpers that collect configuration problems and raise them once.

Values only known at deploy time (CDK tokens) are never range-checked: they pass through
to CloudFormation, which checks them at deploy time.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable
from typing import Any

from aws_cdk import Duration, Token

from .errors import DeepgramScalingConfigError


def is_token(value: Any) -> bool:
    """True for an unresolved CDK token (string, number, list or IResolvable).

    Only values the jsii kernel can encode are sent to it: NaN or infinity, for instance,
    would break the kernel's JSON channel and end every later CDK call of the process.
    Token numbers are large finite negative doubles, so non-finite numbers are never tokens.
    """
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    # Answered here without a round trip to the jsii kernel where the encoding allows it:
    # string tokens carry a "Token[" marker, and number tokens are huge negative doubles
    # (about -1.9e289); a plain int is never one.
    if isinstance(value, str) and "Token[" not in value:
        return False
    if isinstance(value, int) or (isinstance(value, float) and value > -1e288):
        return False
    if isinstance(value, str):
        return _string_is_token(value)
    if isinstance(value, (int, float)):
        return bool(Token.is_unresolved(value))
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value) and bool(Token.is_unresolved(value))
    if hasattr(value, "__jsii_ref__"):
        return bool(Token.is_unresolved(value))
    return False


@functools.lru_cache(maxsize=1024)
def _string_is_token(value: str) -> bool:
    """Whether a string holds a token: a test of its text alone, so the answer is kept (a
    stack's region, for one, is checked by every endpoint; ``make bench-synth``)."""
    return bool(Token.is_unresolved(value))


# Seconds of each Duration object, asked of the jsii kernel once: a Duration is immutable,
# and the same one is validated, rendered and compared several times per endpoint (each
# ``to_seconds`` is a round trip, ``make bench-synth``). Weak keys: an entry goes with its
# Duration, so an identity is never reused for another one.
_seconds: weakref.WeakKeyDictionary[Duration, float] = weakref.WeakKeyDictionary()


def to_seconds(value: Duration) -> float:
    """``value.to_seconds(integral=False)``, remembered per Duration object (a token number
    for a token duration)."""
    seconds = _seconds.get(value)
    if seconds is None:
        seconds = _seconds[value] = value.to_seconds(integral=False)
    return seconds


def whole_seconds(value: Duration) -> float:
    """``value.to_seconds()``: whole seconds, with the CDK's own error for a fraction."""
    seconds = to_seconds(value)
    if is_token(seconds) or seconds == int(seconds):
        return seconds
    return value.to_seconds()


def fmt(value: Any) -> str:
    """Echo a received value the way error messages show it."""
    if isinstance(value, Duration):
        return "<token>" if is_token(to_seconds(value)) else value.to_human_string()
    return repr(value)


class Problems:
    """Collects problems, then raises one :class:`DeepgramScalingConfigError`.

    :param path: The construct path the problems belong to (``Speech/Streaming``), or a
        function that returns it; each message is prefixed with it, so that with several
        endpoints in one app the error says which one failed. Default: None (no prefix).
    """

    def __init__(self, path: str | Callable[[], str] | None = None) -> None:
        self._items: list[str] = []
        self._path = path

    @property
    def path(self) -> str | None:
        """The construct path; given as a function, it is asked for only when a problem is
        raised (a construct's path is a round trip to the jsii kernel, ``make bench-synth``)."""
        if callable(self._path):
            self._path = self._path()
        return self._path

    def add(self, message: str) -> None:
        self._items.append(message)

    def extend(self, other: Problems) -> None:
        self._items.extend(other._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            prefix = f"{self.path}: " if self.path else ""
            raise DeepgramScalingConfigError([prefix + item for item in self._items])

    def run(self, *rules: Callable[[Problems], None]) -> None:
        """Run named rules, each adding what it finds, then raise once."""
        for rule in rules:
            rule(self)
        self.raise_if_any()

    # --- typed checks -------------------------------------------------------------

    def number(
        self,
        prop: str,
        value: Any,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        integer: bool = False,
        why: str = "",
    ) -> bool:
        """Check a number's type and range. Returns False when a problem was added."""
        if is_token(value):
            return True
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a whole number" if integer else "a number"
            self.add(f"{prop} must be {kind}, got {fmt(value)}")
            return False
        if not math.isfinite(value) or (integer and value != int(value)):
            kind = "a whole number" if integer else "a finite number"
            self.add(f"{prop} must be {kind}, got {fmt(value)}")
            return False
        too_low = minimum is not None and (
            value <= minimum if exclusive_minimum else value < minimum
        )
        too_high = maximum is not None and value > maximum
        if too_low or too_high:
            self.add(f"{prop} must be {_range_text(minimum, maximum, exclusive_minimum)}"
                     f"{' ' + why if why else ''}, got {fmt(value)}")
            return False
        return True

    def duration(
        self,
        prop: str,
        value: Any,
        *,
        minimum_s: float = 0,
        maximum_s: float | None = None,
        why: str = "",
    ) -> bool:
        """Check a :class:`aws_cdk.Duration` (whole seconds) and its range."""
        if not isinstance(value, Duration):
            self.add(f"{prop} must be an aws_cdk.Duration, got {fmt(value)}")
            return False
        seconds = to_seconds(value)
        if is_token(seconds):
            return True
        if seconds != int(seconds):
            self.add(f"{prop} must be a whole number of seconds, got {fmt(value)}")
            return False
        if seconds < minimum_s or (maximum_s is not None and seconds > maximum_s):
            rng = _range_text(minimum_s, maximum_s, False)
            self.add(f"{prop} must be {rng} seconds{' ' + why if why else ''}, "
                     f"got {fmt(value)}")
            return False
        return True


def _range_text(minimum: float | None, maximum: float | None, exclusive_min: bool) -> str:
    def num(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    if minimum is not None and maximum is not None:
        if exclusive_min:
            return f"> {num(minimum)} and <= {num(maximum)}"
        return f"between {num(minimum)} and {num(maximum)}"
    if minimum is not None:
        return f"{'>' if exclusive_min else '>='} {num(minimum)}"
    assert maximum is not None
    return f"<= {num(maximum)}"


def seconds_of(value: Duration) -> float:
    """Whole seconds of a validated Duration (a token number passes through)."""
    seconds = to_seconds(value)
    return seconds if is_token(seconds) else int(seconds)


def construct_path(scope: Any, construct_id: str) -> str:
    """The path a construct will have, before it exists (``Stack/Parent/Id``)."""
    parent = getattr(getattr(scope, "node", None), "path", "")
    return f"{parent}/{construct_id}" if parent else str(construct_id)
