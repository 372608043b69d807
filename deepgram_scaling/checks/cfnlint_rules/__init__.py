"""The scaling checks as cfn-lint rules: ``cfn-lint --append-rules <this directory>``.

cfn-lint loads every ``*.py`` file of the directory whose name starts with a letter or a
digit (so not this one) and instantiates each ``CloudFormationLintRule`` subclass it
finds. :mod:`.SageMakerScaling` defines one subclass per rule and level; this package only
says where the directory is::

    cfn-lint --append-rules "$(python -m deepgram_scaling.checks.cfnlint_rules)" template.yaml

Nothing here imports cfn-lint: ``import deepgram_scaling.checks`` stays light.
"""

from __future__ import annotations

from pathlib import Path

#: The directory to pass to ``cfn-lint --append-rules``.
RULES_DIR = Path(__file__).resolve().parent
