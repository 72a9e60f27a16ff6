"""The scrub rules one by one: names in any spelling, header words, shapes, echoes, placeholders, exact bytes."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request as AsgiRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from hudproxy.cassette.files import load_cassette
from hudproxy.errors import ConfigError
from hudproxy.interaction import header_value
from hudproxy.interaction.model import Chunk, Interaction
from hudproxy.matching.policy import MatchPolicy
from hudproxy.record import Recorder
from hudproxy.record.background import recording_proxy
from hudproxy.replay.engine import ReplayEngine
from hudproxy.replay.state import ReplayState
from hudproxy.scrub import ScrubPolicy, scrub_interaction, scrub_request, scrub_response
from hudproxy.scrub.placeholder import PLACEHOLDER_RE, hashed, process_key
from hudproxy.testing import make_cassette, make_request, make_response

DEFAULT = ScrubPolicy.default()
SECRET = "s3cr3t-VALUE-0042"
SPELLINGS = ["access_token", "accessToken", "Access-Token", "ACCESS_TOKEN", "AccessToken", "access.token"]


def placeholders(text: str) -> list[str]:
    return [m.group(0) for m in PLACEHOLDER_RE.finditer(text)]


@pytest.mark.parametrize("name", SPELLINGS)
def test_a_name_is_secret_in_any_case_and_separator_in_every_place(name: str) -> None:
    request = make_request(
        "POST",
        url=f"http://api.test/x?{name}={SECRET}q",
        headers=[(f"X-{name}", f"{SECRET}h")],
        json={"outer": [{"inner": {name: f"{SECRET}j"}}]},
    )
    form = make_request(
        "POST", body=f"{name}={SECRET}f&a=1".encode(), headers=[("Content-Type", "application/x-www-form-urlencoded")]
    )

    scrubbed = scrub_request(request, DEFAULT), scrub_request(form, DEFAULT)

    assert SECRET not in repr(scrubbed)
    assert scrubbed[1].body.endswith(b"&a=1")


@pytest.mark.parametrize("name", ["session_id", "sessionId", "code_verifier", "codeVerifier"])
def test_a_session_id_and_a_pkce_verifier_are_secrets_in_json_query_and_form(name: str) -> None:
    """A session id is a bearer credential; a PKCE code_verifier exchanges an authorization code for tokens."""
    request = make_request("POST", url=f"http://api.test/x?{name}={SECRET}q", json={name: f"{SECRET}j"})
    form = make_request(
        "POST", body=f"{name}={SECRET}f&a=1".encode(), headers=[("Content-Type", "application/x-www-form-urlencoded")]
    )
    assert SECRET not in repr((scrub_request(request, DEFAULT), scrub_request(form, DEFAULT)))


@pytest.mark.parametrize(
    "name",
    [
        "Ocp-Apim-Subscription-Key", "X-RapidAPI-Key", "X-Jwt-Assertion", "X-Hub-Signature-256", "X-Session-Id",
        "X-Client-Credential", "X-Auth", "X-Password", "X-Amz-Security-Token", "Private-Token", "X-Functions-Key",
        "X-Custom-Secret-Value", "X-Csrf", "Cookie2",
    ],
)  # fmt: skip
def test_a_header_whose_name_says_secret_is_scrubbed(name: str) -> None:
    (scrubbed,) = scrub_request(make_request(headers=[(name, SECRET)]), DEFAULT).headers

    assert scrubbed[1].startswith("SCRUBBED:")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Content-Length", "17"), ("Accept", "application/json"), ("X-Request-Id", "req-0042-abc"),
        ("X-Idempotency-Key", "idem-0042-abc"), ("Idempotency-Key", "idem-0042-abc"),
        ("Access-Control-Allow-Credentials", "true"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("X-Token-Count", "5"), ("X-RateLimit-Remaining-Tokens", "900"), ("WWW-Authenticate", 'Bearer realm="api"'),
        ("Keep-Alive", "timeout=5"), ("X-Hudproxy-Session", "run-7"), ("Mcp-Session-Id", "abc-123"),
        ("Content-Security-Policy", "default-src 'self'"), ("X-Auth-Token-Expires", "3600"),
    ],
)  # fmt: skip
def test_benign_headers_are_kept(name: str, value: str) -> None:
    assert scrub_request(make_request(headers=[(name, value)]), DEFAULT).headers == ((name, value),)


@pytest.mark.parametrize(
    "data",
    [
        {"page_token": "p1", "nextPageToken": "p2", "NextToken": "p3", "continuation_token": "p4"},
        {"usage": {"total_tokens": 42, "max_tokens": 100}, "token_type": "bearer", "expires_in": 3600},
        {"tokenizer": "bpe", "secretary": "ann", "keys": ["a", "b"], "idempotency_key": "idem-1"},
    ],
)
def test_lookalike_fields_are_kept(data: dict[str, Any]) -> None:
    request = make_request("POST", json=data)

    assert scrub_request(request, DEFAULT).body is request.body


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEiLCJpYXQiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    "where",
    [
        {"url": f"http://api.test/x/{JWT}/y"},
        {"url": f"http://api.test/x?q={JWT}"},
        {"url": f"http://api.test/x#state=1&t={JWT}"},
        {"headers": [("X-Forwarded-Identity", JWT)]},
        {"json": {"note": f"the token is {JWT}."}},
        {"body": f"data: {JWT}\n\n".encode(), "headers": [("Content-Type", "text/event-stream")]},
        {"body": f"plain {JWT}".encode(), "headers": [("Content-Type", "application/octet-stream")]},
    ],
)
def test_a_jwt_is_found_by_its_shape_anywhere(where: dict[str, Any]) -> None:
    scrubbed = scrub_request(make_request("POST", **where), DEFAULT)

    assert JWT not in repr(scrubbed) and JWT.split(".")[1] not in repr(scrubbed)
    assert "SCRUBBED:jwt:" in repr(scrubbed)


def test_the_response_repeating_a_request_secret_anywhere_gets_its_placeholder() -> None:
    request = make_request(
        url=f"http://api.test/search?apiKey={SECRET}", headers=[("Authorization", "Bearer tok-9f8e7d6c5b")]
    )
    response = make_response(
        headers=[
            ("Location", f"http://api.test/next?k={SECRET}"),
            ("X-Echo", "tok-9f8e7d6c5b"),
            ("Link", f"<http://api.test/search?apiKey={SECRET}&page=2>; rel=next"),
        ],
        json={
            "url": f"http://api.test/search?apiKey={SECRET}",
            "quoted": f"k%3D{SECRET.replace('-', '%2D')}",
            "t": "tok-9f8e7d6c5b",
        },
    )

    scrubbed = scrub_interaction(Interaction(request=request, response=response), DEFAULT)

    text = repr(scrubbed)
    assert SECRET not in text and "tok-9f8e7d6c5b" not in text
    request_placeholder = placeholders(scrubbed.request.url)[0]
    assert header_value(scrubbed.response.headers, "location") == f"http://api.test/next?k={request_placeholder}"
    assert header_value(scrubbed.response.headers, "x-echo") == placeholders(repr(scrubbed.request.headers))[0]


def test_placeholders_are_per_value_keyed_and_stable_within_a_run() -> None:
    one, same, other = (
        scrub_request(make_request(url=f"http://api.test/x?token={v}"), DEFAULT)
        for v in ("aaaa1111", "aaaa1111", "bbbb2222")
    )

    assert one.url == same.url != other.url
    digest = placeholders(one.url)[0].rsplit(":", 1)[1]
    assert digest != hashlib.sha256(b"aaaa1111").hexdigest()[:8], "a short unkeyed hash of a PIN can be brute-forced"
    assert (
        hashed("aaaa1111", "token", b"k1") == hashed("aaaa1111", "token", b"k1") != hashed("aaaa1111", "token", b"k2")
    )


def test_scrubbing_twice_changes_nothing_more() -> None:
    request = make_request(
        "POST", url=f"http://u:{SECRET}@api.test/x?api_key={SECRET}", headers=[("Cookie", f"a={SECRET}")],
        json={"password": SECRET, "note": f"Bearer {SECRET} and {JWT}", "pin": 1234},
    )  # fmt: skip
    once = scrub_request(request, DEFAULT)

    assert scrub_request(once, DEFAULT) == once


# ------------------------------------------------------------------------------ #15.12: bytes kept, spans replaced


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b'{"user": "ada",  "password" :"pw-1234567"}', "application/json", id="json-spacing"),
        pytest.param(
            b'{\n  "b": 1,\n  "a": {"token": "pw-1234567"}, "u": "caf\\u00e9"\n}',
            "application/json",
            id="json-order-escapes",
        ),
        pytest.param(b"user=ada&password=pw-1234567&x=%7E+a", "application/x-www-form-urlencoded", id="form"),
        pytest.param(b'data: {"access_token": "pw-1234567"}\n\n', "text/event-stream", id="sse"),
    ],
)
def test_a_scrubbed_body_keeps_its_bytes_but_the_secret_span(body: bytes, content_type: str) -> None:
    request = make_request("POST", body=body, headers=[("Content-Type", content_type)])

    scrubbed = scrub_request(request, DEFAULT).body

    (placeholder,) = set(placeholders(scrubbed.decode()))
    assert scrubbed == body.replace(b"pw-1234567", placeholder.encode())


def test_a_gzip_body_is_scrubbed_by_span_and_compressed_again() -> None:
    plain = b'{"a":  1, "client_secret": "pw-1234567"}'
    response = make_response(
        body=gzip.compress(plain), headers=[("Content-Encoding", "gzip"), ("Content-Type", "application/json")]
    )

    decoded = gzip.decompress(scrub_response(response, DEFAULT).body)

    assert decoded == plain.replace(b"pw-1234567", placeholders(decoded.decode())[0].encode())


def test_a_secret_number_or_an_unusual_escape_falls_back_to_a_rewrite_without_leaking() -> None:
    body = b'{"pin": [1234, 5678], "next": "https://x/?a=1\\u0026api_key=pw-1234567"}'

    scrubbed = scrub_request(make_request("POST", body=body, headers=[("Content-Type", "application/json")]), DEFAULT)

    assert b"1234" not in scrubbed.body and b"pw-1234567" not in scrubbed.body
    assert json.loads(scrubbed.body)["next"].startswith("https://x/?a=1&api_key=SCRUBBED:apikey:")


def test_a_stream_keeps_its_timing_when_a_secret_changes_its_length() -> None:
    body = b'data: {"access_token": "pw-1234567"}\n\ndata: done\n\n'
    chunks = (Chunk(38, 0.0), Chunk(len(body) - 38, 250.0))
    response = make_response(body=body, headers=[("Content-Type", "text/event-stream")])
    response = Interaction(request=make_request(), response=response).response.__class__(
        response.status, response.reason, response.headers, response.body, chunks
    )

    scrubbed = scrub_response(response, DEFAULT)

    assert [c.at_ms for c in scrubbed.chunks] == [0.0, 250.0]
    assert sum(c.size for c in scrubbed.chunks) == len(scrubbed.body)


def test_the_recorder_stores_the_request_body_as_sent_but_the_secret(
    tmp_path: Path, upstream: Callable[[Any], str]
) -> None:
    """#15.12: 37 bytes were stored as 41 (re-serialised with other spacing)."""

    async def login(request: AsgiRequest) -> JSONResponse:
        return JSONResponse({"ok": True, "got": len(await request.body())})

    target = upstream(Starlette(routes=[Route("/login", login, methods=["POST"])]))
    sent = b'{"user":"ada","password":"pw-1234567"}'
    path = tmp_path / "exact.yaml"

    with recording_proxy(Recorder(path, "all", target=target), target) as proxy:
        httpx.post(f"{proxy}/login", content=sent, headers={"Content-Type": "application/json"}, trust_env=False)

    stored = load_cassette(path).interactions[0].request.body
    assert stored == sent.replace(b"pw-1234567", placeholders(stored.decode())[0].encode())
    assert header_value(load_cassette(path).interactions[0].request.headers, "content-length") == str(len(stored))


