"""The estimated cost of one ``make integ`` run, printed before anything is deployed.

The basis, as a reader can check it:

- **Instances** dominate. The real-time endpoint keeps one instance from creation to
  teardown. The async endpoint starts with one instance, which stays until idle scale-in
  takes it to zero; the test then wakes one instance at once, which stays until teardown.
  Both endpoints are counted for the whole run: the minutes at zero are few, and whether
  provisioning is billed is unconfirmed (docs/aws-behaviour.md#instance-billing), so this
  errs high. Both use ``instance_type``.
- **Durations** (minutes), expected and worst case (every wait runs to its timeout):
  endpoint creation 15 / 30, scalable-target, policy and alarm assertions 5 / 10, idle
  scale-in 25 / 45 (the assertion's timeout), wake-up 10 / 30 (its timeout), teardown 10 / 15.
- **Price per instance-hour**: ``DEEPGRAM_INTEG_PRICE_PER_HOUR`` if set, otherwise the
  simulator's illustrative figure for the type (``deepgram_scaling/simulator/params.py``,
  dated placeholders, not AWS quotes). Deepgram's Marketplace software fee per
  instance-hour, for a model package, is extra and shown by the listing.
- Not counted (cents): the assertion Lambda functions and Step Functions waiter, CloudWatch
  alarms, SNS, SQS, S3 requests. The test's KMS key is scheduled for deletion (7 days) at
  teardown; AWS does not charge for a key pending deletion.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from deepgram_scaling.simulator.params import DEFAULT_TYPES

DEFAULT_INSTANCE_TYPE = "ml.g6.2xlarge"


@dataclass(frozen=True, kw_only=True)
class Phases:
    """Minutes of each phase of a run."""

    create: float
    checks: float
    scale_in: float
    wake_up: float
    teardown: float

    @property
    def total(self) -> float:
        return self.create + self.checks + self.scale_in + self.wake_up + self.teardown

    def instance_hours(self) -> float:
        """Two endpoints, one instance each, for the whole run (see the module docstring)."""
        return 2 * self.total / 60


EXPECTED = Phases(create=15, checks=5, scale_in=25, wake_up=10, teardown=10)
WORST = Phases(create=30, checks=10, scale_in=45, wake_up=30, teardown=15)


def price_per_hour(instance_type: str, environ: dict[str, str] | None = None) -> float:
    environ = dict(os.environ if environ is None else environ)
    if "DEEPGRAM_INTEG_PRICE_PER_HOUR" in environ:
        return float(environ["DEEPGRAM_INTEG_PRICE_PER_HOUR"])
    if instance_type in DEFAULT_TYPES:
        return DEFAULT_TYPES[instance_type].price_per_hour
    raise ValueError(f"no illustrative price for {instance_type}: set "
                     "DEEPGRAM_INTEG_PRICE_PER_HOUR to your region's price per instance-hour")


def estimate(instance_type: str, environ: dict[str, str] | None = None) -> str:
    price = price_per_hour(instance_type, environ)
    lines = [f"make integ deploys two Deepgram endpoints on {instance_type} in the account "
             "of your AWS credentials, and costs money:"]
    for label, phases in (("expected", EXPECTED), ("worst case", WORST)):
        hours = phases.instance_hours()
        lines.append(f"  {label}: {phases.total:.0f} min, {hours:.1f} instance-hours x "
                     f"${price:.2f}/h = about ${hours * price:.2f}")
    lines.append("  plus Deepgram's Marketplace software fee per instance-hour (see your "
                 "listing) and a few cents of Lambda, Step Functions, CloudWatch, SNS, SQS, S3")
    source = ("DEEPGRAM_INTEG_PRICE_PER_HOUR" if "DEEPGRAM_INTEG_PRICE_PER_HOUR"
              in (os.environ if environ is None else environ)
              else "the simulator's illustrative price, not an AWS quote: set "
                   "DEEPGRAM_INTEG_PRICE_PER_HOUR to yours")
    lines.append(f"  price source: {source}")
    return "\n".join(lines)


def main() -> int:
    instance_type = os.environ.get("DEEPGRAM_INTEG_INSTANCE_TYPE", DEFAULT_INSTANCE_TYPE)
    try:
        print(estimate(instance_type))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
