"""Check a JSON body against the oci SDK model of its operation, as the SDK itself defines it.

Why not deserialise with the SDK: its deserialiser silently drops unknown fields and accepts
missing required ones, so a body that would surprise a stricter client still "works". Here the
model's own tables decide: `attribute_map` (wire names), `swagger_types` (types), a getter
docstring marked **[Required]**, the setter's allowed values (the setter turns anything else
into 'UNKNOWN_ENUM_VALUE') and `get_subtype` for polymorphic models.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from typing import Any

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(str, (.+)\)$")
_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "object": (object,),
}


def model_class(package: str, name: str) -> type:
    """`oci.<package>.models.<name>`, e.g. ("core", "PrivateIp")."""
    return getattr(importlib.import_module(f"oci.{package}.models"), name)


def required_fields(cls: type) -> set[str]:
    """Python attribute names the SDK documents as [Required] in the response model."""
    instance = cls()
    return {name for name in instance.swagger_types if "[Required]" in (getattr(cls, name).__doc__ or "")}


def problems(value: Any, type_name: str, package: str, where: str = "$") -> list[str]:
    """Every way `value` departs from `type_name` (an SDK swagger type) in `oci.<package>`."""
    if value is None:
        return []
    if match := _LIST.match(type_name):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in problems(item, match.group(1), package, f"{where}[{i}]")]
    if match := _DICT.match(type_name):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        return [p for k, v in value.items() for p in problems(v, match.group(1), package, f"{where}.{k}")]
    if type_name in ("datetime", "date"):
        try:
            dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: {value!r} is not an RFC 3339 {type_name}"]
        return []
    if type_name in _SCALARS:
        kinds = _SCALARS[type_name]
        if not isinstance(value, kinds) or (type_name in ("int", "float") and isinstance(value, bool)):
            return [f"{where}: expected {type_name}, got {type(value).__name__} {value!r}"]
        return []
    return _model_problems(value, model_class(package, type_name), package, where)


def _model_problems(value: Any, cls: type, package: str, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected a {cls.__name__} object, got {type(value).__name__}"]
    subtype = getattr(cls, "get_subtype", None)
    if subtype is not None:
        name = subtype(value)
        if name != cls.__name__:
            return _model_problems(value, model_class(package, name), package, where)
    instance = cls()
    wire_to_attr = {wire: attr for attr, wire in instance.attribute_map.items()}
    found = [f"{where}.{key}: not a field of {cls.__name__}" for key in value if key not in wire_to_attr]
    for attr in sorted(required_fields(cls)):
        wire = instance.attribute_map[attr]
        if value.get(wire) is None:
            found.append(f"{where}.{wire}: required by {cls.__name__} but missing")
    for wire, item in value.items():
        attr = wire_to_attr.get(wire)
        if attr is None or item is None:
            continue
        type_name = instance.swagger_types[attr]
        found += problems(item, type_name, package, f"{where}.{wire}")
        if type_name == "str" and isinstance(item, str):
            setattr(instance, attr, item)  # an enum setter replaces a value it does not allow
            if getattr(instance, attr) != item:
                found.append(f"{where}.{wire}: {item!r} is not an allowed value of {cls.__name__}.{attr}")
    return found
