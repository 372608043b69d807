"""A folder of templates (a CDK cloud assembly such as ``cdk.out``) checked as one app.

The rules take one template. A folder becomes one *virtual* template: every resource gets
the logical id ``<stack>::<LogicalId>`` (``<stack>::<NestedStack>::<LogicalId>`` inside a
nested stack), and every ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``DependsOn`` is rewritten
to match, so that logical ids repeated across stacks stay apart. What ties stacks together
is replaced by the value it stands for, rewritten in the stack that holds it:

- ``Fn::ImportValue`` by the ``Value`` of the output whose ``Export`` ``Name`` it names
  (docs/aws-behaviour.md#cross-stack-exports); the CDK's strong cross-stack references
  synthesize as such an export and import;
- ``Fn::GetStackOutput`` (the CDK's weak cross-stack references) by the named stack's
  output;
- ``Fn::GetAtt`` on the CDK's ``Custom::CrossRegionExportReader`` (strong references across
  regions, through ``/cdk/exports/...`` SSM parameters) by the value the producer's
  ``Custom::CrossRegionExportWriter`` writes under that parameter name;
- inside a nested stack, ``Ref`` on a parameter by the value the parent passes in its
  ``Parameters``, and in the parent ``Fn::GetAtt <NestedStack>.Outputs.<Name>`` by the
  child's output (docs/aws-behaviour.md#nested-stack-parameters).

Stack dependencies read from ``manifest.json`` become ``DependsOn`` through one synthetic
resource per stack (``<stack>::*``, which depends on every resource of the stack): a
resource of a stack that depends on another is created after all of the other's resources
(docs/aws-behaviour.md#stack-dependencies). The rules run unchanged on the virtual
template; :func:`check_folder` reports each finding on the template file and logical id it
came from.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .resolve import references, render
from .rules import RULES, Finding, Rule, check_template
from .template import TemplateReadError, load_template

NESTED_STACK = "AWS::CloudFormation::Stack"
#: The CDK's cross-region strong references: the producer's writer puts each value in an SSM
#: parameter of the consumer's region; the consumer's reader has one attribute per parameter.
EXPORT_WRITER = "Custom::CrossRegionExportWriter"
EXPORT_READER = "Custom::CrossRegionExportReader"
#: The type of the synthetic resources that carry stack order; no rule reads it.
ORDER = "DeepgramScaling::Assembly::Order"
#: Pseudo parameters whose value differs from stack to stack.
_PER_STACK = frozenset({"AWS::StackName", "AWS::StackId"})
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_TEMPLATE_GLOBS = ("*.template.json", "*.template.yaml", "*.template.yml",
                   "template.json", "template.yaml", "template.yml")
#: Folders of a project that hold no app of its own (installed dependencies).
_NOT_APPS = frozenset({"node_modules", "venv", "site-packages"})
#: How deep imports and nested parameters may chain before a value is left as written.
_MAX_DEPTH = 32
#: Between a stack's prefix and a logical id in the virtual template. Not "/" (a scalable
#: target's ResourceId is split on it) nor "." (Fn::GetAtt's Resource.Attribute).
SEP = "::"


@dataclass
class Stack:
    """One template of the folder: a stack, or a nested stack inside one."""

    prefix: str
    path: Path
    template: dict[str, Any]
    stack_name: str | None = None
    depends_on: list[str] = field(default_factory=list)  # artifact ids, manifest only
    artifact: str | None = None
    parent: Stack | None = None
    #: parameter -> the value the parent passes, written in the parent's terms
    passed: dict[str, Any] = field(default_factory=dict)
    #: nested stack logical id -> the child stack
    children: dict[str, Stack] = field(default_factory=dict)
    nested_in: str | None = None  # virtual id of the parent's AWS::CloudFormation::Stack

    @property
    def resources(self) -> dict[str, Any]:
        found = self.template.get("Resources")
        return found if isinstance(found, dict) else {}

    @property
    def outputs(self) -> dict[str, Any]:
        found = self.template.get("Outputs")
        return found if isinstance(found, dict) else {}

    def root(self) -> Stack:
        return self if self.parent is None else self.parent.root()

    def descendants(self) -> Iterator[Stack]:
        yield self
        for child in self.children.values():
            yield from child.descendants()


@dataclass
class Assembly:
    """The virtual template of a folder, and where each of its resources came from."""

    folder: Path
    stacks: list[Stack]  # every stack, nested ones after their parent
    template: dict[str, Any]
    #: virtual logical id -> (template file, logical id in that file)
    origin: dict[str, tuple[Path, str]]

    def files(self) -> list[Path]:
        return [stack.path for stack in self.stacks]


# --- reading the folder -------------------------------------------------------------------


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TemplateReadError(str(path), f"unreadable cloud assembly manifest: {err}") from None
    return data if isinstance(data, dict) else None


def _safe(text: str) -> str:
    # a "." in a virtual id would split it where the rules read Resource.Attribute, and a
    # "/" where they read endpoint/<name>/variant/<variant>
    return text.replace(".", "_").replace("/", "_")


def _from_manifest(folder: Path, manifest: Mapping[str, Any], prefix: str,
                   keys: str = "") -> list[Stack]:
    """The stacks of a cloud assembly. ``prefix`` goes before each stack's shown name (the
    folder of an app among several); ``keys`` keeps the artifact ids of nested assemblies
    (stages) apart."""
    stacks: list[Stack] = []
    artifacts = manifest.get("artifacts")
    for artifact_id, artifact in (artifacts if isinstance(artifacts, Mapping) else {}).items():
        if not isinstance(artifact, Mapping):
            continue
        properties = artifact.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        kind = artifact.get("type")
        if kind == "cdk:cloud-assembly" and isinstance(properties.get("directoryName"), str):
            inner = folder / properties["directoryName"]
            inner_manifest = _read_manifest(inner)
            if inner_manifest is not None:
                stacks += _from_manifest(inner, inner_manifest, prefix,
                                         f"{keys}{artifact_id}{SEP}")
        elif kind == "aws:cloudformation:stack" and isinstance(properties.get("templateFile"),
                                                                str):
            path = folder / properties["templateFile"]
            depends = artifact.get("dependencies")
            # the construct path (Stage/Stack) reads better than the artifact id
            shown = str(artifact.get("displayName") or artifact_id)
            stacks.append(Stack(
                prefix=prefix + SEP.join(_safe(part) for part in shown.split("/")),
                path=path, template=load_template(path),
                stack_name=str(properties.get("stackName") or artifact_id),
                depends_on=[f"{keys}{d}" for d in depends or [] if isinstance(d, str)],
                artifact=f"{keys}{artifact_id}"))
    return stacks


def _loose(folder: Path, prefix: str) -> list[Stack]:
    """Templates of a folder without a manifest, and the apps in its subfolders."""
    stacks: list[Stack] = []
    paths = sorted({p for pattern in _TEMPLATE_GLOBS for p in folder.glob(pattern)})
    for path in paths:
        name = path.name
        for suffix in (".template.json", ".template.yaml", ".template.yml", ".json", ".yaml",
                       ".yml"):
            name = name.removesuffix(suffix)
        stacks.append(Stack(prefix=f"{prefix}{_safe(name)}", path=path,
                            template=load_template(path)))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        manifest = _read_manifest(sub)
        if manifest is not None:
            stacks += _from_manifest(sub, manifest, f"{prefix}{_safe(sub.name)}{SEP}")
        elif not sub.name.startswith((".", "asset.", "__")) and sub.name not in _NOT_APPS:
            stacks += _loose(sub, f"{prefix}{_safe(sub.name)}{SEP}")
    return stacks


def _nested_file(stack: Stack, folder: Path, resource: Mapping[str, Any]) -> Path | None:
    """The template file of a nested stack: the CDK's asset path in the resource's metadata,
    or a ``TemplateURL`` that is a file next to the parent (before ``aws cloudformation
    package`` uploads it)."""
    metadata = resource.get("Metadata")
    candidates: list[Path] = []
    if isinstance(metadata, Mapping) and isinstance(metadata.get("aws:asset:path"), str):
        candidates.append(stack.path.parent / metadata["aws:asset:path"])
        candidates.append(folder / metadata["aws:asset:path"])
    props = resource.get("Properties")
    url = props.get("TemplateURL") if isinstance(props, Mapping) else None
    if isinstance(url, str) and "://" not in url:
        candidates.append(stack.path.parent / url)
    elif url is not None:
        # the CDK uploads the nested template as <hash>.json; its assets manifest says
        # which file of the assembly that is
        key = render(url).rsplit("/", 1)[-1]
        source = _asset_sources(stack.path.parent).get(key)
        if source is not None:
            candidates.append(stack.path.parent / source)
    return next((c for c in candidates if c.is_file()), None)


def _asset_sources(folder: Path) -> dict[str, str]:
    """Object key -> file, from the ``*.assets.json`` manifests of a cloud assembly."""
    found: dict[str, str] = {}
    for path in folder.glob("*.assets.json"):
        try:
            files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            continue
        for asset in files.values() if isinstance(files, Mapping) else []:
            source = asset.get("source", {}) if isinstance(asset, Mapping) else {}
            destinations = asset.get("destinations", {}) if isinstance(asset, Mapping) else {}
            for destination in destinations.values() if isinstance(destinations, Mapping) else []:
                key = destination.get("objectKey") if isinstance(destination, Mapping) else None
                if isinstance(key, str) and isinstance(source.get("path"), str):
                    found[key.rsplit("/", 1)[-1]] = source["path"]
    return found


def _attach_nested(stack: Stack, folder: Path, seen: set[Path]) -> None:
    for lid, resource in stack.resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") != NESTED_STACK:
            continue
        path = _nested_file(stack, folder, resource)
        if path is None or path.resolve() in seen:
            continue
        props = resource.get("Properties")
        passed = props.get("Parameters") if isinstance(props, Mapping) else None
        child = Stack(prefix=f"{stack.prefix}{SEP}{_safe(lid)}", path=path,
                      template=load_template(path), parent=stack,
                      passed=dict(passed) if isinstance(passed, Mapping) else {},
                      nested_in=f"{stack.prefix}{SEP}{lid}")
        stack.children[lid] = child
        _attach_nested(child, folder, seen | {path.resolve()})


def read_folder(folder: str | Path) -> list[Stack]:
    """Every stack of a folder: a cloud assembly's stacks (its ``manifest.json``, nested
    assemblies included), or the ``*.template.json|yaml|yml`` files of a plain folder and the
    apps in its subfolders; nested stacks hang under their parent."""
    root = Path(folder)
    manifest = _read_manifest(root)
    roots = _from_manifest(root, manifest, "") if manifest is not None else _loose(root, "")
    for stack in roots:
        _attach_nested(stack, root, {stack.path.resolve()})
    nested = {child.path.resolve() for stack in roots for child in stack.descendants()
              if child is not stack}
    # a nested template found by the glob is checked under its parent, not on its own
    roots = [s for s in roots if s.path.resolve() not in nested or s.parent is not None]
    if not roots:
        raise TemplateReadError(str(folder), "directory holds no cloud assembly manifest.json "
                                             "and no *.template.json, .yaml or .yml file")
    prefixes: set[str] = set()
    for stack in roots:
        base, n = stack.prefix, 2
        while stack.prefix in prefixes:
            stack.prefix, n = f"{base}#{n}", n + 1
        prefixes.add(stack.prefix)
    return roots


# --- the virtual template -----------------------------------------------------------------


class _Merger:
    def __init__(self, roots: list[Stack]) -> None:
        self.roots = roots
        self.by_name = {s.stack_name: s for s in roots if s.stack_name}
        self.exports: dict[str, tuple[Stack, Any]] = {}
        #: the CDK's cross-region strong references: SSM parameter name -> value
        self.cross_region: dict[str, tuple[Stack, Any]] = {}
        for stack in (s for r in roots for s in r.descendants()):
            for resource in stack.resources.values():
                if isinstance(resource, Mapping) and resource.get("Type") == EXPORT_WRITER:
                    props = resource.get("Properties")
                    writer = props.get("WriterProps") if isinstance(props, Mapping) else None
                    written = writer.get("exports") if isinstance(writer, Mapping) else None
                    for key, value in (written if isinstance(written, Mapping) else {}).items():
                        self.cross_region.setdefault(str(key), (stack, value))
            for output in stack.outputs.values():
                export = output.get("Export") if isinstance(output, Mapping) else None
                if isinstance(export, Mapping) and "Name" in export and "Value" in output:
                    name = render(self.value(stack, export["Name"]))
                    self.exports.setdefault(name, (stack, output["Value"]))

    # one value of one stack, in the virtual template's terms
    def value(self, stack: Stack, value: Any, depth: int = 0) -> Any:
        if isinstance(value, list):
            return [self.value(stack, item, depth) for item in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            special = self._intrinsic(stack, key, arg, depth)
            if special is not None:
                return special
        return {key: self.value(stack, item, depth) for key, item in value.items()}

    def _intrinsic(self, stack: Stack, key: str, arg: Any, depth: int) -> Any:
        if key == "Ref" and isinstance(arg, str):
            return self._ref(stack, arg, depth)
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[0], str):
                return self._get_att(stack, parts[0], parts[1], depth)
            return None
        if key == "Fn::Sub":
            return self._sub(stack, arg, depth)
        if key == "Fn::ImportValue" and depth < _MAX_DEPTH:
            name = render(self.value(stack, arg, depth))
            found = self.exports.get(name)
            if found is not None:
                return self.value(found[0], found[1], depth + 1)
            return None
        if key == "Fn::GetStackOutput" and isinstance(arg, Mapping) and depth < _MAX_DEPTH:
            producer = self.by_name.get(render(arg.get("StackName")))
            output = producer.outputs.get(render(arg.get("OutputName"))) if producer else None
            if producer is not None and isinstance(output, Mapping) and "Value" in output:
                return self.value(producer, output["Value"], depth + 1)
            return None
        if key == "Condition" and isinstance(arg, str):
            return {"Condition": f"{stack.prefix}{SEP}{arg}"}
        if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0],
                                                                                        str):
            return {"Fn::If": [f"{stack.prefix}{SEP}{arg[0]}", self.value(stack, arg[1], depth),
                               self.value(stack, arg[2], depth)]}
        return None

    def _ref(self, stack: Stack, name: str, depth: int) -> Any:
        if name in _PER_STACK:
            if name == "AWS::StackName" and stack.parent is None and stack.stack_name:
                return stack.stack_name
            return {"Ref": f"{stack.prefix}{SEP}{name}"}
        if name.startswith("AWS::"):
            return {"Ref": name}
        if name in stack.passed and stack.parent is not None and depth < _MAX_DEPTH:
            return self.value(stack.parent, stack.passed[name], depth + 1)
        return {"Ref": f"{stack.prefix}{SEP}{name}"}

    def _get_att(self, stack: Stack, resource: str, attribute: Any, depth: int) -> Any:
        reader = stack.resources.get(resource)
        if (isinstance(reader, Mapping) and reader.get("Type") == EXPORT_READER
                and attribute in self.cross_region and depth < _MAX_DEPTH):
            writer_stack, value = self.cross_region[attribute]
            return self.value(writer_stack, value, depth + 1)
        child = stack.children.get(resource)
        if (child is not None and isinstance(attribute, str) and attribute.startswith("Outputs.")
                and depth < _MAX_DEPTH):
            output = child.outputs.get(attribute.removeprefix("Outputs."))
            if isinstance(output, Mapping) and "Value" in output:
                return self.value(child, output["Value"], depth + 1)
        return {"Fn::GetAtt": [f"{stack.prefix}{SEP}{resource}",
                               self.value(stack, attribute, depth)]}

    def _sub(self, stack: Stack, arg: Any, depth: int) -> Any:
        text, variables = (arg, {}) if isinstance(arg, str) else (
            (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (None, None))
        if not isinstance(text, str) or not isinstance(variables, Mapping):
            return None
        new_variables = {k: self.value(stack, v, depth) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return match.group(0)
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                replaced = self._get_att(stack, resource, attribute, depth)
            else:
                replaced = self._ref(stack, name, depth)
            if isinstance(replaced, Mapping) and len(replaced) == 1 and (
                    "Ref" in replaced or "Fn::GetAtt" in replaced):
                (kind, target), = replaced.items()
                return "${" + (target if kind == "Ref" else f"{target[0]}.{target[1]}") + "}"
            key = f"{stack.prefix}{SEP}{name}"
            new_variables[key] = replaced
            return "${" + key + "}"

        new_text = _SUB_VARIABLE.sub(one, text)
        return {"Fn::Sub": [new_text, new_variables] if new_variables else new_text}

    # the resources of one stack
    def resources(self, stack: Stack) -> Iterator[tuple[str, dict[str, Any]]]:
        for lid, resource in stack.resources.items():
            if not isinstance(resource, Mapping):
                continue
            new = dict(resource)
            if "Properties" in resource:
                new["Properties"] = self.value(stack, resource["Properties"])
            depends = resource.get("DependsOn")
            depends = [depends] if isinstance(depends, str) else depends
            new["DependsOn"] = [f"{stack.prefix}{SEP}{d}" for d in depends or []
                                if isinstance(d, str)]
            if stack.nested_in is not None:
                new["DependsOn"].append(f"{stack.nested_in}#start")
            if lid in stack.children:
                # the parent's users of a nested stack come after everything inside it
                new["DependsOn"] += [f"{c.prefix}{SEP}{child_lid}"
                                     for c in [stack.children[lid]]
                                     for child_lid in c.resources]
            if isinstance(resource.get("Condition"), str):
                new["Condition"] = f"{stack.prefix}{SEP}{resource['Condition']}"
            yield f"{stack.prefix}{SEP}{lid}", new


def merge(roots: list[Stack]) -> tuple[dict[str, Any], dict[str, tuple[Path, str]]]:
    """The virtual template of these stacks and the origin of each virtual resource."""
    merger = _Merger(roots)
    resources: dict[str, Any] = {}
    origin: dict[str, tuple[Path, str]] = {}
    parameters: dict[str, Any] = {}
    conditions: dict[str, Any] = {}
    members: dict[str, list[str]] = {}
    for root in roots:
        members[root.prefix] = []
        for stack in root.descendants():
            for vid, resource in merger.resources(stack):
                resources[vid] = resource
                origin[vid] = (stack.path, vid[len(stack.prefix) + len(SEP):])
                members[root.prefix].append(vid)
            for name, parameter in (stack.template.get("Parameters") or {}).items():
                parameters[f"{stack.prefix}{SEP}{name}"] = parameter
            for name, condition in (stack.template.get("Conditions") or {}).items():
                conditions[f"{stack.prefix}{SEP}{name}"] = merger.value(stack, condition)
            if stack.nested_in is not None and stack.parent is not None:
                # what the nested stack resource waits for, its children wait for too
                parent = merger.value(stack.parent, stack.parent.resources.get(
                    stack.nested_in[len(stack.parent.prefix) + len(SEP):], {}))
                resources[f"{stack.nested_in}#start"] = {
                    "Type": ORDER,
                    "DependsOn": sorted(references(parent.get("Properties", {}))
                                        | set(_as_list(parent.get("DependsOn"))))}
    for root in roots:
        resources[f"{root.prefix}{SEP}*"] = {"Type": ORDER, "DependsOn": members[root.prefix]}
    artifacts = {root.artifact: root.prefix for root in roots if root.artifact}
    for root in roots:
        before = [f"{artifacts[d]}{SEP}*" for d in root.depends_on if d in artifacts]
        if before:
            for vid in members[root.prefix]:
                resources[vid]["DependsOn"] = resources[vid]["DependsOn"] + before
    template: dict[str, Any] = {"Resources": resources}
    if parameters:
        template["Parameters"] = parameters
    if conditions:
        template["Conditions"] = conditions
    return template, origin


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def load_assembly(folder: str | Path) -> Assembly:
    """Read a folder and build its virtual template."""
    roots = read_folder(folder)
    template, origin = merge(roots)
    stacks = [s for root in roots for s in root.descendants()]
    return Assembly(Path(folder), stacks, template, origin)


# --- template-level transforms ------------------------------------------------------------


def template_transforms(template: Mapping[str, Any]) -> list[Finding]:
    """A template with a top-level ``Transform`` (SAM, an include, a macro) is judged on its
    plain resources as written; the processed template may hold more
    (docs/aws-behaviour.md#template-transform)."""
    transform = template.get("Transform")
    if transform is None:
        return []
    names = transform if isinstance(transform, list) else [transform]
    shown = ", ".join(render(n) if not isinstance(n, Mapping) else render(n.get("Name"))
                      for n in names)
    return [Finding(
        TRANSFORM.id, "warning", "Transform",
        f"the template declares Transform {shown}; its plain resources were checked as "
        "written, but CloudFormation expands the transform at deployment, so the processed "
        "template may hold scaling resources these checks did not see (check the processed "
        "template: aws cloudformation get-template --template-stage Processed)")]


TRANSFORM = Rule(
    "TransformNotExpanded", "warning",
    "a template declares a Transform (the processed template may hold more), or a resource's "
    "properties are an Fn::Transform (the resource is skipped)",
    "check the processed template too (get-template --template-stage Processed)",
    "template-transform", template_transforms)


def all_rules() -> tuple[Rule, ...]:
    """The rules plus the template-level transform check, once per id."""
    known = {rule.id for rule in RULES}
    return RULES + tuple(r for r in (TRANSFORM,) if r.id not in known)


# --- checking -----------------------------------------------------------------------------


def check_assembly(assembly: Assembly) -> dict[Path, list[Finding]]:
    """Findings by template file, each on the logical id it has in that file."""
    by_file: dict[Path, list[Finding]] = {stack.path: [] for stack in assembly.stacks}
    prefixes = {stack.prefix + SEP for stack in assembly.stacks}
    for finding in check_template(assembly.template):
        path, lid = assembly.origin.get(finding.resource, (assembly.folder, finding.resource))
        # the finding's own stack goes without saying, unless the message also names a
        # resource of another stack: then every resource keeps its stack
        own = finding.resource[:-len(lid)] if finding.resource.endswith(lid) else ""
        rest = finding.message.replace(own, "")
        others = any(re.search(rf"(?<![\w:.-]){re.escape(prefix)}", rest)
                     for prefix in prefixes if prefix != own) if own.endswith(SEP) else True
        message = finding.message if others else finding.message.replace(own, "")
        by_file.setdefault(path, []).append(
            dataclasses.replace(finding, resource=lid, message=message))
    for stack in assembly.stacks:
        by_file[stack.path] += template_transforms(stack.template)
    return by_file