# ------------------------------------------------------------------------------ matching compares kinds


def test_a_recording_matches_requests_with_the_real_secret_and_a_new_one_of_the_same_kind() -> None:
    def request(secret: str, jwt: str) -> Any:
        return make_request(
            "POST",
            url=f"http://api.test/q?accessToken={secret}&page=2",
            headers=[("Authorization", f"Bearer {secret}")],
            json={"clientSecret": secret, "note": f"echo {secret}", "assertion": jwt, "text": f"id {jwt}"},
        )

    new_jwt = JWT.replace("ZGEi", "Ym9i")
    recorded = scrub_interaction(
        Interaction(request=request(SECRET, JWT), response=make_response(json={"ok": 1})), DEFAULT
    )
    engine = ReplayEngine.from_cassette(make_cassette([recorded]), MatchPolicy.build(scrub=DEFAULT))

    assert SECRET not in repr(recorded)
    for live in (request(SECRET, JWT), request("a-new-secret-77", new_jwt)):
        assert engine.lookup(live, ReplayState()) is not None
    assert engine.lookup(request(SECRET, JWT).__class__("POST", "http://api.test/q?page=3"), ReplayState()) is None


def test_two_different_secrets_stay_distinguishable_in_the_cassette() -> None:
    first, second = (
        scrub_request(make_request(headers=[("X-Api-Key", v)]), DEFAULT).headers[0][1]
        for v in ("key-one-111", "key-two-222")
    )

    assert re.fullmatch(r"SCRUBBED:xapikey:[0-9a-f]{8}", first) and first != second


