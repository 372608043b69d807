"""The CSV layer of the trace formats (described in ``traces.py``): rows found by column
name, the two time forms (ISO-8601 or seconds), values > 0, and :class:`TraceError`, which
names the file and line of the first problem.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Generator
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from deepgram_scaling.errors import DeepgramScalingConfigError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The two time forms (one file uses one).
ISO = "iso"
NUMBER = "number"


class TraceError(DeepgramScalingConfigError):
    """A trace file breaks its format.

    The message starts with ``<file name>:<line>: `` so editors and terminals can jump to
    the row; the parts are also kept as attributes for callers that report errors their way.

    :param file_name: The trace file's name (without its directory).
    :param line: Physical line number in the file; the header is line 1.
    :param problem: What is wrong, quoting the offending value.
    """

    def __init__(self, file_name: str, line: int, problem: str) -> None:
        self.file_name = file_name
        self.line = line
        self.problem = problem
        super().__init__(f"{file_name}:{line}: {problem}")



def file_name(path: str | os.PathLike[str]) -> str:
    return os.path.basename(os.fspath(path))


def csv_rows(
    path: str | os.PathLike[str], columns: tuple[str, ...]
) -> Generator[tuple[int, list[str]], None, None]:
    """Yield ``(line, values of columns)`` for each data row, streaming the file.

    ``line`` is the physical line where the record starts, so a quoted field spanning lines
    still points the reader at the right place.
    """
    name = file_name(path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        indexes: list[int] | None = None
        fields = 0
        end = 0
        while True:
            line = end + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as err:
                raise TraceError(name, line, f"not readable as CSV: {err}") from None
            end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if indexes is None:
                header = [cell.strip() for cell in row]
                fields = len(header)
                missing = [column for column in columns if column not in header]
                if missing:
                    raise TraceError(
                        name,
                        line,
                        f"missing required column {missing[0]!r} "
                        f"(required: {', '.join(columns)}; header has: {', '.join(header)})",
                    )
                indexes = [header.index(column) for column in columns]
                continue
            values: list[str] = []
            for column, index in zip(columns, indexes, strict=True):
                if index >= len(row):
                    raise TraceError(
                        name,
                        line,
                        f"missing value for {column} (the row has {len(row)} fields, "
                        f"the header {fields})",
                    )
                values.append(row[index])
            yield line, values
        if indexes is None:
            raise TraceError(
                name, 1, f"empty file: expected a header row with columns {', '.join(columns)}"
            )


def parse_number(text: str) -> float | None:
    """The finite float ``text`` spells, else None (NaN and infinities are not times)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_iso(text: str) -> datetime | None:
    """An aware datetime for an ISO-8601 string (naive means UTC), else None.

    A trailing ``Z`` is rewritten as ``+00:00`` because Python 3.10's ``fromisoformat`` does
    not accept it.
    """
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


class TimeColumn:
    """Parses one time column onto a float axis, and catches rows that switch forms.

    Numeric times are their own axis. ISO times are measured in seconds from an anchor kept
    as exact integer microseconds: the caller's origin, or else the first ISO time read.
    Epoch seconds as floats carry only about 0.2 microseconds of resolution, so subtracting
    two of them would turn ``09:05:17.904`` minus ``09:00:00`` into ``317.904000043869``.
    Conversions between the axis and epoch seconds go through exact fractions, once per file.
    """

    def __init__(self, file_name: str, column: str, origin: float | None = None) -> None:
        self.file_name = file_name
        self.column = column
        self.form: str | None = None
        self.first_line = 0
        self._anchor_us: int | None = None
        if origin is not None:
            self.set_anchor(Fraction(origin))

    @property
    def anchor(self) -> Fraction:
        """Epoch seconds of axis 0 for ISO times; 0 for numeric ones (and before any row)."""
        if self.form != ISO or self._anchor_us is None:
            return Fraction(0)
        return Fraction(self._anchor_us, 1_000_000)

    def set_anchor(self, epoch: Fraction) -> None:
        """Measure ISO times from ``epoch`` (rounded to the microsecond) from now on."""
        self._anchor_us = round(epoch * 1_000_000)

    def parse(self, text: str, line: int) -> float:
        """The time's position on the axis, in seconds."""
        number = parse_number(text)
        if number is not None:
            form = NUMBER
        else:
            parsed = parse_iso(text)
            if parsed is None:
                raise TraceError(
                    self.file_name,
                    line,
                    f"{self.column} must be an ISO-8601 time or a number of seconds, "
                    f"got {text!r}",
                )
            form = ISO
            micros = (parsed - EPOCH) // timedelta(microseconds=1)
        if self.form is None:
            self.form, self.first_line = form, line
        elif form != self.form:
            described = {ISO: "an ISO-8601 time", NUMBER: "a number of seconds"}
            raise TraceError(
                self.file_name,
                line,
                f"{self.column} is {described[form]} but line {self.first_line} used "
                f"{described[self.form]}; one file must use one form, got {text!r}",
            )
        if number is not None:
            return number
        if self._anchor_us is None:
            self._anchor_us = micros
        return (micros - self._anchor_us) / 1_000_000

    def to_axis(self, time: float | Fraction) -> float:
        """An origin as the caller gives it (epoch seconds for ISO traces) on the axis."""
        return float(Fraction(time) - self.anchor)

    def to_epoch(self, axis: float | Fraction) -> float:
        """A position on the axis as epoch seconds (ISO) or trace seconds (numeric)."""
        return float(self.anchor + Fraction(axis))


def positive(text: str, column: str, file_name: str, line: int) -> float:
    value = parse_number(text)
    if value is None or value <= 0:
        raise TraceError(file_name, line, f"{column} must be a number > 0, got {text!r}")
    return value


def check_step(step_s: float) -> None:
    if not isinstance(step_s, (int, float)) or not math.isfinite(step_s) or step_s <= 0:
        raise DeepgramScalingConfigError(f"step_s must be a number > 0, got {step_s!r}")


def check_origin(origin: float | None) -> None:
    if origin is not None and (
        not isinstance(origin, (int, float)) or not math.isfinite(origin)
    ):
        raise DeepgramScalingConfigError(
            f"origin must be a finite number of seconds or None, got {origin!r}"
        )


def before_origin(column: TimeColumn, text: str, base: float) -> str:
    where = "epoch" if column.form == ISO else "on the trace's axis"
    origin = column.to_epoch(base)
    return f"{column.column} is before the origin ({origin:.6f} s {where}), got {text!r}"

