"""The cassette file format: exact round trips in YAML and JSON, a readable file, atomic writes, large files."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import marshal
import threading
import zlib
from dataclasses import replace
from pathlib import Path

import brotli
import pytest
import yaml

from hudproxy.cassette import FORMAT_VERSION, Cassette, compiled, load_cassette, save_cassette
from hudproxy.cassette.compiled import MIN_SIZE
from hudproxy.interaction import Interaction
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

ORDER = {"id": "A1", "customer": "bob", "status": "pending", "total": 42.25, "note": "café ✓"}
ORDER_TEXT = json.dumps(ORDER, ensure_ascii=False).encode()
IMAGE = bytes(range(256)) * 4  # not UTF-8


def compressed(encoding: str, raw: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and wire bytes of a JSON body as a server sends it compressed."""
    wire = {"gzip": lambda b: gzip.compress(b, mtime=0), "deflate": zlib.compress, "br": brotli.compress}[encoding](raw)
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", encoding),
        ("Content-Length", str(len(wire))),
        ("Vary", "Accept-Encoding"),
    ]
    return headers, wire


def compressed_response(encoding: str, raw: bytes = ORDER_TEXT) -> Interaction:
    headers, wire = compressed(encoding, raw)
    return make_interaction(response=make_response(body=wire, headers=headers))


def compressed_request(encoding: str, raw: bytes = ORDER_TEXT) -> Interaction:
    headers, wire = compressed(encoding, raw)
    return make_interaction(make_request("POST", body=wire, headers=headers))


ROUND_TRIPS = [
    pytest.param(make_interaction(response=make_response(body=b"plain text\nsecond line\n")), id="text"),
    pytest.param(
        make_interaction(
            make_request("PATCH", json={"status": "paid"}),
            make_response(json=ORDER),
            recorded_at="2026-01-01T00:00:00.000Z",
            duration_ms=12.5,
        ),
        id="json-with-timing",
    ),
    pytest.param(compressed_response("gzip"), id="gzip-json"),
    pytest.param(compressed_response("deflate"), id="deflate-json"),
    pytest.param(compressed_response("br"), id="brotli-json"),
    pytest.param(
        make_interaction(
            response=make_response(body=gzip.compress(IMAGE, mtime=0), headers=[("Content-Encoding", "gzip")])
        ),
        id="gzip-binary",
    ),
    pytest.param(
        make_interaction(response=make_response(body=b"not gzip at all", headers=[("Content-Encoding", "gzip")])),
        id="gzip-header-plain-body",
    ),
    pytest.param(
        make_interaction(response=make_response(body=IMAGE, headers=[("Content-Type", "image/png")])), id="binary"
    ),
    pytest.param(make_interaction(response=make_response(204)), id="empty-body"),
    pytest.param(
        make_interaction(
            make_request("HEAD"),
            make_response(headers=[("Content-Type", "application/json"), ("Content-Length", "1234")]),
        ),
        id="head-keeps-content-length",
    ),
    pytest.param(
        make_interaction(
            response=make_response(
                headers=[("Set-Cookie", "session=abc; Path=/"), ("Set-Cookie", "theme=dark"), ("X-Trace", "1")]
            )
        ),
        id="duplicate-set-cookie",
    ),
    pytest.param(
        make_interaction(
            make_request(headers=[("User-Agent", "t"), ("accept", "*/*"), ("X-B", "2"), ("X-A", "1")]),
            make_response(headers=[("x-z", "1"), ("Content-Type", "text/plain"), ("ETag", '"v1"'), ("x-a", "2")]),
        ),
        id="header-order-and-case",
    ),
    pytest.param(
        make_interaction(
            response=make_response(
                body=b"event: order\ndata: 1\n\nevent: order\ndata: 2\n\n",
                headers=[("Content-Type", "text/event-stream")],
            ),
            chunks=[(21, 0.0), (21, 50.125)],
        ),
        id="streamed-chunks",
    ),
    pytest.param(
        make_interaction(make_request("PUT", body=IMAGE, headers=[("Content-Type", "application/octet-stream")])),
        id="binary-request-body",
    ),
    pytest.param(compressed_request("gzip"), id="gzip-request-body"),
    pytest.param(
        make_interaction(response=make_response(body="crlf\r\nline  \n\ttab\n  indent\x1b[0m\u2028\x85".encode())),
        id="awkward-text",
    ),
    pytest.param(
        make_interaction(response=make_response(body=b"yes", headers=[("X-Num", "123"), ("X-Empty", "")])),
        id="yaml-lookalike-scalars",
    ),
    pytest.param(
        make_interaction(make_request(url="http://api.test/search?q=caf%C3%A9&tag=a&tag=b")), id="query-string"
    ),
]