def test_a_path_holding_a_jwt_or_a_header_key_matches_with_new_ones() -> None:
    def request(key: str, jwt: str) -> Any:
        return make_request(url=f"http://api.test/keys/{key}/sessions/{jwt}", headers=[("X-Api-Key", key)])

    recorded = scrub_interaction(Interaction(request=request("key-0042-abc", JWT), response=make_response()), DEFAULT)
    engine = ReplayEngine.from_cassette(make_cassette([recorded]), MatchPolicy.build(scrub=DEFAULT))

    assert "key-0042-abc" not in recorded.request.url and JWT not in recorded.request.url
    assert engine.lookup(request("key-0042-abc", JWT), ReplayState()) is not None
    assert engine.lookup(request("key-7777-new", JWT.replace("ZGEi", "Ym9i")), ReplayState()) is not None


def test_a_configured_key_gives_the_same_placeholders_in_every_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUDPROXY_SCRUB_KEY", "team-shared-key")
    key = process_key()

    assert key == b"team-shared-key"
    first, again = (
        scrub_request(make_request(headers=[("X-Api-Key", "key-one-111")]), ScrubPolicy(key=key)).headers[0][1]
        for _ in range(2)
    )
    assert first == again == hashed("key-one-111", "xapikey", b"team-shared-key")


