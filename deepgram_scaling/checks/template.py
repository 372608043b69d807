"""Reading a CloudFormation template, JSON or YAML, into the dict the rules take.

YAML templates may use the short forms of the intrinsic functions (``!Ref``, ``!GetAtt``,
``!Sub``, ``!Join`` ...); they become the long forms (``{"Ref": ...}``,
``{"Fn::GetAtt": [...]}``), so every rule reads one shape. Dates stay strings
(``AWSTemplateFormatVersion: 2010-09-09`` is not a date to CloudFormation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class TemplateReadError(Exception):
    """A template that cannot be read; ``str()`` is one line naming the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader with CloudFormation's short-form tags and without implicit timestamps."""


# Copy the implicit resolvers without the timestamp one, so dates stay strings.
_CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node, deep=True)


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    value = _construct(loader, node)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        # !GetAtt Resource.Attribute (the attribute may itself hold dots)
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


def parse_template(text: str, name: str = "<template>") -> dict[str, Any]:
    """Parse template text (JSON or YAML) and check it has a ``Resources`` mapping."""
    try:
        if text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_CloudFormationLoader)
    except json.JSONDecodeError as err:
        raise TemplateReadError(name, f"invalid JSON at line {err.lineno}: {err.msg}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise TemplateReadError(name, f"invalid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise TemplateReadError(name, "not a CloudFormation template (no top-level mapping)")
    resources = data.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateReadError(name, "not a CloudFormation template (no Resources mapping)")
    return data


def load_template(path: str | Path) -> dict[str, Any]:
    """Read one template file; raises :class:`TemplateReadError` with a one-line reason."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateReadError(name, "no such file") from None
    except IsADirectoryError:
        raise TemplateReadError(name, "is a directory") from None
    except UnicodeDecodeError:
        raise TemplateReadError(name, "not UTF-8 text") from None
    except OSError as err:
        raise TemplateReadError(name, err.strerror or str(err)) from None
    return parse_template(text, name)


def resource_lines(text: str, logical_ids: set[str]) -> dict[str, int]:
    """The 1-based line on which each resource's logical id first appears as a key, for
    SARIF locations. A plain text scan: good enough for the two formats CloudFormation
    reads, and it costs no second parse."""
    lines: dict[str, int] = {}
    in_resources = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not in_resources:
            in_resources = stripped.startswith(('"Resources"', "Resources:"))
            continue
        key = stripped.split(":", 1)[0].strip().strip('"').strip("'")
        if key in logical_ids and key not in lines and ":" in stripped:
            lines[key] = number
    return lines
