"""The ``deepgram-scaling`` command.

One table, :data:`COMMANDS`, lists every subcommand: its name, the ``module[:function]``
that runs it (imported only when the command runs, so ``check`` never loads the CDK) and
the line ``--help`` shows for it. A command's function takes the arguments after its name
and returns the exit status.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PROG = "deepgram-scaling"


@dataclass(frozen=True)
class Command:
    """One subcommand: ``name``, the ``module[:function]`` that runs it (``main`` when no
    function is named), and its one-line ``summary``."""

    name: str
    module: str
    summary: str


COMMANDS: tuple[Command, ...] = (
    Command("check", "deepgram_scaling.checks.cli",
            "scaling-correctness checks for any SageMaker template or cdk.out"),
    Command("describe", "deepgram_scaling.checks.describe",
            "each scaled endpoint's scaling in words (text, JSON or a Mermaid flowchart)"),
    Command("smoke", "deepgram_scaling.smoke",
            "send one request to a deployed endpoint: latency and the first words"),
    Command("status", "deepgram_scaling.status",
            "after an update: does every endpoint of a stack run what the stack expects?"),
    Command("calibrate", "deepgram_scaling.calibrate.cli",
            "measure how many streams (or requests) one instance serves within an SLO"),
    Command("simulate", "deepgram_scaling.simulator.cli:simulate_command",
            "replay a traffic trace against one endpoint's synthesized scaling"),
    Command("compare", "deepgram_scaling.simulator.cli:compare_command",
            "replay one trace against several endpoints' scaling, side by side"),
    Command("recommend", "deepgram_scaling.simulator.cli:recommend_command",
            "search for the cheapest scaling settings that meet a service level"),
    Command("traces", "deepgram_scaling.simulator.cli:traces_command",
            "generate seeded synthetic traffic traces ('traces generate')"),
    Command("strategies", "deepgram_scaling.simulator.cli:strategies_command",
            "synthesize the comparison strategies of the simulator docs into a template"),
)

EXAMPLES = (
    "deepgram-scaling check TEMPLATE --format sarif",
    "deepgram-scaling smoke --endpoint NAME --region eu-west-1",
    "deepgram-scaling status STACK_NAME --region eu-west-1",
)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(PROG)
    except PackageNotFoundError:
        return "unknown (not installed)"


def help_text() -> str:
    width = max(len(c.name) for c in COMMANDS)
    lines = [f"usage: {PROG} COMMAND [ARGS...]", f"       {PROG} --version", "",
             "Deepgram on SageMaker: check templates, test and inspect deployed endpoints, "
             "simulate scaling.", "", "commands:"]
    lines += [f"  {c.name:<{width}}  {c.summary}" for c in COMMANDS]
    lines += ["", f"'{PROG} COMMAND --help' lists a command's options. Examples:"]
    lines += [f"  {example}" for example in EXAMPLES]
    return "\n".join(lines)


def _entry(command: Command) -> Callable[[Sequence[str]], int]:
    module, _, function = command.module.partition(":")
    found: Callable[[Sequence[str]], int] = getattr(importlib.import_module(module),
                                                    function or "main")
    return found


def _dispatch(args: list[str]) -> int:
    if not args:
        print(help_text(), file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help"):
        print(help_text())
        raise SystemExit(0)
    if args[0] == "--version":
        print(f"{PROG} {version()}")
        raise SystemExit(0)
    for command in COMMANDS:
        if command.name == args[0]:
            return _entry(command)(args[1:])
    print(f"error: unknown command {args[0]!r}; commands: "
          + ", ".join(c.name for c in COMMANDS) + f" ('{PROG} --help')", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            status = _dispatch(args)
        except SystemExit:
            sys.stdout.flush()
            raise
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader went away (`deepgram-scaling ... | head -1`): stop quietly. Point
        # stdout at devnull so that the interpreter's last flush does not fail again
        # (Python's documentation, "Note on SIGPIPE" in the signal module).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
