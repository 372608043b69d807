"""``python -m deepgram_scaling.checks.cfnlint_rules`` prints the rule directory."""

from . import RULES_DIR

print(RULES_DIR)
