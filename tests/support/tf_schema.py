"""terraform/ checked against the oracle/oci provider's own schema, as `terraform validate` would.

The schema is the fixture extract_provider_schema.py wrote from the provider's source at the
pinned version (the JSON shape of `terraform providers schema -json`). Every resource and data
block of every .tf file is checked: each argument and nested block exists, every required
argument and block is there, no computed-only attribute is set, literal values fit the
argument's type, blocks respect min/max items, `ignore_changes` names the type's attributes, the
provider's cross-argument rules (ConflictsWith and the like, extracted beside the schema) hold;
and every `oci_T.N.attr` / `data.oci_T.N.attr` reference names an attribute the type has
(walking nested blocks and object types as far as the path is literal).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from tests.support.paths import REPO

FIXTURE = REPO / "tests" / "terraform" / "fixtures" / "oci_provider_schema.json"
PROVIDER = "registry.terraform.io/oracle/oci"

# Arguments terraform itself handles on every resource / data block; not the provider's.
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on"}
META_BLOCKS = {"lifecycle", "provisioner", "connection"}
PARSER_KEYS = {"__is_block__", "__comments__", "__inline_comments__"}
REFERENCE = re.compile(
    r"(?<![\w.])(?:(data)\.)?(oci_[a-z0-9_]+)\.([A-Za-z_][\w-]*)((?:\[[^\[\]]*\]|\.[A-Za-z_][\w-]*)*)"
)
SEGMENT = re.compile(r"\[[^\[\]]*\]|\.([A-Za-z_][\w-]*)")
IGNORE_PATH = re.compile(r"([A-Za-z_][\w-]*)((?:\[[^\[\]]*\]|\.[A-Za-z_][\w-]*)*)")


@dataclass(frozen=True)
class Schemas:
    """The provider's resource and data source schemas, by type name."""

    resources: dict[str, Any]
    data_sources: dict[str, Any]
    rules: dict[str, dict[str, Any]]  # "resource_schemas" / "data_source_schemas" -> type -> path -> rules
    provenance: dict[str, str]

    @classmethod
    def load(cls, path: Path = FIXTURE) -> Schemas:
        fixture = json.loads(path.read_text())
        provider = fixture["provider_schemas"][PROVIDER]
        return cls(
            provider["resource_schemas"],
            provider["data_source_schemas"],
            fixture["argument_rules"],
            fixture["provenance"],
        )

    def of(self, kind: str, rtype: str) -> dict[str, Any] | None:
        table = self.resources if kind == "resource" else self.data_sources
        entry = table.get(rtype)
        return None if entry is None else entry["block"]

    def rules_of(self, kind: str, rtype: str) -> dict[str, Any]:
        return self.rules["resource_schemas" if kind == "resource" else "data_source_schemas"].get(rtype, {})


