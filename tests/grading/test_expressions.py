"""`where:` expressions run on an AST walker: what a rubric may say, what it may not, and that nothing runs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hudproxy.grading.expressions import Expression, ExpressionError

NAMES: dict[str, Any] = {
    "json": {"amount": 42.5, "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}], "note": "Refund ok"},
    "status": 201,
    "args": {"order_id": "A1", "limit": 50},
}


@pytest.mark.parametrize(("source", "expected"), [
    ("json.amount <= 50", True),
    ("json.amount <= args.limit and status == 201", True),
    ("json['amount'] > 50 or status in [200, 204]", False),
    ("sum(i.qty for i in json.items) == 3", True),
    ("any(i.sku == 'B' for i in json.items if i.qty == 1)", True),
    ("len(json.items) == 2 and json.items[0].sku == 'A'", True),
    ("json.note.lower().startswith('refund')", True),
    ("matches('(?i)ok$', json.note)", True),
    ("json.missing == None", False),  # a missing field is neither None nor anything else
    ("json.amount < 'x'", False),  # a type error fails the row, it does not crash the grade
    ("not json.missing", True),
    ("-json.amount < 0 if status == 201 else False", True),
])  # fmt: skip
def test_allowed_expressions_evaluate(source: str, expected: bool) -> None:
    assert Expression(source).evaluate(NAMES) is expected


@pytest.mark.parametrize(("source", "refused"), [
    ("__import__('os').system('touch /tmp/pwned')", "the function 'system' is not allowed"),
    ("open('/etc/passwd').read()", "the function 'read' is not allowed"),
    ("json.__class__.__mro__", "(a private name) is not allowed"),
    ("(lambda: 1)()", "Lambda is not allowed"),
    ("[x for x in json.items for y in x]", "Expression"),  # two `for`s: refused when evaluated, below
    ("x := 1", "is not an expression"),
    ("json.get('amount', **{})", "keyword is not allowed"),
    ("f'{json}'", "JoinedStr is not allowed"),
])  # fmt: skip
def test_anything_else_is_refused_when_the_rubric_loads(source: str, refused: str) -> None:
    if refused == "Expression":
        with pytest.raises(ExpressionError, match=re.escape("one `for name in ...`")):
            Expression(source).value(NAMES)
        return
    with pytest.raises(ExpressionError, match=re.escape(refused)):
        Expression(source)
