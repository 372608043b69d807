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
    guide = " ".join((ROOT / "docs" / "getting-started.md").read_text().split())
    assert "the total time for the whole attempt across all pools" in guide
    for text in (docstring, guide):
        assert "tries one pool before falling back" not in text


def test_async_consumers_are_told_about_test_notifications():
    from deepgram_scaling import AsyncDeepgramEndpoint

    docstring = AsyncDeepgramEndpoint.grant_invoke_async.__doc__ or ""
    assert "TestNotification" in docstring and "anything-but" in docstring
    guide = (ROOT / "docs" / "getting-started.md").read_text()
    assert '"eventName":"TestNotification"' in guide
    assert 'string_filter(denylist=["TestNotification"])' in guide


def test_the_invoke_endpoint_body_limit_is_the_api_models():
    # AWS's API model caps InvokeEndpoint's Body at 6 MB; Deepgram's page says 25 MB. The
    # calling page cites both and plans for the API's limit
    # (docs/aws-behaviour.md#invoke-endpoint-body-size).
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    body = model.operation_model("InvokeEndpoint").input_shape.members["Body"]
    assert body.metadata["max"] == 6_291_456
    calling = " ".join((ROOT / "docs" / "calling.md").read_text().split())
    assert "6 MB (6,291,456 bytes" in calling and "25 MB per request body" in calling
    assert "plan for 6 MB" in calling


# Every heading of the README before it became a front page (all 31 of `git show
# 2e8cbc6:README.md`, code blocks aside), and the page that holds its text now, with the
# heading it has there when the page renamed it. Pages other helpers own are named too.
FORMER_README_HEADINGS: dict[str, str | tuple[str, str]] = {
    "deepgram-scaling": "README.md",
    "Which endpoint type?": "README.md",
    "Quick start": "README.md",
    "Using the constructs": "README.md",
    "The asynchronous endpoint": "README.md",
    "Calling the endpoints": "docs/calling.md",
    "Operating the endpoints": "docs/scaling.md",
    "Choosing a scaling mode (one prop each)": "docs/scaling.md",
    "Several policies on one target": "docs/scaling.md",
    "Mixed instance pools: capacity-aware scaling": "docs/instance-pools.md",
    "Dashboard and alarms": "docs/scaling.md",
    "Products and instance types": "docs/getting-started.md",
    "Configuration errors": "docs/configuration-errors.md",
    "Snapshot-testing your own stacks": "docs/getting-started.md",
    "Compliance: cdk-nag and cfn-lint": "docs/compliance-and-networking.md",
    "Private networking": "docs/compliance-and-networking.md",
    "Self-hosted images and their licence": "docs/self-hosted-images.md",
    "Updating a deployed stack": ("docs/updating-safely.md", "What a change replaces"),
    "Safe model updates: deployment guardrails": ("docs/updating-safely.md",
                                                  "Deployment guardrails"),
    "Endpoints another stack owns": "docs/getting-started.md",
    "Upgrading from 0.1": "docs/getting-started.md",
    "The example app": "docs/getting-started.md",
    "Deploying for real": "docs/getting-started.md",
    "Checking any SageMaker template": "docs/checking.md",
    "Choosing a strategy: the simulator": "docs/simulator.md",
    "Four strategies on one contact-centre day": "docs/simulator.md",
    "Commands": "docs/simulator.md",
    "The model and its parameters": "docs/simulator.md",
    "Integration tests in your account": "docs/integration-tests.md",
    "Architecture": "docs/architecture.md",
    "Development": "docs/contributing.md",
}


def headings(path: Path) -> list[str]:
    """The Markdown headings of a page, outside code blocks, as plain lowercase text."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
    return [" ".join(h.replace("`", "").lower().split())
            for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.MULTILINE)]


@pytest.mark.parametrize(("heading", "target"), sorted(FORMER_README_HEADINGS.items()))
def test_every_former_readme_heading_resolves_to_a_page(heading: str,
                                                        target: str | tuple[str, str]):
    # a heading resolves when the page has it (or the heading it was renamed to), alone or
    # as part of a longer heading (a page title such as "Operating the endpoints: choosing
    # and tuning scaling")
    page, heading = target if isinstance(target, tuple) else (target, heading)
    wanted = " ".join(heading.lower().split())
    assert (ROOT / page).is_file(), f"{page} does not exist"
    assert any(wanted in found for found in headings(ROOT / page)), (heading, page)


def test_the_readme_is_a_front_page_that_links_every_guide_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 400
    guide = (ROOT / "docs" / "README.md").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "README.md":
            assert f"]({page.name}" in guide, page.name
    for command in ("check", "describe", "status", "smoke", "calibrate", "simulate",
                    "recommend", "traces", "compare", "strategies"):
        assert re.search(rf"^\| `{command}\b", readme, re.MULTILINE), command


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower())
    return text.replace(" ", "-")


def test_every_link_between_the_pages_resolves():
    # the README and the guide link each other by path and heading; a renamed page or
    # section must not leave a dead link behind
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
        for target, anchor in re.findall(r"\]\(((?:[\w./-]+)?\.md|)(?:#([\w-]+))?\)", text):
            linked = (page.parent / target).resolve() if target else page
            if not linked.is_file():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
            elif anchor and linked.name != "aws-behaviour.md":
                raw = re.sub(r"^```.*?^```", "", linked.read_text(),
                             flags=re.MULTILINE | re.DOTALL)
                found = {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", raw, re.MULTILINE)}
                if anchor not in found:
                    broken.append(f"{page.relative_to(ROOT)} -> {target}#{anchor}")
    assert broken == []
