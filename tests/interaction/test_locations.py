"""Which URLs point at the target (and so are pointed at the proxy), and which are left exactly as they are."""

from __future__ import annotations

import pytest

from hudproxy.interaction.locations import origin, points_at, proxy_origin, relocate, relocate_refresh, relocated

TARGET, PROXY = "http://127.0.0.1:5000", "http://localhost:8080"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:5000/a?b=1#f", "http://localhost:8080/a?b=1#f"),
        ("HTTP://127.0.0.1:5000", "http://localhost:8080"),
        ("//127.0.0.1:5000/x", "//localhost:8080/x"),  # scheme-relative: the client keeps its own scheme
        ("/relative?x=1", "/relative?x=1"),
        ("next", "next"),
        ("https://127.0.0.1:5000/x", "https://127.0.0.1:5000/x"),  # another scheme is another place
        ("http://127.0.0.1/x", "http://127.0.0.1/x"),  # another port
        ("http://other:5000/x", "http://other:5000/x"),
        ("http://127.0.0.1:bad/x", "http://127.0.0.1:bad/x"),  # malformed: not ours to repair
    ],
)
def test_relocate(url: str, expected: str) -> None:
    assert relocate(url, TARGET, PROXY) == expected


def test_default_ports_and_ipv6_compare_as_the_same_place() -> None:
    assert relocate("https://api.test/x", "https://api.test:443", PROXY) == "http://localhost:8080/x"
    assert relocate("http://[::1]:5000/x", "http://[::1]:5000", PROXY) == "http://localhost:8080/x"


def test_refresh_keeps_its_delay_and_quoting() -> None:
    assert relocate_refresh("5; url=http://127.0.0.1:5000/next", TARGET, PROXY) == "5; url=http://localhost:8080/next"
    assert relocate_refresh("0;URL='http://127.0.0.1:5000/n'", TARGET, PROXY) == "0;URL='http://localhost:8080/n'"
    assert relocate_refresh("10", TARGET, PROXY) == "10"


def test_relocated_changes_only_location_like_headers_and_says_when_nothing_changed() -> None:
    headers = (("Location", f"{TARGET}/z"), ("Link", f"<{TARGET}/z>"), ("X", "y"))
    assert relocated(headers, TARGET, PROXY) == (("Location", f"{PROXY}/z"), ("Link", f"<{TARGET}/z>"), ("X", "y"))
    assert relocated((("Location", "/z"),), TARGET, PROXY) is None
    assert points_at(headers, TARGET) and not points_at((("Location", "/z"),), TARGET)


def test_the_proxy_is_where_the_client_reached_it() -> None:
    assert proxy_origin("http", "localhost:8080", ("127.0.0.1", 8080)) == "http://localhost:8080"
    assert proxy_origin("http", None, ("127.0.0.1", 8080)) == "http://127.0.0.1:8080"  # HTTP/1.0, no Host
    assert proxy_origin("https", None, ("::1", 443)) == "https://[::1]"


def test_a_proxy_path_prefix_goes_before_the_path_and_a_url_without_origin_points_nowhere() -> None:
    assert relocate(f"{TARGET}/a?x=1", TARGET, "http://localhost:8080/s/run-1") == "http://localhost:8080/s/run-1/a?x=1"
    assert origin("/relative") == "" and origin("http://h:bad/x") == ""
    assert relocate(f"{TARGET}/a", origin("/relative"), PROXY) == f"{TARGET}/a"
