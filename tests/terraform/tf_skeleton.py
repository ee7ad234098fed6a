"""The root module with every OCI resource and data source replaced by terraform's built-in
`terraform_data`, so the real `terraform validate` and `terraform plan` can check the parts that
need no provider schema: the dependency graph (cycles), every reference, count/for_each, function
calls, variable types, validations and preconditions, module wiring, templates rendered.

Each `oci_T.N` becomes `terraform_data.oci_T__N` whose triggers_replace lists every expression of
the original body, so it depends on exactly what the original depends on; `oci_T.N[k].attr` is
read as `terraform_data.oci_T__N[k].output.attr`, an unknown of unknown type at plan, so any
attribute path passes (attribute names are what the absent provider schema would check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from tf_helpers import PARSER_KEYS

DROPPED_META = {"provider", "lifecycle", "depends_on"}
UNKNOWN = "known_after_apply"
_RESOURCE = re.compile(r"(?<![\w.])(data\.)?(oci_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


def _index_end(text: str, start: int) -> int:
    """End of the `[...]` index starting at text[start] (nested brackets allowed), or start."""
    if start >= len(text) or text[start] != "[":
        return start
    depth = 0
    for pos in range(start, len(text)):
        depth += {"[": 1, "]": -1}.get(text[pos], 0)
        if depth == 0:
            return pos + 1
    raise ValueError(f"unbalanced index in {text!r}")


def rewrite(expression: str, repeated: dict[str, str]) -> str:
    """Point references to OCI resources/data sources at their terraform_data stand-ins.
    `repeated` maps stand-in labels that have for_each/count to which of the two."""
    out, pos = [], 0
    for match in _RESOURCE.finditer(expression):
        if match.start() < pos:
            continue
        end = _index_end(expression, match.end())
        name = f"{'data__' if match.group(1) else ''}{match.group(2)}__{match.group(3)}"
        if end == match.end() and repeated.get(name) == "for_each":
            stand = f"{{for key, each_one in terraform_data.{name} : key => each_one.output}}"
        elif end == match.end() and repeated.get(name) == "count":
            stand = f"[for each_one in terraform_data.{name} : each_one.output]"
        else:
            stand = f"terraform_data.{name}{expression[match.end() : end]}.output"
        out += [expression[pos : match.start()], stand]
        pos = end
    return "".join(out) + expression[pos:]


def expr(value: Any, repeated: dict[str, str]) -> str:
    """A python-hcl2 value back as HCL."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}") and not value.startswith('"'):
            return rewrite(value[2:-1], repeated)
        return rewrite(value, repeated)  # a quoted template string, kept as written
    if isinstance(value, Dynamic):
        pairs = f"[for key, value in {expr(value.for_each, repeated)} : {{ key = key, value = value }}]"
        return f"[for {value.iterator} in {pairs} : {expr(value.content, repeated)}]"
    if isinstance(value, list):
        return "[" + ", ".join(expr(item, repeated) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{key} = {expr(item, repeated)}" for key, item in value.items() if key not in PARSER_KEYS)
        return "{" + ", ".join(items) + "}"
    raise TypeError(type(value))


def is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def body(items: dict[str, Any], repeated: dict[str, str], indent: str = "  ") -> str:
    lines = []
    for key, value in items.items():
        if key in PARSER_KEYS:
            continue
        if is_block(value):
            for block in value:
                lines += [f"{indent}{key} {{", body(block, repeated, indent + "  "), f"{indent}}}"]
        else:
            lines.append(f"{indent}{key} = {expr(value, repeated)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Dynamic:
    """A `dynamic` block: its content's expressions, evaluated per element of for_each."""

    iterator: str
    for_each: Any
    content: list[Any]


def leaves(value: Any) -> list[Any]:
    """Every expression of a resource body, nested blocks flattened (for the stand-in's input)."""
    if isinstance(value, dict) and "dynamic" in value:
        dynamic = [
            Dynamic(spec.get("iterator", label.strip(chr(34))), spec["for_each"], leaves(spec["content"]))
            for block in value["dynamic"]
            for label, spec in block.items()
            if label not in PARSER_KEYS
        ]
        return dynamic + leaves({key: item for key, item in value.items() if key != "dynamic"})
    if is_block(value):
        return [leaf for block in value for leaf in leaves(block)]
    if isinstance(value, dict):
        return [leaf for key, item in value.items() if key not in PARSER_KEYS for leaf in leaves(item)]
    return [value]


def label(kind: str, rtype: str, name: str) -> str:
    return f"{'data__' if kind == 'data' else ''}{rtype.strip(chr(34))}__{name.strip(chr(34))}"


def stand_in(name: str, spec: dict[str, Any], repeated: dict[str, str]) -> str:
    meta = {key: spec[key] for key in ("for_each", "count") if key in spec}
    rest = {key: value for key, value in spec.items() if key not in meta and key not in DROPPED_META}
    inner = "\n".join(f"  {key} = {expr(value, repeated)}" for key, value in meta.items())
    # Preconditions stay (terraform_data has them too); ignore_changes names provider attributes.
    checks = [
        {"precondition": lifecycle["precondition"], "__is_block__": True}
        for lifecycle in spec.get("lifecycle", [])
        if "precondition" in lifecycle
    ]
    lifecycle = body({"lifecycle": checks}, repeated) if checks else ""
    # Dependencies through triggers_replace; the output is unknown, of unknown type, at plan (as a
    # real resource's computed attributes are), so any attribute path into it plans.
    values = ", ".join(expr(leaf, repeated) for leaf in leaves(rest))
    return (
        f'resource "terraform_data" "{name}" {{\n{inner}\n  triggers_replace = [{values}]\n'
        f"  input = jsondecode(terraform_data.{UNKNOWN}.id)\n{lifecycle}\n}}\n"
    )


def has_oci_resources(module_dir: Path) -> bool:
    return any(_RESOURCE.search(tf.read_text()) for tf in module_dir.glob("*.tf"))


def write_skeleton(module_dir: Path, workdir: Path) -> None:
    """The module's skeleton as workdir/main.tf; each child module with OCI resources of its own
    gets its skeleton at the same relative path, so `${path.module}/..` paths still resolve."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(skeleton(module_dir, workdir))


def skeleton(module_dir: Path, workdir: Path | None = None) -> str:
    """The module as HCL text, OCI resources replaced; provider and terraform blocks and moved
    blocks (their addresses are the stand-ins' now) left out. Child modules with OCI resources are
    stood in too when `workdir` is given (write_skeleton); others are the real module."""
    parsed = []
    for tf in sorted(module_dir.glob("*.tf")):
        with tf.open() as handle:
            parsed.append(hcl2.load(handle))
    resources = {
        label(kind, rtype, name): spec
        for document in parsed
        for kind in ("resource", "data")
        for item in document.get(kind, [])
        for rtype, named in item.items()
        if rtype not in PARSER_KEYS
        for name, spec in named.items()
        if name not in PARSER_KEYS
    }
    repeated = {name: key for name, spec in resources.items() for key in ("for_each", "count") if key in spec}
    parts = [f'resource "terraform_data" "{UNKNOWN}" {{}}\n']
    parts += [stand_in(name, spec, repeated) for name, spec in resources.items()]
    for document in parsed:
        for kind, items in document.items():
            if kind in ("terraform", "provider", "resource", "data", "moved") or kind in PARSER_KEYS:
                continue
            for item in items:
                if kind == "locals":
                    parts.append("locals {\n" + body(item, repeated) + "\n}\n")
                    continue
                for name, spec in item.items():
                    if name in PARSER_KEYS:
                        continue
                    if kind == "module":
                        spec = {key: value for key, value in spec.items() if key != "providers"}
                        source = spec["source"].strip(chr(34))
                        if workdir is not None and has_oci_resources(module_dir / source):
                            write_skeleton(module_dir / source, workdir / source)
                        else:
                            spec["source"] = f'"{(module_dir / source).resolve()}"'

                    parts.append(f"{kind} {name} {{\n{body(spec, repeated)}\n}}\n")
    return "\n".join(parts)
