"""The mutation score per module from ``mutmut results --all true``: ``make mutants``.

Reads mutmut's result lines (``    deepgram_scaling.metric_math.x_name__mutmut_3: killed``)
on standard input and prints, per module, the mutants the tests reach (every status but
``no tests``, ``not checked`` and ``skipped``) and how many of them were killed. A timeout
counts as killed (the mutant made the tests hang, so they noticed it), and is shown apart.
``--by-function`` adds one line per function; ``--match`` keeps the functions whose names
contain one of the given words, e.g. ``--match queries_from_template check_pools``.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: ``<module>.x_<function>__mutmut_<n>`` or, for a method, ``<module>.xǁ<Class>ǁ<method>__...``.
_NAME = re.compile(r"^(?P<module>[\w.]+?)\.x(?:_|ǁ)(?P<function>[\wǁ]+?)__mutmut_\d+$")
UNREACHED = frozenset({"no tests", "not checked", "skipped"})
KILLED = frozenset({"killed", "timeout", "caught by type check"})


@dataclass(frozen=True)
class Mutant:
    module: str
    function: str
    status: str


def parse(lines: Iterable[str]) -> list[Mutant]:
    """The mutants of mutmut's result lines; other lines are ignored."""
    mutants = []
    for line in lines:
        name, sep, status = line.strip().rpartition(": ")
        match = _NAME.match(name) if sep else None
        if match:
            mutants.append(Mutant(match["module"], match["function"].replace("ǁ", "."),
                                  status.strip()))
    return mutants


@dataclass(frozen=True)
class Score:
    name: str
    counts: Counter[str]

    @property
    def reached(self) -> int:
        return sum(n for status, n in self.counts.items() if status not in UNREACHED)

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.counts.items() if status in KILLED)

    def line(self) -> str:
        reached, killed = self.reached, self.killed
        share = f"{100 * killed / reached:5.1f} %" if reached else "    - "
        extra = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items())
                          if status not in ("killed", "survived"))
        return (f"{self.name:<58} {killed:>4} of {reached:>4} reached killed ({share}); "
                f"{self.counts['survived']} survived" + (f"; {extra}" if extra else ""))


def scores(mutants: Sequence[Mutant], *, by_function: bool, match: Sequence[str]) -> list[Score]:
    keep = [m for m in mutants if not match or any(w in m.function for w in match)]
    groups: dict[str, Counter[str]] = {}
    for m in keep:
        groups.setdefault(m.module, Counter())[m.status] += 1
        if by_function:
            groups.setdefault(f"{m.module}.{m.function}", Counter())[m.status] += 1
    return [Score(name, counts) for name, counts in sorted(groups.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by-function", action="store_true")
    parser.add_argument("--match", nargs="*", default=[])
    args = parser.parse_args(argv)
    mutants = parse(sys.stdin)
    if not mutants:
        print("no mutmut results on standard input", file=sys.stderr)
        return 1
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    print(f"mutation score ({today}): killed of reached, timeouts counted as killed")
    for score in scores(mutants, by_function=args.by_function or bool(args.match),
                        match=args.match):
        print(score.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
