"""`--hudproxy-max-age`: a marked cassette recorded too long ago fails (or warns about) the tests using it."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from hudproxy.cassette import save_cassette
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

TESTS = """
    import httpx
    import pytest


    @pytest.mark.hudproxy("cassettes/old.yaml")
    def test_old(hudproxy_session):
        assert httpx.get(f"{hudproxy_session.base_url}/orders/A1", trust_env=False).status_code == 200


    @pytest.mark.hudproxy("cassettes/old.yaml")
    def test_old_again(hudproxy_session):
        assert httpx.get(f"{hudproxy_session.base_url}/orders/A1", trust_env=False).status_code == 200


    @pytest.mark.hudproxy("cassettes/new.yaml")
    def test_new(hudproxy_session):
        assert httpx.get(f"{hudproxy_session.base_url}/orders/A1", trust_env=False).status_code == 200
"""


def stamp(days_ago: float) -> str:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """Two cassettes: old.yaml's oldest interaction is 45 days old, new.yaml was recorded yesterday."""
    for name, ages in (("old", [45, 2]), ("new", [1])):
        interactions = [
            make_interaction(
                make_request("GET", "http://shop.test/orders/A1"),
                make_response(json={"id": "A1"}),
                index=n,
                recorded_at=stamp(age),
            )
            for n, age in enumerate(ages)
        ]
        save_cassette(make_cassette(interactions), pytester.path / "cassettes" / f"{name}.yaml")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_shop=textwrap.dedent(TESTS))
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark", *args)


def test_old_cassettes_fail_their_tests(project: pytest.Pytester) -> None:
    result = run(project, "--hudproxy-max-age", "30d")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*cassettes/old.yaml was recorded 45 days ago*more than --hudproxy-max-age*"])
    assert "Traceback" not in result.stdout.str()


def test_warn_lets_them_run(project: pytest.Pytester) -> None:
    result = run(project, "--hudproxy-max-age", "30d", "--hudproxy-max-age-action", "warn")
    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines(["*CassetteAgeWarning*old.yaml was recorded 45 days ago*"])


def test_a_wider_limit_or_no_limit_passes(project: pytest.Pytester) -> None:
    run(project, "--hudproxy-max-age", "60d").assert_outcomes(passed=3)
    run(project).assert_outcomes(passed=3)


def test_a_malformed_age_is_a_usage_error(project: pytest.Pytester) -> None:
    result = run(project, "--hudproxy-max-age", "a month")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--hudproxy-max-age 'a month': give a duration such as 30d*"])
