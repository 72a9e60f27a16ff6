"""Secret scrubbing: what is hidden, what is kept, and that a scrubbed cassette still matches the real request."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hudproxy.cli.common import scrub_policy
from hudproxy.interaction import header_value
from hudproxy.record import Recorder
from hudproxy.record.background import recording_proxy
from hudproxy.replay.server import create_replay_app
from hudproxy.scrub import ScrubPolicy, scrub_json, scrub_request, scrub_response
from hudproxy.scrub.placeholder import PLACEHOLDER_RE
from hudproxy.testing import make_request, make_response

DEFAULT = ScrubPolicy.default()


def kinds(value: Any) -> Any:
    """`value` (tuples as lists) with each placeholder's hash dropped: `SCRUBBED:rule:1a2b3c4d` -> `SCRUBBED:rule`."""
    return json.loads(PLACEHOLDER_RE.sub(r"SCRUBBED:\1", json.dumps(value)))


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param(
            "Authorization", "Bearer sk-live-SECRET123", "Bearer SCRUBBED:authorization", id="bearer-keeps-scheme"
        ),
        pytest.param("authorization", "Basic dXNlcjpwYXNz", "Basic SCRUBBED:authorization", id="basic-keeps-scheme"),
        pytest.param("Authorization", "sk-live-SECRET123", "SCRUBBED:authorization", id="bare-token"),
        pytest.param(
            "Proxy-Authorization", "Basic dXNlcjpwYXNz", "Basic SCRUBBED:proxyauthorization", id="proxy-authorization"
        ),
        pytest.param(
            "Cookie", "session=SECRET; theme=dark", "session=SCRUBBED:cookie; theme=SCRUBBED:cookie", id="cookie-names"
        ),
        pytest.param(
            "Set-Cookie",
            "session=SECRET000; Path=/; HttpOnly; Secure",
            "session=SCRUBBED:cookie; Path=/; HttpOnly; Secure",
            id="set-cookie-attributes",
        ),
        pytest.param("Set-Cookie", "session=SECRET000", "session=SCRUBBED:cookie", id="set-cookie-bare"),
        pytest.param("X-Api-Key", "SECRET-KEY", "SCRUBBED:xapikey", id="x-api-key"),
        pytest.param("x-goog-api-key", "SECRET-KEY", "SCRUBBED:xgoogapikey", id="x-goog-api-key"),
        pytest.param("X-Custom-Token", "SECRET", "SCRUBBED:xcustomtoken", id="suffix-token"),
        pytest.param("X-Client-Secret", "SECRET", "SCRUBBED:xclientsecret", id="suffix-secret"),
        pytest.param("Content-Type", "application/json", "application/json", id="content-type-kept"),
        pytest.param("X-Request-Id", "req-1", "req-1", id="request-id-kept"),
        pytest.param("X-Token-Count", "5", "5", id="token-prefix-kept"),
    ],
)
def test_headers(name: str, value: str, expected: str) -> None:
    scrubbed = scrub_request(make_request(headers=[(name, value), ("Accept", "*/*")]), DEFAULT)

    assert kinds(scrubbed.headers) == [[name, expected], ["Accept", "*/*"]]


def test_duplicate_set_cookie_headers_are_each_scrubbed() -> None:
    headers = [("Set-Cookie", "a=SECRET1; Path=/"), ("Set-Cookie", "b=SECRET2")]

    scrubbed = scrub_response(make_response(headers=headers), DEFAULT)

    assert kinds(scrubbed.headers) == [["Set-Cookie", "a=SCRUBBED:cookie; Path=/"], ["Set-Cookie", "b=SCRUBBED:cookie"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("api_key=SECRET456&page=2", "api_key=SCRUBBED:apikey&page=2", id="api_key"),
        pytest.param("token=SECRET", "token=SCRUBBED:token", id="token"),
        pytest.param("access_token=SECRET&x=1", "access_token=SCRUBBED:accesstoken&x=1", id="access_token"),
        pytest.param("key=SECRET", "key=SCRUBBED:key", id="key"),
        pytest.param("secret=SECRET", "secret=SCRUBBED:secret", id="secret"),
        pytest.param("API_KEY=SECRET", "API_KEY=SCRUBBED:apikey", id="name-case-insensitive"),
        pytest.param(
            "refresh_token=SECRET&github_token=SECRET",
            "refresh_token=SCRUBBED:refreshtoken&github_token=SCRUBBED:githubtoken",
            id="token-suffix",
        ),
        pytest.param("token=SECRET1&token=SECRET2", "token=SCRUBBED:token&token=SCRUBBED:token", id="repeated"),
        pytest.param("page_token=abc&page=2", "page_token=abc&page=2", id="page_token-kept"),
        pytest.param("next_page_token=abc", "next_page_token=abc", id="next_page_token-kept"),
        pytest.param("q=tokens&monkey=1", "q=tokens&monkey=1", id="lookalikes-kept"),
    ],
)
def test_query_parameters(query: str, expected: str) -> None:
    scrubbed = scrub_request(make_request(url=f"http://api.test/orders?{query}"), DEFAULT)

    assert kinds(scrubbed.url) == f"http://api.test/orders?{expected}"


