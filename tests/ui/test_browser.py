"""The inspector in headless Chromium, on a recorded shop eval: every page renders real data, the filters filter,
a timeline row expands in place, the diff marks the first divergence. A screenshot of each page goes to the test's
tmp dir (docs/ui-*.png are two of them)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from ui_shop import ShopEval

pytestmark = pytest.mark.slow


def shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"ui-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    return path


def stored_kinds(shop_eval: ShopEval, run_id: str) -> list[str]:
    """The kinds of a run's calls as the results database has them."""
    db = sqlite3.connect(shop_eval.results)
    try:
        return [kind for (kind,) in db.execute("select kind from calls where run_id = ? order by seq", [run_id])]
    finally:
        db.close()


def column(page: Any, table: str, index: int) -> list[str]:
    return [c.strip() for c in page.locator(f"{table} tbody tr td:nth-child({index})").all_inner_texts()]


def test_cassette_table_filters_and_interactions(page: Any, inspector: str, tmp_path: Path) -> None:
    page.goto(f"{inspector}/cassettes/shop")
    assert page.locator("#interactions tbody tr").count() == 14
    shot(page, tmp_path, "cassette")
    page.fill("input[name=method]", "GET")
    page.fill("input[name=path]", "/orders/*")
    page.click("#filters button")
    page.wait_for_url(re.compile(r"method=GET"))
    methods, targets = column(page, "#interactions", 2), column(page, "#interactions", 3)
    assert methods and set(methods) == {"GET"}
    assert all(t.startswith("/orders/") for t in targets) and len(targets) < 14
    page.fill("input[name=method]", "")
    page.fill("input[name=path]", "")
    page.fill("input[name=status]", "4xx")
    page.click("#filters button")
    assert column(page, "#interactions", 4) == ["404"]

    page.goto(f"{inspector}/cassettes/shop/interactions/1")  # JSON: folded in <details>, headers listed
    assert page.locator("h1#interaction").inner_text().startswith("GET /orders/A1")
    assert page.locator(".json details").count() >= 2 and page.locator("table.headers th").count() >= 2
    shot(page, tmp_path, "interaction")
    page.goto(f"{inspector}/cassettes/shop/interactions/11")  # the SSE stream: its chunks with their timing
    chunks = page.locator("#chunks tbody tr")
    assert chunks.count() >= 2
    at = [float(x) for x in column(page, "#chunks", 2)]
    assert at == sorted(at) and at[-1] > 0
    page.goto(f"{inspector}/cassettes/shop/interactions/12")  # the binary image: hex and size
    assert "binary, 2,048 bytes" in page.inner_text("main")
    assert re.search(r"00000000  [0-9a-f]{2} ", page.locator("pre.hex").inner_text())


def test_why_shows_the_match_or_the_nearest_misses(page: Any, inspector: str, tmp_path: Path) -> None:
    page.goto(f"{inspector}/cassettes/shop/why")
    page.fill("textarea[name=request]", '{"method": "GET", "url": "/orders/A2"}')
    page.click("#why-form button")
    assert page.locator(".verdict.ok").inner_text() == "matches interaction 8"
    page.fill("textarea[name=request]", '{"method": "DELETE", "url": "/orders/A1"}')
    page.click("#why-form button")
    assert page.locator(".verdict.miss").is_visible()
    nearest = page.locator("#nearest tbody tr")
    assert nearest.count() >= 1 and "method" in nearest.first.inner_text().lower()
    shot(page, tmp_path, "why")
    page.goto(f"{inspector}/cassettes/shop/model")
    assert "/orders" in page.locator("#model").inner_text()
    shot(page, tmp_path, "model")


