"""Fixtures shared by every test folder: real servers on loopback, and an isolated compiled-cassette cache.

Also the run's two modes. `HUDPROXY_TEST_FAST=1 pytest` is the quick local loop: it skips the tests marked `slow`
(a real engine or a heavy runtime: Docker, PostgreSQL, Ray, Chromium). CI (`CI=true`, as `.ci/run` runs there)
always runs everything, whatever HUDPROXY_TEST_FAST says. And whatever a run started (a PostgreSQL cluster, a
Docker engine, images) is stopped or removed when it ends. Both live in tests/testrun.py.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import testrun

from hudproxy.serving import serve_in_thread

Serve = Callable[[Any], str]
FAST_ENV = testrun.FAST_ENV
SLOW = "slow"
# each starts a real engine or runtime
SLOW_FIXTURES = frozenset({"postgres_dsn", "docker_client", "local_ray", "llm_server"})
OWNER = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _hudproxy_logging_restored() -> Iterator[None]:
    """A CLI run in-process sets the `hudproxy` logger's level and the root handlers (`setup_logging`); later tests
    must see logging as pytest set it up (caplog at DEBUG, no handler on a closed capture stream)."""
    import logging

    ours, root = logging.getLogger("hudproxy"), logging.getLogger()
    level, handlers, root_level = ours.level, list(root.handlers), root.level
    yield
    ours.setLevel(level)
    root.handlers[:] = handlers
    root.setLevel(root_level)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SLOW}: needs a real engine or a heavy runtime (Docker, PostgreSQL, Ray, Chromium); {FAST_ENV}=1 skips it "
        "locally, CI=true always runs it (tests using the fixtures postgres_dsn, docker_client or local_ray, or "
        "marked docker, are slow without saying so)",
    )
    config.stash[OWNER] = testrun.begin()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=f"slow (a real engine); {FAST_ENV}=1 skips it, unset it or run .ci/run")
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("docker") or fixtures & SLOW_FIXTURES:
            item.add_marker(SLOW)
        if testrun.fast_loop() and item.get_closest_marker(SLOW):
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"hudproxy: {FAST_ENV}=1, tests marked {SLOW} are skipped (CI runs them)" if testrun.fast_loop() else None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The run's process stops what the run started, once every test (and every xdist worker) is done."""
    if config.stash.get(OWNER, False):
        for line in testrun.stop_all():
            terminalreporter.write_line(f"hudproxy tests: {line}")


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(OWNER, False):  # no terminal (-p no:terminal): stop anyway
        testrun.stop_all()


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$HUDPROXY_CACHE_DIR for this test: large cassettes cache their parse here, never in the user's ~/.cache."""
    cache = tmp_path_factory.mktemp("hudproxy-cache")
    monkeypatch.setenv("HUDPROXY_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def journal_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$HUDPROXY_JOURNAL for this test: a `hudproxy record|replay` run without --journal writes here, never into
    the working folder's .hudproxy/."""
    journal = tmp_path_factory.mktemp("hudproxy-journal") / "journal.db"
    monkeypatch.setenv("HUDPROXY_JOURNAL", str(journal))
    return journal


@pytest.fixture
def upstream() -> Iterator[Serve]:
    """Factory: `upstream(app)` serves an ASGI app on 127.0.0.1 in a thread and returns its base URL.

    Every server started in the test stops when the test ends.
    """
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app))


@pytest.fixture
def shop_upstream(upstream: Serve) -> str:
    """The example shop, fresh seed state, on a free loopback port."""
    from envs.shop.service import create_app  # imported here so plain `pytest` (no cwd on sys.path) still collects

    return upstream(create_app())


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on, held (bound, never listening) so no other process takes it meanwhile:
    connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real OpenAI-compatible server running SmolLM2-135M (tests/llm_server.py), one for the whole run; skips
    locally with the install command when llama-cpp-python or the GGUF is missing, fails on CI."""
    import llm_server as llm

    llm.skip_or_fail_if_missing()
    with llm.running(tmp_path_factory.mktemp("llm")) as server:
        yield server
