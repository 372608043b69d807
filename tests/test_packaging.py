"""The package as another project gets it: a wheel built from this checkout, installed into a
fresh virtual environment (no system site-packages, no access to this checkout), whose
``deepgram-scaling`` command runs.

To stay within about 20 s, the wheel is installed without its dependencies and with PyYAML
only: ``--help`` and ``--version`` need nothing but the standard library, and ``check``
needs only PyYAML. The CDK dependencies (aws-cdk-lib alone unpacks to hundreds of
megabytes) are not installed; instead the wheel's metadata is compared with pyproject.toml,
so that a full ``pip install`` brings every dependency the constructs import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # built as a user builds it: pip with build isolation, hatchling from the configured index
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "--disable-pip-version-check", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=180)
    (built,) = out.glob("deepgram_scaling-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel (and PyYAML); returns its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--quiet", "--disable-pip-version-check", "--no-deps", str(wheel), "PyYAML"],
                   check=True, capture_output=True, timeout=180)
    return env_dir / "bin"


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(bin_dir / "deepgram-scaling"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def normalized(requirement: Requirement) -> tuple[str, str]:
    return canonicalize_name(requirement.name), str(requirement.specifier)


def test_the_wheel_declares_every_dependency_and_the_command(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = f"deepgram_scaling-{PYPROJECT['version']}.dist-info"
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()

    declared = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    assert {normalized(r) for r in declared if r.marker is None} == \
        {normalized(Requirement(d)) for d in PYPROJECT["dependencies"]}
    assert "deepgram-scaling = deepgram_scaling.cli:main" in entry_points
    for module in ("deepgram_scaling/realtime.py", "deepgram_scaling/checks/rules.py",
                   "deepgram_scaling/simulator/engine.py", "deepgram_scaling/cli.py"):
        assert module in names
    assert not any("__pycache__" in name or name.startswith("tests/") for name in names)


def test_the_installed_command_runs_from_a_fresh_environment(installed: Path, tmp_path: Path):
    # given the wheel in a virtual environment of its own, run outside this checkout
    where = subprocess.run([str(installed / "python"), "-c",
                            "import deepgram_scaling; print(deepgram_scaling.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(installed.parent))

    # then --help lists the commands, --version names the release, and check judges a file
    helped = run(installed, "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    for command in ("check", "smoke", "simulate", "recommend", "strategies"):
        assert f"  {command} " in helped.stdout, command
    versioned = run(installed, "--version", cwd=tmp_path)
    assert (versioned.returncode, versioned.stdout.strip()) == \
        (0, f"deepgram-scaling {PYPROJECT['version']}")
    checked = run(installed, "check", str(ROOT / "tests/fixtures/checks/wrong.template.json"),
                  cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    assert checked.stdout.strip().endswith("in 1 template")
