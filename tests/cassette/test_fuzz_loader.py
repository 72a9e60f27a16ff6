"""Fuzzing the cassette loader: whatever a file holds, loading it either fails with one CassetteError or gives a
cassette replay can serve (its index builds, and every response goes out on the wire as uvicorn and mitmproxy send
it).

Two fuzzers: a structural one (cassette-shaped data with wrong types and values at every level, written as YAML
and as JSON) and a byte-mutation one (real recorded cassettes, bytes flipped, cut, repeated or spliced with YAML
and JSON syntax). CI runs a fixed, derandomized sample in well under 30 s; `HUDPROXY_FUZZ_EXAMPLES=3000` runs a
larger random one.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmproxy.net.http.http1.assemble import assemble_response
from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE, STATUS_LINE

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.errors import CassetteError
from hudproxy.interaction.model import Interaction
from hudproxy.mcp.exchange import Exchange, to_interaction
from hudproxy.proxy.convert import response_to_flow
from hudproxy.replay.asgi import encode_headers
from hudproxy.replay.engine import ReplayEngine

ROOT = Path(__file__).resolve().parents[2]
LARGE = int(os.environ.get("HUDPROXY_FUZZ_EXAMPLES", "0"))


def fuzz_settings(ci_examples: int) -> settings:
    """A fixed sample in CI (derandomized: the same cases every run); a random, larger one when asked."""
    if LARGE:
        return settings(max_examples=LARGE, deadline=None, suppress_health_check=list(HealthCheck))
    return settings(max_examples=ci_examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """One folder for the module: hypothesis runs many examples per test, each rewrites the same file."""
    with tempfile.TemporaryDirectory(prefix="hudproxy-fuzz-") as folder:
        yield Path(folder)


# ---------------------------------------------------------------- the oracle: served as replay serves it


def send_as_uvicorn(interaction: Interaction) -> None:
    """What uvicorn's httptools protocol (hudproxy's replay server) does with the response: status line, header
    checks, Content-Length accounting. Raises as uvicorn would."""
    response, method = interaction.response, interaction.request.method
    STATUS_LINE[response.status]
    expected, chunked = 0, None
    for name, value in encode_headers(response):
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
            raise RuntimeError(f"invalid header {name!r}: {value!r}")
        if name == b"content-length" and chunked is None:
            expected, chunked = int(value.decode()), False
        elif name == b"transfer-encoding" and value.lower() == b"chunked":
            expected, chunked = 0, True
    if chunked is None and method != "HEAD" and response.status not in (204, 304):
        chunked = True
    if method == "HEAD" or chunked:
        return
    if len(response.body) != expected:
        raise RuntimeError(f"body of {len(response.body)} bytes, Content-Length {expected}")


def served(cassette: Cassette) -> None:
    """The replay index builds over the cassette, and each response goes out through both servers' code."""
    ReplayEngine.from_cassette(cassette)
    for interaction in cassette.interactions:
        send_as_uvicorn(interaction)
        assemble_response(response_to_flow(interaction.response))


def load_or_refuse(path: Path) -> None:
    try:
        cassette = load_cassette(path)
    except CassetteError as exc:
        message = str(exc)
        assert message.startswith(str(path)), message
        assert "\n" not in message.strip(), message
        return
    served(cassette)


# ---------------------------------------------------------------- structural fuzz


def junk() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(),
        st.text(max_size=12),
        st.sampled_from(["", "\r\n", "a\nb", "é", "☃", "http://[::1/x", "1e999", "-1", "999", ".inf"]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=6,
    )


def maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right kind of value, sometimes anything at all."""
    return weighted(9, good, junk())


def weighted(odds: int, likely: st.SearchStrategy[Any], rarely: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`likely` `odds` times out of odds + 1 (one_of would merge repeated branches into one)."""
    return st.sampled_from([True] * odds + [False]).flatmap(lambda pick: likely if pick else rarely)


def optional(key: str, value: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), st.builds(lambda v: {key: v}, maybe(value)))


