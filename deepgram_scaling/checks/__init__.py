"""Scaling-correctness checks for SageMaker endpoints in any CloudFormation template.

The rules are pure functions over a parsed template (``rules.py``); ``deepgram-scaling
check`` runs them on files, and :class:`deepgram_scaling.SageMakerScalingChecks`
(``pack.py``, the only module here that imports the CDK) runs them during synthesis.
"""

from .rules import PACK, RULES, Finding, Rule, check_template
from .template import TemplateReadError, load_template, parse_template

__all__ = [
    "PACK",
    "RULES",
    "Finding",
    "Rule",
    "TemplateReadError",
    "check_template",
    "load_template",
    "parse_template",
]
