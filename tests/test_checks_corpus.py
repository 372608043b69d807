"""``deepgram-scaling check`` on public templates nobody here wrote (``tests/corpus/``).

Every expected finding (written from AWS's documentation before the checker ran, see each item's
``SOURCE.md``) must be reported on its resource with its level, and the checker must report no
error the item does not expect. Warnings beyond the expectations are counted by
``make corpus``, not failed here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.corpus_score import RULE_IDS, Finding, is_app, items, run, target
from deepgram_scaling.checks.template import load_template

CORPUS = items()
LICENCES = ("Apache-2.0", "MIT-0", "MIT", "BSD", "ISC", "CC-BY-SA")


def _id(item: Path) -> str:
    return item.name


def test_the_corpus_holds_at_least_ten_items() -> None:
    # given / when
    names = [item.name for item in CORPUS]

    # then
    assert len(names) >= 10, names


@pytest.mark.parametrize("item", CORPUS, ids=_id)
def test_every_item_names_its_source_and_a_licence_that_allows_redistribution(item: Path) -> None:
    # given
    source = (item / "SOURCE.md").read_text(encoding="utf-8")

    # when
    repository = re.search(r"^- Repository: https://github\.com/\S+", source, re.MULTILINE)
    commit = re.search(r"^- Commit: `[0-9a-f]{40}`", source, re.MULTILINE)
    licence = re.search(r"^- Licence: (.*)$", source, re.MULTILINE)

    # then
    assert repository and commit and licence, source[:400]
    assert any(name in licence.group(1) for name in LICENCES), licence.group(1)


@pytest.mark.parametrize("item", CORPUS, ids=_id)
def test_every_expectation_names_a_known_rule_a_level_and_a_reason(item: Path) -> None:
    # given
    entries = json.loads((item / "expected.json").read_text(encoding="utf-8"))

    # when
    resources = {
        path.name: set(load_template(path)["Resources"])
        for path in ([target(item)] if not is_app(item) else item.glob("*.template.json"))
    }

    # then
    for entry in entries:
        assert entry["rule"] in RULE_IDS, entry
        assert entry["level"] in ("error", "warning"), entry
        assert "https://" in entry["why"], entry
        template = entry["template"] if is_app(item) else target(item).name
        assert entry["resource"] in resources[template], entry


@pytest.mark.parametrize("item", CORPUS, ids=_id)
def test_every_expected_finding_is_reported_on_its_resource_with_its_level(item: Path) -> None:
    # given
    outcome = run(item)

    # when
    missed = outcome.missed

    # then
    assert not missed, (f"{target(item)}: expected but not reported: "
                        f"{[str(f) for f in missed]}; reported: "
                        f"{[str(f) for f in outcome.reported]}")


@pytest.mark.parametrize("item", CORPUS, ids=_id)
def test_no_error_is_reported_that_the_item_does_not_expect(item: Path) -> None:
    # given
    outcome = run(item)

    # when
    unexpected_errors: list[Finding] = [f for f in outcome.unexpected if f.level == "error"]

    # then
    assert not unexpected_errors, (f"{target(item)}: errors not expected: "
                                   f"{[str(f) for f in unexpected_errors]}")