def test_userinfo_in_url_is_scrubbed() -> None:
    scrubbed = scrub_request(make_request(url="https://user:SECRET@api.test/orders"), DEFAULT)

    assert kinds(scrubbed.url) == "https://SCRUBBED:userinfo@api.test/orders"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"password": "SECRET789"}, {"password": "SCRUBBED:password"}, id="password"),
        pytest.param(
            {"client_id": "app", "client_secret": "SECRET"},
            {"client_id": "app", "client_secret": "SCRUBBED:clientsecret"},
            id="client_secret",
        ),
        pytest.param(
            {"auth": {"sessions": [{"access_token": "SECRET", "expires_in": 3600}]}},
            {"auth": {"sessions": [{"access_token": "SCRUBBED:accesstoken", "expires_in": 3600}]}},
            id="access_token-deep",
        ),
        pytest.param(
            [{"password": "A"}, {"password": "B"}], [{"password": "SCRUBBED:password"}] * 2, id="top-level-list"
        ),
        pytest.param({"Github_Api_Key": "SECRET"}, {"Github_Api_Key": "SCRUBBED:githubapikey"}, id="suffix-any-case"),
        pytest.param(
            {"usage": {"total_tokens": 42, "prompt_tokens": 7, "max_tokens": 100}},
            {"usage": {"total_tokens": 42, "prompt_tokens": 7, "max_tokens": 100}},
            id="token-counts-kept",
        ),
        pytest.param(
            {"page_token": "abc", "next_page_token": "def"},
            {"page_token": "abc", "next_page_token": "def"},
            id="page-tokens-kept",
        ),
        pytest.param(
            {"tokenizer": "bpe", "secretary": "ann"}, {"tokenizer": "bpe", "secretary": "ann"}, id="lookalikes-kept"
        ),
    ],
)
def test_json_fields(data: Any, expected: Any) -> None:
    request = make_request("POST", json=data, headers=[("Content-Length", "999")])

    scrubbed = scrub_request(request, DEFAULT)

    assert kinds(scrub_json(data, DEFAULT)) == expected
    assert kinds(json.loads(scrubbed.body)) == expected
    if expected == data:
        assert scrubbed.body is request.body  # untouched bodies stay byte-exact
    else:
        assert header_value(scrubbed.headers, "content-length") == str(len(scrubbed.body))


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        pytest.param(
            "username=demo&password=SECRET&grant_type=password",
            [["username", "demo"], ["password", "SCRUBBED:password"], ["grant_type", "password"]],
            id="password",
        ),
        pytest.param(
            "client_id=app&client_secret=SECRET",
            [["client_id", "app"], ["client_secret", "SCRUBBED:clientsecret"]],
            id="client_secret",
        ),
        pytest.param("q=hello+world&page=2", [["q", "hello world"], ["page", "2"]], id="no-secret"),
    ],
)
def test_form_bodies(form: str, expected: list[list[str]]) -> None:
    headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]

    scrubbed = scrub_request(make_request("POST", body=form.encode(), headers=headers), DEFAULT)

    assert kinds(parse_qsl(scrubbed.body.decode(), keep_blank_values=True)) == expected
    assert b"SECRET" not in scrubbed.body


def gzip_json_response(data: Any) -> Any:
    wire = gzip.compress(json.dumps(data).encode(), mtime=0)
    headers = [("Content-Type", "application/json"), ("Content-Encoding", "gzip"), ("Content-Length", str(len(wire)))]
    return make_response(body=wire, headers=headers)


def test_gzip_json_response_is_scrubbed_and_recompressed() -> None:
    response = gzip_json_response({"access_token": "SECRETABC", "token_type": "bearer"})

    scrubbed = scrub_response(response, DEFAULT)

    expected = {"access_token": "SCRUBBED:accesstoken", "token_type": "bearer"}
    assert kinds(json.loads(gzip.decompress(scrubbed.body))) == expected
    assert header_value(scrubbed.headers, "content-encoding") == "gzip"
    assert header_value(scrubbed.headers, "content-length") == str(len(scrubbed.body))


def test_gzip_response_without_secrets_stays_byte_exact() -> None:
    response = gzip_json_response({"id": "A1", "total_tokens": 3})

    assert scrub_response(response, DEFAULT) == response


