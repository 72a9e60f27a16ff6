"""Cassettes: the recorded interactions on disk (vcrpy's format plus hudproxy's extra keys) and in memory."""

from hudproxy.cassette.files import atomic_write, dumps_cassette, load_cassette, save_cassette
from hudproxy.cassette.model import FORMAT_VERSION, Cassette

__all__ = ["FORMAT_VERSION", "Cassette", "atomic_write", "dumps_cassette", "load_cassette", "save_cassette"]
