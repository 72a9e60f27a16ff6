"""`where:` expressions (`json.amount <= 50`, `any(m.to == 'alice' for m in sent)`) evaluated without `eval`.

A rubric is data someone else may have written, so its expressions run on a small AST walker: literals, names,
`a.b` / `a['b']` (a dict's key or a list's index), comparisons, `and`/`or`/`not`, arithmetic, `x if c else y`,
one-`for` comprehensions and a fixed set of functions and string methods. Anything else is refused when the
rubric loads, so a bad expression is a load error naming its line, never a surprise in the middle of an eval.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "any": any, "all": all, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
    "str": str, "int": int, "float": float, "bool": bool, "sorted": sorted, "set": set, "list": list,
    "matches": lambda pattern, text: re.search(pattern, str(text)) is not None,
}  # fmt: skip
METHODS = {"lower", "upper", "strip", "startswith", "endswith", "get", "keys", "values", "items", "count", "split"}
COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_, ast.IsNot: operator.is_not,
}  # fmt: skip
BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv,
}  # fmt: skip
ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store, ast.Attribute, ast.Subscript, ast.Compare,
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.BinOp, ast.IfExp, ast.Call, ast.List,
    ast.Tuple, ast.Dict, ast.GeneratorExp, ast.ListComp, ast.comprehension, *COMPARE, *BINARY,
)  # fmt: skip


class ExpressionError(ValueError):
    """An expression a rubric may not use (or cannot parse); the message says which part."""


class Missing:
    """What `json.nope` gives: compares unequal to everything and is never ordered, so the row just fails."""

    def __repr__(self) -> str:
        return "missing"

    def __bool__(self) -> bool:
        return False


MISSING = Missing()


class Expression:
    """A checked expression; `evaluate(names)` is True/False (an error while evaluating counts as False)."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self.tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"`{source}` is not an expression ({exc.msg})") from None
        for node in ast.walk(self.tree):
            if not isinstance(node, ALLOWED):
                raise ExpressionError(f"`{source}`: {type(node).__name__} is not allowed in a rubric expression")
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                _check_call(source, node)
            if isinstance(node, ast.comprehension) and ((node.ifs and len(node.ifs) > 1) or node.is_async):
                raise ExpressionError(f"`{source}`: one `if` per comprehension at most")
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                raise ExpressionError(f"`{source}`: `.{node.attr}` (a private name) is not allowed")

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def value(self, names: Mapping[str, Any]) -> Any:
        return _Walker(names).eval(self.tree.body)

    def evaluate(self, names: Mapping[str, Any]) -> bool:
        try:
            return bool(self.value(names))
        except Exception:  # a missing field, a type mismatch: this row does not satisfy the expression
            return False


def _check_call(source: str, node: ast.Call) -> None:
    if node.keywords:
        raise ExpressionError(f"`{source}`: keyword arguments are not allowed in calls")
    func = node.func
    if isinstance(func, ast.Name) and func.id in FUNCTIONS:
        return
    if isinstance(func, ast.Attribute) and func.attr in METHODS:
        return
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "?")
    allowed = ", ".join(sorted(FUNCTIONS)) + "; methods: " + ", ".join(sorted(METHODS))
    raise ExpressionError(f"`{source}`: the function {name!r} is not allowed (allowed: {allowed})")


class _Walker:
    def __init__(self, names: Mapping[str, Any]) -> None:
        self.scopes: list[Mapping[str, Any]] = [names]

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in FUNCTIONS:
            return FUNCTIONS[name]
        return {"true": True, "false": False, "null": None, "none": None}.get(name.lower(), MISSING)

    def eval(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            return member(self.eval(node.value), node.attr)
        if isinstance(node, ast.Subscript):
            return member(self.eval(node.value), self.eval(node.slice))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                result: Any = True
                for value in node.values:
                    result = self.eval(value)
                    if not result:
                        return result
                return result
            for value in node.values:
                result = self.eval(value)
                if result:
                    return result
            return result
        if isinstance(node, ast.UnaryOp):
            operand = self.eval(node.operand)
            return not operand if isinstance(node.op, ast.Not) else -operand
        if isinstance(node, ast.BinOp):
            return BINARY[type(node.op)](self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.Compare):
            left = self.eval(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.eval(right_node)
                if MISSING in (left, right) and not isinstance(op, ast.Is | ast.IsNot):
                    return False
                if not COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)
        if isinstance(node, ast.List | ast.Tuple):
            return [self.eval(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {self.eval(k): self.eval(v) for k, v in zip(node.keys, node.values, strict=True) if k is not None}
        if isinstance(node, ast.GeneratorExp | ast.ListComp):
            return self.comprehension(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise ExpressionError(f"{type(node).__name__} is not allowed")

    def comprehension(self, node: ast.GeneratorExp | ast.ListComp) -> list[Any]:
        if len(node.generators) != 1 or not isinstance(node.generators[0].target, ast.Name):
            raise ExpressionError("a comprehension takes one `for name in ...`")
        loop = node.generators[0]
        name = loop.target.id  # type: ignore[union-attr]
        out = []
        for item in self.eval(loop.iter):
            self.scopes.append({name: item})
            try:
                if all(self.eval(cond) for cond in loop.ifs):
                    out.append(self.eval(node.elt))
            finally:
                self.scopes.pop()
        return out

    def call(self, node: ast.Call) -> Any:
        args = [self.eval(a) for a in node.args]
        func = node.func
        if isinstance(func, ast.Name):
            return FUNCTIONS[func.id](*args)
        assert isinstance(func, ast.Attribute)
        target = self.eval(func.value)
        if isinstance(target, Missing):
            return MISSING
        return getattr(target, func.attr)(*args)


def member(value: Any, key: Any) -> Any:
    """`value.key` / `value[key]` on parsed JSON: a dict's key, a list's index; MISSING when there is none."""
    if isinstance(value, Mapping):
        return value.get(key, MISSING)
    if isinstance(value, list | tuple | str) and isinstance(key, int) and -len(value) <= key < len(value):
        return value[key]
    return MISSING
