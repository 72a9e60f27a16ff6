"""The pytest plugin, run on small test projects: marker, per-test sessions, readable failures, re-recording."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.serving import serve_in_thread
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

API = "http://shop.test"

SHOP_TESTS = """
    import httpx
    import pytest

    ROOTS = []


    @pytest.mark.hudproxy("cassettes/shop.yaml")
    def test_ships(hudproxy_session):
        url = f"{hudproxy_session.base_url}/orders/A1"
        assert httpx.patch(url, json={"status": "shipped"}, trust_env=False).status_code == 200
        assert httpx.get(url, trust_env=False).json()["status"] == "shipped"
        hudproxy_session.assert_called("PATCH", "/orders/A1", json={"status": "shipped"}, times=1)
        ROOTS.append((hudproxy_session.base_url.split("/s/")[0], hudproxy_session.id))


    @pytest.mark.hudproxy("cassettes/shop.yaml")
    def test_the_next_test_starts_fresh(hudproxy_session):
        assert httpx.get(f"{hudproxy_session.base_url}/orders/A1", trust_env=False).json()["status"] == "pending"
        assert [c.method for c in hudproxy_session.calls()] == ["GET"]
        ROOTS.append((hudproxy_session.base_url.split("/s/")[0], hudproxy_session.id))
        (first_root, first_id), (root, session_id) = ROOTS
        assert root == first_root and session_id != first_id  # one server, a session per test


    @pytest.mark.hudproxy("cassettes/shop.yaml")
    def test_fails_readably(hudproxy_session):
        httpx.get(f"{hudproxy_session.base_url}/orders/A1", trust_env=False)
        httpx.post(f"{hudproxy_session.base_url}/refunds", json={"order": "A1"}, trust_env=False)
        hudproxy_session.assert_called("PATCH", "/orders/A1")


    def test_without_the_marker(hudproxy_session):
        pass
"""


def order_story() -> list[Any]:
    url = f"{API}/orders/A1"
    return [
        make_interaction(make_request("GET", url), make_response(json={"id": "A1", "status": "pending"})),
        make_interaction(make_request("PATCH", url, json={"status": "shipped"}), make_response(json={"ok": True})),
        make_interaction(make_request("GET", url), make_response(json={"id": "A1", "status": "shipped"})),
    ]


def project(pytester: pytest.Pytester, tests: str, ini: str = "") -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_shop=textwrap.dedent(tests))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the project in-process, without plugins that only add noise (the cache, benchmark's xdist warning)."""
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark", *args)


def test_marked_tests_get_their_own_session_on_one_shared_server(pytester: pytest.Pytester) -> None:
    save_cassette(make_cassette(order_story()), pytester.path / "cassettes" / "shop.yaml")
    project(pytester, SHOP_TESTS)
    result = run(pytester, "--strict-markers")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: expected a call that was not made",
            "*  expected: PATCH /orders/A1",
            "*  calls made (2), nearest first:",
            "*    #1 GET /orders/A1 → 200",
            '*    #2 POST /refunds {"order":"A1"} → 501  [[]unmatched]',
        ]
    )
    result.stdout.no_fnmatch_line("*journal/assertions.py*")  # the failure points at the test, not at hudproxy
    result.stdout.fnmatch_lines(["*hudproxy_session fixture needs a cassette*@pytest.mark.hudproxy(*"])


BAD_MARKERS = """
    import pytest


    @pytest.mark.hudproxy("cassettes/missing.yaml")
    def test_missing(hudproxy_session):
        pass


    @pytest.mark.hudproxy("cassettes/shop.yaml", stream_timeing=True)
    def test_misspelt(hudproxy_session):
        pass
"""


def test_a_missing_cassette_or_an_unknown_option_fails_clearly(pytester: pytest.Pytester) -> None:
    project(pytester, BAD_MARKERS)
    result = run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*the hudproxy marker does not take stream_timeing: hudproxy(cassette, *"])


def test_a_missing_cassette_names_every_path_tried(pytester: pytest.Pytester) -> None:
    """The test lives in tests/, so the cassette was looked for beside it and under the rootdir: both named."""
    pytester.makeini("[pytest]\n")
    tests = pytester.mkdir("tests")
    (tests / "test_shop.py").write_text(textwrap.dedent(BAD_MARKERS))
    result = run(pytester)
    result.assert_outcomes(errors=2)
    beside, under_root = tests / "cassettes" / "missing.yaml", pytester.path / "cassettes" / "missing.yaml"
    result.stdout.fnmatch_lines([
        f"hudproxy: no cassette 'cassettes/missing.yaml': tried {beside} (beside the test file) and {under_root} "
        "(under the rootdir). Record it with `hudproxy record` or `pytest --hudproxy-record`."
    ])  # fmt: skip


def test_a_cassette_under_the_rootdir_is_found_from_a_test_in_a_subfolder(pytester: pytest.Pytester) -> None:
    save_cassette(make_cassette(order_story()), pytester.path / "cassettes" / "shop.yaml")
    pytester.makeini("[pytest]\n")
    tests = pytester.mkdir("tests")
    (tests / "test_shop.py").write_text(textwrap.dedent(SHOP_TESTS))
    run(pytester, str(tests / "test_shop.py"), "-k", "ships or fresh").assert_outcomes(passed=2)


def test_a_broken_cassette_fails_in_one_message_without_a_chained_exception(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "shop.yaml").write_text("version: 1\ninteractions: [\n")
    project(pytester, SHOP_TESTS)
    result = run(pytester, "-k", "ships")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["hudproxy: */cassettes/shop.yaml:*"])
    result.stdout.no_fnmatch_line("*During handling of the above exception*")


