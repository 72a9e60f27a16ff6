"""The inspector over HTTP with a real client (httpx), no browser: keyset paging through a long session on a live
replay server's /_hudproxy/ui, the admin token for browsers (cookie), the rubric and pass^k from the results
database, the SQL filter agreeing with `inspect`'s, and one-line errors from `hudproxy ui`."""

from __future__ import annotations

import html
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
from processes import HUDPROXY, hudproxy_listening
from ui_shop import CASSETTE, ShopEval

from hudproxy.api import Replay
from hudproxy.cassette.files import load_cassette
from hudproxy.inspection import InteractionFilter
from hudproxy.netutil import free_port
from hudproxy.serving import serve_in_thread
from hudproxy.ui import Sources, create_ui_app
from hudproxy.ui.queries.cassettes import CassetteIndex
from hudproxy.ui.queries.results import TaskPassK

CALL_ROW = re.compile(r'<li class="call k-(\w+)" id="call-(\d+)"')
LATER = re.compile(r'<a rel="next" href="([^"]+)"')
EARLIER = re.compile(r'<a rel="prev" href="([^"]+)"')


def test_a_long_session_pages_through_every_call_once_in_order(tmp_path: Path) -> None:
    """450 calls (every 7th a miss) in one session of a live replay server: the timeline's pages of 200, followed
    by their `later` links, show each call once, in order; `earlier` goes back; the class filter keeps misses."""
    sent = 450
    with Replay(CASSETTE, journal=tmp_path / "journal.db") as replay, httpx.Client() as client:
        session = f"{replay.base_url}/s/long"
        for n in range(1, sent + 1):
            client.get(f"{session}/orders/ZZZ{n}" if n % 7 == 0 else f"{session}/orders/A1")
        ui = f"{replay.base_url}/_hudproxy/ui"
        seen, url, pages = [], f"{ui}/journal/long", []
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.text
            pages.append(url)
            seen.extend(int(seq) for _kind, seq in CALL_ROW.findall(response.text))
            later = LATER.search(response.text)
            url = f"{ui}/journal/long{html.unescape(later.group(1))}" if later else ""
        assert seen == list(range(1, sent + 1)) and len(pages) == 3
        back = EARLIER.search(client.get(pages[-1]).text)
        assert back is not None
        earlier = client.get(f"{ui}/journal/long{html.unescape(back.group(1))}").text
        assert [int(s) for _k, s in CALL_ROW.findall(earlier)] == list(range(201, 401))
        misses = CALL_ROW.findall(client.get(f"{ui}/journal/long?class=unmatched").text)
        assert [int(s) for _k, s in misses] == list(range(7, sent + 1, 7)) and {k for k, _s in misses} == {"unmatched"}
        detail = client.get(f"{ui}/journal/long/calls/7").text
        assert "Nearest recordings" in detail and "/orders/ZZZ7" in detail
        cassette = client.get(f"{ui}/cassettes/shop?status=4xx").text
        assert "/orders/ZZ" in cassette and "1 of 14 interactions" in cassette


def test_off_loopback_the_pages_need_the_token_which_a_link_turns_into_a_cookie(tmp_path: Path) -> None:
    port = free_port()
    argv = ["replay", str(CASSETTE), "--port", str(port), "--admin-token", "s3cret", "--journal",
            str(tmp_path / "j.db")]  # fmt: skip
    with hudproxy_listening(argv, port) as (_process, base_url), httpx.Client() as client:
        ui = f"{base_url}/_hudproxy/ui/cassettes/shop"
        assert client.get(ui).status_code == 401
        assert client.get(f"{ui}?token=wrong").status_code == 401
        login = client.get(f"{ui}?method=GET&token=s3cret")
        assert login.status_code == 303 and login.headers["location"] == "/_hudproxy/ui/cassettes/shop?method=GET"
        assert "HttpOnly" in login.headers["set-cookie"] and "Path=/_hudproxy" in login.headers["set-cookie"]
        page = client.get(f"{base_url}{login.headers['location']}")  # the client kept the cookie
        assert page.status_code == 200 and "/orders/A1" in page.text and "POST" not in page.text
        assert client.get(f"{base_url}/_hudproxy/health").status_code == 200  # the cookie opens the admin API too
        assert httpx.get(f"{base_url}/_hudproxy/health").status_code == 401  # and nothing opens it without


