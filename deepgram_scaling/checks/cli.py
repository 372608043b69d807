"""``deepgram-scaling check TEMPLATE|DIR... [--format text|json|sarif]``.

A file is checked on its own. A directory (a cloud assembly such as ``cdk.out``, or a
folder of templates) is checked as one app: names, exports and the CDK's cross-stack
references resolve across its templates, and nested stacks are read (``assembly.py``).
Exit status: 1 when any finding is an error, 0 otherwise, 2 on bad usage or a template
that cannot be read (one line naming the file and the reason). Imports nothing of the
CDK, so it suits a pre-commit hook.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .assembly import all_rules, check_assembly, load_assembly, template_transforms
from .output import Report, as_json, as_sarif, as_text
from .rules import check_template
from .template import TemplateReadError, parse_template, resource_lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepgram-scaling check",
        description="Scaling-correctness checks for SageMaker endpoints in any CloudFormation "
                    "template (JSON or YAML). Rules: "
                    + ", ".join(r.name for r in all_rules()) + ".",
    )
    parser.add_argument("templates", nargs="+", metavar="TEMPLATE|DIR",
                        help="template files, or directories checked as one app each: a "
                             "cloud assembly (e.g. cdk.out) or a folder of *.template.json, "
                             ".yaml or .yml files")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                        help="output format (default: text)")
    return parser


def _read(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateReadError(path, "no such file") from None
    except UnicodeDecodeError:
        raise TemplateReadError(path, "not UTF-8 text") from None
    except OSError as err:
        raise TemplateReadError(path, err.strerror or str(err)) from None
    return text


def _report(path: str) -> Report:
    text = _read(path)
    template = parse_template(text, path)
    findings = check_template(template) + template_transforms(template)
    return Report(path, findings, resource_lines(text, {f.resource for f in findings}))


def reports(path: str) -> list[Report]:
    """One report per template: of the file, or of every template of the directory."""
    if not Path(path).is_dir():
        return [_report(path)]
    found = []
    for file, findings in check_assembly(load_assembly(path)).items():
        shown = str(file)
        lines = resource_lines(_read(shown), {f.resource for f in findings}) if findings else {}
        found.append(Report(shown, findings, lines))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        found = [report for path in args.templates for report in reports(path)]
    except TemplateReadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(as_json(found))
    elif args.format == "sarif":
        from importlib.metadata import PackageNotFoundError, version
        try:
            tool_version = version("deepgram-scaling")
        except PackageNotFoundError:
            tool_version = "0"
        print(as_sarif(found, version=tool_version))
    else:
        print(as_text(found))
    return 1 if any(f.level == "error" for r in found for f in r.findings) else 0


if __name__ == "__main__":
    sys.exit(main())