def test_a_scrub_section_that_is_not_a_list_of_names_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="headers: expected a list of names"):
        ScrubPolicy.from_dict({"enabled": True, "headers": "authorization"})


@pytest.mark.parametrize(
    "text",
    [
        "clients use Bearer authentication", "git+ssh://git@github.com/acme/tool.git", "max_tokens=100&page=2",
        "the total_tokens were 42", '{"token_type": "bearer", "expires_in": 3600}', "Basic information here",
    ],
)  # fmt: skip
def test_prose_and_metadata_that_look_like_secrets_are_kept(text: str) -> None:
    request = make_request("POST", body=text.encode(), headers=[("Content-Type", "text/plain")])

    assert scrub_request(request, DEFAULT).body == text.encode()


def test_a_secret_after_an_escaped_line_break_in_json_is_found_and_still_matches() -> None:
    def request(secret: str) -> Any:
        return make_request("POST", json={"prompt": f"config:\npassword={secret}\tdone"})

    recorded = scrub_interaction(Interaction(request=request("hunter2-0042"), response=make_response()), DEFAULT)
    engine = ReplayEngine.from_cassette(make_cassette([recorded]), MatchPolicy.build(scrub=DEFAULT))

    assert b"hunter2-0042" not in recorded.request.body and b"\\npassword=SCRUBBED:password:" in recorded.request.body
    assert engine.lookup(request("a-new-one-77"), ReplayState()) is not None