def test_the_rubric_and_pass_k_from_the_results_database(shop_eval: ShopEval, tmp_path: Path) -> None:
    """The shop's scenarios are graded by rubric files: the run page shows each gate and criterion from the
    `scores` table with its verdict, and links the journal rows of its evidence to the run's calls; a results
    database written before rubrics (no `scores` table) shows none; pass^k counts passing trials per task."""
    results = tmp_path / "results.db"
    shutil.copy(shop_eval.results, results)
    db = sqlite3.connect(results)
    db.row_factory = sqlite3.Row
    scored = [dict(r) for r in db.execute("select * from scores where kind != 'gate' order by id")]
    db.close()
    linked = next(s for s in scored if json.loads(s["evidence"]).get("calls"))
    seq = json.loads(linked["evidence"])["calls"][0]
    with serve_in_thread(create_ui_app(Sources({}, lambda: None, results))) as base_url:
        page = httpx.get(f"{base_url}/runs/{linked['run_id']}").text
        assert 'id="rubric"' in page and linked["criterion"] in page and linked["status"] in page
        assert f'<a href="#call-{seq}">call #{seq}</a>' in page and f'id="call-{seq}"' in page
        runs = httpx.get(f"{base_url}/runs").text
        assert 'id="pass-k"' in runs and "pass^2" in runs
        db = sqlite3.connect(results)
        db.execute("drop table scores")
        db.commit()
        db.close()
        assert "Rubric" not in httpx.get(f"{base_url}/runs/{linked['run_id']}").text
    assert TaskPassK("s", "{}", trials=4, passed=2, mean_reward=0.5).pass_k(2) == pytest.approx(1 / 6)
    assert TaskPassK("s", "{}", trials=2, passed=2, mean_reward=1.0).pass_k(2) == 1.0


FILTERS = [["method=GET"], ["path=/orders/*"], ["status=4xx"], ["status=2?1"], ["host=127.*", "method=POST"],
           ["path=/orders/[!A]*"], ["path=/ORDERS/*"], ["method=get", "path=/orders?*"]]  # fmt: skip


@pytest.mark.parametrize("terms", FILTERS, ids=[" ".join(t) for t in FILTERS])
def test_the_sql_filter_keeps_what_inspect_keeps(terms: list[str]) -> None:
    cassette = load_cassette(CASSETTE)
    chosen = InteractionFilter.parse(terms)
    kept = [row["idx"] for row in CassetteIndex(cassette).page(chosen, 0, 1000).rows]
    assert kept == [n for n, i in enumerate(cassette.interactions) if chosen.accepts(i)]


def test_bad_input_is_one_line_on_the_page_and_from_the_cli(inspector: str, tmp_path: Path) -> None:
    def shown(path: str, **params: str) -> tuple[int, str]:
        response = httpx.get(f"{inspector}{path}", params=params)
        found = re.search(r'<p class="error" id="error">(.*?)</p>', response.text)
        return response.status_code, html.unescape(found.group(1)) if found else ""

    assert shown("/cassettes/nope") == (404, "no cassette 'nope'; this inspector has: shop")
    assert shown("/runs", min_reward="lots") == (400, "min_reward='lots': not a number (e.g. min_reward=0.5)")
    status, message = shown("/diff", a="x", b="y")
    assert status == 400 and message.startswith("a='x': expected run:RUN_ID or session:SESSION")
    status, message = shown("/cassettes/shop/why", request="{nope")
    assert status == 400 and message.startswith("pasted request, line 1: not valid JSON")
    cases = [
        (["ui"], "give something to show"),
        (["ui", "--journal", str(tmp_path / "none.db")], f"--journal {tmp_path / 'none.db'}: no such file"),
        (["ui", str(CASSETTE), "--host", "0.0.0.0"], "--host 0.0.0.0 is reachable from other machines"),
    ]
    for argv, message in cases:
        done = subprocess.run([HUDPROXY, *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr, done.stderr


def test_a_run_shows_the_replay_miss_it_got_as_unmatched(inspector: str, shop_eval: ShopEval) -> None:
    """The paid update was never recorded: the replay answered its PATCH with its 501 miss, which the run's own
    journal (and so the results database and the run page) marks unmatched, as the replay's journal does."""
    page = httpx.get(f"{inspector}/runs/{shop_eval.run_of(1)}").text
    classes = dict((int(seq), kind) for kind, seq in CALL_ROW.findall(page))
    assert classes[1] == "unmatched" and "mcp" in classes.values()
    assert "unmatched" not in {
        kind for kind, _ in CALL_ROW.findall(httpx.get(f"{inspector}/runs/{shop_eval.run_of(0)}").text)
    }