@pytest.fixture(params=["yaml", "json"])
def cassette_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return tmp_path / f"cassette.{request.param}"


@pytest.mark.parametrize("interaction", ROUND_TRIPS)
def test_round_trip_is_exact(cassette_path: Path, interaction: Interaction) -> None:
    cassette = make_cassette([interaction, interaction])

    save_cassette(cassette, cassette_path)
    loaded = load_cassette(cassette_path)

    assert loaded.interactions == cassette.interactions
    assert loaded.path == cassette_path


def test_format_follows_extension(tmp_path: Path) -> None:
    cassette = make_cassette([make_interaction()])

    save_cassette(cassette, tmp_path / "a.JSON")
    save_cassette(cassette, tmp_path / "b.yml")

    assert json.loads((tmp_path / "a.JSON").read_text())["version"] == 1
    assert (tmp_path / "b.yml").read_text().startswith("version: 1\n")


def test_file_has_vcrpy_shape_plus_hudproxy_keys(cassette_path: Path) -> None:
    interaction = make_interaction(
        make_request("POST", "http://api.test/orders?page=2", json={"sku": "SKU-100"}),
        make_response(201, json={"id": "A13"}),
        recorded_at="2026-01-01T00:00:00.000Z",
        duration_ms=3.25,
    )
    save_cassette(make_cassette([interaction]), cassette_path)

    data = yaml.safe_load(cassette_path.read_text())

    assert data["version"] == 1
    assert data["hudproxy"]["format"] == FORMAT_VERSION
    (item,) = data["interactions"]
    assert item["request"] == {
        "method": "POST",
        "uri": "http://api.test/orders?page=2",
        "body": '{"sku":"SKU-100"}',
        "headers": {"Content-Type": ["application/json"]},
    }
    assert item["response"] == {
        "status": {"code": 201, "message": "Created"},
        "headers": {"Content-Type": ["application/json"]},
        "body": {"string": '{"id":"A13"}'},
    }
    assert item["hudproxy"] == {"index": 0, "recorded_at": "2026-01-01T00:00:00.000Z", "duration_ms": 3.25}


def test_cassette_meta_round_trips(cassette_path: Path) -> None:
    cassette = Cassette(
        interactions=[make_interaction()],
        meta={"format": FORMAT_VERSION, "target": "http://api.test", "match": {"on": ["method", "path"]}},
    )

    save_cassette(cassette, cassette_path)

    assert load_cassette(cassette_path).meta == cassette.meta


def test_gzip_body_is_stored_readable_with_exact_wire_bytes_beside_it(tmp_path: Path) -> None:
    interaction = compressed_response("gzip")
    path = tmp_path / "cassette.yaml"

    save_cassette(make_cassette([interaction]), path)

    text = path.read_text()
    assert '"customer": "bob"' in text
    item = yaml.safe_load(text)["interactions"][0]
    assert item["response"]["body"]["string"] == ORDER_TEXT.decode()
    assert item["response"]["headers"] == {
        "Content-Type": ["application/json"],
        "Content-Length": [str(len(ORDER_TEXT))],
        "Vary": ["Accept-Encoding"],
    }
    wire = item["hudproxy"]["wire"]
    assert base64.b64decode(wire["base64"]) == interaction.response.body
    assert wire["headers"] == {"Content-Encoding": "gzip", "Content-Length": str(len(interaction.response.body))}


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [pytest.param("yaml", "!!binary", id="yaml-binary-tag"), pytest.param("json", '"base64_string"', id="json-base64")],
)
def test_binary_body_encoding_in_file(tmp_path: Path, fmt: str, marker: str) -> None:
    path = tmp_path / f"cassette.{fmt}"

    save_cassette(make_cassette([make_interaction(response=make_response(body=IMAGE))]), path)

    assert marker in path.read_text()


