"""Matching truth tables: which live requests hit which recordings, and what a miss explains."""

from __future__ import annotations

import pytest

from hudproxy.errors import ConfigError
from hudproxy.matching import CassetteIndex, MatchPolicy, validate_aspects
from hudproxy.testing import make_interaction, make_request

ORDER = {"item": "pen", "qty": 2, "meta": {"request_id": "r-1"}}
RECORDED = make_request("POST", "http://api.test/orders?b=2&a=1", json=ORDER)


def order(**changes: object) -> dict[str, object]:
    return {**ORDER, **changes}


def index_for(*requests, policy: MatchPolicy | None = None) -> CassetteIndex:
    return CassetteIndex([make_interaction(r, index=i) for i, r in enumerate(requests)], policy or MatchPolicy())


@pytest.mark.parametrize(
    ("live", "policy", "matches"),
    [
        pytest.param(RECORDED, None, True, id="identical"),
        pytest.param(
            make_request(
                "POST",
                "http://other.host:9/orders?a=1&b=2",
                json=dict(reversed(ORDER.items())),
            ),
            None,
            True,
            id="query-order-json-key-order-and-host-ignored",
        ),
        pytest.param(
            make_request(
                "post",
                "http://api.test/orders?a=1&b=2",
                body=b'{ "qty":2,\n "item":"pen",\n "meta":{"request_id":"r-1"}}',
                headers=(("Content-Type", "application/json"),),
            ),
            None,
            True,
            id="json-whitespace-and-method-case",
        ),
        pytest.param(
            make_request("PUT", "http://api.test/orders?a=1&b=2", json={"item": "pen", "qty": 2}),
            None,
            False,
            id="method-differs",
        ),
        pytest.param(
            make_request("POST", "http://api.test/orders?a=1&b=3", json={"item": "pen", "qty": 2}),
            None,
            False,
            id="query-value-differs",
        ),
        pytest.param(
            make_request("POST", "http://api.test/orders?a=1&b=2", json=order(qty=3)),
            None,
            False,
            id="json-field-differs",
        ),
        pytest.param(
            make_request(
                "POST",
                "http://api.test/orders?a=1&b=2&ts=99",
                json=order(meta={"request_id": "r-9"}),
            ),
            MatchPolicy.build(ignore_query=["ts"], ignore_json_fields=["request_id"]),
            True,
            id="ignored-query-key-and-json-field",
        ),
        pytest.param(
            make_request("POST", "http://api.test/orders?a=1&b=2", json=order(meta={"request_id": "r-9"})),
            MatchPolicy.build(ignore_json_fields=["meta.request_id"]),
            True,
            id="ignored-dotted-json-path",
        ),
        pytest.param(
            make_request("POST", "http://api.test/orders?a=1&b=2", json={"item": "other"}),
            MatchPolicy.build(on=["method", "path", "query"]),
            True,
            id="body-not-in-match-on",
        ),
        pytest.param(
            make_request(
                "POST",
                "http://other.host/orders?a=1&b=2",
                json=ORDER,
            ),
            MatchPolicy.build(forward=True),
            False,
            id="forward-mode-compares-host",
        ),
    ],
)
def test_match_truth_table(live, policy, matches) -> None:
    assert (index_for(RECORDED, policy=policy).candidates(live) is not None) is matches


def test_form_bodies_compare_as_fields() -> None:
    form = (("Content-Type", "application/x-www-form-urlencoded"),)
    index = index_for(make_request("POST", "http://api.test/login", headers=form, body=b"user=a&scope=x"))
    assert index.candidates(make_request("POST", "http://api.test/login", headers=form, body=b"scope=x&user=a"))
    assert not index.candidates(make_request("POST", "http://api.test/login", headers=form, body=b"scope=y&user=a"))


def test_secret_query_matches_its_scrubbed_recording() -> None:
    index = index_for(make_request("GET", "http://api.test/items?api_key=SCRUBBED&page=2"))
    assert index.candidates(make_request("GET", "http://api.test/items?page=2&api_key=real-secret-123"))


def test_secret_json_field_matches_its_scrubbed_recording() -> None:
    index = index_for(make_request("POST", "http://api.test/login", json={"user": "a", "password": "SCRUBBED"}))
    assert index.candidates(make_request("POST", "http://api.test/login", json={"user": "a", "password": "hunter2"}))


def test_nearest_explains_what_differs() -> None:
    index = index_for(
        make_request("GET", "http://api.test/health"),
        make_request("GET", "http://api.test/orders/A1?expand=items"),
        make_request("POST", "http://api.test/refunds", json={"order_id": "A1", "amount": 100}),
    )
    near = index.nearest(make_request("POST", "http://api.test/refunds", json={"order_id": "A1", "amount": 120}))
    assert near[0].interaction.index == 2
    assert near[0].differences == ["body.amount: 120 (recorded 100)"]

    near = index.nearest(make_request("GET", "http://api.test/orders/A9?expand=lines"))
    assert near[0].interaction.index == 1
    assert "path: /orders/A9 (recorded /orders/A1)" in near[0].differences
    assert 'query expand: "lines" (recorded "items")' in near[0].differences
    assert len(near) == 3


def test_lookup_is_a_hash_not_a_scan() -> None:
    requests = [make_request("GET", f"http://api.test/items/{i}") for i in range(5000)]
    index = index_for(*requests)
    assert len(index.by_key) == 5000
    assert index.candidates(make_request("GET", "http://api.test/items/4321")) == [4321]


@pytest.mark.parametrize("names", [["method", "bogus"], [], ["  "]], ids=["unknown", "empty", "blank"])
def test_invalid_aspects_are_rejected_with_the_valid_ones_listed(names) -> None:
    with pytest.raises(ConfigError, match="valid aspects: method, scheme, host, port, path, query, body"):
        validate_aspects(names)