MULTIPART = (
    '--b1\r\nContent-Disposition: form-data; name="user"\r\n\r\nada\r\n'
    '--b1\r\nContent-Disposition: form-data; name="password"\r\nContent-Type: text/plain\r\n\r\n{secret}\r\n'
    '--b1\r\nContent-Disposition: form-data; name="note"\r\n\r\nsigned {jwt}\r\n--b1--\r\n'
)


@pytest.mark.parametrize(
    ("content_type", "template"),
    [
        pytest.param("multipart/form-data; boundary=b1", MULTIPART, id="multipart"),
        pytest.param("text/plain", "login with Bearer {secret} and {jwt}\n", id="text"),
        pytest.param("application/xml", "<auth><t>{jwt}</t><u>https://ada:{secret}@db.example/</u></auth>", id="xml"),
    ],
)
def test_a_body_compared_as_bytes_matches_with_new_secrets(content_type: str, template: str) -> None:
    def request(secret: str, jwt: str) -> Any:
        body = template.format(secret=secret, jwt=jwt).encode()
        return make_request("POST", body=body, headers=[("Content-Type", content_type)])

    recorded = scrub_interaction(Interaction(request=request("pw-0042-abc", JWT), response=make_response()), DEFAULT)
    engine = ReplayEngine.from_cassette(make_cassette([recorded]), MatchPolicy.build(scrub=DEFAULT))

    assert b"pw-0042-abc" not in recorded.request.body and JWT.encode() not in recorded.request.body
    assert engine.lookup(request("pw-0042-abc", JWT), ReplayState()) is not None
    assert engine.lookup(request("pw-7777-new", JWT.replace("ZGEi", "Ym9i")), ReplayState()) is not None


# ------------------------------------------------------------------------------ OAuth authorization codes

CODE = "SplxlOBeZQQYbYS6WxSbIA"


@pytest.mark.parametrize(
    "where",
    [
        pytest.param({"url": f"http://app.test/callback?code={CODE}&state=xyz"}, id="redirect-query"),
        pytest.param(
            {
                "method": "POST",
                "url": "http://auth.test/token",
                "body": f"grant_type=authorization_code&code={CODE}&redirect_uri=http%3A%2F%2Fapp.test%2Fcb".encode(),
                "headers": [("Content-Type", "application/x-www-form-urlencoded")],
            },
            id="token-form",
        ),
    ],
)
def test_an_oauth_authorization_code_is_a_secret_where_oauth_sends_it(where: dict[str, Any]) -> None:
    """`code` beside `state`, `redirect_uri` or `grant_type=authorization_code` is a live credential; the
    response echoing it (a redirect's Location) is scrubbed too."""
    request = make_request(**where)
    response = make_response(headers=[("Location", f"http://app.test/done?c={CODE}")])

    scrubbed = scrub_interaction(Interaction(request=request, response=response), DEFAULT)

    assert CODE not in repr(scrubbed)
    assert "SCRUBBED:oauthcode:" in repr(scrubbed)


def test_a_code_field_without_oauth_companions_is_kept() -> None:
    request = make_request(url="http://api.test/countries?code=FR&page=2")
    assert scrub_request(request, DEFAULT).url == "http://api.test/countries?code=FR&page=2"


def test_a_recorded_oauth_callback_matches_a_new_code() -> None:
    def callback(code: str) -> Any:
        return make_request(url=f"http://app.test/callback?code={code}&state=xyz")

    recorded = scrub_interaction(Interaction(request=callback(CODE), response=make_response(json={"ok": 1})), DEFAULT)
    engine = ReplayEngine.from_cassette(make_cassette([recorded]), MatchPolicy.build(scrub=DEFAULT))

    assert engine.lookup(callback("another-code-9876"), ReplayState()) is not None
