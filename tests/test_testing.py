"""Test helpers the package ships, and the project's declared floor."""

from __future__ import annotations

from deepgram_scaling.testing import scrub


def test_scrub_replaces_asset_hashes_only():
    digest = "a" * 64
    assert scrub({"S3Key": f"{digest}.json", "n": 1, "l": ["x"]}) == {
        "S3Key": "<asset-hash>.json", "n": 1, "l": ["x"]}


def test_the_declared_python_floor_is_the_one_the_code_needs():
    # The simulator reads TOML with tomllib (3.11+); the package must not claim 3.10, and CI
    # runs on the floor it claims (the machines here run 3.11).
    import sys
    import tomllib

    from .conftest import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert sys.version_info[:2] >= (3, 11)
