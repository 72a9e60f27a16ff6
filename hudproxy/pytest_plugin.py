"""pytest plugin: `@pytest.mark.hudproxy("cassettes/x.yaml")` and the `hudproxy_session` fixture.

    @pytest.mark.hudproxy("cassettes/shop.yaml")
    def test_ships(hudproxy_session):
        httpx.patch(f"{hudproxy_session.base_url}/orders/A1", json={"status": "shipped"})
        hudproxy_session.assert_called("PATCH", "/orders/A1", times=1)

One replay server per cassette (and marker options) per process, started on first use and shared by every test
that names it; each test gets a fresh session on it, so tests never see each other's state or calls. The
servers are session-scoped, and pytest-xdist runs each worker as its own process, so every worker has its own
servers: nothing crosses process boundaries, no port or journal is shared, and a worker's crash takes only its
own server down. A server costs one cassette load per process; the sessions are what isolate tests.

A relative cassette path is looked up beside the test file first, then under the rootdir (the folder of
pytest.ini / pyproject.toml); when it is in neither, the failure names both paths tried. `--hudproxy-record`
writes a cassette that does not exist yet beside the test file.

`--hudproxy-record` re-records instead: every cassette gets a recording proxy (record mode `all`, into a fresh
file that replaces the cassette when the run ends) in front of the marker's `target=` or the `hudproxy_target`
ini option, and `hudproxy_session.base_url` points at it. Assertions then see what was recorded during the test.
Record without xdist (`-p no:xdist`): two workers recording one cassette would overwrite each other.

`--hudproxy-max-age 30d` checks every marked cassette's oldest `recorded_at` when a test first uses it: older
fails the test (`--hudproxy-max-age-action warn`: a warning instead), so stale recordings surface in CI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hudproxy.api import Recording, RecordingSession, Replay, Session

    AnySession = Session | RecordingSession

MARKER = "hudproxy"
MARKER_SIGNATURE = (
    "(cassette, target=None, unmatched='error', stream_timing=False, match=None, generalise=False, seed=None)"
)
REPLAY_OPTIONS = frozenset({"unmatched", "stream_timing", "match", "generalise", "seed"})  # passed on to Replay
USAGE = '@pytest.mark.hudproxy("cassettes/x.yaml")'
RECORD_OPTION = "--hudproxy-record"
TARGET_INI = "hudproxy_target"
MAX_AGE_OPTION = "--hudproxy-max-age"
AGE_ACTIONS = ("fail", "warn")
NO_TARGET = f"{RECORD_OPTION} needs a target: set `{TARGET_INI} = URL` in the ini file or pass target= to the marker."


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hudproxy", "hudproxy replay and recording")
    group.addoption(
        RECORD_OPTION,
        action="store_true",
        default=False,
        help="re-record every cassette named by a hudproxy marker against its target (record mode `all`).",
    )
    group.addoption(
        MAX_AGE_OPTION,
        default=None,
        metavar="AGE",
        help="fail (or warn) when a marked cassette was recorded longer ago than AGE, e.g. 30d, 12h, 2w.",
    )
    group.addoption(
        "--hudproxy-max-age-action",
        default="fail",
        choices=AGE_ACTIONS,
        help=f"what an old cassette does with {MAX_AGE_OPTION}: fail the test using it (default) or warn.",
    )
    parser.addini(TARGET_INI, "real API that --hudproxy-record records against (a marker's target= wins)")


class CassetteAgeWarning(UserWarning):
    """A cassette recorded longer ago than --hudproxy-max-age (with --hudproxy-max-age-action warn)."""


def max_age(config: pytest.Config) -> dt.timedelta | None:
    """The --hudproxy-max-age limit, or None; a malformed one is a usage error naming the option."""
    text = config.getoption("hudproxy_max_age")
    if text is None:
        return None
    from hudproxy.drift.age import parse_duration
    from hudproxy.errors import ConfigError

    try:
        return parse_duration(text, MAX_AGE_OPTION)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    max_age(config)  # a malformed --hudproxy-max-age stops the run before any test
    config.addinivalue_line(
        "markers",
        f"{MARKER}{MARKER_SIGNATURE}: replay CASSETTE for this test's "
        "`hudproxy_session` fixture (one server per cassette per process, a fresh session per test).",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("hudproxy_record"):
        target = config.getini(TARGET_INI) or "each marker's target="
        return f"hudproxy: re-recording cassettes against {target}"
    return None


@dataclass(frozen=True)
class CassetteSpec:
    """What a marker asks for; equal specs share one server."""

    cassette: Path
    target: str | None
    options: tuple[tuple[str, Any], ...]

    @classmethod
    def from_marker(cls, marker: pytest.Mark, request: pytest.FixtureRequest) -> CassetteSpec:
        if len(marker.args) != 1:
            pytest.fail(f"the hudproxy marker takes one cassette path: {USAGE}", pytrace=False)
        kwargs = dict(marker.kwargs)
        target = kwargs.pop("target", None)
        unknown = sorted(set(kwargs) - REPLAY_OPTIONS)
        if unknown:
            pytest.fail(f"the hudproxy marker does not take {', '.join(unknown)}: {MARKER}{MARKER_SIGNATURE}", False)
        named = Path(marker.args[0])
        cassette = resolve(named, request.path.parent, request.config.rootpath)
        if not cassette.exists() and not request.config.getoption("hudproxy_record"):
            pytest.fail(missing_cassette(named, request.path.parent, request.config.rootpath), pytrace=False)
        return cls(cassette, target, tuple(sorted(kwargs.items())))


def candidates(cassette: Path, test_dir: Path, rootdir: Path) -> list[Path]:
    """Where a marker's cassette may be, in the order looked: as given if absolute; else beside the test file,
    then under the rootdir."""
    if cassette.is_absolute():
        return [cassette]
    return list(dict.fromkeys([test_dir / cassette, rootdir / cassette]))


def resolve(cassette: Path, test_dir: Path, rootdir: Path) -> Path:
    """The first candidate that exists; none does: the first (where `--hudproxy-record` writes it)."""
    found = candidates(cassette, test_dir, rootdir)
    return next((path for path in found if path.exists()), found[0])


def missing_cassette(cassette: Path, test_dir: Path, rootdir: Path) -> str:
    """Every path tried, with why each was tried, and the two ways to make the cassette."""
    why = {test_dir / cassette: "beside the test file", rootdir / cassette: "under the rootdir"}
    tried = " and ".join(f"{path} ({why[path]})" if path in why else str(path)
                         for path in candidates(cassette, test_dir, rootdir))  # fmt: skip
    return (
        f"hudproxy: no cassette {str(cassette)!r}: tried {tried}. Record it with `hudproxy record` or "
        f"`pytest {RECORD_OPTION}`."
    )


class Servers:
    """This process's replay servers (or recording proxies), one per cassette spec, started on first use."""

    def __init__(
        self, record: bool, default_target: str | None, max_age: dt.timedelta | None = None, age_action: str = "fail"
    ) -> None:
        self.record = record
        self.default_target = default_target
        self.max_age = max_age
        self.age_action = age_action
        self._running: dict[CassetteSpec, Replay | Recording] = {}
        self._too_old: dict[Path, str | None] = {}  # each cassette's age is judged once per process
        self._stack = contextlib.ExitStack()

    def session(self, spec: CassetteSpec) -> AnySession:
        self._check_age(spec.cassette)
        server = self._running.get(spec)
        if server is None:
            server = self._running[spec] = self._start(spec)
        return server.session()

    def _check_age(self, cassette: Path) -> None:
        """Fail (or warn) when the cassette is older than --hudproxy-max-age; re-recording makes it new."""
        if self.max_age is None or self.record:
            return
        if cassette not in self._too_old:
            self._too_old[cassette] = self._judge_age(cassette, self.max_age)
            if self._too_old[cassette] is not None and self.age_action == "warn":
                warnings.warn(CassetteAgeWarning(self._too_old[cassette]), stacklevel=2)
        problem = self._too_old[cassette]
        if problem is not None and self.age_action == "fail":
            pytest.fail(problem, pytrace=False)

    @staticmethod
    def _judge_age(cassette: Path, limit: dt.timedelta) -> str | None:
        from hudproxy.cassette.files import load_cassette
        from hudproxy.drift.age import age_of, describe_age
        from hudproxy.errors import HudproxyError

        try:
            age = age_of(load_cassette(cassette).interactions)
        except HudproxyError:
            return None  # the replay server reports a broken cassette in its own words
        now = dt.datetime.now(dt.UTC)
        if not age.older_than(limit, now):
            return None
        assert age.oldest is not None
        return (
            f"hudproxy: {cassette} was recorded {describe_age(now - age.oldest)} ago ({age.oldest:%Y-%m-%d}), "
            f"more than {MAX_AGE_OPTION} allows: check it with `hudproxy verify {cassette.name}` or record it "
            f"again (`pytest {RECORD_OPTION}`)."
        )

    def _start(self, spec: CassetteSpec) -> Replay | Recording:
        from hudproxy.api import Recording, Replay
        from hudproxy.errors import HudproxyError

        target = spec.target if not self.record else spec.target or self.default_target
        if self.record and not target:
            pytest.fail(NO_TARGET, pytrace=False)
        try:
            if not self.record:
                return self._stack.enter_context(Replay(spec.cassette, target=target, **dict(spec.options)))
            return self._stack.enter_context(Recording(spec.cassette, target))
        except HudproxyError as exc:
            problem = f"hudproxy: {exc}"
        pytest.fail(problem, pytrace=False)  # outside `except`: the failure is this line, not a chained exception

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def hudproxy_servers(pytestconfig: pytest.Config) -> Iterator[Servers]:
    """The replay servers of this process (one per cassette), stopped when the test session ends."""
    servers = Servers(
        pytestconfig.getoption("hudproxy_record"),
        pytestconfig.getini(TARGET_INI) or None,
        max_age(pytestconfig),
        pytestconfig.getoption("hudproxy_max_age_action"),
    )
    yield servers
    servers.close()


@pytest.fixture
def hudproxy_session(request: pytest.FixtureRequest, hudproxy_servers: Servers) -> Iterator[AnySession]:
    """A fresh, isolated session on the marked cassette's server: `.base_url`, `.calls()`, `.assert_called()`."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        pytest.fail(f"the hudproxy_session fixture needs a cassette: mark the test with {USAGE}", pytrace=False)
    session = hudproxy_servers.session(CassetteSpec.from_marker(marker, request))
    yield session
    session.close()
