"""Small pieces every part of the Python API shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hudproxy.journal.assertions import (
    CallSpec,
)
from hudproxy.journal.query import PathPattern

T = TypeVar("T")
SpecLike = CallSpec | tuple[str | None, PathPattern | None]
SESSION_HEADER = "X-Hudproxy-Session"
LOOP_TIMEOUT = 10.0


def plainly(check: Callable[[], T]) -> T:
    """Re-raise an assertion failure from here, so pytest shows the test's line and the message, not our frames."""
    __tracebackhide__ = True
    try:
        return check()
    except AssertionError as exc:
        raise AssertionError(str(exc)) from None


def as_spec(spec: SpecLike) -> CallSpec:
    """`("POST", "/refunds")` or a full CallSpec."""
    return spec if isinstance(spec, CallSpec) else CallSpec(*spec)