def shop_upstream() -> FastAPI:
    """The real API the recording run talks to."""
    app = FastAPI()
    orders = {"A1": "pending"}

    @app.get("/orders/{order_id}")
    def read(order_id: str) -> dict[str, str]:
        return {"id": order_id, "status": orders[order_id]}

    @app.patch("/orders/{order_id}")
    def patch(order_id: str, change: dict[str, str]) -> dict[str, bool]:
        orders[order_id] = change["status"]
        return {"ok": True}

    return app


RECORDED_TESTS = """
    import httpx
    import pytest


    @pytest.mark.hudproxy("cassettes/shop.yaml")
    def test_ships(hudproxy_session):
        url = f"{hudproxy_session.base_url}/orders/A1"
        assert httpx.get(url, trust_env=False).json()["status"] == "pending"
        assert httpx.patch(url, json={"status": "shipped"}, trust_env=False).status_code == 200
        assert httpx.get(url, trust_env=False).json()["status"] == "shipped"
        hudproxy_session.assert_called("PATCH", "/orders/A1", json={"status": "shipped"}, times=1)
        hudproxy_session.assert_called_before(("GET", "/orders/A1"), ("PATCH", "/orders/*"))


    @pytest.mark.hudproxy("cassettes/shop.yaml")
    def test_sees_only_its_own_calls(hudproxy_session):
        assert httpx.get(f"{hudproxy_session.base_url}/orders/A1", trust_env=False).status_code == 200
        assert [c.method for c in hudproxy_session.calls()] == ["GET"]
"""


@pytest.fixture
def upstream_url() -> Iterator[str]:
    with serve_in_thread(shop_upstream()) as url:
        yield url


def test_record_against_the_ini_target_then_replay_without_it(pytester: pytest.Pytester, upstream_url: str) -> None:
    cassette = pytester.path / "cassettes" / "shop.yaml"
    save_cassette(make_cassette([make_interaction()]), cassette)  # stale: re-recording replaces it
    project(pytester, RECORDED_TESTS, ini=f"hudproxy_target = {upstream_url}")
    run(pytester, "--hudproxy-record").assert_outcomes(passed=2)
    recorded = load_cassette(cassette).interactions
    assert [(i.request.method, i.request.path) for i in recorded] == [
        ("GET", "/orders/A1"), ("PATCH", "/orders/A1"), ("GET", "/orders/A1"), ("GET", "/orders/A1"),
    ]  # fmt: skip
    assert sorted(p.name for p in cassette.parent.iterdir()) == ["shop.yaml"]
    pytester.makeini("[pytest]\nhudproxy_target = http://127.0.0.1:9\n")  # nothing listens: replay needs none
    run(pytester).assert_outcomes(passed=2)


def test_recording_without_a_target_says_where_to_set_one(pytester: pytest.Pytester) -> None:
    project(pytester, RECORDED_TESTS)
    result = run(pytester, "--hudproxy-record")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*--hudproxy-record needs a target: set `hudproxy_target = URL`*"])


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    run(pytester, "--markers").stdout.fnmatch_lines(["@pytest.mark.hudproxy(cassette, *"])


XDIST_TESTS = """
    import os

    import pytest


    @pytest.mark.parametrize("n", range(3))
    @pytest.mark.hudproxy("cassettes/shop.yaml")
    def test_where(hudproxy_session, n):
        root = hudproxy_session.base_url.split("/s/")[0]
        with open("servers.txt", "a") as out:
            out.write(f"{os.environ['PYTEST_XDIST_WORKER']} {root} {hudproxy_session.id}\\n")
"""


def test_under_xdist_each_worker_has_its_own_server(pytester: pytest.Pytester) -> None:
    save_cassette(make_cassette(order_story()), pytester.path / "cassettes" / "shop.yaml")
    project(pytester, XDIST_TESTS)
    run(pytester, "-n", "2", "--dist", "each").assert_outcomes(passed=6)
    lines = [line.split() for line in (pytester.path / "servers.txt").read_text().splitlines()]
    roots = {worker: {root for w, root, _ in lines if w == worker} for worker, _, _ in lines}
    assert sorted(roots) == ["gw0", "gw1"] and all(len(r) == 1 for r in roots.values())
    assert roots["gw0"] != roots["gw1"]
    assert len({session for _, _, session in lines}) == 6


GENERALISED_TESTS = """
    import httpx
    import pytest


    @pytest.mark.hudproxy("cassettes/todos.yaml", generalise=True)
    def test_grades_by_end_state(hudproxy_session):
        base = hudproxy_session.base_url
        made = httpx.post(f"{base}/users/2/todos", json={"title": "not recorded"}, trust_env=False)
        assert made.status_code == 201 and made.headers["x-hudproxy-synthesized"] == "users.todos.create"
        assert httpx.delete(f"{base}/users/1/todos/3", trust_env=False).status_code == 204
        diff = hudproxy_session.state_diff()
        assert [c["path"] for c in diff["created"]] == ["/users/2/todos/7"]
        assert [d["path"] for d in diff["deleted"]] == ["/users/1/todos/3"] and diff["updated"] == []
"""


def test_marker_generalise_answers_from_the_model_and_exposes_the_state(pytester: pytest.Pytester) -> None:
    from pathlib import Path

    recorded = Path(__file__).resolve().parents[2] / "cassettes" / "todos.yaml"
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "todos.yaml").write_bytes(recorded.read_bytes())
    project(pytester, GENERALISED_TESTS)
    run(pytester).assert_outcomes(passed=1)
