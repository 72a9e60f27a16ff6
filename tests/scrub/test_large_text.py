"""A large body is scanned in pieces (so the event loop runs between them) with the same result as whole."""

from __future__ import annotations

import pytest

from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.text import LARGE_TEXT, PIECE, Scrubber, pieces

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def large_text(line: str) -> str:
    filler = "x" * 900
    lines = [f"{filler} {n}" for n in range(LARGE_TEXT // 900 + 200)]
    lines[len(lines) // 2] = line
    lines[-1] = line
    return "\n".join(lines)


@pytest.mark.parametrize("line", [f"token={JWT}", f"Authorization: Bearer {JWT}", f'{{"access_token": "{JWT}"}}'])
def test_a_large_text_is_scrubbed_as_a_small_one(line: str) -> None:
    text = large_text(line)
    assert len(text) > LARGE_TEXT
    scrubbed = Scrubber(ScrubPolicy.default()).text(text)
    assert JWT not in scrubbed
    small = Scrubber(ScrubPolicy.default()).text(line)
    assert scrubbed.count(small) == 2, "each occurrence replaced as it is in a small text"
    assert len(scrubbed.splitlines()) == len(text.splitlines())


def test_pieces_cut_after_line_breaks_and_join_to_the_text() -> None:
    text = large_text("plain")
    parts = list(pieces(text))
    assert "".join(parts) == text
    assert all(len(part) <= PIECE for part in parts)
    assert all(part.endswith("\n") for part in parts[:-1])


def test_a_text_without_breaks_is_cut_at_the_piece_size() -> None:
    text = "y" * (3 * PIECE + 5)
    assert [len(part) for part in pieces(text)] == [PIECE, PIECE, PIECE, 5]