def required(key: str, value: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Present nearly always, so most generated cassettes get past the first check."""
    return weighted(15, st.builds(lambda v: {key: v}, maybe(value)), st.just({}))


def merged(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda dicts: {k: v for d in dicts for k, v in d.items()})


TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=12)
HEADER_NAME = st.one_of(TOKEN, TOKEN, TOKEN, st.text(max_size=8), st.sampled_from(["Content-Length", "X A", "é"]))
HEADER_VALUE = st.one_of(st.text(max_size=16), st.sampled_from(["12", "abc", "-1", "a\r\nb", "☃", "é", " x "]))
HEADERS = st.dictionaries(HEADER_NAME, maybe(st.one_of(HEADER_VALUE, st.lists(HEADER_VALUE, max_size=3))), max_size=4)
STATUS = st.one_of(st.sampled_from([100, 200, 204, 304, 404, 599, 600, 999, 0, -5]), st.integers(-10, 1000))
URI = st.one_of(
    st.sampled_from(["http://api.test/x?a=1", "https://h:8443/p", "/relative", "http://[::1/x", "http://h:99999/"]),
    st.text(max_size=20),
)
BYTES = st.binary(max_size=24)
BODY = st.one_of(
    st.none(),
    st.text(max_size=24),
    BYTES,
    st.builds(lambda s: {"string": s}, maybe(st.one_of(st.text(max_size=24), BYTES))),
    st.builds(
        lambda b: {"base64_string": b},
        maybe(st.one_of(BYTES.map(lambda b: base64.b64encode(b).decode()), st.text(max_size=8))),
    ),
)
NUMBER = st.one_of(st.integers(-5, 10**6), st.floats())
CHUNKS = st.lists(st.lists(NUMBER, min_size=2, max_size=2) | junk(), max_size=3)
WIRE = merged(
    optional("base64", BYTES.map(lambda b: base64.b64encode(b).decode())),
    optional("headers", st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=2)),
    optional("encoding_at", st.integers(-3, 5)),
)
TIME = st.one_of(st.sampled_from(["2024-05-01T12:00:00.000Z", "yesterday", ""]), st.text(max_size=10))
META = merged(
    optional("index", st.integers(-2, 10)),
    optional("recorded_at", TIME),
    optional("duration_ms", NUMBER),
    optional("chunks", CHUNKS),
    optional("wire", WIRE),
    optional("request_wire", WIRE),
)
REQUEST = merged(
    required("method", st.one_of(st.sampled_from(["GET", "HEAD", "POST", "get"]), st.text(max_size=5))),
    required("uri", URI),
    optional("headers", HEADERS),
    optional("body", BODY),
)
RESPONSE = merged(
    required("status", merged(required("code", STATUS), optional("message", st.text(max_size=8)))),
    optional("headers", HEADERS),
    optional("body", BODY),
)
INTERACTION = merged(required("request", REQUEST), required("response", RESPONSE), optional("hudproxy", META))
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-100, 100), st.floats(), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
MCP_METHOD = st.one_of(
    st.sampled_from(["tools/call", "tools/list", "prompts/get", "resources/read", "initialize"]), st.text(max_size=8)
)
PARAMS = st.dictionaries(st.sampled_from(["name", "uri", "arguments", "cursor", "_meta"]), maybe(JSONISH), max_size=3)
MCP_ITEM = merged(
    optional("server", st.one_of(st.just("shop"), st.text(max_size=6))),
    required("method", MCP_METHOD),
    optional("params", PARAMS),
    optional("result", JSONISH),
    optional("error", st.dictionaries(st.sampled_from(["code", "message", "data"]), JSONISH, max_size=3)),
    optional("notifications", st.lists(st.dictionaries(st.sampled_from(["method", "params"]), JSONISH), max_size=2)),
    optional("hudproxy", META),
)
POLICY_NAMES = st.lists(st.text(max_size=8), max_size=3)
TOP_META = merged(
    optional("format", st.integers(-1, 3)),
    optional("match", merged(
        optional("on", st.lists(st.sampled_from(["method", "path", "query", "body", "host", "nope"]), max_size=3)),
        optional("ignore_query", POLICY_NAMES),
        optional("read_tools", POLICY_NAMES),
        optional("write_tools", POLICY_NAMES),
    )),
    optional("scrub", merged(
        optional("enabled", st.booleans()),
        optional("headers", POLICY_NAMES),
        optional("json_fields", POLICY_NAMES),
    )),
)  # fmt: skip
CASSETTE = merged(
    required("version", st.just(1)),
    optional("hudproxy", TOP_META),
    optional("mcp", st.lists(MCP_ITEM, max_size=3)),
    required("interactions", st.lists(INTERACTION, max_size=4)),
)


def as_json(data: Any) -> Any:
    """JSON has no bytes: write them as text (the loader reads `base64_string` for binary)."""
    if isinstance(data, bytes):
        return data.decode("latin-1")
    if isinstance(data, dict):
        return {str(k): as_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [as_json(v) for v in data]
    return data


@fuzz_settings(ci_examples=150)
@given(data=CASSETTE)
def test_structural_fuzz_yaml(workdir: Path, data: dict[str, Any]) -> None:
    path = workdir / "structural.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    load_or_refuse(path)


@fuzz_settings(ci_examples=150)
@given(data=CASSETTE)
def test_structural_fuzz_json(workdir: Path, data: dict[str, Any]) -> None:
    path = workdir / "structural.json"
    path.write_text(json.dumps(as_json(data), ensure_ascii=False))
    load_or_refuse(path)


# ---------------------------------------------------------------- byte-mutation fuzz of real cassettes


def recorded_sources() -> dict[str, bytes]:
    """The shop cassette recorded by hudproxy (YAML), the same written as JSON, and one with an `mcp:` section
    (YAML and JSON)."""
    shop_yaml = (ROOT / "cassettes" / "shop.yaml").read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        shop = load_cassette(ROOT / "cassettes" / "shop.yaml")
        json_path = Path(folder) / "shop.json"
        save_cassette(shop, json_path)
        exchanges = [
            Exchange("shop", "tools/list", {}, {"tools": [{"name": "charge_card", "inputSchema": {}}]}),
            Exchange("shop", "tools/call", {"name": "charge_card", "arguments": {"amount": 100}},
                     {"content": [{"type": "text", "text": "charged 100"}]}, None,
                     [{"method": "notifications/progress", "params": {"progress": 1, "total": 2}}]),
            Exchange("shop", "resources/read", {"uri": "file:///a"}, None, {"code": -32602, "message": "no"}),
        ]  # fmt: skip
        mixed = [
            to_interaction(e, n, recorded_at="2024-05-01T12:00:00.000Z", duration_ms=1.5)
            for n, e in enumerate(exchanges)
        ]
        mixed += shop.interactions[:3]
        mcp_path = Path(folder) / "mcp.yaml"
        save_cassette(Cassette(mixed, dict(shop.meta)), mcp_path)
        mcp_json = Path(folder) / "mcp.json"
        save_cassette(Cassette(mixed, dict(shop.meta)), mcp_json)
        return {
            "shop.yaml": shop_yaml,
            "shop.json": json_path.read_bytes(),
            "mcp.yaml": mcp_path.read_bytes(),
            "mcp.json": mcp_json.read_bytes(),
        }


SOURCES = recorded_sources()
SPLICES = [b"*a", b"&a ", b"[", b"{", b"]", b".inf", b"-1", b"999", b"\r\n", b'"', b"'", b"!!binary ", b": ", b"- ",
           b"null", b"\\u0000", b"\xff", b"\t", b"0x", b"1e309", b"?", b"\n  ", b"[[", b",", b"true"]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SOURCES)))
    text = bytearray(SOURCES[name])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["flip", "cut", "splice", "repeat", "truncate"]))
        if kind == "flip" and at < len(text):
            text[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del text[at : at + draw(st.integers(1, 64))]
        elif kind == "splice":
            text[at:at] = draw(st.sampled_from(SPLICES))
        elif kind == "repeat":
            text[at:at] = text[at : at + draw(st.integers(1, 200))]
        elif kind == "truncate":
            del text[at:]
    return name, bytes(text)


@fuzz_settings(ci_examples=300)
@given(case=mutated())
def test_byte_mutation_fuzz(workdir: Path, case: tuple[str, bytes]) -> None:
    name, text = case
    path = workdir / f"mutated-{name}"
    path.write_bytes(text)
    load_or_refuse(path)


def test_sources_load_and_serve() -> None:
    """The unmutated sources are good cassettes: the fuzz starts from files that load."""
    with tempfile.TemporaryDirectory() as folder:
        for name, text in SOURCES.items():
            path = Path(folder) / name
            path.write_bytes(text)
            cassette = load_cassette(path)
            served(cassette)
            assert len(cassette.interactions) >= 6
