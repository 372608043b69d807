"""The one configuration error type the library raises."""

from __future__ import annotations


class DeepgramScalingConfigError(ValueError):
    """A construct or option was given a value it cannot use.

    Raised at construction time, before anything is synthesized. The message names the
    prop, echoes the value received and says what would be valid. When several props are
    wrong at once, all problems are listed in one message, separated by ``"; "``.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("; ".join(self.problems))
