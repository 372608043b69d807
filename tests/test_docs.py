"""docs/aws-behaviour.md stays the project's one index of the AWS and Deepgram behaviour it
relies on: every reference to it resolves, every test it names exists, and nothing in the
project points at a document outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT

DOC = ROOT / "docs" / "aws-behaviour.md"
ANCHOR_REFERENCE = re.compile(r"aws-behaviour\.md#([a-z0-9-]+)")
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
PRIMARY_SOURCE = re.compile(
    r"https://(?:docs\.aws\.amazon\.com|repost\.aws|developers\.deepgram\.com|"
    r"github\.com/deepgram-devs)/[^\s,)]+")


def project_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "app.py", ROOT / "Makefile", ROOT / "pyproject.toml"]
    for folder in ("deepgram_scaling", "tests", "docs", "bench", "integ"):
        if (ROOT / folder).is_dir():
            files += [p for p in (ROOT / folder).rglob("*")
                      if p.suffix in {".py", ".md", ".toml", ".json"} and p.is_file()
                      and "__snapshots__" not in p.parts and "__pycache__" not in p.parts]
    return files


def anchors() -> set[str]:
    return set(re.findall(r'<a id="([a-z0-9-]+)"></a>', DOC.read_text()))


def test_every_reference_to_the_behaviour_doc_resolves():
    known = anchors()
    missing = {
        f"{path.relative_to(ROOT)}: #{anchor}"
        for path in project_files()
        for anchor in ANCHOR_REFERENCE.findall(path.read_text(errors="replace"))
        if anchor not in known
    }
    assert missing == set()


def test_every_test_the_doc_names_exists():
    text = DOC.read_text()
    named = TEST_REFERENCE.findall(text)
    assert len(named) >= 30
    absent = [f"{file}::{name}" for file, name in named
              if not re.search(rf"^\s*def {name}\(", (ROOT / file).read_text(), re.MULTILINE)]
    assert absent == []


def test_every_entry_cites_a_source_and_a_pin():
    sections = re.split(r'\n<a id="', DOC.read_text())[1:]
    for section in sections:
        anchor = section.split('"', 1)[0]
        assert "Source" in section or "Sources checked" in section, anchor
        assert "Pinned by" in section, anchor


def test_the_doc_cites_at_least_fifteen_primary_pages():
    pages = set(PRIMARY_SOURCE.findall(DOC.read_text()))
    assert len(pages) >= 15, sorted(pages)


@pytest.mark.parametrize("pattern", [
    r"facts file", r"sagemaker-scaling-facts", r"\.\./shared", r"toolchain-notes",
    r"/work/", r"/tmp/research",
])
def test_nothing_points_outside_the_repository(pattern: str):
    offenders = [str(path.relative_to(ROOT)) for path in project_files()
                 if path.name != "test_docs.py"
                 and re.search(pattern, path.read_text(errors="replace"))]
    assert offenders == []


def test_the_provision_timeout_is_documented_as_the_total_across_pools():
    # SageMaker falls back at once on an insufficient-capacity error; the timeout bounds the
    # whole attempt (docs/aws-behaviour.md#instance-pools). It is not a wait per pool.
    from deepgram_scaling import RealtimeDeepgramEndpoint

    docstring = " ".join((RealtimeDeepgramEndpoint.__doc__ or "").split())
    assert "total time SageMaker spends provisioning instances across all pools" in docstring
    readme = " ".join((ROOT / "README.md").read_text().split())
    for text in (docstring, readme):
        assert "tries one pool before falling back" not in text


def test_async_consumers_are_told_about_test_notifications():
    from deepgram_scaling import AsyncDeepgramEndpoint

    docstring = AsyncDeepgramEndpoint.grant_invoke_async.__doc__ or ""
    assert "TestNotification" in docstring and "anything-but" in docstring
    assert '"eventName":"TestNotification"' in (ROOT / "README.md").read_text()
