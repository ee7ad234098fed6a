"""Renders templates/*.tftpl exactly as terraform's templatefile() does, for the subset they use.

The lab and terraform's cloud-init render the same files, so what the lab tests is what is
deployed. The templates use only `${name}` interpolation and the escapes `$${` and `%%{`; anything
else (directives, expressions) is refused here rather than rendered differently from terraform.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_TOKEN = re.compile(r"\$\$\{|%%\{|\$\{(?P<expr>[^}]*)\}|%\{")
_NAME = re.compile(r"\s*(?P<name>[A-Za-z_][A-Za-z0-9_-]*)\s*")

Value = str | int | float | bool


class TemplateError(ValueError):
    """A template uses something templatefile() would render differently, or lacks a value."""


def _text(value: Value) -> str:
    """Terraform's string conversion of a primitive: bools are true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"only strings, numbers and bools can be interpolated, got {type(value).__name__}")


def render(text: str, variables: Mapping[str, Value]) -> str:
    """Interpolate `text` with `variables`; an unknown name is an error, as in terraform."""

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        if token == "%%{":
            return "%{"
        if token == "%{":
            raise TemplateError("template directives (%{...}) are not supported")
        name = _NAME.fullmatch(match.group("expr"))
        if name is None:
            raise TemplateError(f"only plain names can be interpolated: {token!r}")
        if name.group("name") not in variables:
            raise TemplateError(f"vars map does not contain key {name.group('name')!r}")
        return _text(variables[name.group("name")])

    return _TOKEN.sub(substitute, text)


def render_file(name: str, variables: Mapping[str, Value]) -> str:
    """Render templates/<name> (e.g. "haproxy.cfg.tftpl")."""
    return render((TEMPLATES / name).read_text(), variables)


def template_variables(name: str) -> frozenset[str]:
    """The names a template interpolates: what terraform and the lab must both pass."""
    text = (TEMPLATES / name).read_text()
    return frozenset(m.group("expr").strip() for m in _TOKEN.finditer(text) if m.group("expr") is not None)
    return frozenset(part.strip() for part in text.split("\0")[1::2])
