"""The smallest environment (the "simple" layout): tools and a scenario in one file.

python envs/minimal/local_test.py          run the scenario with a scripted agent
hudproxy serve envs/minimal --port 8765    serve it over MCP
"""

from __future__ import annotations

from pydantic import BaseModel

from hudproxy.env import Environment

env = Environment("minimal")
NOTES: dict[str, str] = {"welcome": "hudproxy environments are MCP servers and clients in one."}


class Note(BaseModel):
    title: str
    text: str


@env.tool
async def read_note(title: str) -> Note:
    """Read a note by its title."""
    return Note(title=title, text=NOTES.get(title, ""))


@env.tool
async def count_words(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


@env.scenario("count-note-words")
async def count_note_words(title: str = "welcome"):
    """Ask for the number of words in a note; graded on the exact count."""
    answer = yield f"How many words are in the note titled {title!r}? Answer with the number only."
    expected = len(NOTES.get(title, "").split())
    yield 1.0 if (answer or "").strip() == str(expected) else 0.0
