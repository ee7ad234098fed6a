"""The policies terraform deploys, read from the .tf files themselves.

Why not a copy of the statements: the point is to prove that what `terraform apply` creates is
enough for the controller and refuses the rest, so the emulator must enforce exactly those
strings. python-hcl2 parses the files (its lark tree); this module evaluates the small part of
HCL that `oci_identity_policy.statements` and `oci_identity_dynamic_group.matching_rule` use:
string templates, `local.*` (evaluated from the module's own locals), `path.module`, tuples,
`[for x in list : expr]`, and the functions join, concat, file and jsondecode.

What only a real apply knows (OCIDs of the function and instances, the compartment, the bucket
name, variables) comes from `bindings`, an explicit map from the reference as written in the
.tf file to the emulator's value, e.g.

    "var.compartment_ocid": "ocid1.compartment...",
    "oci_functions_function.failover.id": "ocid1.fnfunc...",
    "var.nodes[\"node-a\"].instance_id": "ocid1.instance..."

A reference with no binding and no local fails loudly, naming itself. The dynamic groups are
defined in the same files, so `oci_identity_dynamic_group.<name>.id` resolves by itself to
`ocid1.dynamicgroup.oc1..<name>` unless bound.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import hcl2
from lark import Token, Tree

from ocisim.iam.decide import Policy
from ocisim.iam.language import parse_rule, parse_statement

GROUP_TYPE = "oci_identity_dynamic_group"
POLICY_TYPE = "oci_identity_policy"
_ESCAPES = {'\\"': '"', "\\\\": "\\", "\\n": "\n", "\\t": "\t", "$${": "${", "%%{": "%{"}


class UnboundReference(KeyError):
    """A terraform reference the emulator cannot know: add it to the topology's iam.bindings."""


@dataclass(frozen=True)
class Module:
    """One directory's .tf files: locals (name -> expression tree) and resources by type."""

    path: Path
    locals: Mapping[str, Tree]
    resources: Mapping[tuple[str, str], Mapping[str, Tree]]


def _children(node: Tree) -> list[Tree]:
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _name(node: Tree) -> str:
    return str(node.children[0])


def _label(node: Tree) -> str:
    return "".join(str(part.children[0]) for part in _children(node))


def _attributes(body: Tree) -> dict[str, Tree]:
    return {_name(a.children[0]): _children(a)[1] for a in _children(body) if a.data == "attribute"}


@lru_cache(maxsize=8)
def _load(path: Path, stamp: tuple[tuple[str, float], ...]) -> Module:
    """Cached per directory and file mtimes: many emulators start in one test session."""
    del stamp  # part of the cache key only
    local_trees: dict[str, Tree] = {}
    resources: dict[tuple[str, str], Mapping[str, Tree]] = {}
    for tf in sorted(path.glob("*.tf")):
        for block in (b for b in _children(hcl2.parses_to_tree(tf.read_text()).children[0]) if b.data == "block"):
            kind, *labels, body = _children(block)
            if _name(kind) == "locals":
                local_trees.update(_attributes(body))
            elif _name(kind) == "resource":
                resources[(_label(labels[0]), _label(labels[1]))] = _attributes(body)
    return Module(path=path, locals=local_trees, resources=resources)


def load_module(path: Path) -> Module:
    path = path.resolve()
    stamp = tuple((str(tf), tf.stat().st_mtime) for tf in sorted(path.glob("*.tf")))
    if not stamp:
        raise FileNotFoundError(f"no .tf files in {path}")
    return _load(path, stamp)


