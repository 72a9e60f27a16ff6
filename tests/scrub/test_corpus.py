"""A corpus of secret placements recorded through the real recorder: none may reach the cassette, the journal or
the logs, and the scrubbed cassette must still answer requests that carry the real secrets or new ones.

Each secret value is unique, so a leak names the placement it came from.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from hudproxy.cassette.files import load_cassette
from hudproxy.journal.writer import JournalWriter
from hudproxy.record import Recorder
from hudproxy.record.background import recording_proxy
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.replay.unmatched import UNMATCHED_HEADER
from hudproxy.scrub import ScrubPolicy
from hudproxy.serving import serve_in_thread


def jwt(subject: str) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': subject, 'iat': 1700000000})}.{subject}SigNaTuRe0x"


def secrets(tag: str) -> dict[str, str]:
    """Every placement's secret; `tag` makes a second, different set of the same kinds."""
    names = [
        "form_assertion", "form_client_assertion", "form_client_secret", "form_refresh_token", "form_password",
        "resp_camel_access_token", "resp_refresh_token", "resp_id_token", "resp_set_cookie",
        "query_api_key_echoed_in_body", "query_camel_access_token", "query_camel_client_secret",
        "query_api_key_in_next_link", "sse_access_token", "sse_camel_refresh_token", "sse_form_access_token",
        "location_fragment_access_token", "header_ocp_apim_key", "header_rapidapi_key", "header_jwt_assertion",
        "header_basic_password", "header_cookie", "header_amz_security_token", "header_bearer",
        "graphql_password", "graphql_api_key", "graphql_nested_client_secret", "graphql_response_token",
        "json_bearer_in_string", "json_url_userinfo_password", "json_aws_access_key_id", "json_aws_secret_key",
        "json_deep_access_token", "json_github_token", "gzip_access_token", "ndjson_api_key", "ndjson_jwt",
        "text_jwt", "text_link_token", "escaped_slash_api_key", "html_link_session_token", "query_x_api_key",
    ]  # fmt: skip
    out = {name: f"{tag}{name.replace('_', '')[:12]}{i:02d}Zq" for i, name in enumerate(names)}
    for name in ("form_assertion", "form_client_assertion", "resp_id_token", "header_jwt_assertion", "ndjson_jwt"):
        out[name] = jwt(out[name])
    out["text_jwt"] = jwt(out["text_jwt"])
    out["json_aws_access_key_id"] = "AKIA" + (tag.upper() + "CORPUSKEY0123456789")[:16]
    out["json_github_token"] = "ghp_" + (tag + "CorpusGithubToken0123456789abcdefghij")[:36]
    return out


CLIENT_LOGGERS = ("httpx", "httpcore")
SECRETS = secrets("real")
NEW = secrets("fresh")


# ------------------------------------------------------------------------------------------ the upstream


def echo_url(request: Request) -> JSONResponse:
    """httpbin's /get: the URL it was asked, query included."""
    return JSONResponse({"url": str(request.url), "args": dict(request.query_params)})


async def token(request: Request) -> JSONResponse:
    form = await request.form()
    tag = "real" if form["client_secret"] == SECRETS["form_client_secret"] else "fresh"
    given = secrets(tag)
    response = JSONResponse(
        {
            "accessToken": given["resp_camel_access_token"],
            "refresh_token": given["resp_refresh_token"],
            "id_token": given["resp_id_token"],
            "token_type": "bearer",
            "expires_in": 3600,
        }
    )
    response.set_cookie("sid", given["resp_set_cookie"], httponly=True)
    return response


def items(request: Request) -> JSONResponse:
    key = request.query_params["api_key"]
    nxt = f"{request.base_url}items?api_key={key}&page=2"
    return JSONResponse({"items": [{"id": 1}], "links": {"next": nxt}}, headers={"Link": f'<{nxt}>; rel="next"'})


def events(request: Request) -> Response:
    s = SECRETS
    body = (
        f'event: token\ndata: {{"access_token": "{s["sse_access_token"]}", "expires_in": 60}}\n\n'
        f'data: {{"type":"auth","refreshToken":"{s["sse_camel_refresh_token"]}"}}\n\n'
        f"data: access_token={s['sse_form_access_token']}&scope=read\n\n"
    )
    return Response(body, media_type="text/event-stream")


