"""The ``deepgram-scaling`` command a user meets: its help, version, options, errors and
behaviour in a pipe."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from deepgram_scaling import cli

from .conftest import ROOT


def command() -> list[str]:
    return [sys.executable, "-m", "deepgram_scaling.cli"]


def test_help_lists_every_command_on_one_line_each(capsys):
    # when the top-level help is asked for
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])

    # then it exits 0 and every command of the table has exactly one line, with its summary
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for entry in cli.COMMANDS:
        lines = [line for line in out.splitlines() if line.split()[:1] == [entry.name]]
        assert len(lines) == 1, entry.name
        assert lines[0].strip().endswith(entry.summary)
    assert "deepgram-scaling COMMAND --help" in out


def test_every_command_in_the_table_can_be_loaded():
    # each row names a module (and function) that exists and takes the arguments
    for entry in cli.COMMANDS:
        module, _, function = entry.module.partition(":")
        assert callable(getattr(importlib.import_module(module), function or "main"))
    assert len({c.name for c in cli.COMMANDS}) == len(cli.COMMANDS)


def test_version_is_the_packages(capsys):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])

    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"deepgram-scaling {project['version']}\n"


def test_no_command_prints_the_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "commands:" in capsys.readouterr().err


def test_an_unknown_command_is_one_line(capsys):
    assert cli.main(["stauts"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: unknown command 'stauts'; commands: ")
    assert all(entry.name in err for entry in cli.COMMANDS)


def _options(parser: argparse.ArgumentParser, where: str) -> list[tuple[str, str | None]]:
    """Every option (a flag, not a positional) of a parser and its subparsers, with its help."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _options(sub, f"{where} {name}")
        elif action.option_strings and not isinstance(action, argparse._HelpAction):
            found.append((f"{where} {'/'.join(action.option_strings)}", action.help))
    return found


class _Parsed(Exception):
    """Raised in place of parsing, once the command's parser is built."""


@pytest.mark.parametrize("entry", cli.COMMANDS, ids=lambda c: c.name)
def test_every_option_has_help_text(entry, monkeypatch):
    # given the parser a command builds (caught where it would parse its arguments)
    built: list[argparse.ArgumentParser] = []

    def caught(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        built.append(self)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", caught)
    module, _, function = entry.module.partition(":")
    with pytest.raises(_Parsed):
        getattr(importlib.import_module(module), function or "main")(["--help"])

    # then each of its options, and its subcommands' options, says what it does
    missing = [option for option, text in _options(built[0], entry.name) if not text]
    assert missing == []


def test_a_template_with_several_endpoints_needs_endpoint(example_template, tmp_path, capsys):
    # given the example app's template, which has a real-time and an async endpoint
    path = tmp_path / "t.json"
    path.write_text(json.dumps(example_template.to_json()))
    trace = tmp_path / "t.csv"
    trace.write_text("start,duration_s\n0,30\n")

    # when simulate runs without --endpoint
    status = cli.main(["simulate", str(path), "--trace", str(trace)])

    # then it says why and lists the endpoints, on one line
    assert status == 2
    err = capsys.readouterr().err
    assert err == ("error: the template has 2 endpoints: pass --endpoint with one of "
                   "Batch, Realtime\n")


def test_a_closed_pipe_is_not_a_traceback(tmp_path):
    # given a reader that has gone before the command writes (`... | head -0`)
    template = ROOT / "tests" / "fixtures" / "checks" / "wrong.template.json"
    process = subprocess.Popen([*command(), "check", str(template), "--format", "json"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()

    # when the command writes its findings
    err = process.stderr.read().decode()
    process.wait(timeout=60)

    # then it stops quietly
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert process.returncode == 1


def test_the_light_commands_never_import_the_cdk():
    code = ("import sys, importlib; import deepgram_scaling.cli as c; "
            "[importlib.import_module(r.module.partition(':')[0]) for r in c.COMMANDS "
            "if r.name in ('check', 'smoke', 'status')]; sys.exit('aws_cdk' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_cli_page_documents_every_command():
    page = (ROOT / "docs" / "cli.md").read_text()
    for entry in cli.COMMANDS:
        assert f"`deepgram-scaling {entry.name}" in page, entry.name
    assert "Exit status" in page or "exit status" in page
    assert Path(ROOT / "deepgram_scaling" / "cli.py").is_file()
