"""vcrpy cassettes in: hudproxy reads vcrpy's format natively, so importing is loading and saving again.

Why keep it as a route at all: import scrubs secrets (vcrpy stores them unless filters were set up), numbers
the interactions, and records where the cassette came from, the same as for HAR and flow files.
"""

from __future__ import annotations

from pathlib import Path

from hudproxy.cassette.files import load_cassette
from hudproxy.cassette.model import Cassette


def read(path: Path) -> Cassette:
    return load_cassette(path)