def login(request: Request) -> Response:
    fragment = f"access_token={SECRETS['location_fragment_access_token']}&token_type=bearer&state=s1"
    return RedirectResponse(f"https://app.example/cb#{fragment}", status_code=302)


def headers(request: Request) -> JSONResponse:
    """httpbin's /headers: every request header echoed back."""
    return JSONResponse({"headers": {k.title(): v for k, v in request.headers.items()}})


async def graphql(request: Request) -> JSONResponse:
    return JSONResponse({"data": {"login": {"token": SECRETS["graphql_response_token"], "ok": True}}})


async def anything(request: Request) -> JSONResponse:
    """httpbin's /anything: the JSON body echoed back."""
    return JSONResponse({"json": await request.json(), "url": str(request.url)})


def gzipped(request: Request) -> Response:
    body = gzip.compress(json.dumps({"access_token": SECRETS["gzip_access_token"]}).encode(), mtime=0)
    return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})


def ndjson(request: Request) -> Response:
    lines = [{"apiKey": SECRETS["ndjson_api_key"], "n": 1}, {"note": f"token {SECRETS['ndjson_jwt']}", "n": 2}]
    return Response("".join(json.dumps(line) + "\n" for line in lines), media_type="application/x-ndjson")


def text(request: Request) -> PlainTextResponse:
    s = SECRETS
    return PlainTextResponse(
        f"your session: {s['text_jwt']}\ncontinue at https://x.example/cb?token={s['text_link_token']}\n"
    )


def php(request: Request) -> Response:
    """A PHP-style encoder escapes every slash: the echoed key sits in `https:\\/\\/...`."""
    body = '{"next":"https:\\/\\/api.example\\/items?api_key=' + request.query_params["api_key"] + '&page=2"}'
    return Response(body, media_type="application/json")


def page(request: Request) -> Response:
    tok = request.query_params["session_token"]
    return Response(f'<html><a href="/next?session_token={tok}">next</a></html>', media_type="text/html")


def x_api_key(request: Request) -> JSONResponse:
    return JSONResponse({"message": f"key {request.headers['x-api-key']} is valid"})


def upstream_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/get", echo_url),
            Route("/items", items),
            Route("/events", events),
            Route("/login", login),
            Route("/headers", headers),
            Route("/graphql", graphql, methods=["POST"]),
            Route("/anything", anything, methods=["POST"]),
            Route("/gzip", gzipped),
            Route("/ndjson", ndjson),
            Route("/text", text),
            Route("/php", php),
            Route("/page", page),
            Route("/whoami", x_api_key),
        ]
    )


# ------------------------------------------------------------------------------------------ the client


def send_all(base: str, s: dict[str, str]) -> list[httpx.Response]:
    """One request per route, carrying the secrets of `s`."""
    basic = base64.b64encode(f"ada:{s['header_basic_password']}".encode()).decode()
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as http:
        return [
            http.post(
                "/oauth/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": s["form_assertion"],
                    "client_assertion": s["form_client_assertion"],
                    "client_id": "app",
                    "client_secret": s["form_client_secret"],
                    "refresh_token": s["form_refresh_token"],
                    "password": s["form_password"],
                    "username": "ada",
                },
            ),
            http.get("/get", params={"api_key": s["query_api_key_echoed_in_body"], "page": "1"}),
            http.get(
                "/items",
                params={
                    "accessToken": s["query_camel_access_token"],
                    "clientSecret": s["query_camel_client_secret"],
                    "api_key": s["query_api_key_in_next_link"],
                    "page": "1",
                },
            ),
            http.get("/events"),
            http.get("/login"),
            http.get(
                "/headers",
                headers={
                    "Ocp-Apim-Subscription-Key": s["header_ocp_apim_key"],
                    "X-RapidAPI-Key": s["header_rapidapi_key"],
                    "X-Jwt-Assertion": s["header_jwt_assertion"],
                    "Authorization": f"Basic {basic}",
                    "Cookie": f"session={s['header_cookie']}; theme=dark",
                    "X-Amz-Security-Token": s["header_amz_security_token"],
                    "X-Idempotency-Key": "idem-1",
                },
            ),
            http.post(
                "/graphql",
                headers={"Authorization": f"Bearer {s['header_bearer']}"},
                json={
                    "query": "mutation Login($password: String!, $apiKey: String!) { login { token } }",
                    "variables": {
                        "password": s["graphql_password"],
                        "apiKey": s["graphql_api_key"],
                        "input": {"nested": [[{"clientSecret": s["graphql_nested_client_secret"]}]]},
                    },
                },
            ),
            http.post(
                "/anything",
                content=json.dumps(
                    {
                        "note": f"call with Bearer {s['json_bearer_in_string']} please",
                        "dsn": f"postgres://ada:{s['json_url_userinfo_password']}@db.example:5432/app",
                        "aws": {
                            "accessKeyId": s["json_aws_access_key_id"],
                            "aws_secret_access_key": s["json_aws_secret_key"],
                        },
                        "pin": 123456 if s is SECRETS else 654321,
                        "deep": [[[{"Access-Token": s["json_deep_access_token"]}]]],
                        "github": s["json_github_token"],
                    },
                    indent=1,
                ),  # spacing the recorder must keep
                headers={"Content-Type": "application/json"},
            ),
            http.get("/gzip"),
            http.get("/ndjson"),
            http.get("/text"),
            http.get("/php", params={"api_key": s["escaped_slash_api_key"]}),
            http.get("/page", params={"session_token": s["html_link_session_token"]}),
            http.get("/whoami", headers={"X-Api-Key": s["query_x_api_key"]}),
        ]


