"""The subset of OCI's policy language that our terraform deploys, parsed with lark.

Why a grammar and not regular expressions: a statement is only as narrow as its condition, and
`any {...}` / `all {...}` nest; a parser that refuses what it does not understand is what makes
"the deployed policy is enough" a proof rather than a pattern match.

    Allow dynamic-group id <ocid> to <verb> <resource-type> in compartment id <ocid> [where <cond>]
    Allow dynamic-group id <ocid> to <verb> <resource-type> in tenancy [where <cond>]
    Allow group id <ocid> to ...            (a group of IAM users, e.g. the operators)
    <cond>  :=  <variable> = '<value>'  |  <variable> != '<value>'
             |  any {<cond>, ...}  |  all {<cond>, ...}

Dynamic-group matching rules use the same condition syntax (`ALL {resource.type = 'fnfunc',
resource.id = '...'}`, `ANY {instance.id = '...', ...}`). Keywords are case-insensitive, as
in OCI. A variable the request does not define makes its comparison false (OCI: "if the
variable is not applicable to the incoming request, the condition evaluates to false").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError

GRAMMAR = r"""
statement: "allow"i subject "to"i VERB RESOURCE_TYPE scope ("where"i condition)?
rule: condition

subject: "dynamic-group"i "id"i OCID   -> dynamic_group
       | "group"i "id"i OCID           -> user_group
scope: "in"i "tenancy"i                  -> tenancy
     | "in"i "compartment"i "id"i OCID   -> compartment

?condition: any_of | all_of | comparison
any_of: "any"i "{" condition ("," condition)* "}"
all_of: "all"i "{" condition ("," condition)* "}"
comparison: VARIABLE OPERATOR VALUE

VERB: /inspect|read|use|manage/i
RESOURCE_TYPE: /[a-z][a-z0-9-]*/
OCID: /ocid1\.[a-z0-9]+\.[a-z0-9-]*\.[a-z0-9-]*\.[a-z0-9._-]+/
VARIABLE: /[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+/i
OPERATOR: "!=" | "="
VALUE: /'[^']*'/

%import common.WS
%ignore WS
"""

# OCI: "Condition matching is case insensitive" for target.bucket.name (Details for Object Storage).
CASE_INSENSITIVE = frozenset({"target.bucket.name"})

_PARSER = Lark(GRAMMAR, start=["statement", "rule"], parser="lalr")


class PolicySyntaxError(ValueError):
    """A statement or matching rule outside the subset the emulator understands."""


@dataclass(frozen=True)
class Comparison:
    variable: str
    operator: str  # "=" | "!="
    value: str


@dataclass(frozen=True)
class AnyOf:
    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class AllOf:
    terms: tuple[Condition, ...]


Condition = Comparison | AnyOf | AllOf


@dataclass(frozen=True)
class Statement:
    group_id: str  # the dynamic group (or user group) the statement grants to
    verb: str  # inspect | read | use | manage
    resource_type: str  # private-ips, vnics, metrics, fn-invocation, ...
    compartment_id: str | None  # None: the whole tenancy
    condition: Condition | None
    text: str
    users: bool = False  # True: `group id` (IAM users), False: `dynamic-group id`


class _ToModel(Transformer):
    def statement(self, items: list) -> Statement:
        (users, group_id), verb, resource_type, compartment_id = items[:4]
        condition = items[4] if len(items) > 4 else None
        return Statement(
            group_id=group_id,
            verb=str(verb).lower(),
            resource_type=str(resource_type),
            compartment_id=compartment_id,
            condition=condition,
            text="",
            users=users,
        )

    def rule(self, items: list) -> Condition:
        return items[0]

    def dynamic_group(self, items: list[Token]) -> tuple[bool, str]:
        return False, str(items[0])

    def user_group(self, items: list[Token]) -> tuple[bool, str]:
        return True, str(items[0])

    def tenancy(self, _items: list) -> None:
        return None

    def compartment(self, items: list[Token]) -> str:
        return str(items[0])

    def any_of(self, items: list) -> AnyOf:
        return AnyOf(tuple(items))

    def all_of(self, items: list) -> AllOf:
        return AllOf(tuple(items))

    def comparison(self, items: list[Token]) -> Comparison:
        variable, operator, value = items
        return Comparison(str(variable).lower(), str(operator), str(value)[1:-1])


def _parse(text: str, start: str) -> object:
    try:
        return _ToModel().transform(_PARSER.parse(text, start=start))
    except LarkError as exc:
        raise PolicySyntaxError(f"cannot parse {text!r}: {exc}") from exc


def parse_statement(text: str) -> Statement:
    statement = _parse(text, "statement")
    assert isinstance(statement, Statement)
    return Statement(
        statement.group_id,
        statement.verb,
        statement.resource_type,
        statement.compartment_id,
        statement.condition,
        text,
        statement.users,
    )


def parse_rule(text: str) -> Condition:
    """A dynamic group's matching rule."""
    return _parse(text, "rule")  # type: ignore[return-value]


def holds(condition: Condition, variables: Mapping[str, str]) -> bool:
    """Evaluate a condition against the request's (or principal's) variables."""
    if isinstance(condition, AnyOf):
        return any(holds(term, variables) for term in condition.terms)
    if isinstance(condition, AllOf):
        return all(holds(term, variables) for term in condition.terms)
    if condition.variable not in variables:
        return False
    actual, expected = variables[condition.variable], condition.value
    if condition.variable in CASE_INSENSITIVE:
        actual, expected = actual.lower(), expected.lower()
    equal = actual == expected
    return equal if condition.operator == "=" else not equal