def test_journal_timeline_classes_filters_and_expands(page: Any, inspector: str, shop_eval: ShopEval,
                                                     tmp_path: Path) -> None:  # fmt: skip
    page.goto(f"{inspector}/journal")
    sessions = column(page, "#sessions", 1)
    assert len(sessions) == 6
    missing = shop_eval.run_of(1).replace(shop_eval.run_of(1).rsplit("-", 1)[0], "run")  # run-00000N
    page.click(f"text={missing}")
    calls = page.locator("#timeline li.call")
    assert calls.count() == 1  # the agent's PATCH nobody recorded; the rubric grades from the journal, reading nothing
    assert page.locator("#timeline li.k-unmatched").count() == 1 and page.locator("#timeline li.k-http").count() == 0
    assert page.locator("#timeline li.k-unmatched .bar").is_visible()
    page.locator("#timeline li.k-unmatched summary").click()  # ui.js fetches the call's details into the row
    page.wait_for_selector("#timeline li.k-unmatched .call-detail")
    assert "Nearest recordings" in page.locator("#timeline li.k-unmatched .call-detail").inner_text()
    shot(page, tmp_path, "journal")
    page.select_option("select[name=class]", "unmatched")
    page.click("#filters button")
    assert page.locator("#timeline li.call").count() == page.locator("#timeline li.k-unmatched").count() == 1
    page.locator("#timeline li.call a.seq").click()  # the call's own page: a stable URL
    assert re.search(r"/journal/run-\d+/calls/1$", page.url)
    assert "PATCH" in page.inner_text("main")


def test_runs_sort_filter_pass_k_and_a_run(page: Any, inspector: str, shop_eval: ShopEval, tmp_path: Path) -> None:
    page.goto(f"{inspector}/runs")
    assert page.locator("#runs tbody tr").count() == 6
    rewards = [float(r) for r in column(page, "#runs", 5)]
    assert sorted(rewards) == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    pass_k = page.locator("#pass-k tbody tr")
    assert pass_k.count() == 3  # three tasks, two trials each: pass^1 and pass^2
    assert sorted(column(page, "#pass-k", 7)) == ["0.00", "1.00", "1.00"]
    shot(page, tmp_path, "runs")
    page.select_option("select[name=outcome]", "fail")
    page.click("#filters button")
    assert [float(r) for r in column(page, "#runs", 5)] == [0.0, 0.0]
    assert set(column(page, "#runs", 3)) == {"update-order"}
    page.goto(f"{inspector}/runs")
    page.click("#runs thead a.sort:text('reward')")
    page.click("#runs thead a.sort:text('reward')")  # twice: descending
    assert next(float(r) for r in column(page, "#runs", 5)) == 1.0 and "desc=true" in page.url

    page.goto(f"{inspector}/runs/{shop_eval.run_of(2)}")  # refund: login, refund, e-mail
    assert page.locator("#transcript .msg").count() >= 4
    kinds = stored_kinds(shop_eval, shop_eval.run_of(2))
    assert page.locator("#timeline li.k-mcp").count() == kinds.count("mcp") >= 3
    assert page.locator("#timeline li.k-http").count() == kinds.count("http") >= 2
    http = page.locator("#timeline li.k-http").first
    parent = http.locator("a.parent")  # the tool call that made this HTTP request
    assert parent.inner_text().startswith("↳ #")
    assert page.locator(f"#timeline li#call-{parent.inner_text()[3:]}").get_attribute("class") == "call k-mcp"
    shot(page, tmp_path, "run")


def test_diff_highlights_the_first_divergence(page: Any, inspector: str, shop_eval: ShopEval, tmp_path: Path) -> None:
    shipped, paid = shop_eval.run_of(0), shop_eval.run_of(1)
    page.goto(f"{inspector}/diff?a=run:{shipped}&b=run:{shop_eval.run_of(0, 1)}")
    assert "same calls" in page.locator("#verdict").inner_text()
    page.goto(f"{inspector}/runs")
    page.locator(f"#runs tr:has(a:text('{shipped}')) input[name=a]").check()
    page.locator(f"#runs tr:has(a:text('{paid}')) input[name=b]").check()
    page.click("#compare button")
    first = page.locator("#first-divergence")
    assert first.count() == 1
    assert first.locator("td").first.inner_text() == "1"  # the update_order PATCH: asked with another status
    assert "$.status" in first.inner_text() and '"shipped"' in first.inner_text() and '"paid"' in first.inner_text()
    style = first.evaluate("row => getComputedStyle(row).outlineStyle")
    assert style == "solid"
    assert page.locator("#diff tr.first-divergence").count() == 1
    assert "reward" in page.locator("#fields").inner_text()
    shot(page, tmp_path, "diff")

    a, b = (s.replace(s.rsplit("-", 1)[0], "run") for s in (shipped, paid))  # the same runs' replay sessions
    page.goto(f"{inspector}/diff?a=session:{a}&b=session:{b}")
    assert page.locator("#first-divergence td").first.inner_text() == "1"
