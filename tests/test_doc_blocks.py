"""Every Python and shell block of README.md and docs/*.md runs here, so that no snippet can
rot. The conventions, written up in docs/contributing.md ("Blocks in the docs"):

- a ```python block runs in a fresh namespace, in a temporary working directory, in this
  process (one jsii kernel for all blocks: no synthesis process per block);
- a ```bash / ```sh / ```shell block runs under ``bash -euo pipefail`` in a temporary
  working directory, with this virtual environment's ``bin`` first on ``PATH``;
- an HTML comment on the line just above a block changes that:
  ``<!-- block: NAME -->`` names it; ``<!-- run-after: NAME -->`` runs the named block (its
  visible prelude, on any page) first, in the same namespace;
  ``<!-- not-run: REASON -->`` leaves it out (it needs AWS, deploys, installs, or would run
  ``make test`` inside itself), and the reason is shown on the page;
  ``<!-- snippet: NAME -->`` marks a calling snippet that a named test runs against
  botocore's Stubber (tests/test_calling.py); this module checks that such a test exists.

Blocks of other languages (``text``, ``json``, ``mermaid``, ...) are output or data, not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT

PYTHON = {"python", "py"}
SHELL = {"bash", "sh", "shell"}
# a fence, possibly indented (a block inside a list item), closed at the same indentation
FENCE = re.compile(r"^([ \t]*)```([\w+-]*)[^\n]*\n(.*?)^\1```[ \t]*$", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!--\s*(block|run-after|not-run|snippet):\s*(.*?)\s*-->")


HINT = ("Make the block complete (a visible prelude, or <!-- run-after: NAME -->), or mark "
        "it <!-- not-run: REASON --> on the line above it: see docs/contributing.md, "
        "'Blocks in the docs'")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    code: str
    markers: dict[str, str]

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()][:-1].split("\n")
        markers: dict[str, str] = {}
        # the comments directly above the fence (no blank line between them and it)
        for line in reversed(before[-3:]):
            marker = MARKER.fullmatch(line.strip())
            if marker is None:
                break
            markers[marker.group(1)] = marker.group(2)
        code = textwrap.dedent(match.group(3))
        found.append(Block(str(path.relative_to(ROOT)), text.count("\n", 0, match.start()) + 1,
                           match.group(2).lower(), code, markers))
    return found


ALL_BLOCKS = [block for path in pages() for block in blocks_of(path)]
NAMED = {block.markers["block"]: block for block in ALL_BLOCKS if "block" in block.markers}
PYTHON_BLOCKS = [b for b in ALL_BLOCKS if b.language in PYTHON and not b.markers.keys()
                 & {"not-run", "snippet"}]
SHELL_BLOCKS = [b for b in ALL_BLOCKS if b.language in SHELL and "not-run" not in b.markers]


def chain(block: Block) -> list[Block]:
    """The block's preludes, first to last, then the block."""
    order = [block]
    while "run-after" in order[0].markers:
        name = order[0].markers["run-after"]
        assert name in NAMED, f"{block.id}: run-after names no block {name!r}"
        assert NAMED[name] not in order, f"{block.id}: run-after loops through {name!r}"
        order.insert(0, NAMED[name])
    return order


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.id)
def test_python_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # given a fresh namespace in an empty directory (an App synthesizes into a temporary
    # outdir of its own; a block that writes files writes them here)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "doc_block"}

    # when the block runs after its preludes, then it raises nothing
    for each in chain(block):
        try:
            exec(compile(each.code, each.id, "exec"), namespace)
        except Exception as err:
            raise AssertionError(f"{each.id}: {type(err).__name__}: {err}. {HINT}") from err


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.id)
def test_shell_block_runs(block: Block, tmp_path: Path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{block.id}: {result.stderr.strip()}. {HINT}"


def test_every_left_out_block_says_why():
    unexplained = [b.id for b in ALL_BLOCKS if "not-run" in b.markers and not b.markers["not-run"]]
    assert unexplained == []


def test_every_snippet_is_run_by_a_test():
    tests = " ".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    snippets = [b for b in ALL_BLOCKS if "snippet" in b.markers]
    assert snippets, "the calling snippets are marked <!-- snippet: NAME -->"
    untested = [b.id for b in snippets if f'"{b.markers["snippet"]}"' not in tests]
    assert untested == []


def test_the_pages_hold_runnable_blocks_of_both_kinds():
    # a guard against a parser that silently finds nothing
    assert len(PYTHON_BLOCKS) >= 10 and len(SHELL_BLOCKS) >= 2
    assert {"realtime-app", "async-app"} <= NAMED.keys()