class Evaluator:
    """Evaluates expression trees of one module against the bindings."""

    def __init__(self, module: Module, bindings: Mapping[str, Any]) -> None:
        self.module = module
        self.bindings = dict(bindings)
        self._functions: dict[str, Callable[..., Any]] = {
            "join": lambda sep, items: sep.join(items),
            "concat": lambda *lists: [item for items in lists for item in items],
            "file": lambda name: (module.path / name).read_text(),
            "jsondecode": json.loads,
            "length": len,
        }

    def value(self, node: Tree | Token, scope: Mapping[str, Any]) -> Any:
        if isinstance(node, Token):
            raise ValueError(f"unexpected token {node!r}")
        handler = getattr(self, f"_{node.data}", None)
        if handler is None:
            raise ValueError(f"unsupported terraform expression ({node.data}) in {self.module.path}")
        return handler(node, scope)

    def _expr_term(self, node: Tree, scope: Mapping[str, Any]) -> Any:
        return self.value(_children(node)[0], scope)

    def _string(self, node: Tree, scope: Mapping[str, Any]) -> str:
        out = []
        for part in _children(node):
            piece = part.children[0]
            if isinstance(piece, Token):
                text = str(piece)
                for escaped, plain in _ESCAPES.items():
                    text = text.replace(escaped, plain)
                out.append(text)
            else:
                out.append(str(self.value(_children(piece)[0], scope)))
        return "".join(out)

    def _conditional(self, node: Tree, scope: Mapping[str, Any]) -> Any:
        condition, yes, no = _children(node)
        return self.value(yes if self.value(condition, scope) else no, scope)

    def _binary_op(self, node: Tree, scope: Mapping[str, Any]) -> Any:
        left, term = _children(node)
        operator, right = _children(term)
        ops = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b}
        return ops[str(operator.children[0])](self.value(left, scope), self.value(right, scope))

    def _int_lit(self, node: Tree, scope: Mapping[str, Any]) -> int:
        return int(str(node.children[0]))

    def _tuple(self, node: Tree, scope: Mapping[str, Any]) -> list[Any]:
        return [self.value(item, scope) for item in _children(node)]

    def _function_call(self, node: Tree, scope: Mapping[str, Any]) -> Any:
        name, *arguments = _children(node)
        if _name(name) not in self._functions:
            raise ValueError(f"unsupported terraform function {_name(name)}()")
        args = [self.value(a, scope) for a in (_children(arguments[0]) if arguments else [])]
        return self._functions[_name(name)](*args)

    def _for_tuple_expr(self, node: Tree, scope: Mapping[str, Any]) -> list[Any]:
        intro, body = _children(node)[:2]
        if len(_children(node)) > 2:
            raise ValueError("a for expression with an if clause is not supported")
        variable, collection = _children(intro)
        return [self.value(body, {**scope, _name(variable): item}) for item in self.value(collection, scope)]

    def _identifier(self, node: Tree, scope: Mapping[str, Any]) -> Any:
        return self._traverse(node, scope)

    def _get_attr_expr_term(self, node: Tree, scope: Mapping[str, Any]) -> Any:
        return self._traverse(node, scope)

    def _index_expr_term(self, node: Tree, scope: Mapping[str, Any]) -> Any:
        return self._traverse(node, scope)

    def _traverse(self, node: Tree, scope: Mapping[str, Any]) -> Any:
        """root.attr[index]...: bindings first (longest reference), then locals, loop variables."""
        root, steps = self._steps(node, scope)
        text = root
        candidates = [(text, 0)]
        for i, step in enumerate(steps):
            text += f"[{json.dumps(step.key)}]" if isinstance(step, _Index) else f".{step}"
            candidates.append((text, i + 1))
        for reference, used in reversed(candidates):
            if reference in self.bindings:
                return _walk(self.bindings[reference], steps[used:], text)
        if root in scope:
            return _walk(scope[root], steps, text)
        if root == "local" and steps and steps[0] in self.module.locals:
            return _walk(self.value(self.module.locals[steps[0]], {}), steps[1:], text)
        if root == "path" and steps[:1] == ["module"]:
            return str(self.module.path)
        if (
            root == GROUP_TYPE
            and len(steps) == 2
            and steps[1] == "id"
            and (GROUP_TYPE, steps[0]) in self.module.resources
        ):
            return group_ocid(steps[0])
        raise UnboundReference(f"{text}: bind it in the topology's iam.bindings")

    def _steps(self, node: Tree, scope: Mapping[str, Any]) -> tuple[str, list[Any]]:
        if node.data == "expr_term":
            return self._steps(_children(node)[0], scope)
        if node.data == "identifier":
            return _name(node), []
        inner, accessor = _children(node)
        root, steps = self._steps(inner, scope)
        if node.data == "get_attr_expr_term":
            return root, steps + [_name(_children(accessor)[0])]
        return root, steps + [_Index(self.value(_children(accessor)[0], scope))]


@dataclass(frozen=True)
class _Index:
    key: Any


def _walk(value: Any, steps: list[Any], text: str) -> Any:
    for step in steps:
        key = step.key if isinstance(step, _Index) else step
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise UnboundReference(f"{text}: {key!r} not found in its value") from exc
    return value


def group_ocid(name: str) -> str:
    return f"ocid1.dynamicgroup.oc1..{name}"


def policy_from_terraform(
    directory: Path, bindings: Mapping[str, Any], members: Mapping[str, Any] | None = None
) -> Policy:
    """Every oci_identity_policy statement and oci_identity_dynamic_group rule, evaluated;
    ``members``: user group OCID -> the user OCIDs in it (the topology's ``iam.group_members``)."""
    module = load_module(directory)
    evaluator = Evaluator(module, bindings)
    statements, groups = [], {}
    for (rtype, name), attributes in sorted(module.resources.items()):
        if rtype == POLICY_TYPE:
            texts = evaluator.value(attributes["statements"], {})
            statements += [parse_statement(text) for text in texts]
        elif rtype == GROUP_TYPE:
            group_id = bindings.get(f"{GROUP_TYPE}.{name}.id", group_ocid(name))
            groups[group_id] = parse_rule(evaluator.value(attributes["matching_rule"], {}))
    return Policy(
        statements=tuple(statements),
        groups=groups,
        members={gid: frozenset(users) for gid, users in (members or {}).items()},
    )
