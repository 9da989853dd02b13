"""A plain tree-walking interpreter of checked rule expressions: the semantics, written simply.

It shares nothing with the compiler or its run-time helpers except the built-in functions
(tested on their own in test_functions.py), so the differential test can compare the two.
"""

from __future__ import annotations

import json
from typing import Any

import re2  # type: ignore[import-untyped]

from alertd.dsl import ast
from alertd.dsl.functions import BUILTINS, time_zone


class Reference:
    """Evaluates one expression for one event; `mismatches` counts kind mismatches met."""

    def __init__(self, event: dict[str, Any], timestamp_field: str = "timestamp") -> None:
        self.event = event
        self.timestamp_field = timestamp_field
        self.mismatches = 0

    def mismatch(self, value: Any) -> None:
        if value is not None:
            self.mismatches += 1

    def eval(self, node: ast.Expr) -> Any:
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, ast.Field):
            return self.event.get(node.name)
        if isinstance(node, ast.MacroRef):
            return self.eval(node.body)
        if isinstance(node, ast.ListLit):
            return [self.eval(item) for item in node.items]
        if isinstance(node, ast.Attr):
            obj = self.eval(node.obj)
            return obj.get(node.name) if isinstance(obj, dict) else None
        if isinstance(node, ast.Index):
            return self.index(self.eval(node.obj), self.eval(node.index))
        if isinstance(node, ast.Unary):
            operand = self.eval(node.operand)
            if node.op == "not":
                return not operand
            if kind(operand) == "number":
                return -operand
            self.mismatch(operand)
            return None
        if isinstance(node, ast.Logic):
            if node.op == "and":
                return all(self.eval(item) for item in node.items)
            return any(self.eval(item) for item in node.items)
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise TypeError(node)

    def index(self, obj: Any, key: Any) -> Any:
        if isinstance(obj, dict) and isinstance(key, str):
            return obj.get(key)
        if isinstance(obj, list) and kind(key) == "number" and isinstance(key, int):
            return obj[key] if -len(obj) <= key < len(obj) else None
        return None

    def binary(self, node: ast.Binary) -> Any:
        op = node.op
        if op in ("==", "!=") and null_literal(node.right):
            return (self.eval(node.left) is None) == (op == "==")
        if op in ("==", "!=") and null_literal(node.left):
            return (self.eval(node.right) is None) == (op == "==")
        left = self.eval(node.left)
        right = self.eval(node.right)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self.compare(op, left, right)
        if op == "in":
            return self.member(left, right)
        if op == "not in":
            return self.not_member(left, right)
        if op == "contains":
            return self.member(right, left)
        if op in ("startswith", "endswith", "matches"):
            if left is None or right is None:
                return False
            for value in (left, right):
                if not isinstance(value, str):
                    self.mismatch(value)
                    return False
            if op == "matches":
                return re2.search(right, left) is not None  # RE2, as `matches` is
            return left.startswith(right) if op == "startswith" else left.endswith(right)
        return self.arithmetic(op, left, right)

    def compare(self, op: str, left: Any, right: Any) -> bool:
        if left is None or right is None:
            return False
        if kind(left) != kind(right):
            self.mismatch(left)
            return False
        if op not in ("==", "!=") and kind(left) not in ("number", "string"):
            self.mismatch(left)
            return False
        return {
            "==": lambda: left == right,
            "!=": lambda: left != right,
            "<": lambda: left < right,
            "<=": lambda: left <= right,
            ">": lambda: left > right,
            ">=": lambda: left >= right,
        }[op]()

    def member(self, item: Any, container: Any) -> bool:
        if container is None:
            return False
        if isinstance(container, list):
            if item is None:
                return None in container
            same = [element for element in container if kind(element) == kind(item)]
            if container and not same:
                self.mismatch(item)
                return False
            return item in same
        if isinstance(container, str):
            if item is None:
                return False
            if not isinstance(item, str):
                self.mismatch(item)
                return False
            return item in container
        self.mismatch(container)
        return False

    def not_member(self, item: Any, container: Any) -> bool:
        if item is None or container is None:
            return False
        if isinstance(container, list | str):
            before = self.mismatches
            found = self.member(item, container)
            return not found and self.mismatches == before
        self.mismatch(container)
        return False

    def arithmetic(self, op: str, left: Any, right: Any) -> Any:
        if op == "+" and isinstance(left, str) and isinstance(right, str):
            return left + right
        if left is None or right is None:
            return None
        if kind(left) != "number" or kind(right) != "number":
            self.mismatch(left)
            return None
        if op in ("/", "%") and right == 0:
            self.mismatch(left)
            return None
        return {
            "+": lambda: left + right,
            "-": lambda: left - right,
            "*": lambda: left * right,
            "/": lambda: left / right,
            "%": lambda: left % right,
        }[op]()

    def call(self, node: ast.Call) -> Any:
        builtin = BUILTINS[node.name]

        def report(value: Any) -> bool:
            self.mismatch(value)
            return False

        if builtin.event_time:
            zone = [time_zone(arg.value) for arg in node.args if isinstance(arg, ast.Literal)]
            return builtin.impl(report, self.event.get(self.timestamp_field), *zone)
        return builtin.impl(report, *(self.eval(arg) for arg in node.args))


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object" if isinstance(value, dict) else "other"


def null_literal(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.value is None


def as_key(value: Any) -> Any:
    """A `by` value as the compiled key functions give it: JSON text for lists and objects."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
