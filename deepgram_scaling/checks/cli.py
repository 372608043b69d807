"""``deepgram-scaling check TEMPLATE... [--format text|json|sarif]``.

Exit status: 1 when any finding is an error, 0 otherwise, 2 on bad usage or a template
that cannot be read (one line naming the file and the reason). Imports nothing of the
CDK, so it suits a pre-commit hook.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .output import Report, as_json, as_sarif, as_text
from .rules import RULES, check_template
from .template import TemplateReadError, parse_template, resource_lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepgram-scaling check",
        description="Scaling-correctness checks for SageMaker endpoints in any CloudFormation "
                    "template (JSON or YAML). Rules: " + ", ".join(r.name for r in RULES) + ".",
    )
    parser.add_argument("templates", nargs="+", metavar="TEMPLATE",
                        help="template files, or directories whose *.template.json files "
                             "are checked (e.g. cdk.out)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                        help="output format (default: text)")
    return parser


def _expand(paths: Sequence[str]) -> list[str]:
    files: list[str] = []
    for path in paths:
        folder = Path(path)
        if folder.is_dir():
            found = sorted(str(p) for p in folder.glob("*.template.json"))
            if not found:
                raise TemplateReadError(path, "directory holds no *.template.json file")
            files += found
        else:
            files.append(path)
    return files


def _report(path: str) -> Report:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateReadError(path, "no such file") from None
    except UnicodeDecodeError:
        raise TemplateReadError(path, "not UTF-8 text") from None
    except OSError as err:
        raise TemplateReadError(path, err.strerror or str(err)) from None
    template = parse_template(text, path)
    findings = check_template(template)
    return Report(path, findings, resource_lines(text, {f.resource for f in findings}))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        reports = [_report(path) for path in _expand(args.templates)]
    except TemplateReadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(as_json(reports))
    elif args.format == "sarif":
        from importlib.metadata import PackageNotFoundError, version
        try:
            tool_version = version("deepgram-scaling")
        except PackageNotFoundError:
            tool_version = "0"
        print(as_sarif(reports, version=tool_version))
    else:
        print(as_text(reports))
    return 1 if any(f.level == "error" for r in reports for f in r.findings) else 0


if __name__ == "__main__":
    sys.exit(main())