@pytest.mark.parametrize(
    ("policy", "header", "query", "field"),
    [
        pytest.param(
            DEFAULT.extended(headers=["X-Tenant-Id"], query=["sessionid"], json_fields=["PIN"]),
            "x-tenant-id",
            "SessionId",
            "pin",
            id="extended",
        ),
        pytest.param(
            scrub_policy(False, ["X-Tenant-Id,X-Other"], ["sessionid"], ["pin", "cvv"]),
            "X-Tenant-Id",
            "sessionid",
            "pin",
            id="cli-flags",
        ),
        pytest.param(
            ScrubPolicy.from_dict(DEFAULT.extended(["X-Tenant-Id"], ["sessionid"], ["pin"]).to_dict()),
            "X-Tenant-Id",
            "sessionid",
            "pin",
            id="stored-in-cassette",
        ),
    ],
)
def test_extra_names(policy: ScrubPolicy, header: str, query: str, field: str) -> None:
    request = make_request(
        "POST",
        url=f"http://api.test/pay?{query}=SECRET1&api_key=SECRET2",
        headers=[(header, "SECRET3"), ("Authorization", "Bearer SECRET4")],
        json={field: "SECRET5", "amount": 10},
    )

    scrubbed = scrub_request(request, policy)

    assert "SECRET" not in repr(scrubbed)
    assert kinds(json.loads(scrubbed.body)) == {field: "SCRUBBED:pin", "amount": 10}


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(ScrubPolicy.disabled(), id="disabled"),
        pytest.param(scrub_policy(True, ["X-Tenant-Id"], None, None), id="keep-secrets-flag"),
        pytest.param(ScrubPolicy.from_dict(ScrubPolicy.disabled().to_dict()), id="stored-disabled"),
    ],
)
def test_disabled_policy_changes_nothing(policy: ScrubPolicy) -> None:
    request = make_request(
        "POST",
        url="http://api.test/login?api_key=SECRET456",
        headers=[("Authorization", "Bearer sk-live-SECRET123"), ("Cookie", "session=SECRET000")],
        json={"password": "SECRET789"},
    )
    response = gzip_json_response({"access_token": "SECRETABC"})

    assert scrub_request(request, policy) == request
    assert scrub_response(response, policy) == response


# ---------------------------------------------------------------- end to end: record through the proxy, replay

SECRETS = ("sk-live-SECRET123", "SECRET456", "SECRET789", "SECRET321", "SECRET000", "SECRETABC")


def login_app(seen: list[dict[str, Any]]) -> FastAPI:
    """A tiny upstream that demands every secret, hands out more, and notes what it received."""
    app = FastAPI()

    @app.post("/login")
    async def login(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append(
            {
                "authorization": request.headers.get("authorization"),
                "api_key": request.query_params.get("api_key"),
                **body,
            }
        )
        response = JSONResponse({"access_token": "SECRETABC", "user": "demo"})
        response.set_cookie("session", "SECRET000", httponly=True)
        return response

    return app


def send_login(base_url: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/login",
        params={"api_key": "SECRET456", "page": "1"},
        headers={"Authorization": "Bearer sk-live-SECRET123"},
        json={"username": "demo", "password": "SECRET789", "pin": "SECRET321"},
        timeout=10,
    )


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_recorded_cassette_holds_no_secret_and_still_matches_the_real_request(
    tmp_path: Path, upstream: Callable[[Any], str], fmt: str
) -> None:
    """`pin` is an extra name (--scrub-json-field pin): replay must take it from the cassette to match."""
    path = tmp_path / f"login.{fmt}"
    seen: list[dict[str, Any]] = []
    target = upstream(login_app(seen))
    policy = scrub_policy(False, None, None, ["pin"])

    with recording_proxy(Recorder(path, "all", scrub=policy, target=target), target) as proxy:
        live = send_login(proxy)

    assert live.status_code == 200
    assert seen == [
        {
            "authorization": "Bearer sk-live-SECRET123",
            "api_key": "SECRET456",
            "username": "demo",
            "password": "SECRET789",
            "pin": "SECRET321",
        }
    ]
    written = path.read_bytes()
    leaked = [secret for secret in SECRETS if secret.encode() in written]
    assert leaked == []
    assert b"Bearer SCRUBBED:authorization:" in written and b"session=SCRUBBED:cookie:" in written

    replayed = send_login(upstream(create_replay_app(path)))

    assert replayed.status_code == 200
    assert kinds(replayed.json()) == {"access_token": "SCRUBBED:accesstoken", "user": "demo"}
    assert kinds(replayed.headers["set-cookie"]).startswith("session=SCRUBBED:cookie;")
