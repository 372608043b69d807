"""``deepgram-scaling calibrate``: measure what one instance serves.

Streams (or pre-recorded requests) at rising concurrency through the Deepgram Python SDK,
judges each level against an SLO, and reports the capacity (the highest passing level) and
the target to scale on (75 % of it by default). Needs ``deepgram-scaling[calibrate]``; never
imports the CDK. See docs/calibration.md.
"""

from __future__ import annotations

from .api import CalibrationBusyError, calibrate_batch, calibrate_stream
from .audio import Audio, Clock, read_audio
from .levels import SearchPlan
from .result import CalibrationResult, LevelResult, load_result
from .runner import RunOptions
from .slo import Slo, parse_slo

__all__ = [
    "Audio", "CalibrationBusyError", "CalibrationResult", "Clock", "LevelResult", "RunOptions",
    "SearchPlan", "Slo", "calibrate_batch", "calibrate_stream", "load_result", "parse_slo",
    "read_audio",
]