def test_multiline_text_is_a_block_literal(tmp_path: Path) -> None:
    path = tmp_path / "cassette.yaml"
    body = b"line one\nline two\n"

    save_cassette(make_cassette([make_interaction(response=make_response(body=body))]), path)

    assert "string: |\n        line one\n        line two\n" in path.read_text()


def test_duplicate_headers_are_one_list_and_save_does_not_scrub(tmp_path: Path) -> None:
    path = tmp_path / "cassette.yaml"
    cookies = [("Set-Cookie", "session=SECRET000; HttpOnly"), ("Set-Cookie", "theme=dark")]

    save_cassette(make_cassette([make_interaction(response=make_response(headers=cookies))]), path)

    headers = yaml.safe_load(path.read_text())["interactions"][0]["response"]["headers"]
    assert headers == {"Set-Cookie": ["session=SECRET000; HttpOnly", "theme=dark"]}


def test_interleaved_duplicates_group_under_first_name_keeping_their_order(tmp_path: Path) -> None:
    """vcrpy's headers are a mapping of lists, so one name's values sit together; HTTP only orders same-name values."""
    path = tmp_path / "cassette.yaml"
    headers = [("Set-Cookie", "a=1"), ("X-Trace", "t"), ("Set-Cookie", "b=2")]

    save_cassette(make_cassette([make_interaction(response=make_response(headers=headers))]), path)

    loaded = load_cassette(path).interactions[0].response.headers
    assert loaded == (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Trace", "t"))


def test_old_vcrpy_python_tags_load(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(
        "version: 1\n"
        "interactions:\n"
        "- request:\n"
        "    method: GET\n"
        "    uri: !!python/unicode 'http://api.test/orders/A1'\n"
        "    body: null\n"
        "    headers: {Accept: !!python/tuple ['*/*']}\n"
        "  response:\n"
        "    status: {code: 200, message: OK}\n"
        "    headers: {Content-Type: [!!python/str 'text/plain']}\n"
        "    body: {string: !!python/unicode 'hello'}\n"
    )

    (interaction,) = load_cassette(path).interactions

    assert interaction.request.url == "http://api.test/orders/A1"
    assert interaction.request.headers == (("Accept", "*/*"),)
    assert interaction.response.headers == (("Content-Type", "text/plain"),)
    assert interaction.response.body == b"hello"


# ---------------------------------------------------------------- atomic writes


def numbered(count: int, body: bytes = b"") -> Cassette:
    """`count` distinct interactions: GET /orders/A<n> answered with a small JSON order."""
    return make_cassette(
        make_interaction(
            make_request(url=f"http://api.test/orders/A{n}", headers=[("Accept", "application/json")]),
            make_response(body=body, json=None if body else {"id": f"A{n}", "total": n}),
            recorded_at="2026-01-01T00:00:00.000Z",
            duration_ms=1.5,
        )
        for n in range(count)
    )


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_readers_never_see_a_partial_file_while_saving(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"cassette.{fmt}"
    small, large = numbered(800), numbered(801)
    save_cassette(small, path)
    done = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def read_repeatedly() -> None:
        while not done.is_set():
            try:
                seen.append(len(load_cassette(path)))
            except BaseException as exc:
                errors.append(exc)
                return

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        for n in range(8):
            save_cassette(large if n % 2 == 0 else small, path)
    finally:
        done.set()
        reader.join(30)

    assert errors == []
    assert seen, "the reader never completed a load"
    assert set(seen) <= {800, 801}
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_failed_save_leaves_no_temp_file(tmp_path: Path) -> None:
    blocker = tmp_path / "cassette.yaml"
    blocker.mkdir()
    (blocker / "keep").write_text("a directory cannot be replaced by a file")

    with pytest.raises(OSError):
        save_cassette(make_cassette([make_interaction()]), blocker)

    assert [p.name for p in tmp_path.iterdir()] == ["cassette.yaml"]


def current_umask() -> int | None:
    """Read without os.umask (which would briefly change the process-wide mask)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith("Umask:")), None)
    return int(line.split()[1], 8) if line else None


def test_new_file_gets_usual_permissions(tmp_path: Path) -> None:
    if current_umask() != 0o022:
        pytest.skip("needs umask 022")
    path = tmp_path / "cassette.yaml"

    save_cassette(make_cassette([make_interaction()]), path)

    assert path.stat().st_mode & 0o777 == 0o644


def test_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "cassette.yaml"
    save_cassette(make_cassette([make_interaction()]), path)
    path.chmod(0o600)

    save_cassette(make_cassette([make_interaction(), make_interaction()]), path)

    assert path.stat().st_mode & 0o777 == 0o600
    assert len(load_cassette(path)) == 2


# ---------------------------------------------------------------- large cassettes and the compiled cache


@pytest.fixture(scope="module")
def big_cassette() -> Cassette:
    return numbered(20_000)


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory, big_cassette: Cassette) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("big")
    files = {fmt: folder / f"big.{fmt}" for fmt in ("yaml", "json")}
    for path in files.values():
        save_cassette(big_cassette, path)
    return files


def cache_entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*.image"))


def test_twenty_thousand_interactions_load_from_json(big_files: dict[str, Path], big_cassette: Cassette) -> None:
    loaded = load_cassette(big_files["json"])

    assert loaded.interactions == big_cassette.interactions


def test_second_yaml_load_of_a_large_file_uses_the_compiled_cache(
    big_files: dict[str, Path], big_cassette: Cassette, cache_dir: Path
) -> None:
    path = big_files["yaml"]
    assert path.stat().st_size > MIN_SIZE
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    first = load_cassette(path)
    (entry,) = cache_entries(cache_dir)
    second = load_cassette(path)

    assert entry.name.startswith(digest)
    assert first.interactions == big_cassette.interactions
    assert second.interactions == big_cassette.interactions
    assert second.meta == first.meta
    assert second.path == path


def big_bodies(count: int = 4) -> Cassette:
    """Just over MIN_SIZE in a few interactions, so the cache is used but parsing stays fast."""
    body = (b"0123456789abcdef" * (MIN_SIZE // 16 // count + 64)).replace(b"f", b"\n")
    return numbered(count, body=body)


def test_second_load_is_served_from_the_cache_entry(tmp_path: Path, cache_dir: Path) -> None:
    path = tmp_path / "cassette.yaml"
    cassette = big_bodies()
    save_cassette(cassette, path)
    first = load_cassette(path)

    marked = [replace(cassette.interactions[0], recorded_at="1999-12-31T23:59:59.000Z")]  # only the entry has it
    compiled.write(path.read_bytes(), marked, first.meta)  # a different entry under the same file's key

    assert load_cassette(path).interactions == marked


def test_changing_the_file_invalidates_the_cache(tmp_path: Path, cache_dir: Path) -> None:
    path = tmp_path / "cassette.yaml"
    save_cassette(big_bodies(), path)
    load_cassette(path)
    changed = big_bodies(5)

    save_cassette(changed, path)
    loaded = load_cassette(path)

    assert loaded.interactions == changed.interactions
    assert len(cache_entries(cache_dir)) == 2


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00not marshal", id="not-marshal"),
        pytest.param(
            marshal.dumps((1, 2)),
            id="wrong-shape",
        ),
    ],
)
def test_unreadable_cache_entry_is_ignored(tmp_path: Path, cache_dir: Path, garbage: bytes) -> None:
    path = tmp_path / "cassette.yaml"
    cassette = big_bodies()
    save_cassette(cassette, path)
    load_cassette(path)
    (entry,) = cache_entries(cache_dir)

    entry.write_bytes(garbage)

    assert load_cassette(path).interactions == cassette.interactions
