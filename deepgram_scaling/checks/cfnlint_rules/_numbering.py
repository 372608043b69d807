"""Stable cfn-lint ids for the scaling rules: ``E`` for errors, ``W`` for warnings, and a
number that never changes once given.

cfn-lint's own rules use the numbers up to 8999; 9xxx is left to custom rules. A rule keeps
its number for good (a renamed rule keeps its old one through ``ALIASES``); a rule added
without a number here gets one derived from its name in 9500-9999, stable across runs, so
that nothing breaks in the meantime, and the test asks for an entry.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

NUMBERS: Mapping[str, int] = {
    "MetricDimensions": 9101,
    "AsyncWakeUpFromZero": 9102,
    "MetricPublishedByEndpointType": 9103,
    "RealtimeMinCapacity": 9104,
    "AsyncScaleInStepFlaps": 9105,
    "AlarmTopicAllowsCloudWatch": 9106,
    "ScalableTargetResolvesToEndpoint": 9107,
    "ScalableTargetVariantExists": 9108,
    "EndpointNameDimensionIsAName": 9109,
    "MixedFleetSignalSurvivesEmptyPool": 9110,
    "StreamingScaleInCooldown": 9111,
    "RetainVariantProperties": 9112,
    "TransformNotExpanded": 9113,
    "WakeUpAddsWhileRunning": 9114,
    "WakeUpOnIndirectSignal": 9115,
    "InferenceComponentWakeUpFromZero": 9116,
    "InferenceComponentWakeUpNeedsTwoFailures": 9117,
    "InferenceComponentManagedScaling": 9118,
    "ScheduleExpression": 9119,
    "WakeUpAlarmWatchesTarget": 9120,
}
#: Ids that were renamed keep their number.
ALIASES: Mapping[str, str] = {"BacklogMetricDimensions": "MetricDimensions"}


def number(name: str) -> int:
    """The number of a rule, by its name (without the pack prefix)."""
    name = ALIASES.get(name, name)
    if name in NUMBERS:
        return NUMBERS[name]
    return 9500 + zlib.crc32(name.encode()) % 500


def cfn_lint_id(name: str, level: str) -> str:
    """``E9102`` for an error of AsyncWakeUpFromZero, ``W9102`` for a warning of it."""
    return ("E" if level == "error" else "W") + str(number(name))