def _name(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _literal(value: str) -> str | None:
    """The text of a plain string literal; None for an expression or a template."""
    if len(value) >= 2 and value[0] == value[-1] == '"' and "${" not in value and "%{" not in value:
        return value[1:-1]
    return None


def literal_mismatch(cty: Any, value: Any) -> str | None:
    """Why a literal value cannot convert to the attribute's type, as terraform would refuse it;
    None when it can, or when the value is an expression only known at plan."""
    if isinstance(value, str) and _literal(value) is None:
        return None
    if cty == "dynamic":
        return None
    if cty in ("string", "number", "bool"):
        if isinstance(value, (list, dict)):
            return f"a {cty} is required, not a {'list' if isinstance(value, list) else 'map or object'}"
        text = _literal(value) if isinstance(value, str) else None
        if cty == "number" and (isinstance(value, bool) or (text is not None and not _is_number(text))):
            return f"a number is required, not {value!r}"
        if cty == "bool" and (
            (text is not None and text not in ("true", "false")) or (text is None and not isinstance(value, bool))
        ):
            return f"a bool is required, not {value!r}"
        return None
    kind, inner = cty[0], cty[1]
    if kind in ("list", "set"):
        if not isinstance(value, list):
            return f"a {kind} is required, not {value!r}"
        return next((m for m in (literal_mismatch(inner, v) for v in value) if m), None)
    if kind == "map" or kind == "object":
        if not isinstance(value, dict):
            return f"a {kind} is required, not {value!r}"
        items = {_name(k): v for k, v in value.items() if k not in PARSER_KEYS}
        if kind == "map":
            return next((m for m in (literal_mismatch(inner, v) for v in items.values()) if m), None)
        return next((m for k, v in items.items() if k in inner for m in [literal_mismatch(inner[k], v)] if m), None)
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_block(schema: dict[str, Any], body: dict[str, Any], where: str, top: bool = False) -> list[str]:
    """Problems of one block body against its schema block (recursively)."""
    problems: list[str] = []
    attributes: dict[str, Any] = schema.get("attributes", {})
    block_types: dict[str, Any] = schema.get("block_types", {})
    counts: dict[str, int | None] = {}  # blocks written, per type; None: a dynamic block (known at plan)
    for key, value in body.items():
        name = _name(key)
        if name in PARSER_KEYS or (top and name in META_ARGUMENTS):
            continue
        if name == "dynamic" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            problems += _check_dynamic(block_types, value, where, counts)
        elif _is_block(value):
            if top and name == "lifecycle":
                problems += _check_ignore_changes(schema, value, where)
            if top and name in META_BLOCKS:
                continue
            if name not in block_types:
                hint = " (an argument: write `=`)" if name in attributes else ""
                problems.append(f"{where}: unsupported block {name!r}{hint}")
                continue
            if counts.get(name, 0) is not None:
                counts[name] = (counts.get(name) or 0) + len(value)
            for index, item in enumerate(value):
                problems += check_block(block_types[name]["block"], item, f"{where}.{name}[{index}]")
        elif name not in attributes:
            hint = " (a block: write it without `=`)" if name in block_types else ""
            problems.append(f"{where}: unsupported argument {name!r}{hint}")
        elif _computed_only(attributes[name]):
            problems.append(f"{where}: {name!r} is computed by the provider and cannot be set")
        elif (mismatch := literal_mismatch(attributes[name]["type"], value)) is not None:
            problems.append(f"{where}: {name!r}: {mismatch}")
    present = {_name(k) for k in body}
    problems += [
        f"{where}: required argument {name!r} is missing"
        for name, spec in attributes.items()
        if spec.get("required") and name not in present
    ]
    return problems + _check_counts(block_types, counts, where)


def _computed_only(spec: dict[str, Any]) -> bool:
    return bool(spec.get("computed")) and not spec.get("optional") and not spec.get("required")


def _check_dynamic(
    block_types: dict[str, Any], dynamic: list[dict[str, Any]], where: str, counts: dict[str, int | None]
) -> list[str]:
    """`dynamic "T" { content { ... } }`: T is a block type, its content a body of T."""
    problems = []
    for item in dynamic:
        for label, body in item.items():
            block_name = _name(label)
            if block_name in PARSER_KEYS:
                continue
            if block_name not in block_types:
                problems.append(f"{where}: dynamic block {block_name!r} is no block of this type")
                continue
            counts[block_name] = None
            for inner in body.get("content", []):
                problems += check_block(block_types[block_name]["block"], inner, f"{where}.{block_name}")
    return problems


def _check_counts(block_types: dict[str, Any], counts: dict[str, int | None], where: str) -> list[str]:
    problems = []
    for name, nested in block_types.items():
        count = counts.get(name, 0)
        if count is None:
            continue
        if count < nested.get("min_items", 0):
            problems.append(f"{where}: block {name!r} needs at least {nested['min_items']}, has {count}")
        if nested.get("max_items") and count > nested["max_items"]:
            problems.append(f"{where}: block {name!r} allows at most {nested['max_items']}, has {count}")
    return problems


def _check_ignore_changes(schema: dict[str, Any], lifecycle: list[dict[str, Any]], where: str) -> list[str]:
    """`lifecycle { ignore_changes = [...] }` names attributes of the resource's own type."""
    problems = []
    for block in lifecycle:
        entries = block.get("ignore_changes", [])
        for entry in entries if isinstance(entries, list) else []:
            path = entry[2:-1] if entry.startswith("${") and entry.endswith("}") else entry
            match = IGNORE_PATH.fullmatch(path)
            if match is None:
                problems.append(f"{where}: ignore_changes entry {entry!r} is no attribute path")
                continue
            names = [match.group(1)] + [m.group(1) for m in SEGMENT.finditer(match.group(2)) if m.group(1)]
            missing = missing_attribute(schema, names)
            if missing is not None:
                problems.append(f"{where}: ignore_changes names {path!r}, but the type has no attribute {missing!r}")
    return problems


UNKNOWN = "${unknown}"  # what a dynamic block's contents are before plan


def _lookup(body: dict[str, Any], path: str) -> tuple[bool, Any]:
    """(written, value) of `path` ("block.0.argument") in a body, as the SDK's config sees it;
    inside a dynamic block the value is unknown."""
    value: Any = body
    for segment in path.split("."):
        if segment.isdigit():
            if not isinstance(value, list) or int(segment) >= len(value):
                return False, None
            value = value[int(segment)]
            continue
        if not isinstance(value, dict):
            return False, None
        names = {_name(k): k for k in value}
        if segment not in names:
            return ("dynamic" in names), UNKNOWN
        value = value[names[segment]]
    return True, value


def _unknown(value: Any) -> bool:
    return isinstance(value, str) and _literal(value) is None


def _wholly_known(value: Any) -> bool:
    if isinstance(value, list):
        return all(_wholly_known(v) for v in value)
    if isinstance(value, dict):
        return all(_wholly_known(v) for k, v in value.items() if k not in PARSER_KEYS)
    return not _unknown(value)


def check_argument_rules(rules: dict[str, Any], body: dict[str, Any], where: str) -> list[str]:
    """The provider's ConflictsWith / RequiredWith / ExactlyOneOf / AtLeastOneOf, evaluated as
    the SDK's schemaMap.validate does: a rule of an argument inside a block applies only where
    that block is written, and unknown values defer the judgement to plan."""
    problems = []
    for path, rule in sorted(rules.items()):
        if "." in path and not _lookup(body, path.rsplit(".", 2)[0])[0]:
            continue
        for kind, at_most_one in (("exactly_one_of", True), ("at_least_one_of", False)):
            if not rule.get(kind):
                continue
            keys = sorted({*rule[kind], path})
            found = [_lookup(body, key) for key in keys]
            unknown = any(written and not _wholly_known(value) for written, value in found)
            given = [key for key, (written, value) in zip(keys, found, strict=True) if written and _wholly_known(value)]
            if not given and not unknown:
                problems.append(f"{where}: one of {', '.join(keys)} must be specified")
            if at_most_one and len(given) > 1:
                problems.append(f"{where}: only one of {', '.join(keys)} can be specified, not {', '.join(given)}")
        written, value = _lookup(body, path)
        if not written:
            continue
        if rule.get("required_with"):
            together = sorted({*rule["required_with"], path})
            if not all(_lookup(body, key)[0] for key in together):
                problems.append(f"{where}: {path!r}: all of {', '.join(together)} must be specified")
        if _wholly_known(value):
            for other in rule.get("conflicts_with", []):
                other_written, other_value = _lookup(body, other)
                if other_written and not _unknown(other_value):
                    problems.append(f"{where}: {path!r} conflicts with {other!r}")
    return problems


def _interpolations(text: str) -> Iterator[str]:
    """The expressions of one python-hcl2 string: the `${...}` spans (bare expressions come
    wrapped in one too); literal text around them names nothing."""
    start = text.find("${")
    while start != -1:
        depth, index = 0, start + 1
        while index < len(text):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        yield text[start + 2 : index]
        start = text.find("${", index)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in PARSER_KEYS:
                yield from _strings(key)
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _walk_type(cty: Any, names: list[str]) -> str | None:
    """Follow attribute names through a cty type; the first name it lacks, else None."""
    for name in names:
        while isinstance(cty, list) and cty[0] in ("list", "set", "map"):
            cty = cty[1]
        if isinstance(cty, list) and cty[0] == "object":
            if name not in cty[1]:
                return name
            cty = cty[1][name]
        else:
            return None  # a dynamic or primitive value: nothing more to check
    return None


def missing_attribute(schema: dict[str, Any], names: list[str]) -> str | None:
    """The first name of the path `names` that the schema block does not have, else None."""
    block = schema
    for position, name in enumerate(names):
        if name in block.get("attributes", {}):
            return _walk_type(block["attributes"][name]["type"], names[position + 1 :])
        if name in block.get("block_types", {}):
            block = block["block_types"][name]["block"]
            continue
        return name
    return None


def check_references(texts: list[str], schemas: Schemas, where: str) -> list[str]:
    problems = []
    for text in texts:
        for expression in _interpolations(text):
            for match in REFERENCE.finditer(expression):
                kind = "data" if match.group(1) else "resource"
                rtype, trailer = match.group(2), match.group(4)
                schema = schemas.of(kind, rtype)
                address = f"{'data.' if kind == 'data' else ''}{rtype}.{match.group(3)}"
                if schema is None:
                    problems.append(f"{where}: {address}: no schema for {kind} type {rtype!r}")
                    continue
                names = [m.group(1) for m in SEGMENT.finditer(trailer) if m.group(1)]
                missing = missing_attribute(schema, names)
                if missing is not None:
                    problems.append(f"{where}: {address}{trailer}: {rtype} has no attribute {missing!r}")
    return problems


def check_source(text: str, schemas: Schemas, where: str) -> list[str]:
    """Every problem of one .tf file's text (`where` names it in the messages)."""
    parsed = hcl2.loads(text)
    problems: list[str] = []
    for kind in ("resource", "data"):
        for item in parsed.get(kind, []):
            for rtype_key, named in item.items():
                rtype = _name(rtype_key)
                schema = schemas.of(kind, rtype)
                for name_key, body in named.items():
                    address = f"{where}: {'data.' if kind == 'data' else ''}{rtype}.{_name(name_key)}"
                    if schema is None:
                        problems.append(f"{address}: no schema for {kind} type {rtype!r} (extract it)")
                        continue
                    problems += check_block(schema, body, address, top=True)
                    problems += check_argument_rules(schemas.rules_of(kind, rtype), body, address)
    problems += check_references(list(_strings(parsed)), schemas, where)
    return problems


def tf_files(root: Path) -> list[Path]:
    """Every .tf file under root, modules included (not terraform init's downloads)."""
    return [tf for tf in sorted(root.rglob("*.tf")) if ".terraform" not in tf.parts]


def used_types(root: Path) -> dict[str, list[str]]:
    """ "resource" / "data" -> every type the .tf files under root declare."""
    found: dict[str, set[str]] = {"resource": set(), "data": set()}
    for tf in tf_files(root):
        parsed = hcl2.loads(tf.read_text())
        for kind, types in found.items():
            types.update(_name(rtype) for item in parsed.get(kind, []) for rtype in item)
    return {kind: sorted(types) for kind, types in found.items()}


def check_tree(root: Path, schemas: Schemas) -> list[str]:
    """Every .tf file under root, modules included."""
    problems = []
    for tf in tf_files(root):
        problems += check_source(tf.read_text(), schemas, tf.relative_to(root.parent).as_posix())
    return problems