# ------------------------------------------------------------------------------------------ the test


def leaks(data: bytes, values: dict[str, str]) -> list[str]:
    """Placements whose secret (or the Basic credential that carries it) is in `data`."""
    found = [name for name, value in values.items() if value.encode() in data]
    basic = base64.b64encode(f"ada:{values['header_basic_password']}".encode())
    return found + (["header_basic_credential"] if basic in data else []) + (["json_pin"] if b"123456" in data else [])


def journal_bytes(path: Path) -> bytes:
    """The journal file and its -wal / -shm companions, whole."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_no_secret_of_the_corpus_reaches_cassette_journal_or_logs_and_replay_still_matches(
    tmp_path: Path,
    upstream: Callable[[Any], str],
    fmt: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    assert len(SECRETS) >= 30
    cassette, recording_journal = tmp_path / f"corpus.{fmt}", tmp_path / "recording.db"
    target = upstream(upstream_app())
    policy = ScrubPolicy.default()
    recorder = Recorder(cassette, "all", scrub=policy, target=target, journal=JournalWriter(recording_journal, policy))

    with recording_proxy(recorder, target) as proxy:
        live = send_all(proxy, SECRETS)

    assert [r.status_code for r in live] == [200] * 4 + [302] + [200] * 9
    assert live[1].json()["args"]["api_key"] == SECRETS["query_api_key_echoed_in_body"], "the client got it all"
    assert leaks(cassette.read_bytes(), SECRETS) == []
    assert leaks(journal_bytes(recording_journal), SECRETS) == []
    recorded = load_cassette(cassette).interactions
    assert len(recorded) == len(live)
    assert recorded[4].response.headers and "#access_token=SCRUBBED:accesstoken:" in dict(
        recorded[4].response.headers
    ).get("location", "")
    assert ("X-Idempotency-Key", "idem-1") in recorded[5].request.headers, "a client's own retry id is kept"

    replay_journal = tmp_path / "replay.db"
    app = create_replay_app(cassette, ReplayOptions(journal=replay_journal))
    with serve_in_thread(app) as replay:
        again = send_all(replay, SECRETS)
        fresh = send_all(replay, NEW)
    app.close()

    for answers in (again, fresh):
        assert [r.headers.get(UNMATCHED_HEADER) for r in answers] == [None] * len(live), "every request matched"
        assert [r.status_code for r in answers] == [r.status_code for r in live]
    assert leaks(journal_bytes(replay_journal), SECRETS) == []
    assert leaks(journal_bytes(replay_journal), NEW) == []
    captured = capfd.readouterr()
    # the test's own client (httpx, httpcore) logs what it sent and got, secrets included: that is not hudproxy's
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS))
    logged = (ours + captured.out + captured.err).encode()
    assert "recorded #" in ours, "DEBUG records were captured"
    assert leaks(logged, SECRETS) == [] and leaks(logged, NEW) == []
